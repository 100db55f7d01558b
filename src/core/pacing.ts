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

// ---------------------------------------------------------------------------------------------
// Virtual-clock simulator
// ---------------------------------------------------------------------------------------------

/** Pacing strategy to simulate. */
export enum PacingStrategy {
  /** This library: rolling 24-h window over a ledger of bytes actually requested. */
  SLIDING_WINDOW = 'sliding-window',
  /**
   * The reference solution: inventory cut into fixed partitions (40 TiB) processed strictly one
   * after another; after a partition, wait 86400 × partitionBytes ÷ quota − elapsed seconds,
   * where partitionBytes counts EVERY archive of the partition, including already-copied ones.
   */
  REFERENCE_PARTITIONS = 'reference-partitions',
}

export interface PacingSimulationInput {
  /** Archive sizes in request order (CreationDate order). */
  readonly archiveSizes: ArrayLike<number>;
  /** Daily (rolling 24-h) quota, bytes. */
  readonly dailyQuota: number;
  /** Archives per request batch (one Lambda invocation in both designs). Default 100. */
  readonly batchSize?: number;
  /** InitiateJob calls per second; undefined = unlimited (pure pacing). */
  readonly requestRate?: number;
  /** Per archive: true when it is already in S3 (a resumed run). Same indexing as `archiveSizes`. */
  readonly alreadyCopied?: ArrayLike<boolean | number>;
  readonly strategy?: PacingStrategy;
  /** Reference strategy only: partition size in bytes. Default 40 TiB. */
  readonly partitionBytes?: number;
  /** Sliding-window strategy only: ledger shared with other vaults/runs (mutated). */
  readonly ledger?: RequestLedger;
  /** Virtual start time, epoch seconds. Default 0. */
  readonly startTime?: number;
}

export interface PacingSimulationResult {
  readonly strategy: PacingStrategy;
  /** Archives requested (already-copied ones excluded). */
  readonly requestedArchives: number;
  readonly requestedBytes: number;
  /** Seconds from the start until the first InitiateJob (undefined when nothing was requested). */
  readonly timeToFirstRequestSeconds: number | undefined;
  /** Seconds from the start until the last InitiateJob. */
  readonly lastRequestSeconds: number;
  /**
   * Quota-days the run occupied: (last − first request) ÷ 24 h + bytes requested in the 24-h
   * window ending at the last request ÷ quota. Requesting one quota at once = 1 day; a perfect
   * pacer needs requestedBytes ÷ quota days.
   */
  readonly totalDays: number;
  /** requestedBytes ÷ (dailyQuota × totalDays). 1.0 = the quota was never left unused. */
  readonly utilisation: number;
  /** Largest sum of requested bytes over any rolling 24-h window (exact request times). */
  readonly worstWindowBytes: number;
  /** worstWindowBytes ÷ dailyQuota. */
  readonly worstWindowRatio: number;
}

/** 2^40 bytes. */
export const TiB = 1024 ** 4;
const DEFAULT_PARTITION_BYTES = 40 * TiB;

/** Run a pacing strategy over an inventory on a virtual clock (no real waiting). */
export function simulatePacing(input: PacingSimulationInput): PacingSimulationResult {
  const strategy = input.strategy ?? PacingStrategy.SLIDING_WINDOW;
  const batchSize = input.batchSize ?? 100;
  const { dailyQuota, requestRate } = input;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(dailyQuota > 0)) throw new Error(`dailyQuota must be positive, got ${dailyQuota}`);
  if (requestRate !== undefined && !(requestRate > 0)) throw new Error(`requestRate must be positive, got ${requestRate}`);
  const start = input.startTime ?? 0;
  const times: number[] = [];
  const bytes: number[] = [];
  const emit = (t: number, size: number) => {
    times.push(t);
    bytes.push(size);
  };
  const perRequest = requestRate === undefined ? 0 : 1 / requestRate;
  const copied = (i: number) => Boolean(input.alreadyCopied?.[i]);

  if (strategy === PacingStrategy.SLIDING_WINDOW) {
    simulateSlidingWindow(input, batchSize, perRequest, copied, start, emit);
  } else {
    simulateReference(input, batchSize, perRequest, copied, start, emit);
  }

  let requestedBytes = 0;
  for (const b of bytes) requestedBytes += b;
  const n = times.length;
  const lastRequest = n > 0 ? times[n - 1] - start : 0;
  // Quota-days the run occupied: its span plus the share of a quota still held by the last
  // 24-h window. A fluid pacer at exactly the quota scores requestedBytes ÷ quota.
  let lastWindowBytes = 0;
  for (let k = n - 1; k >= 0 && times[k] > times[n - 1] - QUOTA_WINDOW_SECONDS; k--) lastWindowBytes += bytes[k];
  const totalDays = n > 0 ? (times[n - 1] - times[0]) / QUOTA_WINDOW_SECONDS + lastWindowBytes / dailyQuota : 0;
  const worst = worstWindow(times, bytes);
  return {
    strategy,
    requestedArchives: times.length,
    requestedBytes,
    timeToFirstRequestSeconds: times.length > 0 ? times[0] - start : undefined,
    lastRequestSeconds: lastRequest,
    totalDays,
    utilisation: totalDays > 0 ? requestedBytes / (dailyQuota * totalDays) : 0,
    worstWindowBytes: worst,
    worstWindowRatio: worst / dailyQuota,
  };
}

