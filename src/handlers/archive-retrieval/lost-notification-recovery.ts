import { DescribeJobCommand, DescribeJobCommandOutput, GlacierClient } from '@aws-sdk/client-glacier';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, QueryCommandOutput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_SK, runStatusKey, TransferTable } from '../../contract/keys';
import { describeError, errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveStatus, JobPollAttributes } from '../shared/schema';

/*
 * Lost-notification recovery. Glacier announces a finished archive-retrieval job once, through
 * SNS; when that message never reaches the notifications queue (topic policy, a deleted
 * subscription, an SNS incident), the archive would stay `requested` for good. Every
 * DownloadWindowExtension execution therefore first asks Glacier (DescribeJob) about the run's
 * jobs that are overdue for their tier and, for each job that has finished, sends its description
 * to the notifications queue: DescribeJob answers with the same JSON Glacier publishes, so the
 * NotificationsProcessor handles it like the lost notification (and ignores whichever copy comes
 * second).
 */

export type RetrievalTier = 'Expedited' | 'Standard' | 'Bulk';
export const RETRIEVAL_TIERS: readonly RetrievalTier[] = ['Expedited', 'Standard', 'Bulk'];

/**
 * Seconds after which a job of each tier counts as overdue: the upper end of Glacier's published
 * typical completion times (Expedited 1–5 min, Standard 3–5 h, Bulk 5–12 h) with some slack.
 */
export const DEFAULT_OVERDUE_SECONDS: Readonly<Record<RetrievalTier, number>> = {
  Expedited: 30 * 60,
  Standard: 6 * 3600,
  Bulk: 12 * 3600,
};
/** An overdue job that is still in progress is asked about again after this long. */
export const DEFAULT_REPOLL_SECONDS = 3600;
/** DescribeJob calls one invocation makes at most. */
export const DEFAULT_MAX_POLLS = 500;
/** DescribeJob calls in flight at once. */
export const DEFAULT_POLL_CONCURRENCY = 8;

/** Input of RecoverLostNotifications: the DownloadWindowExtension execution input. */
export interface RecoveryEvent {
  readonly runId: string;
  /** Retrieval tier of the run: Bulk, Standard or Expedited. */
  readonly tier: string;
}

export interface RecoveryConfig {
  readonly overdueSeconds: Readonly<Record<RetrievalTier, number>>;
  readonly repollSeconds: number;
  readonly maxPolls: number;
  readonly concurrency?: number;
}

export interface RecoveryDeps {
  readonly ddb: DynamoDBDocumentClient;
  /** Its retry strategy absorbs throttling (the handler uses the SDK's adaptive mode). */
  readonly glacier: GlacierClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly notificationsQueueUrl: string;
  readonly config: RecoveryConfig;
  readonly log: Log;
  /** Epoch millis. */
  readonly now?: () => number;
  /** Milliseconds left in this invocation (Lambda context). */
  readonly remainingMs?: () => number;
}

export interface RecoveryResult {
  readonly runId: string;
  /** Overdue archives found (at most `maxPolls`). */
  readonly overdue: number;
  /** DescribeJob calls answered. */
  readonly described: number;
  /** Finished jobs whose description was sent to the notifications queue (Succeeded or Failed). */
  readonly recovered: number;
  /** Jobs still in progress (asked about again after the re-poll interval). */
  readonly inProgress: number;
  /** Jobs Glacier no longer knows: handed to the download-window extension, which re-requests the archive. */
  readonly unknownJobs: number;
  /** Overdue archives found but not polled (the invocation ran short of time); the next check polls them. */
  readonly deferred: number;
  /** More overdue archives exist than were read (`maxPolls` reached or time short); the next check continues. */
  readonly truncated: boolean;
  /** Archives that moved on between the query and the poll (nothing done). */
  readonly movedOn: number;
}

/** The event is unusable (a wiring error): nothing is polled. */
export class InvalidRecoveryInputError extends Error {
  constructor(detail: string) {
    super(`invalid RecoverLostNotifications input: ${detail}`);
    this.name = 'InvalidRecoveryInputError';
  }
}

