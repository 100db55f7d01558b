/**
 * The storage contract shared by every stage: table keys, index names, statuses, queue message
 * shapes and the environment variables the constructs hand to the handlers. Constructs and
 * handlers both import this module, so a name can only change in one place.
 */

import { createHash } from 'crypto';
import { ArchiveStatus } from '../../core/archive-lifecycle';
import { PARTITION_COLUMNS } from '../../core/partitioning';

// Statuses and their transitions live in one place: src/core/archive-lifecycle.ts.
export { ArchiveStatus, TERMINAL_STATUSES } from '../../core/archive-lifecycle';

/** Transfer-state table: one table, typed items told apart by their keys. */
export const TransferTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** GSI: Glacier job id → archive item (notifications carry only the job id). */
  jobIdIndex: 'JobIdIndex',
  jobIdAttribute: 'jobId',
  /** GSI: `<runId>#<status>` → archives by status time (download-window extension, status cleanup). */
  statusIndex: 'StatusIndex',
  statusIndexPartition: 'runStatus',
  statusIndexSort: 'statusTime',
  /** TTL attribute (epoch seconds) for run data the user wants expired. */
  ttlAttribute: 'expiresAt',
} as const;

export const ARCHIVE_SK = 'archive';
export const RUN_SK = 'run';

/** Partition key of one archive of one run. */
export function archivePk(runId: string, archiveId: string): string {
  return `archive#${runId}#${archiveId}`;
}

/** Sort key of one chunk (part) of an archive, zero-padded so chunks sort in part order. */
export function chunkSk(partNumber: number): string {
  return `chunk#${String(partNumber).padStart(5, '0')}`;
}

/** Partition key of a run record. */
export function runPk(runId: string): string {
  return `run#${runId}`;
}

/** Value of the status index partition attribute. */
export function runStatusKey(runId: string, status: ArchiveStatus): string {
  return `${runId}#${status}`;
}

/** An archive item of the transfer table (attributes the stages read and write). */
export interface ArchiveItem {
  readonly pk: string;
  readonly sk: typeof ARCHIVE_SK;
  readonly runId: string;
  readonly vaultName: string;
  readonly archiveId: string;
  /** Archive size in bytes, from the inventory. */
  readonly size: number;
  /** SHA-256 tree hash from the inventory (lowercase hex). */
  readonly treeHash: string;
  /** Inventory CreationDate (ISO-8601). */
  readonly creationDate: string;
  /** Original archive description (as Glacier returned it). */
  readonly description?: string;
  /** Destination object key, final (prefix included), decided by the inventory stage. */
  readonly objectKey: string;
  /** Last-modified time recovered from the description, if any (ISO-8601). */
  readonly lastModified?: string;
  /** S3 storage class for the destination object. */
  readonly storageClass: string;
  readonly status: ArchiveStatus;
  readonly runStatus: string;
  readonly statusTime: string;
  /** Current Glacier retrieval job (changes when the download window is extended). */
  readonly jobId?: string;
  /** Epoch millis at which the current job's output expires. */
  readonly jobExpiresAt?: number;
  readonly uploadId?: string;
  readonly chunkSize?: number;
  readonly chunkCount?: number;
  /** S3 checksum algorithm of the open multipart upload (absent: SHA256, uploads of earlier versions). */
  readonly checksumAlgorithm?: string;
  /** Part numbers already uploaded and verified (DynamoDB number set). */
  readonly partsDone?: Set<number>;
  /** Part number whose completion queued validation (see ChunkRetrieval). */
  readonly validationQueuedBy?: number;
  /**
   * Job id for which every chunk message of the current upload was enqueued. A notification for
   * that job finding this set is a duplicate; a notification for a newer job (re-staged after the
   * download window) re-sends the parts not yet done. Removed when the upload is replaced.
   */
  readonly chunksQueuedFor?: string;
  /** Why the last whole-archive verification failed (kept while re-downloading). */
  readonly lastVerificationFailure?: string;
  readonly validationAttempts?: number;
  readonly downloadAttempts?: number;
  /** Glacier retrieval jobs started for the archive in this run attempt (bounded; reset on Resume). */
  readonly retrievalJobs?: number;
  readonly failureReason?: string;
  /** The dead-lettered message (SQS message id) whose reconciliation made the archive FAILED (see dead-letters.ts). */
  readonly deadLetterMessageId?: string;
  /** S3 version id of the verified object, when the bucket is versioned. */
  readonly objectVersionId?: string;
  readonly downloadedAt?: string;
  /** Set on the FAILED item of an unreadable inventory row (its row number): not an archive, never retried. */
  readonly inventoryRow?: number | string;
  /** The unreadable row as the inventory had it (errors.csv's Raw: a CSV line or a JSON element, cut at 2,048 characters). */
  readonly inventoryRaw?: string;
}

