import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { JsonArrayUpload } from './json-array-upload';
import { runStatusKey, TransferTable, windowExtensionListKey } from '../../contract/keys';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';

/** Input of ArchivesNeedingWindowExtension (the state machine's execution input). */
export interface WindowScanEvent {
  readonly runId: string;
}

/** One element of the list the Distributed Map reads (ItemReader, JSON). */
export interface WindowExtensionItem {
  readonly archiveId: string;
  readonly vaultName: string;
  /** The job whose window is closing; the re-request only applies while it is still current. */
  readonly jobId: string;
  readonly size: number;
  readonly jobExpiresAt: number;
}

export interface WindowScanResult {
  readonly bucket: string;
  readonly key: string;
  /** Archives listed (0: no object is written, nothing to extend). */
  readonly count: number;
  readonly bytes: number;
  /** The scan stopped early to stay inside the Lambda timeout; the next scan continues. */
  readonly truncated: boolean;
}

export interface WindowScanDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly tableName: string;
  readonly bucket: string;
  /** Archives whose window ends within this many seconds are listed. */
  readonly marginSeconds: number;
  readonly log: Log;
  /** Epoch millis. */
  readonly now?: () => number;
  /** Milliseconds left in this invocation (Lambda context). */
  readonly remainingMs?: () => number;
  /** Items per Query page (default: DynamoDB's 1 MB pages). */
  readonly pageLimit?: number;
  readonly partSize?: number;
}

/** Stop paging when less than this is left of the invocation. */
const SAFETY_MS = 60_000;

/**
 * Lists the run's archives whose download window closes within the margin: staged archives and
 * requested archives whose job already completed (both carry `jobExpiresAt`). Archives that were
 * just re-requested have no `jobExpiresAt` until their new job completes, so they are not listed
 * twice. Pages through the StatusIndex and streams the list to S3 as it goes: memory holds one
 * Query page and one upload part, whatever the number of staged archives.
 */
export async function findArchivesNeedingExtension(deps: WindowScanDeps, event: WindowScanEvent): Promise<WindowScanResult> {
  const runId = event?.runId;
  if (typeof runId !== 'string' || runId === '') throw new Error('ArchivesNeedingWindowExtension needs { runId }');
  const now = (deps.now ?? Date.now)();
  const deadline = now + deps.marginSeconds * 1000;
  const key = windowExtensionListKey(runId, new Date(now));
  const upload = new JsonArrayUpload(deps.s3, deps.bucket, key, deps.partSize);
  let bytes = 0;
  let truncated = false;
  try {
    for (const status of [ArchiveStatus.STAGED, ArchiveStatus.REQUESTED]) {
      let startKey: Record<string, unknown> | undefined;
      do {
        if (deps.remainingMs && deps.remainingMs() < SAFETY_MS) {
          truncated = true;
          break;
        }
        const page: QueryCommandOutput = await deps.ddb.send(new QueryCommand({
          TableName: deps.tableName,
          IndexName: TransferTable.statusIndex,
          KeyConditionExpression: '#partition = :runStatus',
          FilterExpression: 'attribute_exists(jobExpiresAt) AND jobExpiresAt < :deadline',
          ProjectionExpression: 'archiveId, vaultName, jobId, #size, jobExpiresAt',
          ExpressionAttributeNames: { '#partition': TransferTable.statusIndexPartition, '#size': 'size' },
          ExpressionAttributeValues: { ':runStatus': runStatusKey(runId, status), ':deadline': deadline },
          ExclusiveStartKey: startKey,
          Limit: deps.pageLimit,
        }));
        for (const raw of page.Items ?? []) {
          if (typeof raw.jobId !== 'string' || typeof raw.archiveId !== 'string') continue;
          const item: WindowExtensionItem = {
            archiveId: raw.archiveId,
            vaultName: String(raw.vaultName),
            jobId: raw.jobId,
            size: Number(raw.size),
            jobExpiresAt: Number(raw.jobExpiresAt),
          };
          await upload.add(item);
          bytes += item.size;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      if (truncated) break;
    }
    if (upload.length === 0) {
      await upload.abort();
      deps.log.info('no archive needs its download window extended', { runId });
      return { bucket: deps.bucket, key, count: 0, bytes: 0, truncated };
    }
    const size = await upload.finish();
    deps.log.info('archives needing a download-window extension listed', { runId, count: upload.length, bytes, key, objectBytes: size, truncated });
    return { bucket: deps.bucket, key, count: upload.length, bytes, truncated };
  } catch (err) {
    await upload.abort();
    throw err;
  }
}
