import type { Logger } from '@aws-lambda-powertools/logger';
import { CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
import { failArchiveOnLastReceive } from './last-receive';
import { completedPart, uploadChecksumAlgorithm } from './part-checksum';
import { abortUpload, headObject, objectMatches, stageArchive, StagingDeps, verifiedCopyAt } from './staging';
import { archivePk } from '../../contract/keys';
import { ValidationMessage } from '../../contract/messages';
import { objectVersionId } from '../../core/object-version';
import { combineTreeHashes } from '../../core/tree-hash';
import { errorName } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { withKeys } from '../shared/logger';
import { ArchiveItem, ArchiveStatus, ChunkItem } from '../shared/schema';

export interface ValidationDeps extends Omit<StagingDeps, 'log'> {
  readonly logger: Logger;
}

export type ValidationOutcome =
  /** Tree hash matched, upload completed (now or earlier) and the object verified. */
  | 'downloaded'
  /** Verification failed; the archive is being downloaded again. */
  | 'redownloading'
  /** Verification failed too often; the archive is marked failed. */
  | 'failed'
  /** Nothing to do (already finished, replaced upload). */
  | 'superseded';

/** Some chunk items are missing or belong to another upload: retry later. */
export class IncompleteChunksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteChunksError';
  }
}

/**
 * Verifies a fully uploaded archive: combines the recorded chunk tree hashes in part order and
 * compares them with the inventory tree hash, then completes the multipart upload, reads the
 * object back and marks the archive downloaded. A mismatch re-downloads the archive (fresh upload)
 * until MAX_DOWNLOAD_ATTEMPTS, then marks it failed. Idempotent under redelivery.
 */
export async function processValidation(deps: ValidationDeps, message: ValidationMessage): Promise<ValidationOutcome> {
  const log = withKeys(deps.logger, { archiveId: message.archiveId, runId: message.runId, uploadId: message.uploadId });
  const item = await deps.store.getArchive(archivePk(message.runId, message.archiveId));
  if (!item) {
    log.warn('validation message for an archive that is not in the table; acknowledging it');
    return 'superseded';
  }
  const itemLog = withKeys(deps.logger, { archiveId: item.archiveId, runId: item.runId, jobId: item.jobId, uploadId: message.uploadId });
  if (item.status !== ArchiveStatus.STAGED) {
    itemLog.info('archive already finished; acknowledging validation message', { status: item.status });
    return 'superseded';
  }
  if (item.uploadId !== message.uploadId) {
    if (item.jobId !== undefined && item.chunksQueuedFor !== item.jobId) {
      // A re-download was interrupted after the old upload was dropped: finish it. The message's
      // upload is no longer the archive's, so it is released first (again, if that already ran).
      itemLog.info('resuming an interrupted re-download', { currentUploadId: item.uploadId });
      await releaseReplacedUpload({ ...deps, log: itemLog }, item, message.uploadId);
      await stageArchive({ ...deps, log: itemLog }, item, item.jobId);
    } else {
      itemLog.info('validation message for a replaced upload; acknowledging it', { currentUploadId: item.uploadId });
    }
    return 'superseded';
  }

  const chunkCount = item.chunkCount ?? 0;
  const chunks = currentChunks(await deps.store.listChunks(item.pk), message.uploadId, chunkCount);
  const combined = combineTreeHashes(chunks.map((c) => c.treeHash));
  const expected = item.treeHash.toLowerCase();
  if (combined !== expected) {
    return mismatch(deps, itemLog, item, message.uploadId, `combined tree hash ${combined} != inventory tree hash ${expected}`);
  }

  const { bucket, bucketOwner } = deps.destination;
  let versionId: string | undefined;
  try {
    const completed = await deps.clients.s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: item.objectKey,
      UploadId: message.uploadId,
      MultipartUpload: {
        Parts: chunks.map((c) => completedPart(c, uploadChecksumAlgorithm(item))),
      },
      ExpectedBucketOwner: bucketOwner,
    }));
    versionId = objectVersionId(completed.VersionId);
  } catch (err) {
    if (errorName(err) !== 'NoSuchUpload') throw err;
    itemLog.info('upload no longer open (completed by an earlier attempt?); checking the object');
  }

  const head = await headObject(deps.clients.s3, deps.destination, item.objectKey, versionId);
  if (!objectMatches(item, head)) {
    return mismatch(deps, itemLog, item, message.uploadId,
      `object reads back as ${head ? `${head.ContentLength} bytes with tree hash ${head.Metadata?.['glacier-tree-hash'] ?? 'none'}` : 'missing'}`);
  }
  const recordedVersionId = versionId ?? objectVersionId(head?.VersionId);
  if (await deps.store.markDownloaded(item, { uploadId: message.uploadId }, recordedVersionId)) {
    itemLog.info('archive verified and downloaded', { size: item.size, treeHash: combined, parts: chunks.length, objectVersionId: recordedVersionId });
    return 'downloaded';
  }
  itemLog.info('archive was marked by a concurrent validation');
  return 'superseded';
}

