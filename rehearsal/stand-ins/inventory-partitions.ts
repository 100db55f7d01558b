import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assignUniqueKeys, keyForArchive } from '../../src/core/archive-naming';
import { utcSortKey } from '../../src/core/utc-timestamp';
import { PARTITION_CSV_COLUMNS, partitionPrefix, PartitionRow } from '../../src/handlers/shared/schema';
import type { GeneratedArchive } from '../vault-generator';

/*
 * STAND-IN for the inventory stage's output (InventoryRetrieval, wired by another change): writes
 * the generated vault as the sorted partition CSVs InitiateRetrieval reads,
 * `<runId>/sorted_inventory/<partition:10 digits>/part-<file:5 digits>.csv` in the inventory
 * bucket, plus a Spark-style empty `_SUCCESS` marker (the state machine must skip it).
 *
 * - Order: CreationDate instant, then ArchiveId by code point (the contract of schema.ts).
 * - Keys: `keyForArchive` + `assignUniqueKeys` (src/core/archive-naming.ts) under the run's key
 *   prefix; ObjectKey includes the prefix; LastModified is the one decoded from the description.
 * - CSV: header row PARTITION_CSV_COLUMNS, `\n` line ends, RFC 4180 quoting (a field holding `,`,
 *   `"`, CR or LF is quoted with `"` doubled), which Step Functions' CSV reader accepts.
 * - Partitions: cut by bytes so a run of `minArchivesToSplit` archives or more has at least two
 *   partitions, and files of `rowsPerFile` rows, so partition and file order are both exercised.
 * Replace the call in run.ts with the real inventory stage once it exists.
 */

export interface PartitionOptions {
  readonly bucket: string;
  readonly runId: string;
  readonly keyPrefix: string;
  readonly archives: readonly GeneratedArchive[];
  /** Rows per partition file (default 5). */
  readonly rowsPerFile?: number;
  /** Number of partitions to aim for (default 3; at least 2 from `minArchivesToSplit` archives). */
  readonly partitions?: number;
  readonly minArchivesToSplit?: number;
}

export interface WrittenPartitions {
  /** Keys written, in key order (the order InitiateRetrieval reads them). */
  readonly keys: string[];
  /** ArchiveIds in request order. */
  readonly order: string[];
  /** ArchiveId → ordinal of its partition file in key order (files are requested one after the other). */
  readonly fileOf: Record<string, number>;
  readonly rows: PartitionRow[];
  readonly partitions: number;
}

/** RFC 4180: quote a field holding `,`, `"`, CR or LF; double every `"`. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function partitionCsv(rows: readonly PartitionRow[]): string {
  const lines = [PARTITION_CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(PARTITION_CSV_COLUMNS.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Code-point comparison (what Spark/Python compare ArchiveIds by). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The partition rows of a generated vault, in request order. */
export function partitionRows(archives: readonly GeneratedArchive[], keyPrefix: string): PartitionRow[] {
  const sortKey = (a: GeneratedArchive): string => {
    const key = utcSortKey(a.creationDate);
    if (key === undefined) throw new Error(`generated archive ${a.archiveId} has an invalid CreationDate ${a.creationDate}`);
    return key;
  };
  const sorted = [...archives].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : compareCodePoints(a.archiveId, b.archiveId);
  });
  const named = sorted.map((a) => ({
    archive: a,
    base: keyForArchive({ archiveId: a.archiveId, description: a.description, creationDate: a.creationDate }, { prefix: keyPrefix }),
  }));
  const unique = assignUniqueKeys(
    named.map((n) => ({ archiveId: n.archive.archiveId, creationDate: n.archive.creationDate, key: n.base.key })),
    { prefix: keyPrefix },
  );
  return named.map(({ archive, base }, i) => ({
    ArchiveId: archive.archiveId,
    CreationDate: archive.creationDate,
    Size: String(archive.size),
    SHA256TreeHash: archive.treeHash,
    ObjectKey: unique[i].key,
    LastModified: base.lastModified ?? '',
    ArchiveDescription: archive.description,
  }));
}

/** Writes the run's sorted inventory; returns what was written. */
export async function writeInventoryPartitions(s3: S3Client, options: PartitionOptions): Promise<WrittenPartitions> {
  const rows = partitionRows(options.archives, options.keyPrefix);
  const rowsPerFile = options.rowsPerFile ?? 5;
  const wanted = rows.length >= (options.minArchivesToSplit ?? 6) ? Math.max(2, options.partitions ?? 3) : 1;
  // Cut like the inventory engine does (by bytes, in order), aiming for `wanted` partitions; a
  // partition is never empty and never cut in the middle of its file sequence.
  const total = rows.reduce((n, r) => n + Number(r.Size), 0);
  const budget = Math.max(1, Math.ceil(total / wanted));
  const partitions: PartitionRow[][] = [[]];
  let bytes = 0;
  for (const [i, row] of rows.entries()) {
    const size = Number(row.Size);
    const current = partitions[partitions.length - 1];
    const leftRows = rows.length - i;
    const leftPartitions = wanted - partitions.length;
    const mustSplit = current.length > 0 && leftPartitions > 0 && leftRows <= leftPartitions;
    if (current.length > 0 && leftPartitions > 0 && (bytes + size > budget || mustSplit)) {
      partitions.push([row]);
      bytes = size;
    } else {
      current.push(row);
      bytes += size;
    }
  }
  const prefix = partitionPrefix(options.runId);
  const files: { key: string; body: string }[] = [];
  const fileOf: Record<string, number> = {};
  for (const [p, partition] of partitions.entries()) {
    for (let f = 0; f * rowsPerFile < partition.length; f++) {
      const key = `${prefix}${String(p).padStart(10, '0')}/part-${String(f).padStart(5, '0')}.csv`;
      const fileRows = partition.slice(f * rowsPerFile, (f + 1) * rowsPerFile);
      for (const row of fileRows) fileOf[row.ArchiveId] = files.length;
      files.push({ key, body: partitionCsv(fileRows) });
    }
  }
  files.push({ key: `${prefix}_SUCCESS`, body: '' });
  for (const file of files) {
    await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: file.key, Body: Buffer.from(file.body, 'utf8'), ContentType: 'text/csv' }));
  }
  return { keys: files.map((f) => f.key).sort(), order: rows.map((r) => r.ArchiveId), fileOf, rows, partitions: partitions.length };
}
