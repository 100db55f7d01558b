/**
 * Cost and duration estimate of moving a vault's archives into S3.
 *
 * Prices come from the one dated table in `prices.ts`; workload figures that are not prices
 * (Lambda memory and time per step, messages per archive, ...) are explicit assumptions with
 * defaults that callers can override. The estimate covers the transfer itself and the first
 * month in the destination class, not the vault's own storage.
 */
import { DEFAULT_CHUNK_SIZE, planChunks } from './chunk-plan';
import { ArchiveRuns, DEFAULT_INITIATE_BATCH_SIZE, DEFAULT_INITIATE_REQUESTS_PER_SECOND, QUOTA_WINDOW_SECONDS, scheduleRequests } from './pacing';
import { PriceFigure, PriceTable, RetrievalTier, DestinationStorageClass, US_EAST_1_PRICES } from './prices';

/**
 * The GB AWS bills in (retrieval, storage GB-months, data transfer, Lambda GB-seconds): 2^30 bytes,
 * i.e. one GiB. The estimate writes sizes in binary units and says GB only for these billed quantities.
 */
export const GB = 1024 ** 3;

/** The report's note on units. */
export const UNITS_NOTE = 'Units: sizes are binary (1 KiB = 2^10 bytes, MiB 2^20, GiB 2^30, TiB 2^40); "GB" appears only where AWS bills per GB '
  + '(retrieval, GB-months of storage, transfer, Lambda GB-seconds), and AWS\'s billing GB is 2^30 bytes = 1 GiB.';
const KiB = 1024;
/** The only minimum billable object size S3 uses today (IA classes, Glacier IR). */
const MIN_BILLABLE_128K = 128 * KiB;
/** Days per billing month used for minimum-duration arithmetic. */
const DAYS_PER_MONTH = 30;
/** Integer with thousands separators. */
const n = (x: number) => x.toLocaleString('en-US');

/** `count` archives of `sizeBytes` each: a size distribution is a list of these. */
export interface ArchiveSizeGroup {
  readonly sizeBytes: number;
  readonly count: number;
}

/**
 * Running totals over archive sizes, enough to price any storage class without keeping the
 * sizes (an inventory of tens of millions of archives is summarised in constant memory).
 */
export class ArchiveSizeSummary {
  public static of(archives: Iterable<number> | readonly ArchiveSizeGroup[], chunkSizeBytes?: number): ArchiveSizeSummary {
    const summary = new ArchiveSizeSummary(chunkSizeBytes);
    for (const a of archives as Iterable<number | ArchiveSizeGroup>) {
      if (typeof a === 'number') summary.add(a);
      else summary.add(a.sizeBytes, a.count);
    }
    return summary;
  }
  public count = 0;
  public totalBytes = 0;
  /** Archives copied with one GetJobOutput + one PutObject. */
  public singlePutCount = 0;
  /** Archives copied with a multipart upload. */
  public multipartCount = 0;
  /** UploadPart calls over all multipart archives (= GetJobOutput ranges). */
  public multipartParts = 0;
  /** Σ max(0, 128 KiB − size): bytes added by a 128 KB minimum billable size. */
  public shortfallBelow128K = 0;
  /** Archives of at least 128 KiB (INTELLIGENT_TIERING monitors only these). */
  public countAtLeast128K = 0;
  public largestBytes = 0;
  /** Archives too large for one S3 object (not priced). */
  public unplannableCount = 0;
  /** Sizes in the order added, run-length encoded (8 + 8 bytes per run of equal sizes). */
  private runSizes = new Float64Array(1024);
  private runCounts = new Float64Array(1024);
  private runs = 0;

  constructor(public readonly chunkSizeBytes: number = DEFAULT_CHUNK_SIZE) {
    planChunks(0, chunkSizeBytes); // validates the chunk size once, with planChunks' own error
  }

  /** Add `count` archives of `sizeBytes`. */
  public add(sizeBytes: number, count: number = 1): this {
    if (!Number.isSafeInteger(count) || count < 0) throw new Error(`archive count must be a non-negative integer, got ${count}`);
    if (count === 0) return this;
    let parts: number;
    try {
      parts = planChunks(sizeBytes, this.chunkSizeBytes).chunkCount;
    } catch (e) {
      if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw e;
      this.unplannableCount += count;
      return this;
    }
    this.count += count;
    this.totalBytes += sizeBytes * count;
    if (parts === 1) {
      this.singlePutCount += count;
    } else {
      this.multipartCount += count;
      this.multipartParts += parts * count;
    }
    if (sizeBytes < MIN_BILLABLE_128K) this.shortfallBelow128K += (MIN_BILLABLE_128K - sizeBytes) * count;
    else this.countAtLeast128K += count;
    if (sizeBytes > this.largestBytes) this.largestBytes = sizeBytes;
    this.appendRun(sizeBytes, count);
    return this;
  }