/**
 * Runs {@link processValidation} for one delivery; on the queue's last receive a validation that
 * still fails marks its archive FAILED with the reason (never left staged behind a dead-lettered
 * message).
 */
export async function processValidationDelivery(
  deps: ValidationDeps,
  message: ValidationMessage,
  receiveCount: number,
  maxReceives: number,
): Promise<ValidationOutcome | 'archive-failed' | 'archive-finished' | 'archive-downloaded'> {
  return failArchiveOnLastReceive({
    store: deps.store,
    log: deps.logger,
    receiveCount,
    maxReceives,
    verifiedCopy: (item) => verifiedCopyAt(deps, item),
    what: 'validation of the uploaded archive',
    locate: async () => {
      const item = await deps.store.getArchive(archivePk(message.runId, message.archiveId));
      return item ? { item, guard: { uploadId: message.uploadId } } : undefined;
    },
  }, () => processValidation(deps, message));
}

/** The chunk items of `uploadId`, one per part 1..chunkCount, or an IncompleteChunksError. */
function currentChunks(all: readonly ChunkItem[], uploadId: string, chunkCount: number): ChunkItem[] {
  const byPart = new Map<number, ChunkItem>();
  for (const chunk of all) if (chunk.uploadId === uploadId) byPart.set(chunk.partNumber, chunk);
  const missing: number[] = [];
  const chunks: ChunkItem[] = [];
  for (let part = 1; part <= chunkCount; part++) {
    const chunk = byPart.get(part);
    if (chunk) chunks.push(chunk);
    else missing.push(part);
  }
  if (chunkCount === 0 || missing.length > 0) {
    throw new IncompleteChunksError(`upload ${uploadId} has no recorded chunk for part(s) ${missing.slice(0, 10).join(', ') || '(no plan)'}`);
  }
  return chunks;
}

async function mismatch(deps: ValidationDeps, log: Log, item: ArchiveItem, uploadId: string, reason: string): Promise<ValidationOutcome> {
  const attempts = (item.downloadAttempts ?? 0) + 1;
  if (attempts >= deps.maxDownloadAttempts) {
    const failure = `archive failed verification ${attempts} time(s); last: ${reason}`;
    await deps.store.markFailed(item, failure, { uploadId, downloadAttempts: attempts });
    await abortUpload({ ...deps, log }, item.objectKey, uploadId);
    log.error('archive marked failed after repeated verification failures', { attempts, reason });
    return 'failed';
  }
  log.warn('archive failed verification; downloading it again', { attempts, maxDownloadAttempts: deps.maxDownloadAttempts, reason });
  // The reset comes first: it is the one conditional step that decides, and once the archive no
  // longer names the old upload, a crash anywhere after it is finished by the redelivered message
  // (see processValidation). Chunk items are matched by upload id, so the old ones cannot mix
  // with the new upload's even before they are deleted.
  if (!(await deps.store.resetUpload(item, uploadId, attempts, reason))) {
    log.info('archive changed concurrently; leaving the re-download to the newer state');
    return 'superseded';
  }
  await releaseReplacedUpload({ ...deps, log }, item, uploadId);
  const reset: ArchiveItem = {
    ...item,
    uploadId: undefined,
    chunkSize: undefined,
    chunkCount: undefined,
    partsDone: undefined,
    validationQueuedBy: undefined,
    chunksQueuedFor: undefined,
    downloadAttempts: attempts,
  };
  if (item.jobId === undefined) throw new Error('staged archive has no job id');
  const outcome = await stageArchive({ ...deps, log }, reset, item.jobId);
  return outcome === 'failed' ? 'failed' : 'redownloading';
}

/**
 * Aborts an upload the archive no longer names and deletes its chunk items. Only for an upload
 * that was replaced: the archive's current upload is never passed here.
 */
async function releaseReplacedUpload(deps: ValidationDeps & { readonly log: Log }, item: ArchiveItem, uploadId: string): Promise<void> {
  await abortUpload(deps, item.objectKey, uploadId);
  const parts = (await deps.store.listChunks(item.pk)).filter((c) => c.uploadId === uploadId).map((c) => c.partNumber);
  await deps.store.deleteChunksOf(item.pk, uploadId, parts);
}