/** A chunk item: one uploaded and verified part. */
export interface ChunkItem {
  readonly pk: string;
  readonly sk: string;
  readonly partNumber: number;
  /**
   * Glacier job the bytes were read from. Deliberately not named `jobId`: chunk items must stay
   * out of the sparse JobIdIndex, which maps a job id to its single archive item.
   */
  readonly sourceJobId: string;
  readonly uploadId: string;
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly etag: string;
  /** S3's checksum of the part, of the upload's algorithm (ArchiveItem.checksumAlgorithm). */
  readonly checksum?: string;
  /** @deprecated part checksum recorded by versions that always used SHA256; read, never written. */
  readonly checksumSha256?: string;
  readonly treeHash: string;
  /** TTL (epoch seconds), set when RUN_DATA_TTL_DAYS > 0. */
  readonly expiresAt?: number;
}

/** Message on the chunk-retrieval queue: copy one byte range of a staged job into one part. */
export interface ChunkMessage {
  readonly runId: string;
  readonly archiveId: string;
  readonly jobId: string;
  readonly uploadId: string;
  readonly partNumber: number;
  /** Inclusive byte range inside the archive. */
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly chunkCount: number;
}

/** Message on the validation queue: all parts are in, verify and complete the archive. */
export interface ValidationMessage {
  readonly runId: string;
  readonly archiveId: string;
  readonly uploadId: string;
}

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
} as const;

/**
 * Metrics table: one counter item per run (`pk = run#<runId>`) with `<status>Count` and
 * `<status>Bytes` attributes, plus short-lived marker items (`pk = stream-event#<eventID>`)
 * that make stream redelivery harmless.
 */
export const MetricsTable = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;

export function metricsPk(runId: string): string {
  return `run#${runId}`;
}

export function streamEventPk(eventId: string): string {
  return `stream-event#${eventId}`;
}

export function countAttribute(status: ArchiveStatus | 'total'): string {
  return `${status}Count`;
}

export function bytesAttribute(status: ArchiveStatus | 'total'): string {
  return `${status}Bytes`;
}

/**
 * Columns of a sorted-inventory partition CSV (`sorted_inventory/<partition>/<n>.csv` in the
 * inventory bucket), written by the inventory stage and read by InitiateRetrieval's Distributed
 * Map (header on the first row, RFC 4180 quoting). Rows are in (CreationDate, ArchiveId) order.
 */
// The column list lives with the partitioning rules (src/core/partitioning.ts), which write it:
// ArchiveId, CreationDate, Size, SHA256TreeHash, ObjectKey (final key, prefix included, unique in
// the run), LastModified (ISO-8601 from the description, or empty), ArchiveDescription.
export const PARTITION_CSV_COLUMNS = PARTITION_COLUMNS;

/** One row of a partition CSV as Step Functions' CSV ItemReader hands it over (all strings). */
export interface PartitionRow {
  readonly ArchiveId: string;
  readonly CreationDate: string;
  readonly Size: string;
  readonly SHA256TreeHash: string;
  readonly ObjectKey: string;
  readonly LastModified: string;
  readonly ArchiveDescription: string;
}

/** Key prefix of a run's sorted partitions in the inventory bucket. */
export function partitionPrefix(runId: string): string {
  return `${runId}/sorted_inventory/`;
}

