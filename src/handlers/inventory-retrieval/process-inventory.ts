import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse/sync';
import { EngineOptions, InventorySummary, processInventory, SkippedArchive } from './inventory-engine';
import {
  ARCHIVE_SK,
  archivePk,
  bytesAttribute,
  countAttribute,
  inventoryErrorsKey,
  inventorySummaryKey,
  keptKeysKey,
  metricsPk,
  partitionPrefix,
  skippedReportKey,
  stagedNamingOverridePrefix,
} from '../../contract/keys';
import { ArchiveTransition } from '../../core/archive-lifecycle';
import { parseNamingOverrides } from '../../core/archive-naming';
import { csvField } from '../../core/partitioning';
import { transitionItem } from '../shared/archive-transition';
import { errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';
import { archivesInStatus } from '../shared/status-query';

export interface ProcessEvent {
  readonly runId: string;
  readonly vaultName: string;
  /** Recorded on skipped archive items. */
  readonly storageClass?: string;
  readonly inventory: { readonly key: string; readonly size?: number };
  /**
   * Key of the naming override the run record names (stagedNamingOverrideKey), '' or absent for
   * none. Only this key is read: a file another execution staged is never used.
   */
  readonly namingOverrideKey?: string;
}

export interface ProcessConfig {
  readonly inventoryBucket: string;
  readonly transferTable: string;
  readonly metricsTable: string;
  readonly prefix: string;
  readonly partitionSizeBytes: number;
  readonly maxArchiveSizeBytes: number;
  readonly rowsPerFile?: number;
}

export interface ProcessDeps {
  readonly s3: S3Client;
  readonly ddb: DynamoDBDocumentClient;
  readonly config: ProcessConfig;
  readonly log: Log;
  readonly now?: () => Date;
}

/** What the state machine gets back (the file list stays in the summary object). */
export type ProcessResult = Omit<InventorySummary, 'partitionFiles'> & { readonly partitionFileCount: number };

async function readOverrides(deps: ProcessDeps, runId: string, key: string | undefined): Promise<Map<string, string>> {
  if (!key) return new Map();
  if (!key.startsWith(stagedNamingOverridePrefix(runId))) throw new Error(`naming override key ${JSON.stringify(key)} is not a staged override of run ${runId}`);
  let body: AsyncIterable<Uint8Array>;
  try {
    body = (await deps.s3.send(new GetObjectCommand({ Bucket: deps.config.inventoryBucket, Key: key }))).Body as AsyncIterable<Uint8Array>;
  } catch (err) {
    // The run record names this file: without it the run would silently lose its names.
    if (errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound') throw new Error(`naming override ${key} named by the run record is missing; resume with the override again`);
    throw err;
  }
  const overrides = await parseNamingOverrides(body);
  deps.log.info('naming overrides loaded', { runId, key, count: overrides.size });
  return overrides;
}

/**
 * Resume: ArchiveId → object key of the run's archives already downloaded (none on a Launch). They
 * keep their key whatever a new naming override says, and own it when another archive's new name
 * collides with it (EngineOptions.keptKeys); every other archive is named afresh.
 */
export async function readKeptKeys(deps: Pick<ProcessDeps, 'ddb' | 'config' | 'log'>, runId: string): Promise<Map<string, string>> {
  const kept = new Map<string, string>();
  for await (const page of archivesInStatus(deps.ddb, deps.config.transferTable, runId, ArchiveStatus.DOWNLOADED)) {
    for (const a of page) if (a.objectKey) kept.set(a.archiveId, a.objectKey);
  }
  if (kept.size > 0) deps.log.info('archives downloaded by an earlier execution keep their keys', { runId, count: kept.size });
  return kept;
}

/** Before the Glue engine: the kept keys ({@link readKeptKeys}) as `<run>/kept_keys/kept_keys.csv` (header only on a Launch). */
export async function writeKeptKeys(deps: ProcessDeps, runId: string): Promise<{ key: string; count: number }> {
  const kept = await readKeptKeys(deps, runId);
  const lines = ['ArchiveId,ObjectKey'];
  for (const [id, key] of kept) lines.push(`${csvField(id)},${csvField(key)}`);
  const key = keptKeysKey(runId);
  await deps.s3.send(new PutObjectCommand({
    Bucket: deps.config.inventoryBucket, Key: key, Body: `${lines.join('\n')}\n`, ContentType: 'text/csv; charset=utf-8',
  }));
  return { key, count: kept.size };
}

/** Deletes objects under the run's sorted_inventory/ that this processing did not write. */
async function removeStaleFiles(deps: ProcessDeps, runId: string, keep: ReadonlySet<string>): Promise<number> {
  const bucket = deps.config.inventoryBucket;
  const stale: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: partitionPrefix(runId), ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !keep.has(o.Key)) stale.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  for (let i = 0; i < stale.length; i += 1000) {
    const objects = stale.slice(i, i + 1000).map((Key) => ({ Key }));
    await deps.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
  return stale.length;
}

/** One row of `<run>/inventory_errors/errors.csv` (INVENTORY_ERROR_COLUMNS), as both engines write it. */
interface InventoryErrorRow {
  readonly Row: string;
  readonly ArchiveId: string;
  readonly Message: string;
  readonly Raw: string;
}

/** The archive item attributes of an unreadable row. */
type InventoryErrorItem = Record<string, unknown> & { readonly runId: string; readonly failureReason: string };

/** The run's unreadable inventory rows; none when the file is absent (an engine of an earlier version). */
async function readInventoryErrors(deps: ProcessDeps, runId: string): Promise<InventoryErrorRow[]> {
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.config.inventoryBucket, Key: inventoryErrorsKey(runId) }));
    const text = await (out.Body as { transformToString(encoding?: string): Promise<string> }).transformToString('utf-8');
    return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as InventoryErrorRow[];
  } catch (err) {
    if (errorName(err) === 'NoSuchKey' || errorName(err) === 'NotFound') {
      deps.log.warn('no inventory errors file; unreadable rows (if any) cannot be accounted for', { runId, key: inventoryErrorsKey(runId) });
      return [];
    }
    throw err;
  }
}

