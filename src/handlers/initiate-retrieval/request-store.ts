import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_SK } from '../../contract/keys';
import { ArchiveTransition } from '../../core/archive-lifecycle';
import { transitionItem, transitionUpdate } from '../shared/archive-transition';
import { isConditionalCheckFailed } from '../shared/aws-errors';
import { ArchiveItem, ArchiveStatus, WindowExtensionAttributes } from '../shared/schema';

const BATCH_GET_LIMIT = 100;
const BATCH_GET_RETRIES = 8;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/** The archive attributes InitiateRetrieval writes before it requests an archive. */
export type NewArchiveItem = Omit<ArchiveItem, 'status' | 'runStatus' | 'statusTime' | 'pk' | 'sk'>;

/** An archive item as the window extension reads it. */
export type ExtensibleArchiveItem = ArchiveItem & WindowExtensionAttributes;

/**
 * Archive-item writes of the request stages. Every transition is conditional on the status (and
 * job id) the caller saw, so a redelivered batch, two overlapping executions or a crash between
 * steps cannot request an archive twice unnoticed or move it backwards.
 */
export class RequestStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Consistent reads of many archive items (BatchGetItem, unprocessed keys retried). */
  public async getArchives(pks: readonly string[]): Promise<Map<string, ExtensibleArchiveItem>> {
    const found = new Map<string, ExtensibleArchiveItem>();
    const unique = [...new Set(pks)];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_LIMIT).map((pk) => ({ pk, sk: ARCHIVE_SK }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt >= BATCH_GET_RETRIES) throw new Error(`BatchGetItem left ${keys.length} archive items unread after ${attempt} attempts`);
        if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt) * Math.random());
        const out = await this.ddb.send(new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
        }));
        for (const item of out.Responses?.[this.tableName] ?? []) found.set(String(item.pk), item as ExtensibleArchiveItem);
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  public async getArchive(pk: string): Promise<ExtensibleArchiveItem | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk: ARCHIVE_SK }, ConsistentRead: true }));
    return Item as ExtensibleArchiveItem | undefined;
  }

  /**
   * Writes the archive item (pending, or failed with its `failureReason` for an unusable row)
   * unless it already exists. `false` when it exists (another invocation wrote it first).
   */
  public async createArchive(pk: string, item: NewArchiveItem, status: ArchiveStatus.PENDING | ArchiveStatus.FAILED): Promise<boolean> {
    const transition = status === ArchiveStatus.PENDING ? ArchiveTransition.CREATE_PENDING : ArchiveTransition.CREATE_FAILED;
    const put = transitionItem(transition, { ...item, pk, sk: ARCHIVE_SK }, this.clock());
    return conditional(() => this.ddb.send(new PutCommand({ TableName: this.tableName, ...put })));
  }

  /**
   * Points a pending archive at the object key and storage class of this execution (Resume with
   * another storage class or naming override): not a status change, so only while it is still
   * pending. `false` when it is no longer pending.
   */
  public async retarget(pk: string, target: { objectKey: string; storageClass: string }): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      UpdateExpression: 'SET objectKey = :key, storageClass = :class, retargetedAt = :at',
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':key': target.objectKey, ':class': target.storageClass, ':at': this.clock().toISOString(), ':pending': ArchiveStatus.PENDING },
    })));
  }

  /**
   * pending → requested with the job id (one more retrieval job). `false` when the archive is no
   * longer pending.
   */
  public async markRequested(pk: string, runId: string, jobId: string, maxRetrievalJobs?: number): Promise<boolean> {
    const now = this.clock();
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.REQUEST, { runId, now, maxRetrievalJobs }, {
        set: ['jobId = :jobId', 'requestedAt = :requestedAt'],
        remove: ['jobExpiresAt', 'failureReason'],
        values: { ':jobId': jobId, ':requestedAt': now.toISOString() },
      }),
    })));
  }

  /** pending (never requested under a job) → failed with the reason. `false` when the archive is no longer pending. */
  public async markRequestFailed(pk: string, runId: string, reason: string): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.FAIL, { runId, now: this.clock(), reason }, {
        conditions: ['#status = :pendingOnly'],
        values: { ':pendingOnly': ArchiveStatus.PENDING },
      }),
    })));
  }

  /**
   * pending → downloaded without a retrieval: the destination already holds this archive's
   * verified copy. `false` when the archive is no longer pending.
   */
  public async markFoundAtDestination(pk: string, runId: string, objectVersionId: string | undefined): Promise<boolean> {
    const now = this.clock();
    const set = ['downloadedAt = :downloadedAt', 'foundAtDestination = :found'];
    const values: Record<string, unknown> = { ':downloadedAt': now.toISOString(), ':found': true };
    if (objectVersionId !== undefined) {
      set.push('objectVersionId = :versionId');
      values[':versionId'] = objectVersionId;
    }
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.FOUND_AT_DESTINATION, { runId, now }, { set, values }),
    })));
  }

  /**
   * Requested or staged under `jobId`, at the retrieval-job bound, and no copy of that job can
   * still land (its window closed long enough ago, no validation queued) → failed with the reason.
   * `false` when any of that no longer holds (the archive moved on, or a copy may still finish).
   */
  public async failAtJobBound(item: ArchiveItem, jobId: string, reason: string, maxRetrievalJobs?: number): Promise<boolean> {
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.FAIL_AT_JOB_BOUND, { runId: item.runId, now: this.clock(), reason, maxRetrievalJobs }, {
        conditions: ['jobId = :jobId'],
        values: { ':jobId': jobId },
      }),
    })));
  }

  /**
   * Switches a staged (or requested, job completed) archive to the re-requested job, only while it
   * is still in that status under `oldJobId`. The old job and its expiry are kept as
   * `previousJobId` / `previousJobExpiresAt` (its output stays readable until then); `jobExpiresAt`
   * is removed until the new job's completion notification sets it. The status does not change, so
   * counters are not touched and the archive is counted once.
   */
  public async switchToExtendedJob(item: ExtensibleArchiveItem, oldJobId: string, newJobId: string, maxRetrievalJobs?: number): Promise<boolean> {
    const now = this.clock();
    const set = ['jobId = :newJob', 'previousJobId = :oldJob', 'windowExtendedAt = :extendedAt'];
    const values: Record<string, unknown> = { ':newJob': newJobId, ':oldJob': oldJobId, ':extendedAt': now.toISOString(), ':oneExtension': 1 };
    if (item.jobExpiresAt !== undefined) {
      set.push('previousJobExpiresAt = :oldExpires');
      values[':oldExpires'] = item.jobExpiresAt;
    }
    return conditional(() => this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: ARCHIVE_SK },
      ...transitionUpdate(ArchiveTransition.RE_REQUEST, { runId: item.runId, now, maxRetrievalJobs, currentStatus: item.status }, {
        set,
        remove: ['jobExpiresAt'],
        add: ['windowExtensions :oneExtension'],
        conditions: ['jobId = :oldJob'],
        values,
      }),
    })));
  }
}
