import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { csvField, glacierDescriptionField, TextObjectWriter } from './csv-object-writer';
import { STATUSES } from './run-counts';
import type { Log } from '../shared/logger';
import { ArchiveItem, ArchiveStatus } from '../shared/schema';
import { archivesInStatus } from '../shared/status-query';

/*
 * RunReport: the report of one orchestrator execution, in the inventory bucket under
 * `<runId>/reports/<timestamp>/`:
 *  - manifest.csv: every archive of the run (ArchiveId, ObjectKey, Size, SHA256TreeHash, Status,
 *    Reason, FailedIn), RFC 4180; FailedIn tells a failure of this execution (`this execution`: it
 *    became FAILED at or after the execution started) from one carried from an earlier execution
 *    of the run (`earlier execution`: not retried, e.g. Resume with RetryFailed NO, or an unreadable
 *    inventory row); empty for other statuses;
 *  - failed_archives.csv: the failed archives in Glacier's inventory format (ArchiveId,
 *    ArchiveDescription, CreationDate, Size, SHA256TreeHash), so it can be fed back as a provided
 *    inventory;
 *  - unreadable_rows.csv / unreadable_rows.json (only when the inventory had unreadable rows): those
 *    rows exactly as the inventory had them (a CSV line under the CSV header; a JSON element in an
 *    `ArchiveList`), to mend and feed back as a provided inventory. Items of an earlier version
 *    without the raw row keep their `row <n>` line in failed_archives.csv;
 *  - remaining_archives.csv (only when the run ended early): pending/requested/staged archives, same format;
 *  - summary.json: counts per status, and `failures` ({ thisExecution, earlierExecutions }) with
 *    the execution's start (`executionStartedAt`).
 * Archives are read page by page from the StatusIndex and streamed out, so memory stays flat.
 */

export const MANIFEST_COLUMNS = ['ArchiveId', 'ObjectKey', 'Size', 'SHA256TreeHash', 'Status', 'Reason', 'FailedIn'] as const;

/** FailedIn of a FAILED archive in manifest.csv. */
export const FAILED_IN_THIS_EXECUTION = 'this execution';
export const FAILED_IN_EARLIER_EXECUTION = 'earlier execution';
export const INVENTORY_HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash';

export interface RunReportDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly transferTable: string;
  readonly inventoryBucket: string;
  readonly log: Log;
  readonly now?: () => Date;
}

export interface RunReportResult {
  readonly runId: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly manifestKey: string;
  readonly failedArchivesKey: string;
  readonly remainingArchivesKey: string;
  /** unreadable_rows.csv and/or unreadable_rows.json, when the inventory had unreadable rows (else empty). */
  readonly unreadableRowsKeys: string[];
  readonly counts: Record<string, number>;
  /** FAILED archives by the execution they failed in (absent without `executionStartedAt`). */
  readonly failures?: { readonly thisExecution: number; readonly earlierExecutions: number };
}

export interface RunReportEvent {
  readonly runId: string;
  /** Start of the orchestrator execution writing the report (`$.run.startedAt`, ISO-8601). */
  readonly executionStartedAt?: string;
}

/**
 * FailedIn of one archive: a FAILED archive whose last status change (statusTime) is not before
 * the execution's start failed in this execution; an older one was carried over. Resume resets
 * (and retries) set statusTime, so a retried archive that fails again counts as this execution's.
 */
export function failedIn(a: Pick<ArchiveItem, 'status' | 'statusTime'>, executionStartedAt: string | undefined): string {
  if (a.status !== ArchiveStatus.FAILED || !executionStartedAt) return '';
  return Date.parse(a.statusTime) >= Date.parse(executionStartedAt) ? FAILED_IN_THIS_EXECUTION : FAILED_IN_EARLIER_EXECUTION;
}

export function reportPrefix(runId: string, at: Date): string {
  return `${runId}/reports/${at.toISOString().replace(/[:.]/g, '-')}/`;
}

function inventoryLine(a: ArchiveItem): string {
  return [a.archiveId, glacierDescriptionField(a.description), a.creationDate, a.size, a.treeHash].join(',');
}

/**
 * The unreadable inventory rows of a run, each into the file of its inventory format: a JSON
 * element (its Raw starts with `{`) into `unreadable_rows.json`, anything else, a CSV line, into
 * `unreadable_rows.csv` under Glacier's CSV header. Written only when a row came.
 */
class UnreadableRows {
  private readonly csv: TextObjectWriter;
  private readonly json: TextObjectWriter;

