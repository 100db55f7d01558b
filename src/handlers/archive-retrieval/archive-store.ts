import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_SK, chunkSk, TransferTable } from '../../contract/keys';
import { ArchiveTransition } from '../../core/archive-lifecycle';
import type { ChunkPlan } from '../../core/chunk-plan';
import { transitionUpdate } from '../shared/archive-transition';
import { isConditionalCheckFailed, isTransactionConditionFailed } from '../shared/aws-errors';
import { forEachLimited } from '../shared/concurrency';
import { ArchiveItem, ArchiveStatus, ChunkItem } from '../shared/schema';

const CHUNK_SK_PREFIX = 'chunk#';

/** Runs a conditional write; `false` when the condition did not hold. */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/** Conditions that keep a write to the job and/or upload the caller worked on. */
function guardConditions(guard: { readonly jobId?: string; readonly uploadId?: string }): { conditions: string[]; values: Record<string, unknown> } {
  const conditions: string[] = [];
  const values: Record<string, unknown> = {};
  if (guard.jobId !== undefined) {
    conditions.push('jobId = :jobId');
    values[':jobId'] = guard.jobId;
  }
  if (guard.uploadId !== undefined) {
    conditions.push('uploadId = :uploadId');
    values[':uploadId'] = guard.uploadId;
  }
  return { conditions, values };
}

/**
 * Reads and conditionally writes archive and chunk items of the transfer table. Every state change
 * is a conditional write on the fields that identify the work it belongs to (status, job id,
 * upload id), so duplicate and stale messages cannot move an archive backwards.
 */
