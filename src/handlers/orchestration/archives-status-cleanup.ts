import { AbortMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_SK } from '../../contract/keys';
import { ArchiveTransition } from '../../core/archive-lifecycle';
import { transitionUpdate } from '../shared/archive-transition';
import { errorName, isConditionalCheckFailed, isThrottlingOrServerError } from '../shared/aws-errors';
import { forEachLimited } from '../shared/concurrency';
import type { Log } from '../shared/logger';
import { ArchiveItem, ArchiveStatus } from '../shared/schema';
import { queryStatusPage, withRetries } from '../shared/status-query';

/*
 * ArchivesStatusCleanup: archives a stopped or crashed run left `requested` or `staged` go back to
 * `pending`, so InitiateRetrieval requests them again. With `retryFailed` YES (Resume's RetryFailed)
 * FAILED archives go back to `pending` too (RETRY_FAILED), except unreadable inventory rows
 * (`inventoryRow`): retrying them cannot succeed, so they stay FAILED and the run can complete. Their multipart upload (if any) is aborted
 * and the job/upload attributes removed. Each reset is a conditional UpdateItem on the status it
 * was read with (a BatchWriteItem Put would overwrite a concurrent writer's change); updates run
 * 25 at a time and throttled or failed ones are retried with backoff before the invocation fails.
 * An invocation works through pages until its time budget is spent and returns a cursor; the state
 * machine calls it again until `done`.
 */

export interface StatusCleanupDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly transferTable: string;
  readonly destinationBucket: string;
  readonly destinationBucketOwner: string;
  readonly log: Log;
  readonly now?: () => Date;
  /** Milliseconds left before the invocation must return. */
  readonly remainingMs: () => number;
  readonly pageSize?: number;
  readonly concurrency?: number;
}

export interface StatusCleanupEvent {
  readonly runId: string;
  readonly cursor?: StatusCleanupCursor | null;
  /** Totals carried over from earlier invocations. */
  readonly reset?: number;
  /** YES: FAILED archives (not unreadable inventory rows) are retried too. Absent: NO. */
  readonly retryFailed?: 'YES' | 'NO';
}

type CleanedStatus = ArchiveStatus.REQUESTED | ArchiveStatus.STAGED | ArchiveStatus.FAILED;

export interface StatusCleanupCursor {
  readonly status: CleanedStatus;
  readonly startKey?: Record<string, unknown>;
}

export interface StatusCleanupResult {
  readonly runId: string;
  readonly done: boolean;
  readonly reset: number;
  readonly cursor: StatusCleanupCursor | null;
  readonly retryFailed: 'YES' | 'NO';
}

const IN_FLIGHT: CleanedStatus[] = [ArchiveStatus.REQUESTED, ArchiveStatus.STAGED];
const WITH_FAILED: CleanedStatus[] = [...IN_FLIGHT, ArchiveStatus.FAILED];
const SAFETY_MS = 30_000;

export async function resetArchive(deps: StatusCleanupDeps, item: ArchiveItem): Promise<boolean> {
  const retry = item.status === ArchiveStatus.FAILED;
  // An unreadable inventory row is not an archive Glacier can be asked for: it stays FAILED.
  if (retry && item.inventoryRow !== undefined) return false;
  if (item.uploadId && item.objectKey) {
    try {
      await withRetries(() => deps.s3.send(new AbortMultipartUploadCommand({
        Bucket: deps.destinationBucket,
        Key: item.objectKey,
        UploadId: item.uploadId,
        ExpectedBucketOwner: deps.destinationBucketOwner,
      })), isThrottlingOrServerError);
    } catch (err) {
      if (errorName(err) !== 'NoSuchUpload') throw err;
    }
  }
  const now = deps.now?.() ?? new Date();
  try {
    await withRetries(() => deps.ddb.send(new UpdateCommand({
      TableName: deps.transferTable,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(retry ? ArchiveTransition.RETRY_FAILED : ArchiveTransition.RESET_ON_RESUME, { runId: item.runId, now }, {
        set: ['statusResetAt = :resetAt'],
        remove: ['jobId', 'jobExpiresAt', 'uploadId', 'partsDone', 'chunksQueuedFor', 'validationQueuedBy', 'previousJobId', 'previousJobExpiresAt'],
        conditions: ['#status = :old'],
        values: { ':resetAt': now.toISOString(), ':old': item.status },
      }),
    })), isThrottlingOrServerError);
    return true;
  } catch (err) {
    // Moved on since the (eventually consistent) index read: nothing to reset.
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

export async function cleanupArchivesStatus(deps: StatusCleanupDeps, event: StatusCleanupEvent): Promise<StatusCleanupResult> {
  const retryFailed = event.retryFailed === 'YES' ? 'YES' : 'NO';
  const order = retryFailed === 'YES' ? WITH_FAILED : IN_FLIGHT;
  let cursor: StatusCleanupCursor | null = event.cursor ?? { status: order[0] };
  let reset = event.reset ?? 0;
  while (cursor) {
    if (deps.remainingMs() < SAFETY_MS) return { runId: event.runId, done: false, reset, cursor, retryFailed };
    const page = await queryStatusPage(deps.ddb, deps.transferTable, event.runId, cursor.status, cursor.startKey, deps.pageSize ?? 500);
    let pageReset = 0;
    await forEachLimited(page.items, deps.concurrency ?? 25, async (item) => {
      if (await resetArchive(deps, item)) pageReset++;
    });
    reset += pageReset;
    if (page.items.length > 0) deps.log.info('reset archives', { runId: event.runId, status: cursor.status, reset: pageReset });
    if (page.nextKey) {
      cursor = { status: cursor.status, startKey: page.nextKey };
    } else {
      const next: CleanedStatus | undefined = order[order.indexOf(cursor.status) + 1];
      cursor = next ? { status: next } : null;
    }
  }
  return { runId: event.runId, done: true, reset, cursor: null, retryFailed };
}
