import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveStore } from './archive-store';
import { parseGlacierNotification } from './glacier-notification';
import { LastReceiveOptions, lookAtDestination } from './last-receive';
import { parseChunkMessage, parseValidationMessage } from './messages';
import { Env } from '../../contract/environment';
import { archivePk } from '../../contract/keys';
import { parseRetrievalJobDescription } from '../../contract/messages';
import { requireEnv } from '../shared/env';
import type { Log } from '../shared/logger';
import { ArchiveItem, ArchiveStatus, TERMINAL_STATUSES } from '../shared/schema';

/*
 * The dead-letter reconciler: reads back what the notifications, chunk-retrieval and validation
 * queues dead-lettered. A message reaches its DLQ without its last receive reaching a handler
 * (SQS counts a receive that a throttled or timed-out Lambda never processed), so the handler's
 * last-receive rule (last-receive.ts) never ran and the archive is still in flight. For each such
 * message the archive it belongs to ends FAILED with a reason naming the queue and the message,
 * when the message is for the archive's current job/upload and the archive is not finished (unless
 * the verified copy is already at its key: a function can die between its copy and its DynamoDB
 * write, and the archive is then marked downloaded, never left FAILED with an object at its key); a
 * message of an older job/upload, or of an archive that already ended, changes nothing. Nothing is
 * ever requested again. Every message attributed to a run is kept under the run's prefix of the
 * inventory bucket (`<runId>/dead_letters/<queue>/<messageId>.json`); one no archive can be found
 * for goes on to the unreconciled queue (the transfer's dead-letter alarm watches it).
 */

/** The archive-stage queues whose dead-letter queues are reconciled. */
export type DeadLetterSource = 'notifications' | 'chunk' | 'validation';

const QUEUE_NAMES: Readonly<Record<DeadLetterSource, string>> = {
  notifications: 'notifications queue',
  chunk: 'chunk-retrieval queue',
  validation: 'validation queue',
};

/** One message read from a dead-letter queue. */
export interface DeadLetter {
  readonly source: DeadLetterSource;
  readonly messageId: string;
  readonly body: string;
  /** When the message was first sent to its source queue (epoch millis, as SQS gives it). */
  readonly sentTimestamp?: string;
}

export interface ReconcileDeps {
  readonly store: ArchiveStore;
  readonly sqs: SQSClient;
  /** Queue for dead-lettered messages no archive can be found for. */
  readonly unreconciledQueueUrl: string;
  /** maxReceiveCount of each source queue (the reason says after how many receives it dead-lettered). */
  readonly maxReceives: Readonly<Record<DeadLetterSource, number>>;
  /**
   * Looks at the archive's destination key (HeadObject): a copy can have landed before its function
   * died and the message dead-lettered; the archive is then downloaded, not FAILED (issue #16).
   */
  readonly verifiedCopy: LastReceiveOptions['verifiedCopy'];
  /** Keeps the evidence of one reconciled message (the Lambda writes it to the inventory bucket). */
  readonly keepEvidence: (key: string, evidence: DeadLetterEvidence) => Promise<void>;
  readonly log: Log;
  readonly clock?: () => Date;
}

/** What reconciling one dead-lettered message did. */
export type ReconcileOutcome =
  /** The archive was in flight on the message's job/upload: now FAILED with the DLQ reason. */
  | 'archive-failed'
  /** The archive was in flight, but its verified copy was already at its key: now downloaded. */
  | 'archive-downloaded'
  /** A redelivery: this same message already made the archive FAILED. */
  | 'already-reconciled'
  /** The archive had already ended (downloaded, failed, skipped): unchanged. */
  | 'archive-finished'
  /** The message belongs to an older job or upload (or a part already done): unchanged. */
  | 'stale'
  /** No archive could be found for the message: handed on to the unreconciled queue. */
  | 'unattributed';

/** The record kept for one reconciled dead-lettered message. */
export interface DeadLetterEvidence {
  readonly queue: string;
  readonly messageId: string;
  readonly sentTimestamp?: string;
  readonly runId: string;
  readonly archiveId: string;
  readonly outcome: ReconcileOutcome;
  /** The archive's status when the message was reconciled (after the reconciler's own write). */
  readonly archiveStatus: ArchiveStatus;
  /** The failure reason the reconciler wrote (outcome archive-failed / already-reconciled). */
  readonly reason?: string;
  readonly reconciledAt: string;
  readonly body: string;
}

