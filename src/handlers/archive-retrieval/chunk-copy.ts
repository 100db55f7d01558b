import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveStore } from './archive-store';
import type { DestinationConfig } from './config';
import { failArchiveOnLastReceive } from './last-receive';
import { uploadChecksumAlgorithm } from './part-checksum';
import { verifiedCopyAt } from './staging';
import { copyRangeToPart, JobOutputExpiredError, TransferClients } from './transfer';
import { archivePk, chunkSk } from '../../contract/keys';
import { ChunkMessage, ValidationMessage } from '../../contract/messages';
import { chunkRange, planChunks } from '../../core/chunk-plan';
import { withKeys } from '../shared/logger';
import { ArchiveItem, ArchiveStatus, ChunkItem, WindowExtensionAttributes } from '../shared/schema';

export interface ChunkDeps {
  readonly store: ArchiveStore;
  readonly clients: TransferClients;
  readonly sqs: SQSClient;
  readonly destination: DestinationConfig;
  readonly validationQueueUrl: string;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export type ChunkOutcome =
  /** Part uploaded and recorded; validation not (yet) due. */
  | 'recorded'
  /** Part recorded (now or before) and this message queued validation. */
  | 'validation-queued'
  /** Part was already done for this upload; nothing copied. */
  | 'already-done'
  /** The message belongs to an upload or archive state that no longer exists. */
  | 'superseded';

const SECONDS_PER_DAY = 86_400;

/**
 * Copies one chunk (GetJobOutput range → tree hash check → UploadPart), records it, and queues
 * validation when it was the last missing part. Throws (SQS retries) on any transfer or
 * verification error; a wrong chunk is never recorded.
 */
export async function processChunk(deps: ChunkDeps, message: ChunkMessage): Promise<ChunkOutcome> {
  const log = withKeys(deps.logger, {
    archiveId: message.archiveId,
    runId: message.runId,
    jobId: message.jobId,
    partNumber: message.partNumber,
  });
  const pk = archivePk(message.runId, message.archiveId);
  const item = await deps.store.getArchive(pk);
  if (!item) {
    log.warn('chunk message for an archive that is not in the table; acknowledging it');
    return 'superseded';
  }
  if (item.uploadId !== message.uploadId) {
    log.info('chunk message for a replaced upload; acknowledging it', { messageUploadId: message.uploadId, currentUploadId: item.uploadId });
    return 'superseded';
  }
  if (item.status !== ArchiveStatus.STAGED) {
    log.info('chunk message for an archive that is no longer staged; acknowledging it', { status: item.status });
    return 'superseded';
  }
  const now = (deps.clock ?? (() => new Date()))();
  const extended = item as ArchiveItem & WindowExtensionAttributes;
  const fromPreviousJob = extended.previousJobId === message.jobId && (extended.previousJobExpiresAt ?? 0) > now.getTime();
  if (item.jobId !== undefined && item.jobId !== message.jobId && !fromPreviousJob) {
    // The archive was re-requested (download-window extension) and this message's job is no
    // longer readable. The new job's notification re-queues every part still missing for this
    // same upload, so this message has nothing left to do.
    log.info('chunk message for a superseded job; the current job re-queues missing parts', { currentJobId: item.jobId });
    return 'superseded';
  }

  const plan = planChunks(item.size, item.chunkSize ?? message.rangeEnd - message.rangeStart + 1);
  const range = chunkRange(plan, message.partNumber);
  if (range.start !== message.rangeStart || range.end !== message.rangeEnd || plan.chunkCount !== (item.chunkCount ?? plan.chunkCount)) {
    throw new Error(`chunk message range ${message.rangeStart}-${message.rangeEnd} does not match the archive plan ${range.start}-${range.end}`);
  }
  const chunkCount = item.chunkCount ?? plan.chunkCount;

  let partsDone = item.partsDone;
  let outcome: ChunkOutcome = 'already-done';
  if (!partsDone?.has(message.partNumber)) {
    const jobId = message.jobId;
    let copied;
    try {
      copied = await copyRangeToPart(
        deps.clients,
        { vaultName: item.vaultName, jobId },
        range,
        {
          bucket: deps.destination.bucket,
          bucketOwner: deps.destination.bucketOwner,
          key: item.objectKey,
          uploadId: message.uploadId,
          partNumber: message.partNumber,
          checksumAlgorithm: uploadChecksumAlgorithm(item),
        },
      );
    } catch (err) {
      if (err instanceof JobOutputExpiredError && item.jobId !== jobId) {
        log.info('previous job expired before this part was copied; the current job re-queues it', { expiredJobId: jobId });
        return 'superseded';
      }
      if (err instanceof JobOutputExpiredError) {
        log.warn('job output expired; waiting for re-staged job (the message will be retried)', { expiredJobId: jobId });
      }
      throw err;
    }
    const ttlDays = deps.destination.runDataTtlDays;
    const chunk: ChunkItem = {
      pk,
      sk: chunkSk(message.partNumber),
      partNumber: message.partNumber,
      sourceJobId: jobId,
      uploadId: message.uploadId,
      rangeStart: range.start,
      rangeEnd: range.end,
      etag: copied.etag,
      checksum: copied.checksum,
      treeHash: copied.treeHash,
      expiresAt: ttlDays > 0 ? Math.floor(now.getTime() / 1000) + ttlDays * SECONDS_PER_DAY : undefined,
    };
    if (!(await deps.store.putChunk(chunk))) {
      log.info('upload replaced while the part was copied; its record is not written', { uploadId: message.uploadId });
      return 'superseded';
    }
    const updated = await deps.store.addPartDone(pk, message.uploadId, message.partNumber);
    if (!updated) {
      log.info('upload replaced while the part was copied; acknowledging it', { uploadId: message.uploadId });
      return 'superseded';
    }
    partsDone = updated.partsDone;
    outcome = 'recorded';
    log.info('part uploaded and verified', {
      bytes: copied.bytes,
      treeHash: copied.treeHash,
      glacierTreeHash: copied.glacierTreeHash ?? 'not returned',
      partsDone: partsDone?.size,
      chunkCount,
    });
  }

  if ((partsDone?.size ?? 0) < chunkCount) return outcome;
  if (!(await deps.store.claimValidation(pk, message.uploadId, message.partNumber))) return outcome;
  const validation: ValidationMessage = { runId: message.runId, archiveId: message.archiveId, uploadId: message.uploadId };
  await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.validationQueueUrl, MessageBody: JSON.stringify(validation) }));
  log.info('all parts uploaded; validation queued', { chunkCount });
  return 'validation-queued';
}

/**
 * Runs {@link processChunk} for one delivery. On the queue's last receive a chunk that still
 * fails marks its archive failed with the reason, so the run can finish and report it, instead of
 * leaving the archive staged while the message sits in the dead-letter queue.
 */
export async function processChunkDelivery(
  deps: ChunkDeps,
  message: ChunkMessage,
  receiveCount: number,
  maxReceives: number,
): Promise<ChunkOutcome | 'archive-failed' | 'archive-finished' | 'archive-downloaded'> {
  return failArchiveOnLastReceive({
    store: deps.store,
    log: deps.logger,
    receiveCount,
    maxReceives,
    verifiedCopy: (item) => verifiedCopyAt(deps, item),
    what: `part ${message.partNumber} (copy from Glacier into S3)`,
    locate: async () => {
      const item = await deps.store.getArchive(archivePk(message.runId, message.archiveId));
      return item ? { item, guard: { uploadId: message.uploadId } } : undefined;
    },
  }, () => processChunk(deps, message));
}
