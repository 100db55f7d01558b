/**
 * Public option types shared by the constructs (jsii-safe: plain enums, no unions).
 */

/** S3 storage class of the destination objects. Values are the S3 API names. */
export enum DestinationStorageClass {
  /** S3 Glacier Deep Archive (180-day minimum, 40 KB per-object overhead). */
  DEEP_ARCHIVE = 'DEEP_ARCHIVE',
  /** S3 Glacier Flexible Retrieval (90-day minimum, 40 KB per-object overhead). */
  GLACIER = 'GLACIER',
  /** S3 Glacier Instant Retrieval (90-day minimum, 128 KB minimum billable size). */
  GLACIER_IR = 'GLACIER_IR',
  /** S3 Intelligent-Tiering. */
  INTELLIGENT_TIERING = 'INTELLIGENT_TIERING',
  /** S3 One Zone-Infrequent Access. */
  ONEZONE_IA = 'ONEZONE_IA',
  /** S3 Standard. */
  STANDARD = 'STANDARD',
  /** S3 Standard-Infrequent Access. */
  STANDARD_IA = 'STANDARD_IA',
}

/** Glacier retrieval tier used for archive jobs. */
export enum RetrievalTier {
  /** Cheapest; archives are staged within 5–12 hours. */
  BULK = 'Bulk',
  /** Staged within 3–5 hours. */
  STANDARD = 'Standard',
  /** Staged within 1–5 minutes; needs provisioned capacity for guaranteed access. */
  EXPEDITED = 'Expedited',
}

/**
 * Which engine names, sorts and partitions a run's inventory (InventoryRetrieval's ChooseEngine).
 * Both engines write the same files; they differ in how large an inventory they can take and in
 * what they cost.
 */
export enum InventoryEngine {
  /** Inventories up to `lambdaEngineMaxBytes` on the Lambda engine, larger ones on the Glue job. */
  AUTO = 'auto',
  /**
   * Every inventory on the Lambda engine. An inventory beyond what its memory or 15-minute limit
   * can take fails the run's inventory stage (see README, "Large vaults").
   */
  LAMBDA = 'lambda',
  /** Every inventory on the Glue job (billed per DPU-second, at least one minute per run). */
  GLUE = 'glue',
}
