/**
 * The life cycle of one archive inside one run: its statuses and the only transitions between
 * them. Every status write of every stage is one of {@link ArchiveTransition}; the table below says
 * from which statuses it may happen, what status it leads to and what it must carry (a reason, a
 * retrieval job within the bound). The DynamoDB side (src/handlers/shared/archive-transition.ts)
 * turns an entry into a conditional update, so the table is enforced by the store as well.
 *
 * Pure: no AWS calls.
 */

/** Life cycle of one archive inside one run. */
export enum ArchiveStatus {
  /** Listed in the sorted inventory, not yet requested from Glacier. */
  PENDING = 'pending',
  /** InitiateJob accepted; waiting for Glacier to stage the bytes. */
  REQUESTED = 'requested',
  /** Glacier finished the job; bytes are being copied to S3. */
  STAGED = 'staged',
  /** Object in S3 and verified against the Glacier tree hash. */
  DOWNLOADED = 'downloaded',
  /** Gave up after bounded retries; `failureReason` says why. */
  FAILED = 'failed',
  /** Deliberately not transferred (e.g. above the configured size limit). */
  SKIPPED = 'skipped',
}

/** Statuses after which an archive needs no more work in this run. */
export const TERMINAL_STATUSES: readonly ArchiveStatus[] = [
  ArchiveStatus.DOWNLOADED,
  ArchiveStatus.FAILED,
  ArchiveStatus.SKIPPED,
];

/** The archive item does not exist yet (creations). */
export const ABSENT = 'absent' as const;
export type FromStatus = ArchiveStatus | typeof ABSENT;

/** Every way an archive's status may change. */
export enum ArchiveTransition {
  /** A usable inventory row is recorded: nothing → pending. */
  CREATE_PENDING = 'create-pending',
  /** An inventory row that cannot be transferred (unusable, unparseable): nothing → failed, with the reason. */
  CREATE_FAILED = 'create-failed',
  /** An archive deliberately left out (size limit): nothing → skipped, with the reason. */
  CREATE_SKIPPED = 'create-skipped',
  /** InitiateJob accepted: pending → requested. Counts one retrieval job. */
  REQUEST = 'request',
  /**
   * A job found through its description after a crash kept its id from being recorded:
   * pending → requested. Counts one retrieval job.
   */
  ADOPT_JOB = 'adopt-job',
  /** Glacier finished the job: requested → staged. */
  STAGE = 'stage',
  /**
   * The download window is closing and the archive is requested again (a new job): the status
   * stays requested or staged. Counts one retrieval job; refused once the bound is reached.
   */
  RE_REQUEST = 're-request',
  /** Copied and verified: staged → downloaded. */
  DOWNLOAD = 'download',
  /**
   * The destination already holds this archive's verified copy (same archive id and tree hash):
   * pending → downloaded without a retrieval.
   */
  FOUND_AT_DESTINATION = 'found-at-destination',
  /** Given up, with the reason: pending, requested or staged → failed. */
  FAIL = 'fail',
  /**
   * The retrieval-job bound is reached and the archive's last job can no longer be copied:
   * requested or staged → failed, with the reason. Only once no copy of that job can still land
   * (see {@link copyMayStillLand}); a copy in flight decides the archive instead.
   */
  FAIL_AT_JOB_BOUND = 'fail-at-job-bound',
  /** Resume: an archive a stopped run left in flight starts over: requested or staged → pending; counters reset. */
  RESET_ON_RESUME = 'reset-on-resume',
  /** Resume with RetryFailed: failed → pending; counters and reason reset. */
  RETRY_FAILED = 'retry-failed',
}