  /** The priced archives in the order they were added (the order they are requested in), as runs of equal sizes. */
  public runsInOrder(): ArchiveRuns {
    return { sizes: this.runSizes.subarray(0, this.runs), counts: this.runCounts.subarray(0, this.runs), length: this.runs };
  }

  private appendRun(sizeBytes: number, count: number): void {
    if (this.runs > 0 && this.runSizes[this.runs - 1] === sizeBytes) {
      this.runCounts[this.runs - 1] += count;
      return;
    }
    if (this.runs === this.runSizes.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.runSizes = grow(this.runSizes);
      this.runCounts = grow(this.runCounts);
    }
    this.runSizes[this.runs] = sizeBytes;
    this.runCounts[this.runs] = count;
    this.runs++;
  }


}

/** What AWS bills by the request, as the transfer makes them. */
export type RequestKind =
  | 'glacierRetrievalRequests' | 's3PutClass' | 's3GetClass' | 'lambdaInvocations' | 'stateTransitions'
  | 'sqsRequests' | 'snsPublishes' | 'dynamoWriteUnits' | 'dynamoReadUnits';

/**
 * Requests of one kind: per archive, per copy piece (a single PutObject or one part), per multipart
 * upload, per run, and per hour of the run (the schedules: completion check every 5 min, dashboard,
 * download-window check, and what they read).
 */
export interface RequestCoefficients {
  readonly perArchive: number;
  readonly perPiece: number;
  readonly perMultipart: number;
  readonly perRun: number;
  readonly perHour: number;
}

/**
 * The transfer's requests, measured: fault-free rehearsals of the real pipeline recorded them
 * (test/fixtures/rehearsal/request-counts-*.json; rehearsal/request-counts.ts refreshes them), and
 * test/core/cost-request-counts.test.ts fails when a recorded run made more requests of any kind
 * than this model predicts for its archives (so a pipeline change that costs more shows), or far
 * fewer (so the model does not drift up). Per run = inventory, partitioning, reports and the
 * schedules of a run of about 15 hours (completion check, dashboard, download-window check).
 * DynamoDB units count one unit per request (items under 1 KiB written, 4 KiB read) and two per
 * TransactWriteItems request; SQS counts sends and deletes plus one receive per message (the event
 * source's idle polling is time-based, not counted).
 */
export const REQUEST_MODEL: Readonly<Record<RequestKind, RequestCoefficients>> = {
  // One retrieval job per archive (the inventory job is not an archive retrieval).
  glacierRetrievalRequests: { perArchive: 1, perPiece: 0, perMultipart: 0, perRun: 0, perHour: 0 },
  // PutObject per single piece; multipart: create + one per part + complete. Per run: inventory,
  // partition and report objects, the listings of the inventory download.
  s3PutClass: { perArchive: 0, perPiece: 1, perMultipart: 2, perRun: 16, perHour: 0 },
  // Existing-object checks (HeadObject, twice per archive), reads of the inventory bucket.
  s3GetClass: { perArchive: 2, perPiece: 0, perMultipart: 0, perRun: 5, perHour: 0 },
  // Notification, metrics-stream and validation invocations per archive, a copy per piece; per hour the schedules.
  lambdaInvocations: { perArchive: 8, perPiece: 1, perMultipart: 0, perRun: 0, perHour: 14 },
  // The orchestrator, inventory and initiate state machines per run; the download-window checks per hour.
  stateTransitions: { perArchive: 0.25, perPiece: 0, perMultipart: 0, perRun: 60, perHour: 7 },
  // Per message: send, receive (one per send), delete (in batches).
  sqsRequests: { perArchive: 1.5, perPiece: 2.5, perMultipart: 0, perRun: 0, perHour: 0 },
  // One job-completion notification per archive, one for the inventory job.
  snsPublishes: { perArchive: 1, perPiece: 0, perMultipart: 0, perRun: 1, perHour: 0 },
  // Archive items through every status (TransactWriteItems with the metrics), ledger, run record.
  dynamoWriteUnits: { perArchive: 11, perPiece: 0, perMultipart: 0, perRun: 60, perHour: 0 },
  // Archive items and the ledger per archive; the schedules read the run and metrics items per hour.
  dynamoReadUnits: { perArchive: 10, perPiece: 0, perMultipart: 0, perRun: 0, perHour: 25 },
};