  constructor(s3: S3Client, bucket: string, prefix: string) {
    this.csv = new TextObjectWriter(s3, bucket, `${prefix}unreadable_rows.csv`);
    this.json = new TextObjectWriter(s3, bucket, `${prefix}unreadable_rows.json`, 'application/json');
  }

  public async add(raw: string): Promise<void> {
    if (raw.trimStart().startsWith('{')) {
      await this.json.write(`${this.json.lines === 0 ? '{"ArchiveList":[\n' : ','}${raw}`);
    } else {
      if (this.csv.lines === 0) await this.csv.write(INVENTORY_HEADER);
      await this.csv.write(raw);
    }
  }

  /** Closes the files that got rows; their keys. */
  public async close(): Promise<string[]> {
    const keys: string[] = [];
    if (this.csv.lines > 0) {
      await this.csv.close();
      keys.push(this.csv.key);
    }
    if (this.json.lines > 0) {
      await this.json.write(']}');
      await this.json.close();
      keys.push(this.json.key);
    }
    return keys;
  }

  public async abort(): Promise<void> {
    await Promise.all([this.csv.abort(), this.json.abort()]);
  }
}

function reasonOf(a: ArchiveItem): string {
  if (a.failureReason) return a.failureReason;
  if (a.status === ArchiveStatus.SKIPPED) return 'skipped';
  if (a.status === ArchiveStatus.PENDING || a.status === ArchiveStatus.REQUESTED || a.status === ArchiveStatus.STAGED) return 'not transferred when the run ended';
  return '';
}

export async function writeRunReport(deps: RunReportDeps, event: RunReportEvent): Promise<RunReportResult> {
  const { runId, executionStartedAt } = event;
  if (executionStartedAt !== undefined && Number.isNaN(Date.parse(executionStartedAt))) {
    throw new Error(`executionStartedAt must be an ISO-8601 time, got ${JSON.stringify(executionStartedAt)}`);
  }
  const failures = { thisExecution: 0, earlierExecutions: 0 };
  const prefix = reportPrefix(runId, deps.now?.() ?? new Date());
  const bucket = deps.inventoryBucket;
  const manifest = new TextObjectWriter(deps.s3, bucket, `${prefix}manifest.csv`);
  const failed = new TextObjectWriter(deps.s3, bucket, `${prefix}failed_archives.csv`);
  const remaining = new TextObjectWriter(deps.s3, bucket, `${prefix}remaining_archives.csv`);
  const unreadable = new UnreadableRows(deps.s3, bucket, prefix);
  const counts: Record<string, number> = {};
  try {
    await manifest.write(MANIFEST_COLUMNS.join(','));
    await failed.write(INVENTORY_HEADER);
    await remaining.write(INVENTORY_HEADER);
    for (const status of STATUSES) {
      counts[status] = 0;
      for await (const page of archivesInStatus(deps.ddb, deps.transferTable, runId, status)) {
        for (const a of page) {
          counts[status]++;
          const when = failedIn(a, executionStartedAt);
          if (when === FAILED_IN_THIS_EXECUTION) failures.thisExecution++;
          else if (when === FAILED_IN_EARLIER_EXECUTION) failures.earlierExecutions++;
          await manifest.write([a.archiveId, a.objectKey, a.size, a.treeHash, a.status, reasonOf(a), when].map(csvField).join(','));
          if (a.status === ArchiveStatus.FAILED && a.inventoryRow !== undefined && a.inventoryRaw !== undefined) await unreadable.add(a.inventoryRaw);
          else if (a.status === ArchiveStatus.FAILED) await failed.write(inventoryLine(a));
          else if (a.status !== ArchiveStatus.DOWNLOADED && a.status !== ArchiveStatus.SKIPPED) await remaining.write(inventoryLine(a));
        }
      }
    }
    await manifest.close();
    await failed.close();
    const hasRemaining = remaining.lines > 1;
    if (hasRemaining) await remaining.close();
    const unreadableRowsKeys = await unreadable.close();
    await deps.s3.send(new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}summary.json`,
      Body: JSON.stringify({ runId, counts, ...(executionStartedAt && { executionStartedAt, failures }) }, null, 2),
      ContentType: 'application/json',
    }));
    deps.log.info('run report written', { runId, prefix, counts, ...(executionStartedAt && { failures }) });
    return {
      runId,
      bucket,
      prefix,
      manifestKey: manifest.key,
      failedArchivesKey: failed.key,
      remainingArchivesKey: hasRemaining ? remaining.key : '',
      unreadableRowsKeys,
      counts,
      ...(executionStartedAt && { failures }),
    };
  } catch (err) {
    await Promise.all([manifest.abort(), failed.abort(), remaining.abort(), unreadable.abort()]);
    throw err;
  }
}
