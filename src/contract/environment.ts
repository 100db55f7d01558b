/**
 * The environment variables the constructs set on the handlers, by stage. Every handler reads them
 * through src/handlers/shared/env.ts.
 */

/** Environment variables the constructs set on the handlers. */
export const Env = {
  TRANSFER_TABLE: 'TRANSFER_TABLE_NAME',
  METRICS_TABLE: 'METRICS_TABLE_NAME',
  ASYNC_FACILITATOR_TABLE: 'ASYNC_FACILITATOR_TABLE_NAME',
  INVENTORY_BUCKET: 'INVENTORY_BUCKET_NAME',
  DESTINATION_BUCKET: 'DESTINATION_BUCKET_NAME',
  /** Account id that must own the destination bucket (ExpectedBucketOwner). */
  DESTINATION_BUCKET_OWNER: 'DESTINATION_BUCKET_OWNER',
  CHUNK_QUEUE_URL: 'CHUNK_QUEUE_URL',
  VALIDATION_QUEUE_URL: 'VALIDATION_QUEUE_URL',
  TOPIC_ARN: 'NOTIFICATION_TOPIC_ARN',
  /** Configured chunk size in bytes (a power-of-two number of MiB). */
  CHUNK_SIZE: 'CHUNK_SIZE_BYTES',
  /** Re-download attempts after a whole-archive verification failure. */
  MAX_DOWNLOAD_ATTEMPTS: 'MAX_DOWNLOAD_ATTEMPTS',
  /**
   * maxReceiveCount of the chunk queue: on the last receive, a chunk that still fails marks its
   * archive failed (with the reason) instead of leaving it staged behind a dead-lettered message.
   */
  CHUNK_MAX_RECEIVES: 'CHUNK_MAX_RECEIVES',
  /** maxReceiveCount of the notifications queue (same last-receive rule as the chunk queue). */
  NOTIFICATIONS_MAX_RECEIVES: 'NOTIFICATIONS_MAX_RECEIVES',
  /** maxReceiveCount of the validation queue (same last-receive rule as the chunk queue). */
  VALIDATION_MAX_RECEIVES: 'VALIDATION_MAX_RECEIVES',
  /** ARNs of the notifications, chunk and validation dead-letter queues: the DeadLetterReconciler tells its event sources apart by them. */
  NOTIFICATIONS_DLQ_ARN: 'NOTIFICATIONS_DLQ_ARN',
  CHUNK_DLQ_ARN: 'CHUNK_DLQ_ARN',
  VALIDATION_DLQ_ARN: 'VALIDATION_DLQ_ARN',
  /** Queue the DeadLetterReconciler hands a dead-lettered message to when no archive can be found for it. */
  UNRECONCILED_QUEUE_URL: 'UNRECONCILED_QUEUE_URL',
  /** Bound on Glacier retrieval jobs per archive in one run attempt (request + re-requests; default 3). */
  MAX_RETRIEVAL_JOBS: 'MAX_RETRIEVAL_JOBS_PER_ARCHIVE',
  /** FAIL (default) or OVERWRITE: what InitiateArchiveRetrieval does when an archive's key holds another object. */
  EXISTING_OBJECT_POLICY: 'EXISTING_OBJECT_POLICY',
  /** Days run data stays in the tables before TTL removes it (0 = keep). */
  RUN_DATA_TTL_DAYS: 'RUN_DATA_TTL_DAYS',
  /** Bytes that may be requested from Glacier in any rolling 24 h, shared by every run (quota ledger). */
  DAILY_QUOTA_BYTES: 'DAILY_QUOTA_BYTES',
  /** Per-run cap on Glacier retrieval requests (absent or '': none). */
  MAX_RUN_REQUESTS: 'MAX_RETRIEVAL_REQUESTS_PER_RUN',
  /** Per-run cap on estimated retrieval cost, micro-dollars (absent or '': none). */
  MAX_RUN_MICRO_USD: 'MAX_RETRIEVAL_MICRO_USD_PER_RUN',
  /** Resolution of the quota ledger in seconds (default 60). */
  QUOTA_BUCKET_SECONDS: 'QUOTA_BUCKET_SECONDS',
  /** InitiateJob calls per second one batch invocation may make (default 100). */
  INITIATE_REQUESTS_PER_SECOND: 'INITIATE_REQUESTS_PER_SECOND',
  /** InitiateJob calls in flight at once in one batch invocation (default 20). */
  INITIATE_CONCURRENCY: 'INITIATE_CONCURRENCY',
  /** Attempts per InitiateJob on throttling / 5xx, on top of the SDK's own retries (default 4). */
  INITIATE_MAX_ATTEMPTS: 'INITIATE_MAX_ATTEMPTS',
  /** Re-request an archive whose download window ends within this many seconds (default 18000 = 5 h). */
  WINDOW_EXTENSION_MARGIN_SECONDS: 'WINDOW_EXTENSION_MARGIN_SECONDS',
  /** Longest quota wait a window-extension batch sits out; longer waits defer to the next scan (default 1200). */
  WINDOW_EXTENSION_MAX_WAIT_SECONDS: 'WINDOW_EXTENSION_MAX_WAIT_SECONDS',
  /** Destination prefix ('' or ending in '/'), part of every object key (orchestration and inventory handlers). */
  DESTINATION_PREFIX: 'DESTINATION_PREFIX',
  /** CloudWatch namespace of the per-run metrics (orchestration) or of the plan metrics (decommission; '' = do not publish). */
  METRICS_NAMESPACE: 'METRICS_NAMESPACE',
} as const;

