import { DeleteVaultCommand, DescribeJobCommand, GetJobOutputCommand, GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { decommissionPrefix, RUN_ID_PATTERN } from '../../contract/keys';
import { errorName } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

/*
 * VaultFinalizer: after a real decommission run deleted every archive of the run, asks Glacier for
 * a new inventory, checks that it was taken after the deletions (Glacier refreshes a vault's
 * inventory about once a day, so an earlier one still lists deleted archives), and deletes the
 * vault only when that inventory lists no archive.
 */

export type FinalizerEvent =
  | { readonly action: 'request-inventory'; readonly runId: string; readonly vaultName: string; readonly decommissionId: string; readonly attempt?: number }
  | {
    readonly action: 'check-inventory';
    readonly runId: string;
    readonly vaultName: string;
    readonly decommissionId: string;
    readonly jobId: string;
    /** ISO time the deletions finished: an inventory taken before it is stale. */
    readonly notBefore: string;
    readonly attempt?: number;
  }
  | { readonly action: 'delete-vault'; readonly runId: string; readonly vaultName: string; readonly decommissionId: string };

export interface InventoryRequested {
  readonly jobId: string;
  readonly attempt: number;
}

export interface InventoryChecked {
  readonly jobId: string;
  readonly attempt: number;
  readonly completed: boolean;
  readonly stale: boolean;
  readonly archiveCount: number;
  readonly inventoryDate: string;
  /** Archives still in the vault (inventory-bucket key), when any. */
  readonly remainingKey: string;
}

export interface VaultDeletion {
  readonly vaultDeleted: boolean;
  readonly alreadyDeleted: boolean;
  readonly reason: string;
}

export class InventoryJobFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryJobFailedError';
  }
}

export interface FinalizerDeps {
  readonly glacier: GlacierClient;
  readonly s3: S3Client;
  readonly inventoryBucket: string;
  readonly log: Log;
  /** Larger inventories are not parsed (the vault is far from empty anyway). Default 256 MiB. */
  readonly maxInventoryBytes?: number;
}

const JOB_DESCRIPTION = 'glacier-vault-to-s3 decommission: final inventory';

interface InventoryDocument {
  readonly InventoryDate?: string;
  readonly ArchiveList?: Array<{ ArchiveId?: string; Size?: number; CreationDate?: string; SHA256TreeHash?: string; ArchiveDescription?: string }>;
}

export async function finalizeVault(deps: FinalizerDeps, event: FinalizerEvent): Promise<InventoryRequested | InventoryChecked | VaultDeletion> {
  if (!event || typeof event.runId !== 'string' || !RUN_ID_PATTERN.test(event.runId) || typeof event.vaultName !== 'string' || !event.vaultName) {
    throw new Error('VaultFinalizer needs { action, runId, vaultName, decommissionId }');
  }
  const { vaultName } = event;
  switch (event.action) {
    case 'request-inventory': {
      const out = await deps.glacier.send(new InitiateJobCommand({
        accountId: '-',
        vaultName,
        jobParameters: { Type: 'inventory-retrieval', Format: 'JSON', Description: JOB_DESCRIPTION },
      }));
      if (!out.jobId) throw new Error('InitiateJob returned no job id');
      const attempt = (event.attempt ?? 0) + 1;
      deps.log.info('final vault inventory requested', { vaultName, jobId: out.jobId, attempt });
      return { jobId: out.jobId, attempt };
    }
    case 'check-inventory': {
      const attempt = event.attempt ?? 1;
      const pending: InventoryChecked = { jobId: event.jobId, attempt, completed: false, stale: false, archiveCount: -1, inventoryDate: '', remainingKey: '' };
      const job = await deps.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId: event.jobId }));
      if (!job.Completed) return pending;
      if (job.StatusCode !== 'Succeeded') throw new InventoryJobFailedError(`inventory job ${event.jobId} ended ${job.StatusCode}: ${job.StatusMessage ?? ''}`);
      const max = deps.maxInventoryBytes ?? 256 * 1024 * 1024;
      if ((job.InventorySizeInBytes ?? 0) > max) {
        deps.log.warn('final inventory too large to read; the vault is not empty', { vaultName, bytes: job.InventorySizeInBytes });
        return { ...pending, completed: true, archiveCount: Number.MAX_SAFE_INTEGER, inventoryDate: '', stale: false };
      }
      const output = await deps.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: event.jobId }));
      const text = output.body ? await output.body.transformToString('utf-8') : '';
      const inventory = JSON.parse(text) as InventoryDocument;
      const archives = inventory.ArchiveList ?? [];
      const inventoryDate = inventory.InventoryDate ?? '';
      const taken = Date.parse(inventoryDate);
      const notBefore = Date.parse(event.notBefore);
      // InventoryDate has whole seconds. A stale inventory can only list MORE archives (the deleted
      // ones); an empty one is final (Glacier's DeleteVault still refuses a vault written since).
      const stale = !Number.isFinite(taken) || (Number.isFinite(notBefore) && taken < Math.floor(notBefore / 1000) * 1000 && archives.length > 0);
      let remainingKey = '';
      if (archives.length > 0) {
        remainingKey = `${decommissionPrefix(event.runId, event.decommissionId)}remaining-archives.json`;
        await deps.s3.send(new PutObjectCommand({
          Bucket: deps.inventoryBucket,
          Key: remainingKey,
          Body: JSON.stringify({ vaultName, inventoryDate, stale, archives }),
          ContentType: 'application/json',
        }));
      }
      deps.log.info('final vault inventory read', { vaultName, inventoryDate, stale, archiveCount: archives.length, remainingKey });
      return { jobId: event.jobId, attempt, completed: true, stale, archiveCount: archives.length, inventoryDate, remainingKey };
    }
    case 'delete-vault': {
      try {
        await deps.glacier.send(new DeleteVaultCommand({ accountId: '-', vaultName }));
      } catch (err) {
        const name = errorName(err);
        if (name === 'ResourceNotFoundException') return { vaultDeleted: true, alreadyDeleted: true, reason: 'the vault no longer exists' };
        if (name === 'InvalidParameterValueException') {
          deps.log.warn('Glacier refused to delete the vault', { vaultName, message: (err as Error).message });
          return { vaultDeleted: false, alreadyDeleted: false, reason: `Glacier refused: ${(err as Error).message}` };
        }
        throw err;
      }
      deps.log.info('vault deleted', { vaultName, runId: event.runId });
      return { vaultDeleted: true, alreadyDeleted: false, reason: 'the final inventory listed no archive' };
    }
    default:
      throw new Error(`unknown VaultFinalizer action ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}
