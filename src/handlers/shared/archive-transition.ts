import { numberEnv } from './env';
import { Env } from '../../contract/environment';
import { runStatusKey } from '../../contract/keys';
import {
  ABSENT,
  ArchiveStatus,
  ArchiveTransition,
  checkTransition,
  COPY_SETTLE_MS,
  DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE,
  TRANSITIONS,
  validateBound,
} from '../../core/archive-lifecycle';

/*
 * The DynamoDB form of the archive transition table (src/core/archive-lifecycle.ts): every status
 * write of every stage is built here, as a conditional update whose condition is the table row's
 * `from` statuses (and the retrieval-job bound), so the store refuses what the table refuses even
 * when two writers race. Callers add their own guards (job id, upload id) and fields.
 */

/** Extra clauses a caller adds to a transition's update. */
export interface TransitionExtras {
  readonly set?: readonly string[];
  readonly remove?: readonly string[];
  readonly add?: readonly string[];
  readonly conditions?: readonly string[];
  readonly values?: Record<string, unknown>;
  readonly names?: Record<string, string>;
}

export interface TransitionWriteContext {
  readonly runId: string;
  readonly now: Date;
  /** Required for transitions that need a reason (failures, skips). */
  readonly reason?: string;
  /** Bound on retrieval jobs per archive, for transitions that start one. */
  readonly maxRetrievalJobs?: number;
  /** RE_REQUEST keeps the status it was read with: the status the caller saw. */
  readonly currentStatus?: ArchiveStatus;
}

/** Parameters of an UpdateCommand (DynamoDB document client) for one transition. */
export interface TransitionUpdate {
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/** Counters and traces of an attempt; removed when the table says a transition resets them. */
const ATTEMPT_ATTRIBUTES = ['downloadAttempts', 'validationAttempts', 'retrievalJobs', 'failureReason', 'lastVerificationFailure', 'windowExtensions', 'deadLetterMessageId'];

/**
 * The conditional update of `transition` on an existing archive item. Throws for a transition the
 * table cannot allow whatever the item holds (a creation, a missing reason): a programming error.
 */
export function transitionUpdate(transition: ArchiveTransition, ctx: TransitionWriteContext, extras: TransitionExtras = {}): TransitionUpdate {
  const rule = TRANSITIONS[transition];
  if (rule.from.includes(ABSENT)) throw new Error(`${transition} creates an archive item: use transitionItem`);
  if (rule.needsReason && !ctx.reason?.trim()) throw new Error(`${transition} needs a reason`);
  const to = rule.to ?? ctx.currentStatus;
  if (to === undefined) throw new Error(`${transition} keeps the status: pass the status the caller saw`);
  const from = rule.from as ArchiveStatus[];

  const values: Record<string, unknown> = { ...extras.values };
  const set = [...(extras.set ?? [])];
  const remove = [...(extras.remove ?? [])];
  const add = [...(extras.add ?? [])];
  const conditions: string[] = [];
  if (rule.to !== undefined) {
    set.unshift('#status = :toStatus', 'runStatus = :toRunStatus', 'statusTime = :statusTime');
    values[':toStatus'] = to;
    values[':toRunStatus'] = runStatusKey(ctx.runId, to);
  } else {
    // The status stays: it must still be the one the caller saw.
    set.unshift('statusTime = :statusTime');
    conditions.push('#status = :keepStatus');
    values[':keepStatus'] = to;
  }
  values[':statusTime'] = ctx.now.toISOString();
  from.forEach((status, i) => { values[`:from${i}`] = status; });
  conditions.unshift(from.length === 1 ? '#status = :from0' : `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`);
  if (rule.needsReason) {
    set.push('failureReason = :reason');
    values[':reason'] = ctx.reason;
  }
  if (rule.startsRetrievalJob) {
    add.push('retrievalJobs :oneJob');
    values[':oneJob'] = 1;
    values[':maxJobs'] = ctx.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
    conditions.push('(attribute_not_exists(retrievalJobs) OR retrievalJobs < :maxJobs)');
  }
  if (rule.whenCopySettled) {
    // The store's side of copyMayStillLand: at the bound, the job's window closed long enough ago
    // that no copy of it is running, and no validation is queued.
    values[':maxJobs'] = ctx.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
    values[':settledBefore'] = ctx.now.getTime() - COPY_SETTLE_MS;
    conditions.push('attribute_exists(retrievalJobs)', 'NOT (retrievalJobs < :maxJobs)', 'jobExpiresAt < :settledBefore', 'attribute_not_exists(validationQueuedBy)');
  }
  if (rule.resetsCounters) {
    for (const attribute of ATTEMPT_ATTRIBUTES) if (!remove.includes(attribute)) remove.push(attribute);
  }
  conditions.push(...(extras.conditions ?? []));

  const clauses = [`SET ${set.join(', ')}`];
  if (remove.length > 0) clauses.push(`REMOVE ${remove.join(', ')}`);
  if (add.length > 0) clauses.push(`ADD ${add.join(', ')}`);
  return {
    UpdateExpression: clauses.join(' '),
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: { '#status': 'status', ...extras.names },
    ExpressionAttributeValues: values,
  };
}

/** Parameters of a conditional PutCommand that creates an archive item through a creation transition. */
export interface TransitionPut<T> {
  readonly Item: T & { readonly status: ArchiveStatus; readonly runStatus: string; readonly statusTime: string };
  readonly ConditionExpression: string;
}

/** The item and condition of a creation transition (nothing → pending / failed / skipped). */
export function transitionItem<T extends { readonly runId: string; readonly failureReason?: string }>(
  transition: ArchiveTransition,
  item: T,
  now: Date,
): TransitionPut<T> {
  const verdict = checkTransition(transition, { status: ABSENT }, { reason: item.failureReason });
  if (!verdict.allowed) throw new Error(verdict.refusal);
  return {
    Item: { ...item, status: verdict.to, runStatus: runStatusKey(item.runId, verdict.to), statusTime: now.toISOString() },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** The bound on retrieval jobs per archive the construct configured ({@link Env.MAX_RETRIEVAL_JOBS}), or the default. */
export function maxRetrievalJobsFromEnv(): number {
  return validateBound(`environment variable ${Env.MAX_RETRIEVAL_JOBS}`, numberEnv(Env.MAX_RETRIEVAL_JOBS, DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE));
}