/**
 * Partition key (metrics table) of the ONE quota ledger item every run of a deployment shares:
 * `{ pk, version, bucketSeconds, buckets: "[[start, bytes], …]", updatedAt }`, rewritten with a
 * condition on `version` (optimistic concurrency). See src/core/pacing.ts for the semantics.
 */
export const QUOTA_LEDGER_PK = 'quota-ledger';

/**
 * Partition key (metrics table) of a run's spend item, kept only when a per-run spend cap is set:
 * `{ pk, spentRequests, spentMicroUsd, updatedAt }` (requests sent and their estimated cost in
 * micro-dollars, every attempt of the run). See src/core/run-spend.ts.
 */
export function runSpendPk(runId: string): string {
  return `run-spend#${runId}`;
}

/** Partition-key pattern of every run's spend item (IAM LeadingKeys). */
export const RUN_SPEND_PK_PATTERN = 'run-spend#*';

/**
 * Attributes the download-window extension adds to an archive item when it re-requests a staged
 * archive (kept out of {@link ArchiveItem} so the core contract stays small).
 */
export interface WindowExtensionAttributes {
  /** Job the archive was staged under before the extension; its output stays readable until `previousJobExpiresAt`. */
  readonly previousJobId?: string;
  /** Epoch millis at which `previousJobId`'s output expires. */
  readonly previousJobExpiresAt?: number;
  /** ISO-8601 time of the last re-request (the new job's `jobExpiresAt` is unknown until it completes). */
  readonly windowExtendedAt?: string;
  /** How many times the archive was re-requested. */
  readonly windowExtensions?: number;
}

const JOB_DESCRIPTION_PREFIX = 'glacier-vault-to-s3:v1:';

/**
 * The Glacier job `Description` of every archive-retrieval job this library starts:
 * `glacier-vault-to-s3:v1:<url-encoded runId>/<archiveId>` (printable ASCII, as Glacier requires).
 * A completion notification carries it back as `JobDescription`, so a job whose id was never
 * recorded (crash between InitiateJob and the item update) can still be matched to its archive.
 */
export function retrievalJobDescription(runId: string, archiveId: string): string {
  const text = `${JOB_DESCRIPTION_PREFIX}${encodeURIComponent(runId)}/${archiveId}`;
  if (text.length > 1024 || !/^[\x20-\x7e]*$/.test(text)) {
    throw new Error(`job description for run ${JSON.stringify(runId)} is not 1-1024 printable ASCII characters`);
  }
  return text;
}