/** The requests of moving the archives of `s` in a run of `hours`, by kind (REQUEST_MODEL, or `model`). */
export function requestCounts(
  s: ArchiveSizeSummary,
  hours: number,
  model: Readonly<Record<RequestKind, RequestCoefficients>> = REQUEST_MODEL,
): Record<RequestKind, number> {
  const pieces = s.singlePutCount + s.multipartParts;
  const out = {} as Record<RequestKind, number>;
  for (const [kind, c] of Object.entries(model) as Array<[RequestKind, RequestCoefficients]>) {
    const perWork = c.perArchive * s.count + c.perPiece * pieces + c.perMultipart * s.multipartCount;
    out[kind] = s.count === 0 ? 0 : Math.ceil(perWork + c.perRun + c.perHour * hours);
  }
  return out;
}

/** Workload assumptions that are not prices. Every field has a default. */
export interface CostAssumptions {
  /** Archives per InitiateJob Lambda invocation. Default DEFAULT_INITIATE_BATCH_SIZE (100), as the transfer. */
  readonly initiateBatchSize?: number;
  /** InitiateJob calls per second. Default DEFAULT_INITIATE_REQUESTS_PER_SECOND (100), as the transfer. */
  readonly requestsPerSecond?: number;
  /**
   * Hours from the start until the inventory is there: the inventory job ("can take up to 4 hours",
   * AWS's Re:Freezer README; inventory jobs have no tier). Default 4. 0 with a provided inventory.
   */
  readonly inventoryJobHours?: number;
  /** Lambda seconds per archive for InitiateJob + bookkeeping. Default 0.05. */
  readonly initiateSecondsPerArchive?: number;
  /** Memory (MB as Lambda counts it, 2^20 bytes) of the small Lambdas (initiate, notification, finalize). Default 256. */
  readonly smallLambdaMemoryMB?: number;
  /** Lambda seconds to handle one job-completion notification. Default 0.2. */
  readonly notifySecondsPerArchive?: number;
  /** Memory (MB as Lambda counts it, 2^20 bytes) of the copy Lambda (streams GetJobOutput → S3). Default 1024. */
  readonly copyLambdaMemoryMB?: number;
  /** Copy throughput of one copy invocation, bytes/second. Default 64 MiB/s. */
  readonly copyBytesPerSecond?: number;
  /** Fixed seconds per copy invocation (connections, HEAD, bookkeeping). Default 0.5. */
  readonly copyOverheadSeconds?: number;
  /** Lambda seconds to complete and verify one multipart upload. Default 0.2. */
  readonly finalizeSecondsPerArchive?: number;
}

export interface CostInput {
  /** Archive sizes (bytes), a size distribution, or a summary built while streaming an inventory. */
  readonly archives: Iterable<number> | readonly ArchiveSizeGroup[] | ArchiveSizeSummary;
  readonly tier?: RetrievalTier;
  readonly storageClass?: DestinationStorageClass;
  /** Rolling 24-h retrieval quota in bytes. Default 100 TiB. */
  readonly dailyQuotaBytes?: number;
  /** Copy chunk size in bytes (power-of-two MiB, 8 MiB .. 4 GiB). Default 1 GiB. */
  readonly chunkSizeBytes?: number;
  /** Vault and bucket in different regions. Default false. */
  readonly crossRegion?: boolean;
  readonly prices?: PriceTable;
  readonly assumptions?: CostAssumptions;
}

/** One priced quantity. */
export interface CostLine {
  readonly group: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPriceUsd: number;
  /** Price per `per` units. */
  readonly per: number;
  readonly usd: number;
  readonly verifiedPrice: boolean;
}

