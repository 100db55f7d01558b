/**
 * The items the handlers store in the tables (archive, chunk and run records, and the attributes
 * each stage adds). Their keys are in src/contract/keys.ts.
 */

import { createHash } from 'crypto';
import { ARCHIVE_SK, RUN_SK } from '../../contract/keys';
import { ArchiveStatus } from '../../core/archive-lifecycle';

// Statuses and their transitions live in one place: src/core/archive-lifecycle.ts.
export { ArchiveStatus, TERMINAL_STATUSES } from '../../core/archive-lifecycle';

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

/** `inventoryStatus` of that record: job started, or inventory downloaded and validated. */
export type InventoryStatus = 'initiated' | 'downloaded';

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