/** Inverse of {@link retrievalJobDescription}; `undefined` for any other description. */
export function parseRetrievalJobDescription(description: string | undefined): { runId: string; archiveId: string } | undefined {
  if (!description?.startsWith(JOB_DESCRIPTION_PREFIX)) return undefined;
  const rest = description.slice(JOB_DESCRIPTION_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  try {
    return { runId: decodeURIComponent(rest.slice(0, slash)), archiveId: rest.slice(slash + 1) };
  } catch {
    return undefined;
  }
}

/** Key of the JSON list of archives one window-extension scan re-requests (inventory bucket). */
export function windowExtensionListKey(runId: string, at: Date): string {
  return `tmp/${runId}/window-extension/${at.toISOString().replace(/[:.]/g, '-')}.json`;
}

/* ---- Orchestration (run records, vault locks, completion wait) ---- */

/** Life cycle of a run record (`runPk(runId)`, `RUN_SK`). */
export enum RunState {
  /** An orchestrator execution owns the run. */
  ACTIVE = 'ACTIVE',
  /** Every archive reached downloaded, failed or skipped. */
  COMPLETED = 'COMPLETED',
  /** Ended early by the Stop runbook; Resume continues it. */
  STOPPED = 'STOPPED',
  /** A stage failed; Resume continues it. */
  FAILED = 'FAILED',
}

/** How the Stop runbook asked a run to end: let requested/staged archives finish, or reset them now. */
export type StopMode = 'FINISH' | 'RESET';

/** The run record the orchestrator writes (transfer table, `pk = runPk(runId)`, `sk = RUN_SK`). */
export interface RunRecord {
  readonly pk: string;
  readonly sk: typeof RUN_SK;
  readonly runId: string;
  readonly vaultName: string;
  readonly destinationBucket: string;
  readonly destinationPrefix: string;
  /** S3 API name (DEEP_ARCHIVE, …). */
  readonly storageClass: string;
  /** Bulk | Standard | Expedited. */
  readonly tier: string;
  readonly dailyQuotaBytes: number;
  readonly providedInventory: 'YES' | 'NO';
  /** S3 URI or presigned URL of a naming override CSV, '' for none. */
  readonly namingOverride: string;
  /**
   * Inventory-bucket key of the staged naming override the inventory engines read
   * ({@link stagedNamingOverrideKey}); '' or absent: no override.
   */
  readonly namingOverrideKey?: string;
  readonly description: string;
  readonly crossRegionAcknowledged: boolean;
  /** How the current execution was started. */
  readonly startedBy: 'LAUNCH' | 'RESUME';
  readonly state: RunState;
  /** Orchestrator execution that owns the run. */
  readonly executionArn: string;
  /** InitiateRetrieval child execution of that orchestrator (the Stop runbook stops it). */
  readonly initiateExecutionArn: string;
  readonly initiateExecutionName: string;
  /** ISO-8601 start of the current execution / of the first one. */
  readonly startedAt: string;
  readonly firstStartedAt: string;
  readonly executions: number;
  readonly stopRequested?: StopMode;
  readonly stopRequestedAt?: string;
  readonly endedAt?: string;
  readonly error?: string;
  /** Inventory-bucket prefix of the last run report. */
  readonly reportPrefix?: string;
  /** Dashboard update's stall detector: terminal archive count last seen growing, and when. */
  readonly lastProgressTerminal?: number;
  readonly lastProgressAt?: string;
}

/** Partition key of the lock item (transfer table, sk RUN_SK) that allows one active run per vault. */
export function activeVaultPk(vaultName: string): string {
  return `active-vault#${vaultName}`;
}

/** Partition key (async-facilitator table) of the orchestrator's completion wait: `{ pk, taskToken, executionArn, createdAt }`. */
export function completionWaitPk(runId: string): string {
  return `completion#${runId}`;
}

/** Run ids are EventBridge target ids and key prefixes: 1-64 of A-Z a-z 0-9 . _ - */
export const RUN_ID_PATTERN = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,64}$/;

/**
 * Top-level prefixes of the inventory bucket that are not runs: `tmp/` (working files, expired by
 * a lifecycle rule after 14 days) and `glue_tmp/` (the Glue job's TempDir). A run with one of these
 * ids would have its inventory, naming override and reports expired or mixed with them.
 */
export const RESERVED_RUN_IDS: readonly string[] = ['tmp', 'glue_tmp'];

/** Why `runId` cannot name a run (RunRecord refuses it), or undefined when it can. */
export function runIdProblem(runId: unknown): string | undefined {
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) return `run id must be 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(runId)}`;
  if (RESERVED_RUN_IDS.includes(runId)) return `run id ${runId} is reserved (the inventory bucket's ${runId}/ prefix is not a run's); choose another`;
  return undefined;
}

/** Environment variables of the orchestration handlers (in addition to {@link Env}). */
export const OrchestrationEnv = {
  DESTINATION_PREFIX: 'DESTINATION_PREFIX',
  /** ARN of the InitiateRetrieval state machine (execution ARNs of a run are derived from it). */
  INITIATE_STATE_MACHINE_ARN: 'INITIATE_STATE_MACHINE_ARN',
  STORAGE_CLASS: 'DEFAULT_STORAGE_CLASS',
  RETRIEVAL_TIER: 'DEFAULT_RETRIEVAL_TIER',
  /** Comma-separated tiers a Launch/Resume may choose (the deploying team's spend bound). */
  ALLOWED_RETRIEVAL_TIERS: 'ALLOWED_RETRIEVAL_TIERS',
  /** CloudWatch namespace of the per-run metrics. */
  METRICS_NAMESPACE: 'METRICS_NAMESPACE',
  /** Comma-separated names of the rules with per-run targets (Id = run id): window, completion, dashboard. */
  SCHEDULE_RULES: 'SCHEDULE_RULE_NAMES',
  /** `source` of the run-completed / run-failed / run-stopped events. */
  RUN_EVENT_SOURCE: 'RUN_EVENT_SOURCE',
} as const;