export interface CostEstimate {
  readonly region: string;
  readonly pricesAsOf: string;
  readonly tier: RetrievalTier;
  readonly storageClass: DestinationStorageClass;
  readonly chunkSizeBytes: number;
  readonly dailyQuotaBytes: number;
  readonly archiveCount: number;
  readonly totalBytes: number;
  readonly singlePutCount: number;
  readonly multipartCount: number;
  readonly multipartParts: number;
  readonly unplannableCount: number;
  /** Every priced quantity, grouped. */
  readonly lines: readonly CostLine[];
  /** Sum per group (Glacier retrieval, S3 requests, First-month storage, Lambda, ...). */
  readonly byGroup: Readonly<Record<string, number>>;
  /** Everything paid once for the transfer (all groups except storage). */
  readonly transferUsd: number;
  /** Destination storage for the first month, incl. per-object overheads and minimum sizes. */
  readonly firstMonthStorageUsd: number;
  /** transferUsd + firstMonthStorageUsd. */
  readonly totalUsd: number;
  /** Minimum storage duration of the class, days (0 = none). */
  readonly minimumStorageDays: number;
  /** Storage billed even if the objects are deleted early: monthly storage × minimum days ÷ 30. */
  readonly minimumStorageCommitmentUsd: number;
  /** Billed requests by kind (REQUEST_MODEL). */
  readonly requests: Readonly<Record<RequestKind, number>>;
  /** Duration: the transfer's own pacing (src/core/pacing.ts scheduleRequests) run over the archives. */
  readonly duration: DurationEstimate;
  /** Bytes in the GB of every GB-denominated line (GB, GB-month, GB-s): AWS bills GB as 2^30 bytes. */
  readonly billingGbBytes: number;
  /** Figures used that are marked unverified in the price table. */
  readonly unverifiedPrices: readonly string[];
}

/**
 * How long a transfer takes, hour by hour: the inventory job, then the archives requested by the
 * transfer's pacing (batches in inventory order, at most `requestsPerSecond`, never more than the
 * quota in any rolling 24 h), then the tier's job time after the last request. Not modelled: the
 * copy after the last job completes (minutes per archive, in parallel), per-batch overheads (a
 * Lambda invocation and a few DynamoDB calls per 100 archives: the real request rate is a little
 * lower), throttling by Glacier.
 */
export interface DurationEstimate {
  readonly inventoryJobHours: number;
  readonly requestsPerSecond: number;
  readonly batchSize: number;
  /** From the first InitiateJob to the last. */
  readonly requestingHours: number;
  /** What the request rate alone would take (archives ÷ rate): requestingHours minus this is waiting for the quota. */
  readonly requestRateHours: number;
  /** The tier's typical job time (upper end of the documented range), counted after the last request. */
  readonly retrievalHours: number;
  /** inventoryJobHours + requestingHours + retrievalHours (inventoryJobHours alone when nothing is requested). */
  readonly totalHours: number;
  readonly totalDays: number;
  /** Bytes requested in each 24 h from the first request (day 0 first). */
  readonly requestedBytesPerDay: readonly number[];
}

const DEFAULTS: Required<CostAssumptions> = {
  initiateBatchSize: DEFAULT_INITIATE_BATCH_SIZE,
  requestsPerSecond: DEFAULT_INITIATE_REQUESTS_PER_SECOND,
  inventoryJobHours: 4,
  initiateSecondsPerArchive: 0.05,
  smallLambdaMemoryMB: 256,
  notifySecondsPerArchive: 0.2,
  copyLambdaMemoryMB: 1024,
  copyBytesPerSecond: 64 * 1024 * 1024,
  copyOverheadSeconds: 0.5,
  finalizeSecondsPerArchive: 0.2,
};

const DEFAULT_DAILY_QUOTA = 100 * 1024 ** 4;