export class ArchiveStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The archive item key for a Glacier job id, via the KEYS_ONLY JobIdIndex (eventually consistent). */
  public async findArchivePkByJobId(jobId: string): Promise<string | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.ddb.send(new QueryCommand({
        TableName: this.tableName,
        IndexName: TransferTable.jobIdIndex,
        KeyConditionExpression: '#jobId = :jobId',
        ExpressionAttributeNames: { '#jobId': TransferTable.jobIdAttribute },
        ExpressionAttributeValues: { ':jobId': jobId },
        ExclusiveStartKey: startKey,
      }));
      const hit = page.Items?.find((item) => item[TransferTable.sortKey] === ARCHIVE_SK);
      if (hit) return hit[TransferTable.partitionKey] as string;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /** Consistent read of one archive item. */
  public async getArchive(pk: string): Promise<ArchiveItem | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      ConsistentRead: true,
    }));
    return Item as ArchiveItem | undefined;
  }

  /**
   * pending → requested with this job: the request stage crashed after InitiateJob and before it
   * recorded the job id, and the job's notification found the archive through its description.
   */
  public async adoptJob(item: ArchiveItem, jobId: string, maxRetrievalJobs?: number): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.ADOPT_JOB, { runId: item.runId, now: this.clock(), maxRetrievalJobs }, {
        set: ['jobId = :jobId'],
        conditions: ['attribute_not_exists(jobId)'],
        values: { ':jobId': jobId },
      }),
    })));
  }

  /** requested → staged for exactly this job. `false` when another delivery got there first. */
  public async markStaged(item: ArchiveItem, jobId: string, jobExpiresAt: number | undefined): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.STAGE, { runId: item.runId, now: this.clock() }, {
        set: jobExpiresAt !== undefined ? ['jobExpiresAt = :expires'] : [],
        conditions: ['jobId = :jobId'],
        values: { ':jobId': jobId, ...(jobExpiresAt !== undefined ? { ':expires': jobExpiresAt } : {}) },
      }),
    })));
  }

  /** Records when the current job's output expires (a re-staged job of an already staged archive). */
  public async recordJobExpiry(item: ArchiveItem, jobId: string, jobExpiresAt: number): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET jobExpiresAt = :expires',
      ConditionExpression: 'jobId = :jobId',
      ExpressionAttributeValues: { ':expires': jobExpiresAt, ':jobId': jobId },
    })));
  }

  /**
   * Marks the archive failed with `reason`, if it is not finished yet and still belongs to `guard`
   * (the job and/or upload the caller worked on).
   */
  public async markFailed(
    item: ArchiveItem,
    reason: string,
    guard: { readonly jobId?: string; readonly uploadId?: string; readonly downloadAttempts?: number },
  ): Promise<boolean> {
    const { conditions, values } = guardConditions(guard);
    const set: string[] = [];
    if (guard.downloadAttempts !== undefined) {
      set.push('downloadAttempts = :attempts');
      values[':attempts'] = guard.downloadAttempts;
    }
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.FAIL, { runId: item.runId, now: this.clock(), reason }, { set, conditions, values }),
    })));
  }

  /**
   * requested or staged → failed because a message of the archive's current job/upload
   * dead-lettered (see dead-letters.ts). Holds only while the archive is still in flight on
   * `guard`; records `deadLetterMessageId`, so a redelivery of the same dead-lettered message
   * recognises the write as its own.
   */
  public async markDeadLettered(
    item: ArchiveItem,
    reason: string,
    guard: { readonly jobId?: string; readonly uploadId?: string },
    messageId: string,
  ): Promise<boolean> {
    const { conditions, values } = guardConditions(guard);
    conditions.push('#status IN (:inFlight0, :inFlight1)');
    values[':inFlight0'] = ArchiveStatus.REQUESTED;
    values[':inFlight1'] = ArchiveStatus.STAGED;
    values[':messageId'] = messageId;
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.FAIL, { runId: item.runId, now: this.clock(), reason }, {
        set: ['deadLetterMessageId = :messageId'],
        conditions,
        values,
      }),
    })));
  }

  /** staged → downloaded, for this job or this upload only. */
  public async markDownloaded(
    item: ArchiveItem,
    guard: { readonly jobId?: string; readonly uploadId?: string },
    objectVersionId: string | undefined,
  ): Promise<boolean> {
    const now = this.clock();
    const { conditions, values } = guardConditions(guard);
    const set = ['downloadedAt = :downloadedAt'];
    values[':downloadedAt'] = now.toISOString();
    if (objectVersionId !== undefined) {
      set.push('objectVersionId = :versionId');
      values[':versionId'] = objectVersionId;
    }
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.DOWNLOAD, { runId: item.runId, now }, { set, conditions, values }),
    })));
  }

  /** Counts a failed whole-archive verification of a single-request copy that will be retried. */
  public async recordDownloadAttempt(item: ArchiveItem, jobId: string, attempts: number, reason: string): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET downloadAttempts = :attempts, lastVerificationFailure = :reason',
      ConditionExpression: '#status = :staged AND jobId = :jobId',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':attempts': attempts, ':reason': reason, ':staged': ArchiveStatus.STAGED, ':jobId': jobId },
    })));
  }

  /**
   * Stores a new multipart upload and its plan, only if the archive has none yet and is still
   * staged for `jobId`. `false` means another delivery stored one first (reuse it).
   */
  public async recordUpload(
    item: ArchiveItem,
    jobId: string,
    upload: { readonly uploadId: string; readonly checksumAlgorithm: string },
    plan: ChunkPlan,
  ): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET uploadId = :uploadId, checksumAlgorithm = :checksumAlgorithm, chunkSize = :chunkSize, chunkCount = :chunkCount '
        + 'REMOVE partsDone, validationQueuedBy, chunksQueuedFor',
      ConditionExpression: 'attribute_not_exists(uploadId) AND #status = :staged AND jobId = :jobId',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':uploadId': upload.uploadId,
        ':checksumAlgorithm': upload.checksumAlgorithm,
        ':chunkSize': plan.chunkSize,
        ':chunkCount': plan.chunkCount,
        ':staged': ArchiveStatus.STAGED,
        ':jobId': jobId,
      },
    })));
  }

  /**
   * Drops the current upload so the archive is downloaded again: forgets the upload, its parts and
   * validation claim, and records the attempt count and reason. Only if `uploadId` is still current.
   */
  public async resetUpload(item: ArchiveItem, uploadId: string, attempts: number, reason: string): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET downloadAttempts = :attempts, lastVerificationFailure = :reason '
        + 'REMOVE uploadId, checksumAlgorithm, chunkSize, chunkCount, partsDone, validationQueuedBy, chunksQueuedFor',
      ConditionExpression: 'uploadId = :uploadId AND #status = :staged',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':attempts': attempts, ':reason': reason, ':uploadId': uploadId, ':staged': ArchiveStatus.STAGED },
    })));
  }

  /** Notes that every chunk message of `uploadId` was sent for `jobId`. */
  public async markChunksQueued(item: ArchiveItem, jobId: string, uploadId: string): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET chunksQueuedFor = :jobId',
      ConditionExpression: 'uploadId = :uploadId AND jobId = :jobId',
      ExpressionAttributeValues: { ':jobId': jobId, ':uploadId': uploadId },
    })));
  }

  /**
   * Records one uploaded part, only while its upload is still the archive's current one and the
   * archive is staged (one transaction with a condition check on the archive item): a late
   * duplicate delivery of a replaced upload's part cannot overwrite the new upload's record.
   * `false` when the upload was replaced.
   */
  public async putChunk(chunk: ChunkItem): Promise<boolean> {
    try {
      await this.ddb.send(new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: this.tableName,
              Key: { pk: chunk.pk, sk: ARCHIVE_SK },
              ConditionExpression: 'uploadId = :uploadId AND #status = :staged',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':uploadId': chunk.uploadId, ':staged': ArchiveStatus.STAGED },
            },
          },
          { Put: { TableName: this.tableName, Item: chunk } },
        ],
      }));
      return true;
    } catch (err) {
      if (isTransactionConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Adds a part to the archive's done set (idempotent) if `uploadId` is still current, and returns
   * the updated archive; `undefined` when the upload was replaced meanwhile.
   */
  public async addPartDone(pk: string, uploadId: string, partNumber: number): Promise<ArchiveItem | undefined> {
    try {
      const { Attributes } = await this.ddb.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { pk, sk: ARCHIVE_SK },
        UpdateExpression: 'ADD partsDone :part',
        ConditionExpression: 'uploadId = :uploadId',
        ExpressionAttributeValues: { ':part': new Set([partNumber]), ':uploadId': uploadId },
        ReturnValues: 'ALL_NEW',
      }));
      return Attributes as ArchiveItem;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }

  /**
   * Claims the right to queue validation for `uploadId`. Won by the first part that saw the
   * set complete, and again by that same part when it is redelivered (it may have crashed
   * before sending).
   */
  public async claimValidation(pk: string, uploadId: string, partNumber: number): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET validationQueuedBy = :part',
      ConditionExpression: '(attribute_not_exists(validationQueuedBy) OR validationQueuedBy = :part) AND uploadId = :uploadId',
      ExpressionAttributeValues: { ':part': partNumber, ':uploadId': uploadId },
    })));
  }

  /** Every chunk item of an archive, in part order (paginated). */
  public async listChunks(pk: string): Promise<ChunkItem[]> {
    const chunks: ChunkItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.ddb.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': CHUNK_SK_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      for (const item of page.Items ?? []) chunks.push(item as ChunkItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return chunks.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Deletes the chunk items of a replaced upload. Each delete holds only while the item still names
   * `uploadId`: a part the next upload has already recorded under the same key is kept.
   */
  public async deleteChunksOf(pk: string, uploadId: string, partNumbers: readonly number[]): Promise<void> {
    await forEachLimited(partNumbers, 10, async (part) => {
      await conditional(() => this.ddb.send(new DeleteCommand({
        TableName: this.tableName,
        Key: { pk, sk: chunkSk(part) },
        ConditionExpression: 'uploadId = :uploadId',
        ExpressionAttributeValues: { ':uploadId': uploadId },
      })));
    });
  }
}
