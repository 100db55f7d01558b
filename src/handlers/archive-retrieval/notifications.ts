import type { Logger } from '@aws-lambda-powertools/logger';
import { GlacierJobNotification, jobOutputExpiry, parseGlacierNotification } from './glacier-notification';
import { failArchiveOnLastReceive, MessageArchive } from './last-receive';
import { stageArchive, StageOutcome, StagingDeps, verifiedCopyAt } from './staging';
import { archivePk } from '../../contract/keys';
import { parseRetrievalJobDescription } from '../../contract/messages';
import type { Log } from '../shared/logger';
import { withKeys } from '../shared/logger';
import { ArchiveItem, ArchiveStatus, TERMINAL_STATUSES } from '../shared/schema';

/**
 * No archive item carries this job id. The message is reported as failed, not dropped: the item
 * may simply not be visible yet (the JobIdIndex is eventually consistent, and an Expedited job can
 * complete before the InitiateJob stage has written the job id), so SQS retries it, and a job that
 * is truly unknown ends in the notifications dead-letter queue for an operator to inspect.
 */
export class UnknownJobError extends Error {
  constructor(public readonly jobId: string) {
    super(`no archive item has Glacier job id ${jobId}`);
    this.name = 'UnknownJobError';
  }
}

/**
 * Receives inventory-retrieval job notifications. Inventory jobs belong to the inventory stage: the
 * NotificationsProcessor Lambda passes them to its job completion, which unlocks the InventoryRetrieval
 * execution waiting on the job. {@link logInventoryNotification}, the default when no handler is given,
 * only logs them and acknowledges the message.
 */
export type InventoryNotificationHandler = (notification: GlacierJobNotification, log: Log) => Promise<void>;

export const logInventoryNotification: InventoryNotificationHandler = async (notification, log) => {
  log.info('inventory-retrieval notification received; handled by the inventory stage, not here', {
    jobId: notification.jobId,
    statusCode: notification.statusCode,
    vaultArn: notification.vaultArn,
  });
};

export interface NotificationDeps extends Omit<StagingDeps, 'log'> {
  readonly logger: Logger;
  readonly onInventoryNotification?: InventoryNotificationHandler;
}

/** What happened to one notification (for tests and logs). */
export type NotificationOutcome =
  | StageOutcome
  | 'inventory'
  | 'ignored'
  | 'duplicate'
  | 'job-failed'
  | 'not-complete';

/** Handles one notifications-queue message body. Throws to have SQS redeliver it. */
export async function processNotification(deps: NotificationDeps, body: string): Promise<NotificationOutcome> {
  const notification = parseGlacierNotification(body);
  const jobLog = withKeys(deps.logger, { jobId: notification.jobId });

  if (notification.action === 'InventoryRetrieval') {
    await (deps.onInventoryNotification ?? logInventoryNotification)(notification, jobLog);
    return 'inventory';
  }
  if (notification.action !== 'ArchiveRetrieval') {
    jobLog.warn('ignoring notification of a job type this library never starts', { action: notification.action });
    return 'ignored';
  }

  const found = await findArchive(deps, notification, jobLog);
  if (!found) {
    jobLog.error('no archive item for this Glacier job id; the message will be retried and then land in the dead-letter queue', {
      archiveId: notification.archiveId,
      vaultArn: notification.vaultArn,
    });
    throw new UnknownJobError(notification.jobId);
  }
  let item = found;
  const log = withKeys(deps.logger, { jobId: notification.jobId, archiveId: item.archiveId, runId: item.runId });

  if (item.jobId !== notification.jobId) {
    log.info('notification for a superseded job; the archive now waits for another job', { currentJobId: item.jobId });
    return 'ignored';
  }

  if (notification.statusCode === 'Failed') {
    const reason = `Glacier retrieval job failed: ${notification.statusMessage ?? 'no status message'}`;
    const marked = await deps.store.markFailed(item, reason, { jobId: notification.jobId });
    log.error('Glacier job failed; archive marked failed', { reason, marked, status: item.status });
    return 'job-failed';
  }
  if (!notification.completed || notification.statusCode !== 'Succeeded') {
    log.warn('notification for a job that has not completed; nothing to copy yet', {
      completed: notification.completed,
      statusCode: notification.statusCode,
      statusMessage: notification.statusMessage,
    });
    return 'not-complete';
  }

  const disagreement = describeDisagreement(notification, item.archiveId, item.size, item.treeHash);
  if (disagreement !== undefined) {
    const reason = `Glacier job does not match the inventory: ${disagreement}`;
    await deps.store.markFailed(item, reason, { jobId: notification.jobId });
    log.error('archive marked failed: job and inventory disagree', { reason });
    return 'job-failed';
  }

  if (TERMINAL_STATUSES.includes(item.status)) {
    log.info('duplicate notification: archive already finished', { status: item.status });
    return 'duplicate';
  }

  const expiresAt = jobOutputExpiry(notification);
  if (item.status === ArchiveStatus.REQUESTED) {
    if (await deps.store.markStaged(item, notification.jobId, expiresAt)) {
      item = { ...item, status: ArchiveStatus.STAGED, jobExpiresAt: expiresAt ?? item.jobExpiresAt };
      log.info('archive staged', { size: item.size, tier: notification.tier, jobExpiresAt: expiresAt });
    } else {
      const reread = await deps.store.getArchive(item.pk);
      if (!reread || reread.jobId !== notification.jobId || reread.status !== ArchiveStatus.STAGED) {
        log.info('archive changed concurrently; leaving it to the newer state', { status: reread?.status, currentJobId: reread?.jobId });
        return 'duplicate';
      }
      item = reread;
    }
  } else if (item.status === ArchiveStatus.STAGED) {
    if (expiresAt !== undefined) await deps.store.recordJobExpiry(item, notification.jobId, expiresAt);
  } else {
    log.warn('notification for an archive that was never marked requested; ignoring it', { status: item.status });
    return 'ignored';
  }

  if (item.chunksQueuedFor === notification.jobId) {
    log.info('duplicate notification: chunks for this job are already enqueued', { uploadId: item.uploadId });
    return 'duplicate';
  }
  return stageArchive({ ...deps, log }, item, notification.jobId);
}

