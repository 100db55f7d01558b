import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  StorageClass,
} from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveStore } from './archive-store';
import type { DestinationConfig } from './config';
import { MetadataKey, objectMetadata } from './object-metadata';
import { UPLOAD_CHECKSUM_ALGORITHM } from './part-checksum';
import { copyArchiveToObject, TransferClients } from './transfer';
import { ChunkMessage, ValidationMessage } from '../../contract/messages';
import { ChunkPlan, chunkRanges, planChunks } from '../../core/chunk-plan';
import { objectVersionId } from '../../core/object-version';
import { IntegrityError } from '../../core/tree-hash';
import { describeError, errorName } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveItem, ArchiveStatus } from '../shared/schema';
import { sendAllMessages } from '../shared/sqs-send';

/** Everything the staging logic talks to. */
export interface StagingDeps {
  readonly store: ArchiveStore;
  readonly clients: TransferClients;
  readonly sqs: SQSClient;
  readonly destination: DestinationConfig;
  readonly chunkQueueUrl: string;
  /** Chunk size for new plans (existing uploads keep the size they were planned with). */
  readonly chunkSize: number;
  readonly maxDownloadAttempts: number;
  /** Bound on retrieval jobs per archive (a job adopted through its description counts). */
  readonly maxRetrievalJobs?: number;
  /**
   * Validation queue: a re-staged archive whose parts are all uploaded (its validation was lost or
   * dead-lettered) gets its validation message again.
   */
  readonly validationQueueUrl?: string;
  readonly log: Log;
}

/** What staging did with the archive. */
export type StageOutcome =
  /** Small archive copied with one PutObject and verified. */
  | 'downloaded'
  /** Multipart upload in place and every missing part enqueued. */
  | 'chunks-queued'
  /** Verification failed too often: the archive is marked failed. */
  | 'failed'
  /** The archive moved on (another job, upload or status) while we worked: nothing to do. */
  | 'superseded';

/**
 * Copies a staged archive: one verified PutObject for a small archive, otherwise a multipart
 * upload (created once, reused on redelivery) and one chunk message per part not yet done.
 * Shared by the notifications processor and by validation when an archive must be re-downloaded.
 */
export async function stageArchive(deps: StagingDeps, item: ArchiveItem, jobId: string): Promise<StageOutcome> {
  const plan = planChunks(item.size, item.uploadId && item.chunkSize ? item.chunkSize : deps.chunkSize);
  if (plan.singleRequest && !item.uploadId) return copySmallArchive(deps, item, jobId);
  return ensureUploadAndEnqueue(deps, item, jobId, plan);
}

async function copySmallArchive(deps: StagingDeps, item: ArchiveItem, jobId: string): Promise<StageOutcome> {
  const { bucket, bucketOwner } = deps.destination;
  let result;
  try {
    result = await copyArchiveToObject(
      deps.clients,
      { vaultName: item.vaultName, jobId },
      { size: item.size, treeHash: item.treeHash },
      { bucket, bucketOwner, key: item.objectKey, storageClass: item.storageClass, metadata: objectMetadata(item) },
    );
  } catch (err) {
    if (err instanceof IntegrityError) return recordSmallArchiveMismatch(deps, item, jobId, err);
    throw err;
  }
  const head = await headObject(deps.clients.s3, deps.destination, item.objectKey, result.versionId);
  if (!objectMatches(item, head)) {
    throw new Error(`object ${item.objectKey} does not read back as written (${head?.ContentLength ?? 'missing'} bytes, expected ${item.size})`);
  }
  const versionId = result.versionId ?? objectVersionId(head?.VersionId);
  if (await deps.store.markDownloaded(item, { jobId }, versionId)) {
    deps.log.info('archive copied in one request and verified', { bytes: item.size, treeHash: result.treeHash, objectVersionId: versionId });
    return 'downloaded';
  }
  const current = await deps.store.getArchive(item.pk);
  if (current?.status === ArchiveStatus.DOWNLOADED) return 'downloaded';
  deps.log.warn('archive changed while it was copied; not marking it downloaded', { status: current?.status, currentJobId: current?.jobId });
  return 'superseded';
}

async function recordSmallArchiveMismatch(deps: StagingDeps, item: ArchiveItem, jobId: string, err: IntegrityError): Promise<StageOutcome> {
  const attempts = (item.downloadAttempts ?? 0) + 1;
  if (attempts >= deps.maxDownloadAttempts) {
    const reason = `archive failed verification ${attempts} time(s): ${err.message}`;
    await deps.store.markFailed(item, reason, { jobId, downloadAttempts: attempts });
    deps.log.error('archive marked failed after repeated verification failures', { attempts, reason });
    return 'failed';
  }
  await deps.store.recordDownloadAttempt(item, jobId, attempts, err.message);
  deps.log.warn('archive failed verification; the notification will be retried to download it again', {
    attempts,
    maxDownloadAttempts: deps.maxDownloadAttempts,
    reason: err.message,
  });
  throw err;
}