/** Some polls failed after the SDK's retries; those archives are polled again by the next check. */
export class RecoveryIncompleteError extends Error {
  constructor(public readonly failures: number, public readonly result: RecoveryResult, firstError: string) {
    super(`${failures} overdue job(s) could not be checked or re-announced (first: ${firstError}); the next check retries them`);
    this.name = 'RecoveryIncompleteError';
  }
}

/** An overdue archive: its current job has not been announced in time. */
export interface OverdueArchive {
  readonly pk: string;
  readonly runId: string;
  readonly archiveId: string;
  readonly vaultName: string;
  readonly jobId: string;
  readonly status: ArchiveStatus.REQUESTED | ArchiveStatus.STAGED;
  /** When the archive entered its status under this job (request, or window-extension re-request). */
  readonly statusTime: string;
}

/** Stop starting DescribeJob calls when less than this is left of the invocation. */
const SAFETY_MS = 30_000;

/** Validates the config (every value a clear error) and fills the concurrency default. */
export function validateRecoveryConfig(config: RecoveryConfig): Required<RecoveryConfig> {
  for (const tier of RETRIEVAL_TIERS) {
    const seconds = config.overdueSeconds[tier];
    if (!Number.isFinite(seconds) || seconds < 60 || seconds >= 86_400) {
      throw new Error(`overdue threshold of the ${tier} tier must be from 60 to 86399 seconds, got ${seconds}`);
    }
  }
  if (!Number.isFinite(config.repollSeconds) || config.repollSeconds < 60) {
    throw new Error(`re-poll interval must be at least 60 seconds, got ${config.repollSeconds}`);
  }
  if (!Number.isSafeInteger(config.maxPolls) || config.maxPolls < 1) throw new Error(`maxPolls must be a positive integer, got ${config.maxPolls}`);
  const concurrency = config.concurrency ?? DEFAULT_POLL_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  return { ...config, concurrency };
}

export function validateRecoveryEvent(event: Partial<RecoveryEvent> | undefined): { runId: string; tier: RetrievalTier } {
  const runId = event?.runId;
  const tier = event?.tier;
  if (typeof runId !== 'string' || runId === '') throw new InvalidRecoveryInputError(`runId must be a non-empty string, got ${JSON.stringify(runId)}`);
  if (typeof tier !== 'string' || !(RETRIEVAL_TIERS as readonly string[]).includes(tier)) {
    throw new InvalidRecoveryInputError(`tier must be one of ${RETRIEVAL_TIERS.join(', ')}, got ${JSON.stringify(tier)}`);
  }
  return { runId, tier: tier as RetrievalTier };
}

/**
 * The notification Glacier would have published for this job: the DescribeJob fields of an
 * archive-retrieval job, in Glacier's order, `null` where Glacier sends null.
 */
export function notificationFromJob(job: Omit<DescribeJobCommandOutput, '$metadata'>): string {
  const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
  return JSON.stringify({
    Action: orNull(job.Action),
    ArchiveId: orNull(job.ArchiveId),
    ArchiveSHA256TreeHash: orNull(job.ArchiveSHA256TreeHash),
    ArchiveSizeInBytes: orNull(job.ArchiveSizeInBytes),
    Completed: job.Completed === true,
    CompletionDate: orNull(job.CompletionDate),
    CreationDate: orNull(job.CreationDate),
    InventoryRetrievalParameters: orNull(job.InventoryRetrievalParameters),
    InventorySizeInBytes: orNull(job.InventorySizeInBytes),
    JobDescription: orNull(job.JobDescription),
    JobId: orNull(job.JobId),
    RetrievalByteRange: orNull(job.RetrievalByteRange),
    SHA256TreeHash: orNull(job.SHA256TreeHash),
    SNSTopic: orNull(job.SNSTopic),
    StatusCode: orNull(job.StatusCode),
    StatusMessage: orNull(job.StatusMessage),
    Tier: orNull(job.Tier),
    VaultARN: orNull(job.VaultARN),
  });
}

/**
 * Finds the run's archives whose current job is overdue and not polled recently, oldest first,
 * at most `limit`: requested archives, and staged archives re-requested by the window extension
 * whose new job has not been announced (`jobExpiresAt` is only known once a job completed).
 * Reads the StatusIndex with `statusTime < cutoff` in the key condition, so archives requested
 * recently are never read.
 */