function simulateSlidingWindow(
  input: PacingSimulationInput,
  batchSize: number,
  perRequest: number,
  copied: (i: number) => boolean,
  start: number,
  emit: (t: number, size: number) => void,
): void {
  const { archiveSizes: sizes, dailyQuota } = input;
  const ledger = input.ledger ?? new RequestLedger();
  let now = start;
  let i = 0;
  while (true) {
    while (i < sizes.length && copied(i)) i++;
    if (i === sizes.length) break;
    ledger.prune(now);
    // Send the longest prefix of the next batch (≤ batchSize archives still to copy) that fits
    // in the window right now; when not even the first archive fits, wait until the whole next
    // batch fits (so waiting ends with a full batch, not a trickle of single archives). An
    // archive larger than the quota fits only into an empty window (see nextRequestDelay).
    const room = availableBytes(ledger, now, dailyQuota);
    const batch: number[] = [];
    let batchBytes = 0;
    let j = i;
    for (; j < sizes.length && batch.length < batchSize; j++) {
      if (copied(j)) continue;
      const size = sizes[j];
      const fits = batchBytes + size <= room || (batch.length === 0 && size > dailyQuota && room === dailyQuota);
      if (!fits) break;
      batch.push(size);
      batchBytes += size;
    }
    if (batch.length === 0) {
      let wanted = 0;
      let taken = 0;
      for (let k = i; k < sizes.length && taken < batchSize; k++) {
        if (copied(k)) continue;
        if (taken > 0 && wanted + sizes[k] > dailyQuota) break;
        wanted += sizes[k];
        taken++;
      }
      now += Math.max(nextRequestDelay(ledger, now, wanted, dailyQuota), Number.EPSILON * Math.max(1, Math.abs(now)));
      continue;
    }
    i = j;
    let t = now;
    for (const size of batch) {
      emit(t, size);
      t += perRequest;
    }
    // Recorded at the time of the batch's LAST request: later than any of them, so conservative.
    ledger.record(t - perRequest, batchBytes);
    now = t;
  }
}

function simulateReference(
  input: PacingSimulationInput,
  batchSize: number,
  perRequest: number,
  copied: (i: number) => boolean,
  start: number,
  emit: (t: number, size: number) => void,
): void {
  const { archiveSizes: sizes, dailyQuota } = input;
  const partitionBytes = input.partitionBytes ?? DEFAULT_PARTITION_BYTES;
  let now = start;
  let i = 0;
  let cumulative = 0;
  while (i < sizes.length) {
    const partition = Math.floor(cumulative / partitionBytes);
    const partitionStart = now;
    let counted = 0;
    // Every archive of the partition goes through the initiator (already-copied ones are looked
    // up and skipped, but still take their slot in the batch and count toward the wait).
    while (i < sizes.length && Math.floor(cumulative / partitionBytes) === partition) {
      const batchEnd = Math.min(sizes.length, i + batchSize);
      while (i < batchEnd && Math.floor(cumulative / partitionBytes) === partition) {
        const size = sizes[i];
        if (!copied(i)) emit(now, size);
        now += perRequest;
        counted += size;
        cumulative += size;
        i++;
      }
    }
    const wait = Math.max(0, (QUOTA_WINDOW_SECONDS * counted) / dailyQuota - (now - partitionStart));
    now += wait;
  }
}

/** Largest sum of `bytes` whose `times` fall within any half-open 24-h window (times sorted). */
export function worstWindow(times: readonly number[], bytes: readonly number[]): number {
  let worst = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    sum += bytes[hi];
    while (times[lo] <= times[hi] - QUOTA_WINDOW_SECONDS) sum -= bytes[lo++];
    if (sum > worst) worst = sum;
  }
  return worst;
}
