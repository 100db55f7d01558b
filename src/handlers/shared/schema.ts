/**
 * The storage contract shared by every stage: table keys, index names, statuses, queue message
 * shapes and the environment variables the constructs hand to the handlers. Constructs and
 * handlers both import this module, so a name can only change in one place.
 */

/** Life cycle of one archive inside one run. */
export enum ArchiveStatus {
  /** Listed in the sorted inventory, not yet requested from Glacier. */
  PENDING = 'pending',
  /** InitiateJob accepted; waiting for Glacier to stage the bytes. */
  REQUESTED = 'requested',
  /** Glacier finished the job; bytes are being copied to S3. */
  STAGED = 'staged',
  /** Object in S3 and verified against the Glacier tree hash. */
  DOWNLOADED = 'downloaded',
  /** Gave up after bounded retries; `failureReason` says why. */
  FAILED = 'failed',
  /** Deliberately not transferred (e.g. above the configured size limit). */
  SKIPPED = 'skipped',
}

/** Statuses after which an archive needs no more work in this run. */
export const TERMINAL_STATUSES: readonly ArchiveStatus[] = [
  ArchiveStatus.DOWNLOADED,
  ArchiveStatus.FAILED,
  ArchiveStatus.SKIPPED,
];

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
  readonly failureReason?: string;
  /** S3 version id of the verified object, when the bucket is versioned. */
  readonly objectVersionId?: string;
  readonly downloadedAt?: string;
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
  /** Days run data stays in the tables before TTL removes it (0 = keep). */
  RUN_DATA_TTL_DAYS: 'RUN_DATA_TTL_DAYS',
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
export const PARTITION_CSV_COLUMNS = [
  'ArchiveId',
  'CreationDate',
  'Size',
  'SHA256TreeHash',
  /** Final destination key, prefix included, unique within the run. */
  'ObjectKey',
  /** ISO-8601 last-modified time recovered from the description, or empty. */
  'LastModified',
  'ArchiveDescription',
] as const;

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
