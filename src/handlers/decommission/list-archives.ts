/* eslint-disable @stylistic/max-len */
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { activeVaultPk, decommissionListKey, RUN_ID_PATTERN, RUN_SK, runPk, runStatusKey, TransferTable } from '../../contract/keys';
import { JsonArrayUpload } from '../download-window-extension/json-array-upload';
import type { Log } from '../shared/logger';
import { ArchiveStatus, RunRecord, RunState } from '../shared/schema';

/** Execution input of the decommission state machine (also the first Lambda's event). */
export interface DecommissionInput {
  readonly runId: string;
  /** Typed again by the operator: must equal the run's vault. */
  readonly vaultName: string;
  /** 'YES' (default) plans only; 'NO' deletes. */
  readonly dryRun?: string | boolean;
  /** Step Functions execution name: names this execution's outputs. */
  readonly executionName: string;
}

/** One element of the list the Distributed Map reads. */
export interface ListedArchive {
  readonly archiveId: string;
}

export interface ListResult {
  readonly runId: string;
  readonly vaultName: string;
  readonly dryRun: 'YES' | 'NO';
  readonly decommissionId: string;
  readonly bucket: string;
  readonly key: string;
  readonly count: number;
  readonly bytes: number;
  readonly countsByStatus: Record<string, number>;
}

/** Thrown when the request must not proceed; the state machine fails with this error name and no retry. */
export class DecommissionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecommissionRefusedError';
  }
}

export interface ListDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly inventoryBucket: string;
  /** Destination bucket of this deployment: the run must have written there. */
  readonly destinationBucket: string;
  readonly deletionEnabled: boolean;
  readonly log: Log;
  readonly pageLimit?: number;
}

/** Normalises the dry-run flag: anything but an explicit NO / false is a dry run. */
export function parseDryRun(value: unknown): 'YES' | 'NO' {
  if (value === false) return 'NO';
  if (typeof value === 'string' && value.trim().toUpperCase() === 'NO') return 'NO';
  return 'YES';
}

/** Execution names may carry characters S3 keys should not; keep them readable and safe. */
export function decommissionIdOf(executionName: string): string {
  const id = executionName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  if (id === '') throw new DecommissionRefusedError('executionName is required');
  return id;
}

const ALL_STATUSES = [
  ArchiveStatus.DOWNLOADED,
  ArchiveStatus.FAILED,
  ArchiveStatus.SKIPPED,
  ArchiveStatus.PENDING,
  ArchiveStatus.REQUESTED,
  ArchiveStatus.STAGED,
];

/**
 * Checks the request (finished run, vault typed again, no active run on the vault, deletion allowed
 * for a real run) and streams every archive of the run, all statuses, to a JSON list in the
 * inventory bucket: archives not downloaded are examined too, so the plan lists them as kept.
 */
export async function listRunArchives(deps: ListDeps, event: DecommissionInput): Promise<ListResult> {
  const runId = event?.runId;
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) throw new DecommissionRefusedError(`invalid runId ${JSON.stringify(runId)}`);
  const dryRun = parseDryRun(event.dryRun);
  const decommissionId = decommissionIdOf(String(event.executionName ?? ''));
  const { Item: run } = await deps.ddb.send(new GetCommand({ TableName: deps.tableName, Key: { pk: runPk(runId), sk: RUN_SK }, ConsistentRead: true }));
  const record = run as RunRecord | undefined;
  if (!record) throw new DecommissionRefusedError(`run ${runId} does not exist`);
  if (record.state !== RunState.COMPLETED) {
    throw new DecommissionRefusedError(`run ${runId} is ${record.state}: only a finished (COMPLETED) run can be decommissioned; resume or stop it first`);
  }
  if (event.vaultName !== record.vaultName) {
    throw new DecommissionRefusedError(`the vault name typed as confirmation does not match run ${runId}'s vault`);
  }
  if (record.destinationBucket && record.destinationBucket !== deps.destinationBucket) {
    throw new DecommissionRefusedError(`run ${runId} wrote to bucket ${record.destinationBucket}, not to this deployment's ${deps.destinationBucket}`);
  }
  if (dryRun === 'NO' && !deps.deletionEnabled) {
    throw new DecommissionRefusedError('deleting archives is not enabled on this deployment (construct prop); only dry runs are possible');
  }
  const { Item: lock } = await deps.ddb.send(new GetCommand({ TableName: deps.tableName, Key: { pk: activeVaultPk(record.vaultName), sk: RUN_SK }, ConsistentRead: true }));
  if (lock) throw new DecommissionRefusedError(`a transfer run is active on vault ${record.vaultName}`);

  const key = decommissionListKey(runId, decommissionId);
  const upload = new JsonArrayUpload(deps.s3, deps.inventoryBucket, key);
  const countsByStatus: Record<string, number> = {};
  let bytes = 0;
  try {
    for (const status of ALL_STATUSES) {
      let startKey: Record<string, unknown> | undefined;
      let count = 0;
      do {
        const page: QueryCommandOutput = await deps.ddb.send(new QueryCommand({
          TableName: deps.tableName,
          IndexName: TransferTable.statusIndex,
          KeyConditionExpression: '#partition = :runStatus',
          ProjectionExpression: 'archiveId, #size',
          ExpressionAttributeNames: { '#partition': TransferTable.statusIndexPartition, '#size': 'size' },
          ExpressionAttributeValues: { ':runStatus': runStatusKey(runId, status) },
          ExclusiveStartKey: startKey,
          Limit: deps.pageLimit,
        }));
        for (const raw of page.Items ?? []) {
          if (typeof raw.archiveId !== 'string') continue;
          const item: ListedArchive = { archiveId: raw.archiveId };
          await upload.add(item);
          bytes += Number(raw.size) || 0;
          count++;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      countsByStatus[status] = count;
    }
    if (upload.length > 0) await upload.finish();
    else await upload.abort();
  } catch (err) {
    await upload.abort();
    throw err;
  }
  deps.log.info('archives of the run listed for decommissioning', { runId, decommissionId, dryRun, count: upload.length, bytes, countsByStatus, key });
  return {
    runId,
    vaultName: record.vaultName,
    dryRun,
    decommissionId,
    bucket: deps.inventoryBucket,
    key,
    count: upload.length,
    bytes,
    countsByStatus,
  };
}
