import { GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { describeError, errorName, httpStatus } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

/**
 * The vault's region has a data retrieval policy ("Free Tier Only" or "Max Retrieval Rate") that
 * rejects the retrieval. Nothing in this run can succeed until the policy changes, so the batch
 * fails and the state machine ends with this error name.
 */
export class RetrievalPolicyEnforcedError extends Error {
  constructor(detail: string) {
    super(
      'Glacier rejected the retrieval under the data retrieval policy of this region (PolicyEnforcedException: '
      + `${detail}). Set the policy to "No Retrieval Limit" or raise its Max Retrieval Rate (Glacier console → `
      + 'Data retrieval settings), or lower the daily quota so the rate fits, then run InitiateRetrieval again: '
      + 'archives already requested are not requested twice.',
    );
    this.name = 'RetrievalPolicyEnforcedError';
  }
}

/** Expedited retrievals have no capacity right now (InsufficientCapacityException). */
export class RetrievalCapacityUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `Glacier has no Expedited retrieval capacity available (InsufficientCapacityException: ${detail}). Purchase `
      + 'provisioned capacity units, or use the Standard or Bulk tier, then run InitiateRetrieval again.',
    );
    this.name = 'RetrievalCapacityUnavailableError';
  }
}

/** Everything InitiateJob needs for one archive. */
export interface ArchiveJobRequest {
  readonly vaultName: string;
  readonly archiveId: string;
  readonly tier: string;
  readonly topicArn: string;
  readonly description: string;
  /** Vault owner account; `-` = the account of the credentials. */
  readonly accountId?: string;
}

export type JobRequestOutcome =
  | { readonly kind: 'requested'; readonly jobId: string }
  /** Not retryable for this archive, or retries exhausted: record the archive as failed. */
  | { readonly kind: 'failed'; readonly reason: string };

export interface RequestRetryOptions {
  /** Total attempts for throttling / 5xx / limit errors (each attempt also has the SDK's retries). */
  readonly maxAttempts: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = /Throttl|LimitExceeded|ServiceUnavailable|RequestTimeout|SlowDown|InternalError|InternalFailure/;
const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isRetryable(err: unknown): boolean {
  const status = httpStatus(err) ?? 0;
  return status >= 500 || status === 429 || RETRYABLE.test(errorName(err) ?? '') || (err as { $retryable?: unknown })?.$retryable !== undefined;
}

/**
 * Starts one archive-retrieval job. Throttling, limit and server errors are retried with
 * exponential backoff and full jitter (on top of the SDK's own retries) and, when they persist,
 * reported as `failed` with the reason. Errors that concern this archive only (deleted since the
 * inventory, invalid parameter) are reported as `failed` at once. Data retrieval policy and
 * Expedited capacity errors throw typed errors (they stop the whole run). Anything else (access
 * denied, missing vault, network) is thrown unchanged: the archive stays pending and is retried.
 */
export async function requestArchiveJob(
  glacier: GlacierClient,
  request: ArchiveJobRequest,
  retry: RequestRetryOptions,
  log: Log,
): Promise<JobRequestOutcome> {
  const sleep = retry.sleep ?? sleepMs;
  const base = retry.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await glacier.send(new InitiateJobCommand({
        accountId: request.accountId ?? '-',
        vaultName: request.vaultName,
        jobParameters: {
          Type: 'archive-retrieval',
          ArchiveId: request.archiveId,
          Tier: request.tier,
          SNSTopic: request.topicArn,
          Description: request.description,
        },
      }));
      if (!out.jobId) throw new Error(`InitiateJob for archive ${request.archiveId} returned no job id`);
      return { kind: 'requested', jobId: out.jobId };
    } catch (err) {
      const name = errorName(err) ?? 'Error';
      const message = (err as Error)?.message ?? String(err);
      if (name === 'PolicyEnforcedException') throw new RetrievalPolicyEnforcedError(message);
      if (name === 'InsufficientCapacityException') throw new RetrievalCapacityUnavailableError(message);
      if (name === 'ResourceNotFoundException' && /archive/i.test(message)) {
        return { kind: 'failed', reason: `archive not found in vault ${request.vaultName} (deleted after the inventory?): ${name}: ${message}` };
      }
      if (name === 'InvalidParameterValueException' || name === 'MissingParameterValueException') {
        return { kind: 'failed', reason: `Glacier refused the request: ${name}: ${message}` };
      }
      if (!isRetryable(err)) throw err;
      if (attempt >= retry.maxAttempts) {
        return { kind: 'failed', reason: `InitiateJob still failing after ${attempt} attempts: ${name}: ${message}` };
      }
      const delay = Math.random() * Math.min(30_000, base * 2 ** attempt);
      log.warn('InitiateJob throttled or failed; retrying', { archiveId: request.archiveId, attempt, delayMs: Math.round(delay), ...describeError(err) });
      await sleep(delay);
    }
  }
}

/**
 * Runs `task` over `items` with at most `concurrency` in flight and starts spaced `1 / rate`
 * seconds apart; items whose start would be after `deadlineMs` are not started (returned as
 * `undefined`). The first thrown error stops new starts and is rethrown once in-flight tasks end.
 */
export async function paced<T, R>(
  items: readonly T[],
  options: { concurrency: number; perSecond: number; deadlineMs: number; now?: () => number; sleep?: (ms: number) => Promise<void> },
  task: (item: T) => Promise<R>,
): Promise<Array<R | undefined>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepMs;
  const interval = 1000 / options.perSecond;
  const results: Array<R | undefined> = new Array(items.length).fill(undefined);
  let next = 0;
  let nextSlot = now();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      const slot = Math.max(now(), nextSlot);
      nextSlot = slot + interval;
      if (slot > options.deadlineMs) {
        next = items.length;
        return;
      }
      const delay = slot - now();
      if (delay > 0) await sleep(delay);
      if (failure) return;
      try {
        results[index] = await task(items[index]);
      } catch (err) {
        failure ??= { error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
