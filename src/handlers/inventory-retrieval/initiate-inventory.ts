import { DescribeJobCommand, GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { InventoryStore } from './inventory-store';
import { errorName } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

export interface InitiateInventoryEvent {
  readonly runId: string;
  readonly vaultName: string;
}

export interface InitiateInventoryResult {
  readonly jobId: string;
  /** True when a job started earlier in this run was reused (resume). */
  readonly reused: boolean;
}

export interface InitiateInventoryDeps {
  readonly glacier: GlacierClient;
  readonly store: InventoryStore;
  readonly topicArn: string;
  readonly log: Log;
  readonly now?: () => Date;
}

/** Job description of the inventory job of a run (printable ASCII, ≤ 1,024 characters). */
export function inventoryJobDescription(runId: string): string {
  return `glacier-vault-to-s3:v1:inventory/${encodeURIComponent(runId)}`.slice(0, 1024);
}

/**
 * Starts the vault's inventory-retrieval job (CSV, notifying the transfer's SNS topic) and records
 * it. A job this run already started that Glacier still knows (in progress, or succeeded and not
 * expired) is reused instead of paying for a second one.
 */
export async function initiateInventoryRetrieval(deps: InitiateInventoryDeps, event: InitiateInventoryEvent): Promise<InitiateInventoryResult> {
  const { runId, vaultName } = event;
  if (typeof runId !== 'string' || runId === '' || typeof vaultName !== 'string' || vaultName === '') {
    throw new Error('runId and vaultName are required');
  }
  const existing = await deps.store.get(runId);
  if (existing?.jobId && existing.vaultName === vaultName) {
    try {
      const job = await deps.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId: existing.jobId }));
      if (job.StatusCode !== 'Failed') {
        deps.log.info('reusing the inventory job this run already started', { jobId: existing.jobId, statusCode: job.StatusCode });
        return { jobId: existing.jobId, reused: true };
      }
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
    }
  }
  const out = await deps.glacier.send(new InitiateJobCommand({
    accountId: '-',
    vaultName,
    jobParameters: { Type: 'inventory-retrieval', Format: 'CSV', SNSTopic: deps.topicArn, Description: inventoryJobDescription(runId) },
  }));
  if (!out.jobId) throw new Error('InitiateJob returned no job id');
  await deps.store.update(runId, {
    vaultName,
    jobId: out.jobId,
    inventoryStatus: 'initiated',
    initiatedAt: (deps.now?.() ?? new Date()).toISOString(),
    source: 'glacier',
  });
  deps.log.info('inventory retrieval job started', { runId, vaultName, jobId: out.jobId });
  return { jobId: out.jobId, reused: false };
}