/** Key of a dead-lettered message's evidence in the inventory bucket. */
export function deadLetterEvidenceKey(runId: string, source: DeadLetterSource, messageId: string): string {
  return `${runId}/dead_letters/${source}/${messageId}.json`;
}

/** What a dead-lettered message is about: its archive and the job/upload it worked on. */
interface Subject {
  readonly pk: string;
  /** The message's work is still the archive's (same job/upload, part not done). */
  readonly current: (item: ArchiveItem) => boolean;
  readonly guard: { readonly jobId?: string; readonly uploadId?: string };
  /** What the message was, for the reason ("chunk message for part 3 of upload …"). */
  readonly what: string;
}

/** Thrown for a message that names no archive of this library (malformed, an inventory job, an unknown job). */
class UnattributedError extends Error {}

async function subjectOf(deps: ReconcileDeps, letter: DeadLetter): Promise<Subject> {
  const parse = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new UnattributedError(`unreadable ${letter.source} message: ${(err as Error).message}`);
    }
  };
  if (letter.source === 'chunk') {
    const m = parse(() => parseChunkMessage(letter.body));
    return {
      pk: archivePk(m.runId, m.archiveId),
      // The new job of a re-requested archive re-queues every missing part, and a part already
      // recorded needs nothing: only a part still missing on the archive's current job and upload counts.
      current: (item) => item.status === ArchiveStatus.STAGED && item.uploadId === m.uploadId && item.jobId === m.jobId
        && !item.partsDone?.has(m.partNumber),
      guard: { jobId: m.jobId, uploadId: m.uploadId },
      what: `chunk message for part ${m.partNumber} of ${m.chunkCount} (upload ${m.uploadId}, job ${m.jobId})`,
    };
  }
  if (letter.source === 'validation') {
    const m = parse(() => parseValidationMessage(letter.body));
    return {
      pk: archivePk(m.runId, m.archiveId),
      current: (item) => item.status === ArchiveStatus.STAGED && item.uploadId === m.uploadId,
      guard: { uploadId: m.uploadId },
      what: `validation message for upload ${m.uploadId}`,
    };
  }
  const n = parse(() => parseGlacierNotification(letter.body));
  if (n.action !== 'ArchiveRetrieval') throw new UnattributedError(`notification of a ${n.action} job ${n.jobId}, not of an archive retrieval`);
  let pk = await deps.store.findArchivePkByJobId(n.jobId);
  if (pk === undefined) {
    const ref = parseRetrievalJobDescription(n.jobDescription);
    if (ref === undefined) throw new UnattributedError(`no archive item has Glacier job id ${n.jobId} and its description names none`);
    pk = archivePk(ref.runId, ref.archiveId);
  }
  return {
    pk,
    current: (item) => (item.status === ArchiveStatus.REQUESTED || item.status === ArchiveStatus.STAGED) && item.jobId === n.jobId,
    guard: { jobId: n.jobId },
    what: `Glacier job notification of job ${n.jobId}`,
  };
}

/** The failure reason of an archive whose current message dead-lettered. */
export function deadLetterReason(
  what: string,
  source: DeadLetterSource,
  maxReceives: number,
  messageId: string,
  evidenceKey: string,
  item: ArchiveItem,
): string {
  const last = item.lastVerificationFailure ? `; last verification failure: ${item.lastVerificationFailure.slice(0, 400)}` : '';
  return `${what} dead-lettered after ${maxReceives} receives on the ${QUEUE_NAMES[source]} without its last receive being handled `
    + `(message ${messageId}, kept at ${evidenceKey})${last}`;
}

/** One attempt at settling `item` for a dead-lettered message; undefined when a conditional write lost a race. */
async function decide(
  deps: ReconcileDeps,
  letter: DeadLetter,
  subject: Subject,
  item: ArchiveItem,
  reason: string,
): Promise<ReconcileOutcome | undefined> {
  if (item.deadLetterMessageId === letter.messageId) return 'already-reconciled';
  if (TERMINAL_STATUSES.includes(item.status)) return 'archive-finished';
  if (!subject.current(item)) return 'stale';
  const copy = await lookAtDestination(deps.verifiedCopy, deps.log, item);
  if (copy) return (await deps.store.markDownloaded(item, subject.guard, copy.versionId)) ? 'archive-downloaded' : undefined;
  return (await deps.store.markDeadLettered(item, reason, subject.guard, letter.messageId)) ? 'archive-failed' : undefined;
}

