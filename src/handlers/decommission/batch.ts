/* eslint-disable @stylistic/max-len */
import { createHash } from 'crypto';
import { DeleteArchiveCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { HeadObjectCommand, HeadObjectCommandOutput, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchGetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ListedArchive } from './list-archives';
import { parseDryRun } from './list-archives';
import { backoffMs, RateLimiter } from './rate-limiter';
import { ARCHIVE_SK, archivePk, decommissionPrefix, RUN_ID_PATTERN } from '../../contract/keys';
import {
  ArchiveFacts,
  decideArchive,
  Decision,
  earlyDeletionCharge,
  emptyTotals,
  KeepReason,
  ObjectFacts,
  PlanTotals,
  recordedDecision,
} from '../../core/decommission-plan';
import { objectVersionId } from '../../core/object-version';
import type { PriceTable } from '../../core/prices';
import { describeError, errorName, httpStatus, isAccessDenied, isThrottlingOrServerError } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveItem, VaultDeletionAttributes } from '../shared/schema';

export interface DecommissionBatchEvent {
  readonly BatchInput: {
    readonly runId: string;
    readonly vaultName: string;
    readonly dryRun: string;
    readonly decommissionId: string;
  };
  readonly Items: readonly ListedArchive[];
}

/** One line of a decisions part (JSON Lines in the inventory bucket). */
export interface DecisionLine {
  readonly archiveId: string;
  readonly objectKey?: string;
  readonly size?: number;
  readonly creationDate?: string;
  /** delete: deletable (dry run) / deleted now; already-deleted: deleted earlier; keep: stays; deferred: retry later. */
  readonly outcome: 'delete' | 'already-deleted' | 'keep' | 'deferred';
  readonly reason?: KeepReason;
  readonly detail?: string;
  readonly earlyDeletionUsd?: number;
  readonly ageDays?: number;
  /** Deletions: time, how, and the S3 version id proven right before. */
  readonly deletedAt?: string;
  readonly vaultDeletion?: 'deleted' | 'not-found';
  readonly objectVersionId?: string;
}

export interface DecommissionBatchResult extends PlanTotals {
  readonly dryRun: 'YES' | 'NO';
  /** Decisions of this batch (inventory bucket). */
  readonly partKey: string;
}

/** Deletions were throttled past the retries, or time ran out: the whole batch is retried (idempotent). */
export class DeletionDeferredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeletionDeferredError';
  }
}

export class InvalidDecommissionBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDecommissionBatchError';
  }
}

export interface BatchDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly glacier: GlacierClient;
  readonly tableName: string;
  readonly inventoryBucket: string;
  readonly destinationBucket: string;
  /** Account that must own the destination bucket. */
  readonly expectedBucketOwner: string;
  readonly deletionEnabled: boolean;
  readonly deletesPerSecond: number;
  /** Attempts per DeleteArchive on throttling / 5xx. */
  readonly maxAttempts: number;
  readonly log: Log;
  /** HeadObject calls in flight at once. */
  readonly concurrency?: number;
  readonly prices?: PriceTable;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly remainingMs?: () => number;
}

/** Stop starting deletions when less than this is left of the invocation. */
const SAFETY_MS = 30_000;
const BATCH_GET_LIMIT = 100;

/** Name of a batch's decisions part: stable for the same archives, so a retried batch overwrites its part. */
export function partKeyOf(runId: string, decommissionId: string, items: readonly ListedArchive[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(item.archiveId).update('\n');
  return `${decommissionPrefix(runId, decommissionId)}decisions/${hash.digest('hex').slice(0, 32)}.jsonl`;
}

type StoredItem = ArchiveItem & VaultDeletionAttributes;

async function loadItems(deps: BatchDeps, runId: string, archiveIds: string[], sleep: (ms: number) => Promise<void>): Promise<Map<string, StoredItem>> {
  const found = new Map<string, StoredItem>();
  for (let i = 0; i < archiveIds.length; i += BATCH_GET_LIMIT) {
    let keys: Array<Record<string, unknown>> | undefined = archiveIds.slice(i, i + BATCH_GET_LIMIT).map((id) => ({ pk: archivePk(runId, id), sk: ARCHIVE_SK }));
    for (let attempt = 0; keys && keys.length > 0; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt, 100, 5_000));
      if (attempt > 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
      const out = await deps.ddb.send(new BatchGetCommand({ RequestItems: { [deps.tableName]: { Keys: keys, ConsistentRead: true } } }));
      for (const raw of out.Responses?.[deps.tableName] ?? []) {
        const item = raw as StoredItem;
        if (item.runId === runId) found.set(item.archiveId, item);
      }
      keys = out.UnprocessedKeys?.[deps.tableName]?.Keys as Array<Record<string, unknown>> | undefined;
    }
  }
  return found;
}