export function estimateCost(input: CostInput): CostEstimate {
  const prices = input.prices ?? US_EAST_1_PRICES;
  const tier = input.tier ?? RetrievalTier.BULK;
  const storageClass = input.storageClass ?? DestinationStorageClass.DEEP_ARCHIVE;
  const a = { ...DEFAULTS, ...stripUndefined(input.assumptions ?? {}) };
  const dailyQuotaBytes = input.dailyQuotaBytes ?? DEFAULT_DAILY_QUOTA;
  if (!(dailyQuotaBytes > 0)) throw new Error(`daily quota must be a positive number of bytes, got ${dailyQuotaBytes}`);
  const tierPrices = prices.glacierRetrieval[tier];
  const cls = prices.s3[storageClass];
  if (!tierPrices) throw new Error(`unknown retrieval tier ${JSON.stringify(tier)}`);
  if (!cls) throw new Error(`unknown storage class ${JSON.stringify(storageClass)}`);
  if (cls.minimumBillableBytes !== 0 && cls.minimumBillableBytes !== MIN_BILLABLE_128K) {
    throw new Error(`minimum billable size ${cls.minimumBillableBytes} is not supported (only 128 KiB)`);
  }

  let summary: ArchiveSizeSummary;
  if (input.archives instanceof ArchiveSizeSummary) {
    summary = input.archives;
    if (input.chunkSizeBytes !== undefined && input.chunkSizeBytes !== summary.chunkSizeBytes) {
      throw new Error(`chunkSizeBytes ${input.chunkSizeBytes} differs from the summary's ${summary.chunkSizeBytes}`);
    }
  } else {
    summary = ArchiveSizeSummary.of(input.archives, input.chunkSizeBytes);
  }
  const s = summary;
  const lines: CostLine[] = [];
  const unverified = new Set<string>();
  const add = (group: string, item: string, quantity: number, unit: string, price: PriceFigure, per: number) => {
    if (!price.verified) unverified.add(`${price.unit}: $${price.usd} (${price.source})`);
    lines.push({ group, item, quantity, unit, unitPriceUsd: price.usd, per, usd: (quantity / per) * price.usd, verifiedPrice: price.verified });
  };

  // Glacier retrieval: one job per archive, every byte retrieved once.
  const G = 'Glacier retrieval';
  add(G, `${tier} retrieval requests`, s.count, 'requests', tierPrices.per1000Requests, 1000);
  add(G, `${tier} data retrieved`, s.totalBytes / GB, 'GB', tierPrices.perGB, 1);

  // Requests: as the pipeline makes them (REQUEST_MODEL, measured by a rehearsal), over the run's duration.
  const duration = estimateDuration(s, dailyQuotaBytes, a, tierPrices.typicalHours);
  const r = requestCounts(s, duration.totalHours);
  const S = 'S3 requests';
  add(S, `PUT-class requests (${n(s.singlePutCount)} PutObject, ${n(s.multipartCount)} multipart: ${n(s.multipartParts)} parts + create/complete; `
    + 'inventory, partition and report objects; all at the destination class rate)', r.s3PutClass, 'requests', cls.putPer1000, 1000);
  add(S, 'GET-class requests (existing-object checks, reads of the inventory bucket)', r.s3GetClass, 'requests', cls.getPer1000, 1000);

  // First-month storage in the destination class.
  const T = 'First-month storage';
  const billableAtClass = s.totalBytes + (cls.minimumBillableBytes > 0 ? s.shortfallBelow128K : 0);
  add(T, `${storageClass} data${cls.minimumBillableBytes > 0 ? ' (128 KiB minimum billable size)' : ''}`,
    billableAtClass / GB, 'GB-month', cls.storagePerGBMonth, 1);
  if (cls.overheadBytesAtClassRate > 0) {
    add(T, `per-object overhead ${cls.overheadBytesAtClassRate / KiB} KiB at ${storageClass} rate`,
      (s.count * cls.overheadBytesAtClassRate) / GB, 'GB-month', cls.storagePerGBMonth, 1);
  }
  if (cls.overheadBytesAtStandardRate > 0) {
    add(T, `per-object overhead ${cls.overheadBytesAtStandardRate / KiB} KiB at STANDARD rate`,
      (s.count * cls.overheadBytesAtStandardRate) / GB, 'GB-month', prices.s3[DestinationStorageClass.STANDARD].storagePerGBMonth, 1);
  }
  if (cls.monitoringPer1000Objects) {
    add(T, 'monitoring and automation (objects ≥ 128 KiB)', s.countAtLeast128K, 'objects', cls.monitoringPer1000Objects, 1000);
  }

  // Lambda: GB-seconds per path + invocations.
  const L = 'Lambda';
  const small = a.smallLambdaMemoryMB / 1024;
  const copyMem = a.copyLambdaMemoryMB / 1024;
  const copyInvocations = s.singlePutCount + s.multipartParts;
  const copySeconds = s.totalBytes / a.copyBytesPerSecond + copyInvocations * a.copyOverheadSeconds;
  add(L, 'initiate path', s.count * a.initiateSecondsPerArchive * small, 'GB-s', prices.lambdaPerGBSecond, 1);
  add(L, 'notification path', s.count * a.notifySecondsPerArchive * small, 'GB-s', prices.lambdaPerGBSecond, 1);
  add(L, `copy path (${fmtBytes(a.copyBytesPerSecond)}/s per invocation)`, copySeconds * copyMem, 'GB-s', prices.lambdaPerGBSecond, 1);
  add(L, 'finalize path (multipart complete + verify)', s.multipartCount * a.finalizeSecondsPerArchive * small, 'GB-s', prices.lambdaPerGBSecond, 1);
  add(L, 'invocations', r.lambdaInvocations, 'invocations', prices.lambdaPerMillionRequests, 1e6);

  // Orchestration, messaging, bookkeeping.
  add('Step Functions', 'state transitions', r.stateTransitions, 'transitions', prices.stepFunctionsPer1000Transitions, 1000);
  add('SQS', 'requests (send, receive, delete)', r.sqsRequests, 'requests', prices.sqsPerMillionRequests, 1e6);
  add('SNS', 'publishes (job-completion notifications)', r.snsPublishes, 'publishes', prices.snsPerMillionPublishes, 1e6);
  add('DynamoDB', 'write request units (TransactWriteItems counted twice)', r.dynamoWriteUnits, 'WRU', prices.dynamoDbPerMillionWriteUnits, 1e6);
  add('DynamoDB', 'read request units', r.dynamoReadUnits, 'RRU', prices.dynamoDbPerMillionReadUnits, 1e6);
  if (input.crossRegion) add('Cross-region transfer', 'data transferred', s.totalBytes / GB, 'GB', prices.crossRegionPerGB, 1);

  const byGroup: Record<string, number> = {};
  for (const line of lines) byGroup[line.group] = (byGroup[line.group] ?? 0) + line.usd;
  const firstMonthStorageUsd = byGroup[T] ?? 0;
  const totalUsd = lines.reduce((sum, l) => sum + l.usd, 0);
  const transferUsd = totalUsd - firstMonthStorageUsd;
  return {
    region: prices.region,
    pricesAsOf: prices.asOf,
    tier,
    storageClass,
    chunkSizeBytes: s.chunkSizeBytes,
    dailyQuotaBytes,
    archiveCount: s.count,
    totalBytes: s.totalBytes,
    singlePutCount: s.singlePutCount,
    multipartCount: s.multipartCount,
    multipartParts: s.multipartParts,
    unplannableCount: s.unplannableCount,
    lines,
    byGroup,
    transferUsd,
    firstMonthStorageUsd,
    totalUsd,
    minimumStorageDays: cls.minimumDays,
    minimumStorageCommitmentUsd: (firstMonthStorageUsd * cls.minimumDays) / DAYS_PER_MONTH,
    requests: r,
    duration,
    billingGbBytes: GB,
    unverifiedPrices: [...unverified],
  };
}