/**
 * The FAILED archive item of an unreadable inventory row. Keyed by its row number (an id of a
 * broken row may also name a readable archive, e.g. a repeated id, which must stay transferable);
 * `archiveId` is the id when it could be recovered, else `row <n>`. `inventoryRow` marks it: Resume
 * does not retry it (the inventory row itself is the problem).
 */
export function inventoryErrorItem(runId: string, vaultName: string, row: InventoryErrorRow): InventoryErrorItem {
  const rowNumber = Number(row.Row);
  const id = (row.ArchiveId ?? '').trim();
  return {
    pk: archivePk(runId, `inventory-row-${row.Row}`),
    sk: ARCHIVE_SK,
    runId,
    vaultName,
    archiveId: id !== '' ? id : `row ${row.Row}`,
    inventoryRow: Number.isSafeInteger(rowNumber) ? rowNumber : row.Row,
    inventoryRaw: row.Raw ?? '',
    size: 0,
    treeHash: '',
    creationDate: '',
    objectKey: '',
    storageClass: '',
    failureReason: `unreadable inventory row ${row.Row}: ${row.Message}`.slice(0, 2000),
  };
}

/**
 * Records one run's inventory results: one `skipped` archive item per skipped archive and one
 * `failed` item per unreadable row (created once; the metrics processor counts them from the
 * stream) and the run's totals in the metrics table with SET, so doing it again changes nothing.
 * The total counts every row of the inventory (readable or not): a run completes when downloaded +
 * failed + skipped reaches it, so an unreadable row can never be left out of the accounting.
 */
