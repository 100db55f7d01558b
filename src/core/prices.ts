import { DestinationStorageClass, RetrievalTier } from './transfer-options';

// The storage classes and tiers are the construct's public enums; the price table is keyed by them.
export { DestinationStorageClass, RetrievalTier };

/**
 * The ONE price table used by the cost estimator: us-east-1 (N. Virginia), list prices in USD.
 *
 * Every figure carries where it came from and whether it was checked against a source at the
 * date below. `verified: false` means "best knowledge, not re-checked" — confirm on the AWS
 * pricing pages before relying on it. AWS bills "GB" as 2^30 bytes.
 */

/** Date the table was compiled. */
export const PRICES_AS_OF = '2026-11-25';
export const PRICES_REGION = 'us-east-1';

export interface PriceFigure {
  /** Price in USD per `unit`. */
  readonly usd: number;
  readonly unit: string;
  /** Where the figure comes from. */
  readonly source: string;
  /** True when the figure was read in a source at PRICES_AS_OF. */
  readonly verified: boolean;
}

export interface TierPrices {
  readonly perGB: PriceFigure;
  readonly per1000Requests: PriceFigure;
  /** Typical hours until a job completes (upper end of the documented range). */
  readonly typicalHours: number;
}

export interface StorageClassPrices {
  /** Storage, per GB-month (first pricing tier for STANDARD / INTELLIGENT_TIERING). */
  readonly storagePerGBMonth: PriceFigure;
  /** PUT, COPY, POST, LIST requests (also CreateMultipartUpload, UploadPart, CompleteMultipartUpload). */
  readonly putPer1000: PriceFigure;
  /** GET, HEAD and other requests. */
  readonly getPer1000: PriceFigure;
  /** Minimum storage duration billed, days (0 = none). */
  readonly minimumDays: number;
  /** Minimum billable object size, bytes (0 = none). */
  readonly minimumBillableBytes: number;
  /** Per-object metadata billed at THIS class's rate (Glacier classes: 32 KB). */
  readonly overheadBytesAtClassRate: number;
  /** Per-object metadata billed at the STANDARD rate (Glacier classes: 8 KB). */
  readonly overheadBytesAtStandardRate: number;
  /** INTELLIGENT_TIERING monitoring and automation, per 1,000 objects ≥ 128 KB per month. */
  readonly monitoringPer1000Objects?: PriceFigure;
}

export interface PriceTable {
  readonly region: string;
  readonly asOf: string;
  readonly glacierRetrieval: Readonly<Record<RetrievalTier, TierPrices>>;
  readonly s3: Readonly<Record<DestinationStorageClass, StorageClassPrices>>;
  readonly lambdaPerGBSecond: PriceFigure;
  readonly lambdaPerMillionRequests: PriceFigure;
  readonly stepFunctionsPer1000Transitions: PriceFigure;
  readonly sqsPerMillionRequests: PriceFigure;
  readonly snsPerMillionPublishes: PriceFigure;
  readonly dynamoDbPerMillionWriteUnits: PriceFigure;
  readonly dynamoDbPerMillionReadUnits: PriceFigure;
  /** Inter-region data transfer out of Glacier/S3, when vault and bucket regions differ. */
  readonly crossRegionPerGB: PriceFigure;
}

const GLACIER_PRICING = 'aws.amazon.com/s3/glacier/pricing (vault retrieval)';
const S3_PRICING = 'aws.amazon.com/s3/pricing';
const REPOST_RETRIEVAL = 're:Post knowledge-center s3-manage-data-retrieval (S3 Glacier Flexible Retrieval class tiers; vault tiers assumed equal)';
const THIRD_PARTY_2026 = 'third-party 2026 S3 price guide (usage.ai) matching aws.amazon.com/s3/pricing';

function fig(usd: number, unit: string, source: string, verified: boolean): PriceFigure {
  return { usd, unit, source, verified };
}

const KB = 1024;