const HOUR = 3600;

/** Runs the transfer's pacing over the archives (in the order added) on a virtual clock. */
function estimateDuration(s: ArchiveSizeSummary, dailyQuota: number, a: Required<CostAssumptions>, retrievalHours: number): DurationEstimate {
  const rate = a.requestsPerSecond;
  if (!(rate > 0)) throw new Error(`requestsPerSecond must be a positive number, got ${rate}`);
  if (!(a.inventoryJobHours >= 0)) throw new Error(`inventoryJobHours must be a non-negative number, got ${a.inventoryJobHours}`);
  const perDay: number[] = [];
  let first: number | undefined;
  let last = 0;
  scheduleRequests({ archives: s.runsInOrder(), dailyQuota, batchSize: a.initiateBatchSize, requestRate: rate }, (at, interval, count, bytes) => {
    first ??= at;
    last = at + (count - 1) * interval;
    // Split the run at day boundaries (counted from the first request).
    for (let k = 0; k < count;) {
      const t = at + k * interval;
      const day = Math.floor((t - first) / QUOTA_WINDOW_SECONDS);
      const dayEnd = first + (day + 1) * QUOTA_WINDOW_SECONDS;
      const inDay = interval === 0 ? count - k : Math.min(count - k, Math.max(1, Math.ceil((dayEnd - t) / interval)));
      while (perDay.length <= day) perDay.push(0);
      perDay[day] += inDay * bytes;
      k += inDay;
    }
  });
  // The last request itself takes one request slot.
  const requestingHours = first === undefined ? 0 : (last - first + 1 / rate) / HOUR;
  // An empty vault requests nothing and waits for no job.
  const totalHours = a.inventoryJobHours + (first === undefined ? 0 : requestingHours + retrievalHours);
  return {
    inventoryJobHours: a.inventoryJobHours,
    requestsPerSecond: rate,
    batchSize: a.initiateBatchSize,
    requestingHours,
    requestRateHours: s.count / rate / HOUR,
    retrievalHours,
    totalHours,
    totalDays: totalHours / 24,
    requestedBytesPerDay: perDay,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Dollar amount: cents, or 4 significant digits below one cent. */
export function formatUsd(usd: number): string {
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Bytes with binary units (KiB, MiB, GiB, TiB, PiB). */
export function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

function fmtQty(q: number): string {
  if (Number.isInteger(q)) return q.toLocaleString('en-US');
  return q.toLocaleString('en-US', { maximumFractionDigits: q < 10 ? 4 : 2 });
}

function fmtHours(hours: number): string {
  if (hours < 1 / 60) return `${Math.round(hours * 3600)} s`;
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  return hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(2)} days`;
}

/** The duration lines of the report. */
function formatDuration(e: CostEstimate): string[] {
  const d = e.duration;
  const waiting = d.requestingHours - d.requestRateHours;
  return [
    `Estimated duration:         ${fmtHours(d.totalHours)} (${d.totalDays.toFixed(2)} days), the transfer's own pacing:`,
    `  inventory job:            ~${fmtHours(d.inventoryJobHours)}`,
    `  requesting:               ${fmtHours(d.requestingHours)} (${e.archiveCount.toLocaleString('en-US')} InitiateJob at ${d.requestsPerSecond}/s in batches of ${d.batchSize}: `
      + `${fmtHours(d.requestRateHours)}${waiting > 1 / 60 ? `; ${fmtHours(waiting)} waiting for the ${fmtBytes(e.dailyQuotaBytes)} rolling 24-h quota` : ''})`,
    `  ${e.tier} job time after the last request: ~${fmtHours(d.retrievalHours)}`,
    '  (not counted: copying after the last job completes, per-batch overheads, Glacier throttling)',
  ];
}

/** Human-readable breakdown of an estimate. */
export function formatEstimate(e: CostEstimate): string {
  const out: string[] = [];
  out.push(`Cost estimate (${e.region} list prices as of ${e.pricesAsOf})`);
  out.push(`  Archives:        ${e.archiveCount.toLocaleString('en-US')} (${fmtBytes(e.totalBytes)}), chunk size ${fmtBytes(e.chunkSizeBytes)}`);
  out.push(`  Copy plan:       ${e.singlePutCount.toLocaleString('en-US')} single PutObject, ${e.multipartCount.toLocaleString('en-US')} multipart `
    + `(${e.multipartParts.toLocaleString('en-US')} parts)`);
  if (e.unplannableCount > 0) out.push(`  NOT PRICED:      ${e.unplannableCount} archive(s) larger than one S3 object`);
  out.push(`  Retrieval tier:  ${e.tier}    Storage class: ${e.storageClass}    Daily quota: ${fmtBytes(e.dailyQuotaBytes)}`);
  out.push('');
  let group = '';
  for (const line of e.lines) {
    if (line.group !== group) {
      group = line.group;
      out.push(`${group}: ${formatUsd(e.byGroup[group])}`);
    }
    const price = `$${line.unitPriceUsd}${line.per === 1 ? '' : ` per ${line.per.toLocaleString('en-US')}`}${line.verifiedPrice ? '' : ' (unverified)'}`;
    out.push(`  ${line.item}: ${fmtQty(line.quantity)} ${line.unit} × ${price} = ${formatUsd(line.usd)}`);
  }
  out.push('');
  out.push(`Transfer (one-time):        ${formatUsd(e.transferUsd)}`);
  out.push(`First-month storage:        ${formatUsd(e.firstMonthStorageUsd)}`);
  out.push(`Total (transfer + 1 month): ${formatUsd(e.totalUsd)}`);
  if (e.minimumStorageDays > 0) {
    out.push(`Minimum storage duration:   ${e.minimumStorageDays} days, i.e. ${formatUsd(e.minimumStorageCommitmentUsd)} of storage billed even if deleted earlier`);
  }
  out.push(...formatDuration(e));
  out.push('');
  out.push(UNITS_NOTE);
  if (e.unverifiedPrices.length > 0) {
    out.push('');
    out.push(`${e.unverifiedPrices.length} price(s) used are not verified against a source; check them on the AWS pricing pages.`);
  }
  return out.join('\n');
}
