/**
 * Quota pacing for Glacier retrieval requests.
 *
 * The daily retrieval quota is read as a ROLLING limit: for every instant T, the bytes of the
 * archives whose retrieval was requested in the 24 hours up to T must not exceed the quota. The
 * quota is account-wide (per region), so one ledger is shared by every vault of a run and by
 * concurrent runs; only bytes actually requested are recorded (archives already in S3 or skipped
 * are never requested, so a resumed run does not wait for them).
 *
 * Times are epoch SECONDS (fractions allowed); sizes are bytes.
 */

/** Length of the rolling quota window: 24 hours. */
export const QUOTA_WINDOW_SECONDS = 24 * 60 * 60;
/** Default ledger resolution: one bucket per minute (at most 1,441 buckets live in a 24-h window). */
export const DEFAULT_BUCKET_SECONDS = 60;

/** Bytes requested during one bucket of time `[start, start + bucketSeconds)`. */
export interface LedgerBucket {
  /** Bucket start, epoch seconds, a multiple of the ledger's bucket size. */
  readonly start: number;
  /** Bytes requested inside the bucket. */
  readonly bytes: number;
}

/** Serialisable form of a ledger (e.g. one DynamoDB item or a JSON file). */
export interface LedgerSnapshot {
  readonly bucketSeconds: number;
  readonly buckets: readonly LedgerBucket[];
}

/**
 * Compact history of requested bytes: per-bucket totals, oldest first.
 *
 * A bucket's bytes are treated as if requested at the END of the bucket, i.e. they leave the
 * window `bucketSeconds` later than the earliest request inside it could; decisions are therefore
 * conservative (never let a real window exceed the quota) at the cost of at most one bucket of
 * delay. Buckets that left the window are pruned, so the ledger stays under
 * `86400 / bucketSeconds + 1` entries however long the transfer runs.
 */
export class RequestLedger {
  /** Rebuild a ledger from `toJSON()` output. */
  public static fromSnapshot(snapshot: LedgerSnapshot): RequestLedger {
    const ledger = new RequestLedger(snapshot.bucketSeconds);
    for (const b of snapshot.buckets) ledger.record(b.start, b.bytes);
    return ledger;
  }

  private readonly starts: number[] = [];
  private readonly sizes: number[] = [];

  constructor(public readonly bucketSeconds: number = DEFAULT_BUCKET_SECONDS) {
    if (!Number.isSafeInteger(bucketSeconds) || bucketSeconds < 1 || bucketSeconds > QUOTA_WINDOW_SECONDS) {
      throw new Error(`bucketSeconds must be an integer from 1 to ${QUOTA_WINDOW_SECONDS}, got ${bucketSeconds}`);
    }
  }

  /** Number of live buckets. */
  public get size(): number {
    return this.starts.length;
  }

  /** Record `bytes` requested at time `at` (any vault, any order). */
  public record(at: number, bytes: number): void {
    if (!Number.isFinite(at)) throw new Error(`request time must be a finite number of epoch seconds, got ${at}`);
    if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`requested bytes must be a non-negative number, got ${bytes}`);
    if (bytes === 0) return;
    const start = Math.floor(at / this.bucketSeconds) * this.bucketSeconds;
    let i = this.starts.length;
    // Requests arrive almost always in time order: search from the end.
    while (i > 0 && this.starts[i - 1] > start) i--;
    if (i > 0 && this.starts[i - 1] === start) {
      this.sizes[i - 1] += bytes;
    } else {
      this.starts.splice(i, 0, start);
      this.sizes.splice(i, 0, bytes);
    }
  }

  /** Drop buckets that no longer count in any window ending at or after `now`. */
  public prune(now: number): void {
    let n = 0;
    while (n < this.starts.length && this.expiry(n) <= now) n++;
    if (n > 0) {
      this.starts.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  /** Bytes that still count against the quota at `now` (conservative, see class doc). */
  public windowBytes(now: number): number {
    let sum = 0;
    for (let i = this.starts.length - 1; i >= 0 && this.expiry(i) > now; i--) sum += this.sizes[i];
    return sum;
  }

  /** Time (epoch seconds) at which bucket `i` stops counting: end of bucket + 24 h. */
  public expiry(i: number): number {
    return this.starts[i] + this.bucketSeconds + QUOTA_WINDOW_SECONDS;
  }

  /** Bytes of bucket `i` (oldest first). */
  public bytesAt(i: number): number {
    return this.sizes[i];
  }

  public toJSON(): LedgerSnapshot {
    return {
      bucketSeconds: this.bucketSeconds,
      buckets: this.starts.map((start, i) => ({ start, bytes: this.sizes[i] })),
    };
  }
}

/**
 * How long to wait (seconds, ≥ 0) before `batchBytes` may be requested so that no rolling 24-h
 * window exceeds `dailyQuota`, given the requests already in `ledger`.
 *
 * All ledger requests lie in the past, so after a request at time S the largest window that
 * contains it is the one starting at S: the batch fits iff (ledger bytes still counting at S) +
 * batchBytes ≤ quota. The answer is the earliest such S ≥ now.
 *
 * Exception: a batch larger than the whole quota (one archive bigger than a day's quota) can never
 * satisfy the rule; it is allowed alone once the window is EMPTY, so that window exceeds the quota
 * by exactly that archive, and every later request waits until it has left the window.
 */
export function nextRequestDelay(ledger: RequestLedger, now: number, batchBytes: number, dailyQuota: number): number {
  if (!Number.isFinite(dailyQuota) || dailyQuota <= 0) throw new Error(`daily quota must be a positive number of bytes, got ${dailyQuota}`);
  if (!Number.isFinite(batchBytes) || batchBytes < 0) throw new Error(`batch size must be a non-negative number of bytes, got ${batchBytes}`);
  if (batchBytes === 0) return 0;
  const room = Math.max(0, dailyQuota - batchBytes);
  // Walk from the newest bucket back: the first bucket that would overflow `room` must expire first.
  let sum = 0;
  for (let i = ledger.size - 1; i >= 0; i--) {
    const expiry = ledger.expiry(i);
    if (expiry <= now) break;
    sum += ledger.bytesAt(i);
    if (sum > room) return expiry - now;
  }
  return 0;
}

/**
 * Bytes that may be requested right now without any rolling 24-h window exceeding the quota
 * (the quota minus what the ledger still counts at `now`). Use it to send the part of a batch
 * that fits at once instead of waiting for the whole batch.
 */
export function availableBytes(ledger: RequestLedger, now: number, dailyQuota: number): number {
  return Math.max(0, dailyQuota - ledger.windowBytes(now));
}