export const US_EAST_1_PRICES: PriceTable = {
  region: PRICES_REGION,
  asOf: PRICES_AS_OF,
  glacierRetrieval: {
    [RetrievalTier.BULK]: {
      perGB: fig(0.0025, 'GB retrieved', `${GLACIER_PRICING}; from memory`, false),
      per1000Requests: fig(0.025, '1,000 retrieval requests', `${GLACIER_PRICING}; from memory`, false),
      typicalHours: 12,
    },
    [RetrievalTier.STANDARD]: {
      perGB: fig(0.01, 'GB retrieved', REPOST_RETRIEVAL, true),
      per1000Requests: fig(0.05, '1,000 retrieval requests', REPOST_RETRIEVAL, true),
      typicalHours: 5,
    },
    [RetrievalTier.EXPEDITED]: {
      perGB: fig(0.03, 'GB retrieved', REPOST_RETRIEVAL, true),
      per1000Requests: fig(10, '1,000 retrieval requests', REPOST_RETRIEVAL, true),
      typicalHours: 5 / 60,
    },
  },
  s3: {
    [DestinationStorageClass.STANDARD]: {
      storagePerGBMonth: fig(0.023, 'GB-month (first 50 TB)', THIRD_PARTY_2026, true),
      putPer1000: fig(0.005, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.0004, '1,000 GET/HEAD', S3_PRICING, false),
      minimumDays: 0,
      minimumBillableBytes: 0,
      overheadBytesAtClassRate: 0,
      overheadBytesAtStandardRate: 0,
    },
    [DestinationStorageClass.INTELLIGENT_TIERING]: {
      storagePerGBMonth: fig(0.023, 'GB-month (frequent access tier, first 50 TB)', S3_PRICING, false),
      putPer1000: fig(0.005, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.0004, '1,000 GET/HEAD', S3_PRICING, false),
      minimumDays: 0,
      minimumBillableBytes: 0,
      overheadBytesAtClassRate: 0,
      overheadBytesAtStandardRate: 0,
      monitoringPer1000Objects: fig(0.0025, '1,000 objects ≥ 128 KB per month', S3_PRICING, false),
    },
    [DestinationStorageClass.STANDARD_IA]: {
      storagePerGBMonth: fig(0.0125, 'GB-month', THIRD_PARTY_2026, true),
      putPer1000: fig(0.01, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.001, '1,000 GET/HEAD', S3_PRICING, false),
      minimumDays: 30,
      minimumBillableBytes: 128 * KB,
      overheadBytesAtClassRate: 0,
      overheadBytesAtStandardRate: 0,
    },
    [DestinationStorageClass.ONEZONE_IA]: {
      storagePerGBMonth: fig(0.01, 'GB-month', THIRD_PARTY_2026, true),
      putPer1000: fig(0.01, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.001, '1,000 GET/HEAD', S3_PRICING, false),
      minimumDays: 30,
      minimumBillableBytes: 128 * KB,
      overheadBytesAtClassRate: 0,
      overheadBytesAtStandardRate: 0,
    },
    [DestinationStorageClass.GLACIER_IR]: {
      storagePerGBMonth: fig(0.004, 'GB-month', THIRD_PARTY_2026, true),
      putPer1000: fig(0.02, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.01, '1,000 GET/HEAD', S3_PRICING, false),
      // glacier-facts.md §5 / top fact 15: 90-day minimum, 128 KB minimum billable size.
      minimumDays: 90,
      minimumBillableBytes: 128 * KB,
      overheadBytesAtClassRate: 0,
      overheadBytesAtStandardRate: 0,
    },
    [DestinationStorageClass.GLACIER]: {
      storagePerGBMonth: fig(0.0036, 'GB-month', THIRD_PARTY_2026, true),
      putPer1000: fig(0.03, '1,000 PUT/COPY/POST/LIST', S3_PRICING, false),
      getPer1000: fig(0.0004, '1,000 GET/HEAD', S3_PRICING, false),
      // glacier-facts.md §4/§5: 90-day minimum; 32 KB at class rate + 8 KB at STANDARD rate per object.
      minimumDays: 90,
      minimumBillableBytes: 0,
      overheadBytesAtClassRate: 32 * KB,
      overheadBytesAtStandardRate: 8 * KB,
    },
    [DestinationStorageClass.DEEP_ARCHIVE]: {
      storagePerGBMonth: fig(0.00099, 'GB-month', THIRD_PARTY_2026, true),
      putPer1000: fig(0.05, '1,000 PUT/COPY/POST/LIST', `${S3_PRICING}; glacier-facts.md §4 ("DEEP_ARCHIVE PUTs are $0.05/1,000")`, false),
      getPer1000: fig(0.0004, '1,000 GET/HEAD', S3_PRICING, false),
      // glacier-facts.md §4/§5: 180-day minimum; 32 KB at class rate + 8 KB at STANDARD rate per object.
      minimumDays: 180,
      minimumBillableBytes: 0,
      overheadBytesAtClassRate: 32 * KB,
      overheadBytesAtStandardRate: 8 * KB,
    },
  },
  lambdaPerGBSecond: fig(0.0000166667, 'GB-second (x86_64)', 'aws.amazon.com/lambda/pricing; from memory', false),
  lambdaPerMillionRequests: fig(0.2, '1M invocations', 'aws.amazon.com/lambda/pricing; from memory', false),
  stepFunctionsPer1000Transitions: fig(0.025, '1,000 state transitions (Standard)', 'aws.amazon.com/step-functions/pricing; from memory', false),
  sqsPerMillionRequests: fig(0.4, '1M requests (standard queue, 64 KB chunks)', 'aws.amazon.com/sqs/pricing; from memory', false),
  snsPerMillionPublishes: fig(0.5, '1M publishes (SQS deliveries free)', 'aws.amazon.com/sns/pricing; from memory', false),
  dynamoDbPerMillionWriteUnits: fig(0.625, '1M write request units (on-demand, after the Nov 2024 price cut)', 'aws.amazon.com/dynamodb/pricing; from memory', false),
  dynamoDbPerMillionReadUnits: fig(0.125, '1M read request units (on-demand, after the Nov 2024 price cut)', 'aws.amazon.com/dynamodb/pricing; from memory', false),
  crossRegionPerGB: fig(0.02, 'GB transferred between regions', 'reference-solution.md §8 (solution cost page: +$0.02/GB cross-region)', true),
};