/** One row of the transition table. */
export interface TransitionRule {
  readonly from: readonly FromStatus[];
  /** The status after the transition; `undefined`: unchanged (RE_REQUEST). */
  readonly to?: ArchiveStatus;
  /** The write must carry a non-empty reason (recorded as `failureReason`). */
  readonly needsReason: boolean;
  /** The transition starts a Glacier retrieval job: allowed only below the per-archive bound. */
  readonly startsRetrievalJob: boolean;
  /** Attempt and retrieval-job counters (and the failure reason) start again from zero. */
  readonly resetsCounters: boolean;
  /**
   * Only at the retrieval-job bound and once no copy of the archive's current job can still land
   * (its download window closed more than {@link COPY_SETTLE_MS} ago, no validation queued).
   */
  readonly whenCopySettled: boolean;
}

const { PENDING, REQUESTED, STAGED, DOWNLOADED, FAILED, SKIPPED } = ArchiveStatus;

const row = (from: readonly FromStatus[], to: ArchiveStatus | undefined, flags: Partial<Omit<TransitionRule, 'from' | 'to'>> = {}): TransitionRule => ({
  from,
  to,
  needsReason: flags.needsReason ?? false,
  startsRetrievalJob: flags.startsRetrievalJob ?? false,
  resetsCounters: flags.resetsCounters ?? false,
  whenCopySettled: flags.whenCopySettled ?? false,
});

/** The table of allowed transitions. Anything not listed here is refused. */
export const TRANSITIONS: Readonly<Record<ArchiveTransition, TransitionRule>> = {
  [ArchiveTransition.CREATE_PENDING]: row([ABSENT], PENDING),
  [ArchiveTransition.CREATE_FAILED]: row([ABSENT], FAILED, { needsReason: true }),
  [ArchiveTransition.CREATE_SKIPPED]: row([ABSENT], SKIPPED, { needsReason: true }),
  [ArchiveTransition.REQUEST]: row([PENDING], REQUESTED, { startsRetrievalJob: true }),
  [ArchiveTransition.ADOPT_JOB]: row([PENDING], REQUESTED, { startsRetrievalJob: true }),
  [ArchiveTransition.STAGE]: row([REQUESTED], STAGED),
  [ArchiveTransition.RE_REQUEST]: row([REQUESTED, STAGED], undefined, { startsRetrievalJob: true }),
  [ArchiveTransition.DOWNLOAD]: row([STAGED], DOWNLOADED),
  [ArchiveTransition.FOUND_AT_DESTINATION]: row([PENDING], DOWNLOADED),
  [ArchiveTransition.FAIL]: row([PENDING, REQUESTED, STAGED], FAILED, { needsReason: true }),
  [ArchiveTransition.FAIL_AT_JOB_BOUND]: row([REQUESTED, STAGED], FAILED, { needsReason: true, whenCopySettled: true }),
  [ArchiveTransition.RESET_ON_RESUME]: row([REQUESTED, STAGED], PENDING, { resetsCounters: true }),
  [ArchiveTransition.RETRY_FAILED]: row([FAILED], PENDING, { resetsCounters: true }),
};

/** Default bound on Glacier retrieval jobs per archive within one run attempt (first request + re-requests). */
export const DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE = 3;

/**
 * Longest a Lambda that reads a job's output (NotificationsProcessor: small-archive PutObject;
 * ChunkRetrieval: one part) may run. The constructs give those functions this timeout, and Glacier
 * refuses GetJobOutput once the job's download window (`jobExpiresAt`, completion + 24 h) has
 * closed, so once it closed this long ago, no copy of the job is still running.
 */
export const COPY_FUNCTION_TIMEOUT_SECONDS = 15 * 60;

/** Clock skew allowed between the Lambdas that copy and the one that fails an archive. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** How long after a job's download window closes a copy of it may still land (function timeout + clock skew). */
export const COPY_SETTLE_MS = COPY_FUNCTION_TIMEOUT_SECONDS * 1000 + CLOCK_SKEW_MS;

/** What the guard needs to know about the archive. */
export interface ArchiveFacts {
  /** Current status; {@link ABSENT} when the item does not exist. */
  readonly status: FromStatus;
  /** Retrieval jobs already started for the archive in this run attempt. */
  readonly retrievalJobs?: number;
  /** When the current job's output stops being readable (epoch millis); unknown while the job runs. */
  readonly jobExpiresAt?: number;
  /** A validation is queued for the archive's multipart upload (every part is in). */
  readonly validationQueued?: boolean;
}