// ------------------------------------------------------------------------------------------------
// Inventory stage (InventoryRetrieval)

/** Sort key of a run's inventory record in the transfer table (`pk = runPk(runId)`). */
export const INVENTORY_SK = 'inventory';

/** `inventoryStatus` of that record: job started, or inventory downloaded and validated. */
export type InventoryStatus = 'initiated' | 'downloaded';

/** Environment variables of the inventory stage's handlers (in addition to {@link Env}). */
export const InventoryEnv = {
  /** Destination prefix ('' or ending in '/'), part of every object key. */
  DESTINATION_PREFIX: 'DESTINATION_PREFIX',
  /** Most archive bytes per sorted-inventory partition. */
  PARTITION_SIZE: 'PARTITION_SIZE_BYTES',
  /** Archives above this size are skipped. */
  MAX_ARCHIVE_SIZE: 'MAX_ARCHIVE_SIZE_BYTES',
  /** Rows per partition CSV file (default 100,000). */
  ROWS_PER_FILE: 'PARTITION_ROWS_PER_FILE',
  /** How far (percent) a provided inventory's archive count and bytes may be from DescribeVault's. */
  PROVIDED_INVENTORY_TOLERANCE: 'PROVIDED_INVENTORY_TOLERANCE_PERCENT',
} as const;

/** Async-facilitator item of a task token waiting for an inventory job. */
export function inventoryJobWaitPk(jobId: string): string {
  return `inventory-job#${jobId}`;
}

/** Where the downloaded inventory lives in the inventory bucket. */
export function originalInventoryKey(runId: string): string {
  return `${runId}/original_inventory/inventory.csv`;
}

/**
 * Where RunRecord stages the naming override CSV (`GlacierArchiveID,FileName`) one orchestrator
 * execution was started with (inventory bucket). The key belongs to that execution, so no other
 * Launch or Resume can overwrite it; the run record names it (`namingOverrideKey`) and the
 * inventory engines read only the key the record names.
 */
export function stagedNamingOverrideKey(runId: string, executionName: string): string {
  return `${stagedNamingOverridePrefix(runId)}${executionName}.csv`;
}

/** Prefix of every staged naming override of a run (RunRecord may write only here). */
export function stagedNamingOverridePrefix(runId: string): string {
  return `${runId}/naming_override/staged/`;
}

/**
 * An S3-key-safe name of a Step Functions execution: the ARN's last segment (the runbooks name
 * executions by their automation execution id), or a hash of the ARN when that segment holds
 * characters a key segment should not.
 */
export function executionKeyName(executionArn: string): string {
  const name = executionArn.slice(executionArn.lastIndexOf(':') + 1);
  if (/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,80}$/.test(name)) return name;
  return `execution-${createHash('sha256').update(executionArn).digest('hex').slice(0, 32)}`;
}

/** Archives skipped by the inventory stage (partition CSV columns + `Reason`). */
export function skippedReportKey(runId: string): string {
  return `${runId}/skipped/skipped.csv`;
}

/**
 * Columns of the inventory errors file, written by both engines: `Row` (CSV: 1-based line; JSON:
 * 1-based position in ArchiveList; 0 for the file as a whole), `ArchiveId` (empty when the row's
 * id is unknown or invalid), `Message`, `Raw` (the line or element, at most 2,048 characters).
 * A repeated ArchiveId is reported here on its later rows; the run goes on.
 */
export const INVENTORY_ERROR_COLUMNS = ['Row', 'ArchiveId', 'Message', 'Raw'] as const;