export async function findOverdueArchives(
  deps: Pick<RecoveryDeps, 'ddb' | 'tableName' | 'remainingMs'>,
  runId: string,
  cutoff: Date,
  repollBefore: number,
  limit: number,
): Promise<{ archives: OverdueArchive[]; more: boolean }> {
  const archives: OverdueArchive[] = [];
  // Staged first: a re-requested job whose notification is lost is the urgent case (the old job's
  // download window is about to close), and there are few of them.
  for (const status of [ArchiveStatus.STAGED, ArchiveStatus.REQUESTED] as const) {
    let startKey: Record<string, unknown> | undefined;
    do {
      if (deps.remainingMs && deps.remainingMs() < SAFETY_MS) return { archives, more: true };
      const page: QueryCommandOutput = await deps.ddb.send(new QueryCommand({
        TableName: deps.tableName,
        IndexName: TransferTable.statusIndex,
        KeyConditionExpression: '#partition = :runStatus AND #time < :cutoff',
        FilterExpression: 'attribute_exists(jobId) AND attribute_not_exists(jobExpiresAt) '
          + 'AND (attribute_not_exists(jobPolledFor) OR jobPolledFor <> jobId OR jobPolledAt < :repollBefore)',
        ProjectionExpression: 'pk, sk, runId, archiveId, vaultName, jobId, statusTime',
        ExpressionAttributeNames: { '#partition': TransferTable.statusIndexPartition, '#time': TransferTable.statusIndexSort },
        ExpressionAttributeValues: { ':runStatus': runStatusKey(runId, status), ':cutoff': cutoff.toISOString(), ':repollBefore': repollBefore },
        ExclusiveStartKey: startKey,
      }));
      for (const raw of page.Items ?? []) {
        if (raw.sk !== ARCHIVE_SK || typeof raw.jobId !== 'string' || typeof raw.archiveId !== 'string' || typeof raw.vaultName !== 'string') continue;
        if (archives.length >= limit) return { archives, more: true };
        archives.push({
          pk: String(raw.pk),
          runId,
          archiveId: raw.archiveId,
          vaultName: raw.vaultName,
          jobId: raw.jobId,
          status,
          statusTime: String(raw.statusTime),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return { archives, more: false };
}

type PollOutcome = 'recovered' | 'in-progress' | 'unknown-job' | 'moved-on';

/**
 * Records the poll on the archive, only while it is still in the status and under the job that
 * was polled. A job Glacier no longer knows also gets `jobExpiresAt` = now: its output (if it ever
 * had one) is gone, which is exactly what the download-window extension's scan looks for, so the
 * next scan of this same execution re-requests the archive.
 */
async function recordPoll(deps: RecoveryDeps, archive: OverdueArchive, outcome: string, at: number, jobGone: boolean): Promise<boolean> {
  const attributes: Required<Pick<JobPollAttributes, 'jobPolledFor' | 'jobPolledAt' | 'jobPollOutcome'>> = {
    jobPolledFor: archive.jobId, jobPolledAt: at, jobPollOutcome: outcome,
  };
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: deps.tableName,
      Key: { pk: archive.pk, sk: ARCHIVE_SK },
      UpdateExpression: `SET jobPolledFor = :jobId, jobPolledAt = :at, jobPollOutcome = :outcome${jobGone ? ', jobExpiresAt = :at' : ''} ADD jobPolls :one`,
      ConditionExpression: '#status = :status AND jobId = :jobId AND attribute_not_exists(jobExpiresAt)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':jobId': attributes.jobPolledFor, ':at': attributes.jobPolledAt, ':outcome': attributes.jobPollOutcome, ':one': 1, ':status': archive.status,
      },
    }));
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

async function pollOne(deps: RecoveryDeps, archive: OverdueArchive, now: () => number): Promise<PollOutcome> {
  const keys = { runId: archive.runId, archiveId: archive.archiveId, jobId: archive.jobId, status: archive.status, since: archive.statusTime };
  let job: DescribeJobCommandOutput;
  try {
    job = await deps.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: archive.vaultName, jobId: archive.jobId }));
  } catch (err) {
    if (errorName(err) !== 'ResourceNotFoundException') throw err;
    const handed = await recordPoll(deps, archive, 'not-found', now(), true);
    if (!handed) return 'moved-on';
    deps.log.error('Glacier no longer knows this retrieval job (its output expired, or the job never existed) and its completion '
      + 'notification never arrived; the archive is handed to the download-window extension, which requests it again', { ...keys, ...describeError(err) });
    return 'unknown-job';
  }
  if (job.JobId !== archive.jobId || job.Action !== 'ArchiveRetrieval') {
    throw new Error(`DescribeJob for job ${archive.jobId} answered job ${JSON.stringify(job.JobId)} of action ${JSON.stringify(job.Action)}`);
  }
  const statusCode = job.StatusCode ?? 'InProgress';
  if (job.Completed === true && (statusCode === 'Succeeded' || statusCode === 'Failed')) {
    // Send first, record second: a crash in between only sends the description again next time,
    // and the NotificationsProcessor ignores a duplicate.
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.notificationsQueueUrl, MessageBody: notificationFromJob(job) }));
    await recordPoll(deps, archive, statusCode, now(), false);
    deps.log.warn('archive-retrieval job finished but its notification never arrived; its description was sent to the notifications queue',
      { ...keys, statusCode, completionDate: job.CompletionDate });
    return 'recovered';
  }
  if (job.Completed === true) {
    throw new Error(`DescribeJob for job ${archive.jobId} answered Completed with StatusCode ${JSON.stringify(job.StatusCode)}`);
  }
  const recorded = await recordPoll(deps, archive, 'InProgress', now(), false);
  deps.log.info('overdue archive-retrieval job is still in progress; asked again after the re-poll interval', { ...keys, recorded, creationDate: job.CreationDate });
  return recorded ? 'in-progress' : 'moved-on';
}

