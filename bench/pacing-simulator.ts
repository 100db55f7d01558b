import { archiveRuns, QUOTA_WINDOW_SECONDS, RequestLedger, scheduleRequests } from '../src/core/pacing';

/*
 * Virtual-clock simulator of quota pacing, for the pacing benchmarks and their tests only: it runs
 * this library's sliding-window pacer (the ledger and delay rules of src/core/pacing.ts) and the
 * reference solution's per-partition formula over an inventory, without real waiting.
 */

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
    // The transfer's own pacing (src/core/pacing.ts).
    const archives = archiveRuns(input.archiveSizes, copied);
    scheduleRequests({ archives, dailyQuota, batchSize, requestRate, ledger: input.ledger, startTime: start }, (at, interval, count, size) => {
      for (let k = 0; k < count; k++) emit(at + k * interval, size);
    });
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
