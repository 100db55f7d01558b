import { DescribeJobCommand, GlacierClient, InitiateJobCommand, ListJobsCommand } from '@aws-sdk/client-glacier';
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

/** Most ListJobs pages (50 jobs each) searched for a job whose id a crash kept from being recorded. */
export const MAX_LIST_JOBS_PAGES = 20;

/**
 * The in-progress or succeeded inventory job of this run that Glacier knows but the record lacks:
 * a crash between InitiateJob and recording its id. Searched only when the record carries the
 * `requestingAt` intent without a job id (so never on the normal path), bounded to
 * {@link MAX_LIST_JOBS_PAGES} pages; `undefined` when not found within them.
 */
async function findUnrecordedJob(deps: InitiateInventoryDeps, vaultName: string, description: string): Promise<string | undefined> {
  let marker: string | undefined;
  for (let page = 0; page < MAX_LIST_JOBS_PAGES; page++) {
    const out = await deps.glacier.send(new ListJobsCommand({ accountId: '-', vaultName, marker, limit: 50 }));
    const job = (out.JobList ?? []).find((j) => j.Action === 'InventoryRetrieval' && j.JobDescription === description && j.StatusCode !== 'Failed');
    if (job?.JobId) return job.JobId;
    marker = out.Marker ?? undefined;
    if (!marker) return undefined;
  }
  deps.log.warn('no unrecorded inventory job found within the ListJobs bound; starting a new one', { vaultName, pages: MAX_LIST_JOBS_PAGES });
  return undefined;
}

/**
 * Starts the vault's inventory-retrieval job (CSV, notifying the transfer's SNS topic) and records
 * it. A job this run already started that Glacier still knows (in progress, or succeeded and not
 * expired) is reused instead of paying for a second one, including one whose id a crash kept from
 * being recorded: the record gets a `requestingAt` intent before InitiateJob, and a retry that
 * finds the intent without a job id looks the job up by its description (ListJobs, bounded).
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
  const description = inventoryJobDescription(runId);
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  // Recording the job clears the intent ('' = nothing unrecorded).
  const record = async (jobId: string) => deps.store.update(runId, { vaultName, jobId, inventoryStatus: 'initiated', initiatedAt: now(), source: 'glacier', requestingAt: '' });
  if (existing?.requestingAt && existing.requestingVault === vaultName) {
    const found = await findUnrecordedJob(deps, vaultName, description);
    if (found) {
      await record(found);
      deps.log.warn('reusing an inventory job a crash kept from being recorded (found by its description)', { runId, vaultName, jobId: found });
      return { jobId: found, reused: true };
    }
  }
  // The intent: a crash after InitiateJob leaves it without a job id, and the retry looks first.
  await deps.store.update(runId, { requestingAt: now(), requestingVault: vaultName });
  const out = await deps.glacier.send(new InitiateJobCommand({
    accountId: '-',
    vaultName,
    jobParameters: { Type: 'inventory-retrieval', Format: 'CSV', SNSTopic: deps.topicArn, Description: description },
  }));
  if (!out.jobId) throw new Error('InitiateJob returned no job id');
  await record(out.jobId);
  deps.log.info('inventory retrieval job started', { runId, vaultName, jobId: out.jobId });
  return { jobId: out.jobId, reused: false };
}