async function ensureUploadAndEnqueue(deps: StagingDeps, item: ArchiveItem, jobId: string, plan: ChunkPlan): Promise<StageOutcome> {
  let current = item;
  if (!current.uploadId) {
    const created = await createUpload(deps, item);
    const upload = { uploadId: created, checksumAlgorithm: UPLOAD_CHECKSUM_ALGORITHM };
    if (await deps.store.recordUpload(item, jobId, upload, plan)) {
      current = { ...item, ...upload, chunkSize: plan.chunkSize, chunkCount: plan.chunkCount, partsDone: undefined };
      deps.log.info('multipart upload created', { uploadId: created, chunkCount: plan.chunkCount, chunkSize: plan.chunkSize });
    } else {
      // Another delivery stored its upload first: ours is an orphan.
      await abortUpload(deps, item.objectKey, created);
      const reread = await deps.store.getArchive(item.pk);
      if (!reread || reread.status !== ArchiveStatus.STAGED || reread.jobId !== jobId || !reread.uploadId) {
        deps.log.info('archive moved on while its upload was created; nothing to enqueue', { status: reread?.status });
        return 'superseded';
      }
      current = reread;
      plan = planChunks(current.size, current.chunkSize ?? plan.chunkSize);
    }
  }
  const uploadId = current.uploadId!;
  const done = current.partsDone ?? new Set<number>();
  const messages = chunkRanges(plan)
    .filter((range) => !done.has(range.partNumber))
    .map((range) => {
      const message: ChunkMessage = {
        runId: current.runId,
        archiveId: current.archiveId,
        jobId,
        uploadId,
        partNumber: range.partNumber,
        rangeStart: range.start,
        rangeEnd: range.end,
        chunkCount: plan.chunkCount,
      };
      return { id: `part-${range.partNumber}`, body: JSON.stringify(message) };
    });
  await sendAllMessages(deps.sqs, deps.chunkQueueUrl, messages);
  if (messages.length === 0 && done.size >= plan.chunkCount && deps.validationQueueUrl) {
    // Every part is in but the archive is still staged: its validation never completed (lost, or
    // dead-lettered before the last-receive rule). Queue it again; validation is idempotent.
    const validation: ValidationMessage = { runId: current.runId, archiveId: current.archiveId, uploadId };
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.validationQueueUrl, MessageBody: JSON.stringify(validation) }));
    deps.log.info('every part already uploaded; validation queued again', { uploadId, chunkCount: plan.chunkCount });
  }
  await deps.store.markChunksQueued(current, jobId, uploadId);
  deps.log.info('chunk messages enqueued', { uploadId, enqueued: messages.length, alreadyDone: done.size, chunkCount: plan.chunkCount });
  return 'chunks-queued';
}

async function createUpload(deps: StagingDeps, item: ArchiveItem): Promise<string> {
  const { bucket, bucketOwner } = deps.destination;
  const { UploadId } = await deps.clients.s3.send(new CreateMultipartUploadCommand({
    Bucket: bucket,
    Key: item.objectKey,
    StorageClass: item.storageClass as StorageClass,
    ChecksumAlgorithm: UPLOAD_CHECKSUM_ALGORITHM,
    Metadata: objectMetadata(item),
    ExpectedBucketOwner: bucketOwner,
  }));
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${item.objectKey} returned no UploadId`);
  return UploadId;
}

/** Aborts a multipart upload; an upload that is already gone is fine. */
export async function abortUpload(deps: Pick<StagingDeps, 'clients' | 'destination' | 'log'>, key: string, uploadId: string): Promise<void> {
  try {
    await deps.clients.s3.send(new AbortMultipartUploadCommand({
      Bucket: deps.destination.bucket,
      Key: key,
      UploadId: uploadId,
      ExpectedBucketOwner: deps.destination.bucketOwner,
    }));
  } catch (err) {
    if (errorName(err) === 'NoSuchUpload') return;
    deps.log.warn('could not abort multipart upload; the run cleanup will remove it', { uploadId, ...describeError(err) });
  }
}

/** HeadObject on the destination; `undefined` when the object does not exist. */
export async function headObject(
  s3: S3Client,
  destination: Pick<DestinationConfig, 'bucket' | 'bucketOwner'>,
  key: string,
  versionId?: string,
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({
      Bucket: destination.bucket,
      Key: key,
      VersionId: versionId,
      ExpectedBucketOwner: destination.bucketOwner,
    }));
  } catch (err) {
    if (errorName(err) === 'NotFound' || errorName(err) === 'NoSuchKey' || errorName(err) === 'NoSuchVersion') return undefined;
    throw err;
  }
}

/** The verified copy of `item` at its destination key (with its version id), or undefined when the key holds none. */
export async function verifiedCopyAt(
  deps: { readonly clients: { readonly s3: S3Client }; readonly destination: Pick<DestinationConfig, 'bucket' | 'bucketOwner'> },
  item: ArchiveItem,
): Promise<{ readonly versionId?: string } | undefined> {
  const head = await headObject(deps.clients.s3, deps.destination, item.objectKey);
  return objectMatches(item, head) ? { versionId: objectVersionId(head?.VersionId) } : undefined;
}

/** True when a HeadObject answer is the verified copy of `item`. */
export function objectMatches(item: ArchiveItem, head: HeadObjectCommandOutput | undefined): boolean {
  return head !== undefined
    && head.ContentLength === item.size
    && head.Metadata?.[MetadataKey.TREE_HASH]?.toLowerCase() === item.treeHash.toLowerCase();
}