/** Inventory rows that could not be read ({@link INVENTORY_ERROR_COLUMNS}). */
export function inventoryErrorsKey(runId: string): string {
  return `${runId}/inventory_errors/errors.csv`;
}

/** JSON summary of the inventory stage (both engines write the same one). */
export function inventorySummaryKey(runId: string): string {
  return `${runId}/inventory_summary.json`;
}

/**
 * `ArchiveId,ObjectKey` of the run's archives already downloaded, written before the Glue engine
 * runs so it keeps their keys like the Lambda engine (which reads the table itself).
 */
export function keptKeysKey(runId: string): string {
  return `${runId}/kept_keys/kept_keys.csv`;
}

// ------------------------------------------------------------------------------------------------
// Decommission stage (VaultDecommission)

/**
 * Attributes the decommission stage adds to an archive item once the archive is gone from the vault
 * (the status stays `downloaded`: the S3 object is still the archive's copy).
 */
export interface VaultDeletionAttributes {
  /** ISO-8601 time the archive was deleted from the vault (first time only). */
  readonly vaultDeletedAt?: string;
  /** `deleted`: DeleteArchive succeeded; `not-found`: Glacier no longer had it (e.g. resumed after a crash). */
  readonly vaultDeletion?: 'deleted' | 'not-found';
  /** Version id of the S3 object verified right before the deletion ('' in an unversioned bucket). */
  readonly vaultDeletionObjectVersionId?: string;
}

/** Environment variables of the decommission handlers (in addition to {@link Env}). */
export const DecommissionEnv = {
  /** 'true' only when the construct allows deleting archives (otherwise only dry runs are accepted). */
  DELETION_ENABLED: 'DECOMMISSION_DELETION_ENABLED',
  /** DeleteArchive calls per second one batch invocation makes at most (default 5). */
  DELETES_PER_SECOND: 'DECOMMISSION_DELETES_PER_SECOND',
  /** Attempts per DeleteArchive on throttling / 5xx, on top of the SDK's own retries (default 5). */
  DELETE_MAX_ATTEMPTS: 'DECOMMISSION_DELETE_MAX_ATTEMPTS',
  /** CloudWatch namespace of the plan/deletion metrics ('' = do not publish). */
  METRICS_NAMESPACE: 'METRICS_NAMESPACE',
} as const;

/** Inventory-bucket prefix of one decommission execution's plan, decisions and summary. */
export function decommissionPrefix(runId: string, decommissionId: string): string {
  return `${runId}/decommission/${decommissionId}/`;
}

/** JSON list of the run's archives one decommission execution works through (Distributed Map ItemReader). */
export function decommissionListKey(runId: string, decommissionId: string): string {
  return `tmp/${runId}/decommission/${decommissionId}/archives.json`;
}

/** Cumulative deletion log of a run (every archive deleted from the vault, rewritten by each real execution). */
export function deletionLogKey(runId: string): string {
  return `${runId}/decommission/deletion-log.json`;
}

// ------------------------------------------------------------------------------------------------
// Lost job-notification recovery (first step of every DownloadWindowExtension execution)

/**
 * Attributes the lost-notification recovery writes on an archive item whose job it asked Glacier
 * about (DescribeJob). They belong to one job: a poll recorded for an earlier job of the archive
 * (`jobPolledFor` ≠ `jobId`) does not count for the current one.
 */
export interface JobPollAttributes {
  /** Job id of the last DescribeJob. */
  readonly jobPolledFor?: string;
  /** Epoch millis of the last DescribeJob. */
  readonly jobPolledAt?: number;
  /** What it answered: `InProgress`, `Succeeded`, `Failed` (both re-sent as notifications) or `not-found`. */
  readonly jobPollOutcome?: string;
  /** DescribeJob calls made for this archive, over all its jobs. */
  readonly jobPolls?: number;
}

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

/** Statuses this handler acts on (the rule's pattern lists the same). */
export const ENDED_STATUSES = ['ABORTED', 'FAILED', 'TIMED_OUT'] as const;