export interface TransitionContext {
  readonly reason?: string;
  /** Bound on retrieval jobs per archive (default {@link DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE}). */
  readonly maxRetrievalJobs?: number;
  /** Epoch millis, for transitions that depend on a download window. */
  readonly now?: number;
}

export type TransitionVerdict =
  | { readonly allowed: true; readonly to: ArchiveStatus }
  | { readonly allowed: false; readonly refusal: string };

/** Decides whether `transition` may happen to an archive in `facts`; the one place the rules live. */
export function checkTransition(transition: ArchiveTransition, facts: ArchiveFacts, context: TransitionContext = {}): TransitionVerdict {
  const rule = TRANSITIONS[transition];
  if (!rule.from.includes(facts.status)) {
    return { allowed: false, refusal: `${transition} is not allowed from ${facts.status} (only from ${rule.from.join(', ')})` };
  }
  if (rule.needsReason && (context.reason === undefined || context.reason.trim() === '')) {
    return { allowed: false, refusal: `${transition} needs a reason` };
  }
  if (rule.startsRetrievalJob) {
    const bound = context.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
    const jobs = facts.retrievalJobs ?? 0;
    if (jobs >= bound) return { allowed: false, refusal: retrievalBoundReason(jobs, bound) };
  }
  if (rule.whenCopySettled) {
    const bound = context.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
    if (!retrievalBoundReached(facts.retrievalJobs, bound)) {
      return { allowed: false, refusal: `${transition} needs the retrieval job bound reached (${facts.retrievalJobs ?? 0} of ${bound} jobs started)` };
    }
    if (context.now === undefined) return { allowed: false, refusal: `${transition} needs the time (now)` };
    const landing = copyMayStillLand(facts, context.now);
    if (landing !== undefined) return { allowed: false, refusal: `${transition} refused: ${landing}` };
  }
  return { allowed: true, to: rule.to ?? (facts.status as ArchiveStatus) };
}

/** The failure reason of an archive that reached the retrieval-job bound. */
export function retrievalBoundReason(jobs: number, bound: number): string {
  return `retrieval job bound reached: ${jobs} Glacier retrieval job(s) started for this archive (maximum ${bound}); not requested again`;
}

/** True when a further retrieval job for the archive would exceed the bound. */
export function retrievalBoundReached(retrievalJobs: number | undefined, maxRetrievalJobs = DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE): boolean {
  return (retrievalJobs ?? 0) >= maxRetrievalJobs;
}

/**
 * Why a copy of the archive's current job may still complete and verify, or `undefined` when none
 * can: a failure decided before that would leave the copy's object under a FAILED archive (or throw
 * a verified copy away). The job's output is readable until `jobExpiresAt`, a copy that started
 * before then runs at most {@link COPY_FUNCTION_TIMEOUT_SECONDS}, and a queued validation needs no
 * Glacier read at all (it ends the archive itself, downloaded or failed).
 */
export function copyMayStillLand(facts: Pick<ArchiveFacts, 'jobExpiresAt' | 'validationQueued'>, now: number): string | undefined {
  if (facts.validationQueued) return 'every part is uploaded and its validation is queued';
  if (facts.jobExpiresAt === undefined) return 'the current job has not completed (its output can still be copied)';
  if (now <= facts.jobExpiresAt + COPY_SETTLE_MS) {
    return `the current job's output is readable until ${new Date(facts.jobExpiresAt).toISOString()} and a copy started before then may run `
      + `until ${new Date(facts.jobExpiresAt + COPY_SETTLE_MS).toISOString()}`;
  }
  return undefined;
}

/** Validates a configured bound (a prop or an environment value). */
export function validateBound(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 100) {
    throw new Error(`${name} must be a whole number from 1 to 100, got ${value}`);
  }
  return value;
}
