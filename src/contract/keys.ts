/**
 * Where the stages keep their data: the tables' key layout, the partition and sort keys of every
 * item, the inventory-bucket keys of every file, and the rules for run ids (which are part of both).
 * Constructs (table definitions, IAM conditions on keys) and handlers (reads and writes) import
 * this module, so a key can only change in one place. The items stored under these keys are
 * described in src/handlers/shared/schema.ts.
 */

import { ArchiveStatus } from '../core/archive-lifecycle';

// ------------------------------------------------------------------------------------------------
// Transfer table

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

/** Sort key of a run's inventory record in the transfer table (`pk = runPk(runId)`). */
export const INVENTORY_SK = 'inventory';

/** Partition key of the lock item (transfer table, sk RUN_SK) that allows one active run per vault. */
export function activeVaultPk(vaultName: string): string {
  return `active-vault#${vaultName}`;
}

// ------------------------------------------------------------------------------------------------
// Metrics table

/**
 * Metrics table: one counter item per run (`pk = run#<runId>`) with `<status>Count` and
 * `<status>Bytes` attributes, plus short-lived marker items (`pk = stream-event#<eventID>`)
 * that make stream redelivery harmless.
 */
export const MetricsTable = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;

/** Partition key of a run's counter item in the metrics table: the key of its run record ({@link runPk}). */
export function metricsPk(runId: string): string {
  return runPk(runId);
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

// ------------------------------------------------------------------------------------------------
// Async-facilitator table (task tokens)

/** Partition key (async-facilitator table) of the orchestrator's completion wait: `{ pk, taskToken, executionArn, createdAt }`. */
export function completionWaitPk(runId: string): string {
  return `completion#${runId}`;
}

/** Async-facilitator item of a task token waiting for an inventory job. */
export function inventoryJobWaitPk(jobId: string): string {
  return `inventory-job#${jobId}`;
}

// ------------------------------------------------------------------------------------------------
// Run ids (key prefixes in the tables and the inventory bucket)

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

// ------------------------------------------------------------------------------------------------
// Inventory bucket

/** Key prefix of a run's sorted partitions in the inventory bucket. */
export function partitionPrefix(runId: string): string {
  return `${runId}/sorted_inventory/`;
}

/** Key of the JSON list of archives one window-extension scan re-requests (inventory bucket). */
export function windowExtensionListKey(runId: string, at: Date): string {
  return `tmp/${runId}/window-extension/${at.toISOString().replace(/[:.]/g, '-')}.json`;
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

/** Archives skipped by the inventory stage (partition CSV columns + `Reason`). */
export function skippedReportKey(runId: string): string {
  return `${runId}/skipped/skipped.csv`;
}

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