/**
 * Runs {@link processNotification} for one delivery; on the queue's last receive a notification
 * that still fails (a PutObject the bucket policy denies, say) marks its archive FAILED with the
 * reason instead of leaving it staged behind a dead-lettered message.
 */
export async function processNotificationDelivery(
  deps: NotificationDeps,
  body: string,
  receiveCount: number,
  maxReceives: number,
): Promise<NotificationOutcome | 'archive-failed' | 'archive-finished' | 'archive-downloaded'> {
  return failArchiveOnLastReceive({
    store: deps.store,
    log: deps.logger,
    receiveCount,
    maxReceives,
    verifiedCopy: (item) => verifiedCopyAt(deps, item),
    what: 'copy of the staged archive (Glacier job notification)',
    locate: async (): Promise<MessageArchive | undefined> => {
      let notification: GlacierJobNotification;
      try {
        notification = parseGlacierNotification(body);
      } catch {
        return undefined;
      }
      if (notification.action !== 'ArchiveRetrieval') return undefined;
      const pk = await deps.store.findArchivePkByJobId(notification.jobId);
      const item = pk === undefined ? undefined : await deps.store.getArchive(pk);
      return item ? { item, guard: { jobId: notification.jobId } } : undefined;
    },
  }, () => processNotification(deps, body));
}

/**
 * The archive a job belongs to: through the JobIdIndex, or else through the job description the
 * request stage writes (`retrievalJobDescription`), which still names the run and archive when a
 * crash kept the job id from being recorded. Such a `pending` archive adopts the job.
 */
async function findArchive(deps: NotificationDeps, notification: GlacierJobNotification, log: Log): Promise<ArchiveItem | undefined> {
  const pk = await deps.store.findArchivePkByJobId(notification.jobId);
  if (pk !== undefined) return deps.store.getArchive(pk);
  const ref = parseRetrievalJobDescription(notification.jobDescription);
  if (ref === undefined) return undefined;
  const item = await deps.store.getArchive(archivePk(ref.runId, ref.archiveId));
  if (item?.status !== ArchiveStatus.PENDING || item.jobId !== undefined) return item;
  if (await deps.store.adoptJob(item, notification.jobId, deps.maxRetrievalJobs)) {
    log.warn('job found through its description: the request stage never recorded it; archive adopts the job', {
      archiveId: item.archiveId,
      runId: item.runId,
    });
    return { ...item, status: ArchiveStatus.REQUESTED, jobId: notification.jobId };
  }
  return deps.store.getArchive(item.pk);
}

/** Describes how a job's archive facts differ from the inventory's, if they do. */
function describeDisagreement(n: GlacierJobNotification, archiveId: string, size: number, treeHash: string): string | undefined {
  if (n.archiveId !== undefined && n.archiveId !== archiveId) return `archive id ${n.archiveId} != ${archiveId}`;
  if (n.archiveSizeInBytes !== undefined && n.archiveSizeInBytes !== size) return `size ${n.archiveSizeInBytes} != ${size}`;
  if (n.archiveTreeHash !== undefined && n.archiveTreeHash !== treeHash.toLowerCase()) {
    return `tree hash ${n.archiveTreeHash} != ${treeHash.toLowerCase()}`;
  }
  return undefined;
}