/**
 * Reconciles one dead-lettered message (see the module comment). Idempotent: a redelivery finds
 * its own write (`deadLetterMessageId`) and rewrites the same evidence. Throws on a storage error
 * (the event source redelivers the message; the DLQ's own redrive bounds the attempts).
 */
export async function reconcileDeadLetter(deps: ReconcileDeps, letter: DeadLetter): Promise<ReconcileOutcome> {
  let subject: Subject;
  let item: ArchiveItem | undefined;
  try {
    subject = await subjectOf(deps, letter);
    item = await deps.store.getArchive(subject.pk);
    if (!item) throw new UnattributedError(`no archive item ${subject.pk}`);
  } catch (err) {
    if (!(err instanceof UnattributedError)) throw err;
    await handOn(deps, letter, err.message);
    return 'unattributed';
  }

  const key = deadLetterEvidenceKey(item.runId, letter.source, letter.messageId);
  const reason = deadLetterReason(subject.what, letter.source, deps.maxReceives[letter.source], letter.messageId, key, item);
  let outcome: ReconcileOutcome | undefined;
  // A failed conditional write means the archive changed since it was read: decide again on the new state.
  for (let attempt = 0; outcome === undefined && attempt < 3; attempt++) {
    if (attempt > 0) item = (await deps.store.getArchive(subject.pk))!;
    outcome = await decide(deps, letter, subject, item, reason);
  }
  if (outcome === undefined) throw new Error(`archive ${subject.pk} kept changing while dead-lettered message ${letter.messageId} was reconciled`);
  const failedByUs = outcome === 'archive-failed' || outcome === 'already-reconciled';
  await deps.keepEvidence(key, {
    queue: QUEUE_NAMES[letter.source],
    messageId: letter.messageId,
    sentTimestamp: letter.sentTimestamp,
    runId: item.runId,
    archiveId: item.archiveId,
    outcome,
    archiveStatus: failedByUs ? ArchiveStatus.FAILED : outcome === 'archive-downloaded' ? ArchiveStatus.DOWNLOADED : item.status,
    reason: failedByUs ? item.failureReason ?? reason : undefined,
    reconciledAt: (deps.clock ?? (() => new Date()))().toISOString(),
    body: letter.body,
  });
  const fields = {
    messageId: letter.messageId,
    queue: QUEUE_NAMES[letter.source],
    archiveId: item.archiveId,
    runId: item.runId,
    outcome,
    evidenceKey: key,
  };
  if (outcome === 'archive-downloaded') deps.log.warn('dead-lettered message reconciled: its verified copy was at the key, archive marked downloaded', fields);
  else if (outcome === 'archive-failed') deps.log.error('dead-lettered message reconciled: archive marked failed', { ...fields, reason });
  else deps.log.info('dead-lettered message reconciled', { ...fields, status: item.status });
  return outcome;
}

/** Hands a message no archive can be found for to the unreconciled queue, naming where it came from and why. */
async function handOn(deps: ReconcileDeps, letter: DeadLetter, why: string): Promise<void> {
  await deps.sqs.send(new SendMessageCommand({
    QueueUrl: deps.unreconciledQueueUrl,
    MessageBody: letter.body,
    MessageAttributes: {
      SourceQueue: { DataType: 'String', StringValue: QUEUE_NAMES[letter.source] },
      SourceMessageId: { DataType: 'String', StringValue: letter.messageId },
      Reason: { DataType: 'String', StringValue: why.slice(0, 1000) },
    },
  }));
  deps.log.error('dead-lettered message names no archive; handed on to the unreconciled queue', {
    messageId: letter.messageId,
    queue: QUEUE_NAMES[letter.source],
    reason: why,
  });
}

/** The source queue of a dead-letter event source, from the DLQ ARNs the construct sets. */
export function deadLetterSourceOf(eventSourceArn: string | undefined): DeadLetterSource {
  const sources: [DeadLetterSource, string][] = [
    ['notifications', requireEnv(Env.NOTIFICATIONS_DLQ_ARN)],
    ['chunk', requireEnv(Env.CHUNK_DLQ_ARN)],
    ['validation', requireEnv(Env.VALIDATION_DLQ_ARN)],
  ];
  const found = sources.find(([, arn]) => arn === eventSourceArn);
  if (!found) {
    throw new Error(`event source ${JSON.stringify(eventSourceArn)} is none of the dead-letter queues this function reconciles (${sources.map(([, arn]) => arn).join(', ')})`);
  }
  return found[0];
}