/** Environment variables of the orchestration handlers (in addition to {@link Env}). */
export const OrchestrationEnv = {
  DESTINATION_PREFIX: Env.DESTINATION_PREFIX,
  /** ARN of the InitiateRetrieval state machine (execution ARNs of a run are derived from it). */
  INITIATE_STATE_MACHINE_ARN: 'INITIATE_STATE_MACHINE_ARN',
  STORAGE_CLASS: 'DEFAULT_STORAGE_CLASS',
  RETRIEVAL_TIER: 'DEFAULT_RETRIEVAL_TIER',
  /** Comma-separated tiers a Launch/Resume may choose (the deploying team's spend bound). */
  ALLOWED_RETRIEVAL_TIERS: 'ALLOWED_RETRIEVAL_TIERS',
  /** CloudWatch namespace of the per-run metrics. */
  METRICS_NAMESPACE: Env.METRICS_NAMESPACE,
  /** Comma-separated names of the rules with per-run targets (Id = run id): window, completion, dashboard. */
  SCHEDULE_RULES: 'SCHEDULE_RULE_NAMES',
  /** `source` of the run-completed / run-failed / run-stopped events. */
  RUN_EVENT_SOURCE: 'RUN_EVENT_SOURCE',
} as const;

/** Environment variables of the inventory stage's handlers (in addition to {@link Env}). */
export const InventoryEnv = {
  /** Destination prefix ('' or ending in '/'), part of every object key. */
  DESTINATION_PREFIX: Env.DESTINATION_PREFIX,
  /** Most archive bytes per sorted-inventory partition. */
  PARTITION_SIZE: 'PARTITION_SIZE_BYTES',
  /** Archives above this size are skipped. */
  MAX_ARCHIVE_SIZE: 'MAX_ARCHIVE_SIZE_BYTES',
  /** Rows per partition CSV file (default 100,000). */
  ROWS_PER_FILE: 'PARTITION_ROWS_PER_FILE',
  /** How far (percent) a provided inventory's archive count and bytes may be from DescribeVault's. */
  PROVIDED_INVENTORY_TOLERANCE: 'PROVIDED_INVENTORY_TOLERANCE_PERCENT',
} as const;

/** Environment variables of the decommission handlers (in addition to {@link Env}). */
export const DecommissionEnv = {
  /** 'true' only when the construct allows deleting archives (otherwise only dry runs are accepted). */
  DELETION_ENABLED: 'DECOMMISSION_DELETION_ENABLED',
  /** DeleteArchive calls per second one batch invocation makes at most (default 5). */
  DELETES_PER_SECOND: 'DECOMMISSION_DELETES_PER_SECOND',
  /** Attempts per DeleteArchive on throttling / 5xx, on top of the SDK's own retries (default 5). */
  DELETE_MAX_ATTEMPTS: 'DECOMMISSION_DELETE_MAX_ATTEMPTS',
  /** CloudWatch namespace of the plan/deletion metrics ('' = do not publish). */
  METRICS_NAMESPACE: Env.METRICS_NAMESPACE,
} as const;

/** Environment variables of RecoverLostNotifications (in addition to {@link Env.TRANSFER_TABLE}). */
export const RecoveryEnv = {
  /** The notifications queue the recovered job descriptions are sent to. */
  NOTIFICATIONS_QUEUE_URL: 'NOTIFICATIONS_QUEUE_URL',
  /** A job of this tier is overdue (its notification presumed lost) after this many seconds (default 1800). */
  OVERDUE_SECONDS_EXPEDITED: 'ARCHIVE_JOB_OVERDUE_SECONDS_EXPEDITED',
  /** Default 21600 (6 h). */
  OVERDUE_SECONDS_STANDARD: 'ARCHIVE_JOB_OVERDUE_SECONDS_STANDARD',
  /** Default 43200 (12 h). */
  OVERDUE_SECONDS_BULK: 'ARCHIVE_JOB_OVERDUE_SECONDS_BULK',
  /** An overdue job still in progress is asked about again after this many seconds (default 3600). */
  REPOLL_SECONDS: 'ARCHIVE_JOB_REPOLL_SECONDS',
  /** Most DescribeJob calls per invocation (default 500); the rest wait for the next check. */
  MAX_POLLS: 'ARCHIVE_JOB_MAX_POLLS',
} as const;