export async function recordResults(deps: ProcessDeps, run: { runId: string; vaultName: string; storageClass?: string },
  summary: InventorySummary, skipped: readonly SkippedArchive[]): Promise<void> {
  const { runId, vaultName } = run;
  const statusTime = deps.now?.() ?? new Date();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < skipped.length) {
      const s = skipped[next++];
      try {
        const put = transitionItem(ArchiveTransition.CREATE_SKIPPED, {
          pk: archivePk(runId, s.archiveId),
          sk: ARCHIVE_SK,
          runId,
          vaultName,
          archiveId: s.archiveId,
          size: s.size,
          treeHash: s.treeHash,
          creationDate: s.creationDate,
          description: s.description === '' ? undefined : s.description,
          objectKey: s.objectKey,
          lastModified: s.lastModified,
          storageClass: run.storageClass ?? '',
          failureReason: s.reason,
        }, statusTime);
        await deps.ddb.send(new PutCommand({ TableName: deps.config.transferTable, ...put }));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, skipped.length) }, worker));

  const errorRows = await readInventoryErrors(deps, runId);
  let nextError = 0;
  const errorWorker = async (): Promise<void> => {
    while (nextError < errorRows.length) {
      const put = transitionItem(ArchiveTransition.CREATE_FAILED, inventoryErrorItem(runId, vaultName, errorRows[nextError++]), statusTime);
      try {
        await deps.ddb.send(new PutCommand({ TableName: deps.config.transferTable, ...put }));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, errorRows.length) }, errorWorker));
  if (errorRows.length > 0) deps.log.error('unreadable inventory rows recorded as failed archives', { runId, count: errorRows.length });

  const values: Record<string, number | string> = {
    [countAttribute('total')]: summary.totalCount + errorRows.length,
    [bytesAttribute('total')]: summary.totalBytes,
    inventoryErrorCount: summary.errorCount,
    inventorySkippedCount: summary.skippedCount,
    inventorySkippedBytes: summary.skippedBytes,
    inventoryRenamedCount: summary.renamedCount,
    inventoryPartitionCount: summary.partitionCount,
    inventoryEngine: summary.engine,
  };
  const entries = Object.entries(values);
  await deps.ddb.send(new UpdateCommand({
    TableName: deps.config.metricsTable,
    Key: { pk: metricsPk(runId) },
    UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#a${i}`, k])),
    ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
  }));
}

function resultOf(summary: InventorySummary): ProcessResult {
  const { partitionFiles, ...rest } = summary;
  return { ...rest, partitionFileCount: partitionFiles.length };
}

/** The Lambda engine end to end: read, process, write files, record results. */
export async function processRunInventory(deps: ProcessDeps, event: ProcessEvent): Promise<ProcessResult> {
  const { runId } = event;
  const { config } = deps;
  const overrides = await readOverrides(deps, runId, event.namingOverrideKey);
  const keptKeys = await readKeptKeys(deps, runId);
  const input = await deps.s3.send(new GetObjectCommand({ Bucket: config.inventoryBucket, Key: event.inventory.key }));
  const options: EngineOptions = {
    runId,
    prefix: config.prefix,
    partitionSizeBytes: config.partitionSizeBytes,
    maxArchiveSizeBytes: config.maxArchiveSizeBytes,
    rowsPerFile: config.rowsPerFile,
    overrides,
    keptKeys,
  };
  const { summary, skipped } = await processInventory(input.Body as AsyncIterable<Uint8Array>, options, async (key, body) => {
    await deps.s3.send(new PutObjectCommand({ Bucket: config.inventoryBucket, Key: key, Body: body, ContentType: 'text/csv; charset=utf-8' }));
  });
  const removed = await removeStaleFiles(deps, runId, new Set(summary.partitionFiles));
  await deps.s3.send(new PutObjectCommand({
    Bucket: config.inventoryBucket, Key: inventorySummaryKey(runId), Body: JSON.stringify(summary), ContentType: 'application/json',
  }));
  await recordResults(deps, event, summary, skipped);
  deps.log.info('inventory processed', { ...resultOf(summary), staleFilesRemoved: removed });
  return resultOf(summary);
}

/**
 * After the Glue engine: its summary and skipped report are in the bucket; record them exactly as
 * the Lambda engine does.
 */
export async function finishGlueInventory(deps: ProcessDeps, event: Omit<ProcessEvent, 'inventory'>): Promise<ProcessResult> {
  const { runId } = event;
  const bucket = deps.config.inventoryBucket;
  const read = async (key: string): Promise<string> => {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (out.Body!.transformToString('utf-8'));
  };
  const summary = JSON.parse(await read(inventorySummaryKey(runId))) as InventorySummary;
  if (summary.runId !== runId) throw new Error(`inventory summary belongs to run ${summary.runId}, not ${runId}`);
  const rows = parse(await read(skippedReportKey(runId)), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  const skipped: SkippedArchive[] = rows.map((r) => ({
    archiveId: r.ArchiveId,
    description: r.ArchiveDescription,
    creationDate: r.CreationDate,
    size: Number(r.Size),
    treeHash: r.SHA256TreeHash,
    objectKey: r.ObjectKey,
    lastModified: r.LastModified === '' ? undefined : r.LastModified,
    reason: r.Reason,
  }));
  await recordResults(deps, event, summary, skipped);
  deps.log.info('Glue inventory results recorded', resultOf(summary));
  return resultOf(summary);
}