/**
 * Polls the run's overdue archive-retrieval jobs (bounded) and re-announces the finished ones.
 * Throws {@link RecoveryIncompleteError} after every archive was tried when some polls failed
 * (those stay unrecorded, so the next check retries them).
 */
export async function recoverLostNotifications(deps: RecoveryDeps, event: RecoveryEvent): Promise<RecoveryResult> {
  const { runId, tier } = validateRecoveryEvent(event);
  const config = validateRecoveryConfig(deps.config);
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const cutoff = new Date(startedAt - config.overdueSeconds[tier] * 1000);
  const repollBefore = startedAt - config.repollSeconds * 1000;
  const { archives, more } = await findOverdueArchives(deps, runId, cutoff, repollBefore, config.maxPolls);

  const counts = { described: 0, recovered: 0, inProgress: 0, unknownJobs: 0, movedOn: 0, started: 0 };
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < archives.length) {
      if (deps.remainingMs && deps.remainingMs() < SAFETY_MS) return;
      const archive = archives[next++];
      counts.started++;
      try {
        const outcome = await pollOne(deps, archive, now);
        counts.described++;
        if (outcome === 'recovered') counts.recovered++;
        else if (outcome === 'in-progress') counts.inProgress++;
        else if (outcome === 'unknown-job') counts.unknownJobs++;
        else counts.movedOn++;
      } catch (err) {
        const detail = describeError(err);
        failures.push(`${archive.archiveId}: ${String(detail.errorName)}: ${String(detail.errorMessage)}`);
        deps.log.error('could not check or re-announce an overdue job; the next check retries it',
          { runId, archiveId: archive.archiveId, jobId: archive.jobId, ...detail });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, archives.length) }, worker));

  const result: RecoveryResult = {
    runId,
    overdue: archives.length,
    described: counts.described,
    recovered: counts.recovered,
    inProgress: counts.inProgress,
    unknownJobs: counts.unknownJobs,
    deferred: archives.length - counts.started,
    truncated: more,
    movedOn: counts.movedOn,
  };
  const summary = { ...result, tier, overdueAfterSeconds: config.overdueSeconds[tier], failures: failures.length };
  if (result.overdue === 0) deps.log.debug('no overdue archive-retrieval job', summary);
  else deps.log.info('overdue archive-retrieval jobs checked', summary);
  if (more || result.deferred > 0) deps.log.warn('more overdue jobs than one check may poll; the next check continues', summary);
  if (failures.length > 0) throw new RecoveryIncompleteError(failures.length, result, failures[0]);
  return result;
}
