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

/** InitiateJob calls per second one initiate batch invocation makes at most, unless configured otherwise. */
export const DEFAULT_INITIATE_REQUESTS_PER_SECOND = 100;
/** Archives per initiate batch (one Lambda invocation; the initiate state machine's MaxItemsPerBatch), unless configured otherwise. */
export const DEFAULT_INITIATE_BATCH_SIZE = 100;

/**
 * Archives in request order as runs of equal sizes: `counts[r]` archives of `sizes[r]` bytes, for
 * r < length (an inventory of millions of archives is paced in time proportional to its batches).
 */
export interface ArchiveRuns {
  readonly sizes: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
  readonly length: number;
}

/** Run-length encodes sizes in order, leaving out the archives `skip` names. */
export function archiveRuns(sizes: ArrayLike<number>, skip?: (index: number) => boolean): ArchiveRuns {
  const runSizes: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sizes.length; i++) {
    if (skip?.(i)) continue;
    const n = runSizes.length;
    if (n > 0 && runSizes[n - 1] === sizes[i]) {
      counts[n - 1]++;
    } else {
      runSizes.push(sizes[i]);
      counts.push(1);
    }
  }
  return { sizes: runSizes, counts, length: runSizes.length };
}

/** Input of {@link scheduleRequests}. */
export interface RequestScheduleInput {
  /** The archives to request, in request order. */
  readonly archives: ArchiveRuns;
  /** Daily (rolling 24-h) quota, bytes. */
  readonly dailyQuota: number;
  /** Archives per batch. Default DEFAULT_INITIATE_BATCH_SIZE. */
  readonly batchSize?: number;
  /** InitiateJob calls per second; undefined = unlimited (pure quota pacing). */
  readonly requestRate?: number;
  /** Ledger shared with other vaults or runs (mutated). Default: a new one. */
  readonly ledger?: RequestLedger;
  /** Virtual start time, epoch seconds. Default 0. */
  readonly startTime?: number;
}

/**
 * The transfer's request pacing on a virtual clock (no real waiting): the archives are taken in
 * batches in order; of each batch the longest prefix that fits the rolling quota now is requested,
 * one InitiateJob every 1/requestRate seconds, and recorded in the ledger at the batch's last
 * request (conservative, as the initiate handler does); when not even the first archive fits, the
 * clock moves on to when the whole next batch fits ({@link nextRequestDelay}). An archive larger
 * than the quota goes alone into an empty window.
 *
 * `onRequests(at, interval, count, sizeBytes)` is called, in time order, for every `count`
 * archives of `sizeBytes` requested one after another from `at`, `interval` seconds apart.
 */
export function scheduleRequests(
  input: RequestScheduleInput,
  onRequests: (at: number, interval: number, count: number, sizeBytes: number) => void,
): void {
  const { archives, dailyQuota, requestRate } = input;
  const batchSize = input.batchSize ?? DEFAULT_INITIATE_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(dailyQuota > 0)) throw new Error(`dailyQuota must be positive, got ${dailyQuota}`);
  if (requestRate !== undefined && !(requestRate > 0)) throw new Error(`requestRate must be positive, got ${requestRate}`);
  const perRequest = requestRate === undefined ? 0 : 1 / requestRate;
  const ledger = input.ledger ?? new RequestLedger();
  let now = input.startTime ?? 0;
  // Cursor: run r, `used` archives of it already requested.
  let r = 0;
  let used = 0;
  const skipEmpty = () => {
    while (r < archives.length && used >= archives.counts[r]) {
      r++;
      used = 0;
    }
  };
  while (true) {
    skipEmpty();
    if (r >= archives.length) break;
    ledger.prune(now);
    const room = availableBytes(ledger, now, dailyQuota);
    // The longest prefix of the next batch that fits `room`, run by run.
    let taken = 0;
    let batchBytes = 0;
    let t = now;
    let lastAt = now;
    while (taken < batchSize) {
      skipEmpty();
      if (r >= archives.length) break;
      const size = archives.sizes[r];
      const left = Math.min(archives.counts[r] - used, batchSize - taken);
      let k: number;
      if (taken === 0 && size > dailyQuota) k = room === dailyQuota ? 1 : 0;
      else k = size === 0 ? left : Math.min(left, Math.floor((room - batchBytes) / size));
      if (k <= 0) break;
      onRequests(t, perRequest, k, size);
      lastAt = t + (k - 1) * perRequest;
      t = lastAt + perRequest;
      taken += k;
      batchBytes += k * size;
      used += k;
      if (k < left) break;
    }
    if (taken === 0) {
      now += Math.max(nextRequestDelay(ledger, now, wantedBytes(archives, r, used, batchSize, dailyQuota), dailyQuota),
        Number.EPSILON * Math.max(1, Math.abs(now)));
      continue;
    }
    ledger.record(lastAt, batchBytes);
    now = t;
  }
}

/** Bytes of the next batch from run `r` (after `used` of it), stopping before the quota would be passed. */
function wantedBytes(archives: ArchiveRuns, r: number, used: number, batchSize: number, dailyQuota: number): number {
  let wanted = 0;
  let taken = 0;
  for (let q = r, u = used; q < archives.length && taken < batchSize; q++, u = 0) {
    const size = archives.sizes[q];
    const left = Math.min(archives.counts[q] - u, batchSize - taken);
    if (left <= 0) continue;
    // The first archive always counts; then as many as keep the total within the quota.
    const first = taken === 0 ? 1 : 0;
    const more = size === 0 ? left - first : Math.min(left - first, Math.floor((dailyQuota - wanted - first * size) / size));
    const k = first + Math.max(0, more);
    wanted += k * size;
    taken += k;
    if (k < left) break;
  }
  return wanted;
}