/** HeadObject of the current version at the recorded key, classified for the decision. */
export async function examineObject(deps: Pick<BatchDeps, 's3' | 'destinationBucket' | 'expectedBucketOwner'>, key: string): Promise<ObjectFacts> {
  let head: HeadObjectCommandOutput;
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.destinationBucket, Key: key, ExpectedBucketOwner: deps.expectedBucketOwner }));
  } catch (err) {
    const name = errorName(err);
    const status = httpStatus(err);
    if (name === 'NotFound' || name === 'NoSuchKey' || status === 404) return { kind: 'missing', detail: `no current object at ${key}` };
    if (status === 405 || name === 'MethodNotAllowed') return { kind: 'missing', detail: `the current version at ${key} is a delete marker` };
    if (isAccessDenied(err)) {
      return { kind: 'access-denied', detail: `HeadObject with ExpectedBucketOwner=${deps.expectedBucketOwner} was denied (bucket owned by another account, or no access)` };
    }
    if (isThrottlingOrServerError(err)) throw err;
    return { kind: 'error', detail: `HeadObject failed: ${name ?? 'Error'} ${status ?? ''}`.trim() };
  }
  if (head.DeleteMarker) return { kind: 'missing', detail: `the current version at ${key} is a delete marker` };
  return {
    kind: 'found',
    size: Number(head.ContentLength ?? -1),
    versionId: objectVersionId(head.VersionId),
    metadata: Object.fromEntries(Object.entries(head.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    lastModified: head.LastModified,
  };
}

function factsOf(item: StoredItem | undefined): ArchiveFacts | undefined {
  if (!item) return undefined;
  return {
    archiveId: item.archiveId,
    size: Number(item.size),
    treeHash: item.treeHash,
    creationDate: item.creationDate,
    objectKey: item.objectKey,
    status: item.status,
    downloadedAt: item.downloadedAt,
    objectVersionId: item.objectVersionId,
    failureReason: item.failureReason,
  };
}

/**
 * Examines one batch of a run's archives and, in a real run, deletes from the vault exactly those
 * whose S3 copy is proven right now (see core/decommission-plan.ts), at a bounded rate with
 * backoff on throttling. Idempotent: an archive already recorded as deleted is not deleted again,
 * and an archive Glacier no longer has (a deletion whose record was lost in a crash) is recorded
 * as deleted. Every decision goes to a decisions part in the inventory bucket.
 */
export async function decommissionBatch(deps: BatchDeps, event: DecommissionBatchEvent): Promise<DecommissionBatchResult> {
  const input = event?.BatchInput;
  const items = event?.Items;
  if (!input || typeof input.runId !== 'string' || !RUN_ID_PATTERN.test(input.runId) || typeof input.vaultName !== 'string' || !input.vaultName
    || typeof input.decommissionId !== 'string' || !input.decommissionId || !Array.isArray(items)) {
    throw new InvalidDecommissionBatchError('the batch needs BatchInput { runId, vaultName, dryRun, decommissionId } and Items [{ archiveId }]');
  }
  const dryRun = parseDryRun(input.dryRun);
  if (dryRun === 'NO' && !deps.deletionEnabled) throw new InvalidDecommissionBatchError('deleting archives is not enabled on this deployment');
  const { runId, vaultName, decommissionId } = input;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const limiter = new RateLimiter(deps.deletesPerSecond, now, sleep);
  const archiveIds = [...new Set(items.map((i) => i?.archiveId).filter((id): id is string => typeof id === 'string' && id !== ''))];
  const stored = await loadItems(deps, runId, archiveIds, sleep);
  const totals = emptyTotals();
  const lines: DecisionLine[] = new Array(archiveIds.length);
  let outOfTime = false;

  const deleteFromVault = async (archiveId: string): Promise<'deleted' | 'not-found' | 'deferred'> => {
    for (let attempt = 0; attempt < deps.maxAttempts; attempt++) {
      await limiter.take();
      try {
        await deps.glacier.send(new DeleteArchiveCommand({ accountId: '-', vaultName, archiveId }));
        limiter.succeeded();
        return 'deleted';
      } catch (err) {
        if (errorName(err) === 'ResourceNotFoundException') return 'not-found';
        if (!isThrottlingOrServerError(err)) throw err;
        limiter.throttled();
        deps.log.warn('DeleteArchive throttled or failed, backing off', { archiveId, attempt, ...describeError(err) });
        if (attempt + 1 < deps.maxAttempts) await sleep(backoffMs(attempt, 500, 20_000, deps.random));
      }
    }
    return 'deferred';
  };

  const handle = async (index: number): Promise<void> => {
    const archiveId = archiveIds[index];
    const item = stored.get(archiveId);
    const base = { archiveId, objectKey: item?.objectKey, size: item ? Number(item.size) : undefined, creationDate: item?.creationDate };
    const size = item ? Number(item.size) || 0 : 0;
    totals.archives++;
    if (item?.vaultDeletedAt) {
      totals.alreadyDeleted++;
      totals.alreadyDeletedBytes += size;
      lines[index] = { ...base, outcome: 'already-deleted', deletedAt: item.vaultDeletedAt, vaultDeletion: item.vaultDeletion, objectVersionId: item.vaultDeletionObjectVersionId };
      return;
    }
    const facts = factsOf(item);
    let decision: Decision | undefined = recordedDecision(facts);
    let versionId: string | undefined;
    if (!decision) {
      const object = await examineObject(deps, facts!.objectKey!);
      if (object.kind === 'found') versionId = object.versionId;
      decision = decideArchive(facts, object);
    }
    if (decision.action === 'keep') {
      totals.kept++;
      totals.keptBytes += size;
      totals.keptByReason[decision.reason] = (totals.keptByReason[decision.reason] ?? 0) + 1;
      lines[index] = { ...base, outcome: 'keep', reason: decision.reason, detail: decision.detail };
      return;
    }
    const charge = earlyDeletionCharge(size, facts!.creationDate, new Date(now()), deps.prices);
    const early = charge.chargeableDays > 0 ? { earlyDeletionUsd: charge.usd, ageDays: Math.floor(charge.ageDays) } : {};
    if (dryRun === 'YES') {
      countDelete(totals, size, charge.usd, charge.chargeableDays);
      lines[index] = { ...base, outcome: 'delete', objectVersionId: versionId, ...early };
      return;
    }
    if (outOfTime || (deps.remainingMs && deps.remainingMs() < SAFETY_MS)) {
      outOfTime = true;
      totals.deferred++;
      lines[index] = { ...base, outcome: 'deferred', detail: 'invocation time ran out' };
      return;
    }
    const result = await deleteFromVault(archiveId);
    if (result === 'deferred') {
      totals.deferred++;
      lines[index] = { ...base, outcome: 'deferred', detail: 'DeleteArchive throttled past the retries' };
      return;
    }
    const deletedAt = new Date(now()).toISOString();
    const update = await deps.ddb.send(new UpdateCommand({
      TableName: deps.tableName,
      Key: { pk: archivePk(runId, archiveId), sk: ARCHIVE_SK },
      UpdateExpression: 'SET vaultDeletedAt = if_not_exists(vaultDeletedAt, :at), vaultDeletion = if_not_exists(vaultDeletion, :how), '
        + 'vaultDeletionObjectVersionId = if_not_exists(vaultDeletionObjectVersionId, :version)',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': deletedAt, ':how': result, ':version': versionId ?? '' },
      ReturnValues: 'ALL_NEW',
    }));
    const recorded = update.Attributes as VaultDeletionAttributes | undefined;
    const line: DecisionLine = {
      ...base,
      outcome: 'delete',
      deletedAt: recorded?.vaultDeletedAt ?? deletedAt,
      vaultDeletion: recorded?.vaultDeletion ?? result,
      objectVersionId: versionId,
      ...early,
    };
    deps.log.info('archive deleted from the vault', { runId, vaultName, archiveId, objectKey: line.objectKey, objectVersionId: versionId, vaultDeletion: line.vaultDeletion, deletedAt: line.deletedAt });
    countDelete(totals, size, charge.usd, charge.chargeableDays);
    lines[index] = line;
  };

  // A small pool: HeadObject calls overlap, DeleteArchive calls share the limiter.
  let nextIndex = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 4, archiveIds.length)) }, async () => {
    while (nextIndex < archiveIds.length) await handle(nextIndex++);
  });
  await Promise.all(workers);

  const partKey = partKeyOf(runId, decommissionId, archiveIds.map((archiveId) => ({ archiveId })));
  await deps.s3.send(new PutObjectCommand({
    Bucket: deps.inventoryBucket,
    Key: partKey,
    Body: lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''),
    ContentType: 'application/x-ndjson',
  }));
  deps.log.info('decommission batch done', { runId, decommissionId, dryRun, partKey, ...totals });
  if (totals.deferred > 0) {
    throw new DeletionDeferredError(`${totals.deferred} deletion(s) deferred (throttling or time); the batch is retried and skips what is done`);
  }
  return { ...totals, dryRun, partKey };
}

function countDelete(totals: PlanTotals, size: number, usd: number, chargeableDays: number): void {
  totals.toDelete++;
  totals.toDeleteBytes += size;
  if (chargeableDays > 0) {
    totals.earlyDeletionArchives++;
    totals.earlyDeletionUsd += usd;
  }
}
