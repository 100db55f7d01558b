import { utcSortKey } from './utc-timestamp';

/**
 * Sorted-inventory partitioning: the order archives are requested in, how they are cut into
 * partitions and files, and how one partition CSV row is written.
 *
 * Pure functions. The Glue engine applies the same rules (glue/partitioning.py); both run
 * test/fixtures/inventory/partitioning-conformance.json, so the Lambda and Glue engines write the
 * same files, byte for byte.
 *
 * ## Order
 * By CreationDate instant (the 23-digit {@link utcSortKey}: `YYYYMMDDHHMMSS` + 9 fraction digits),
 * then by ArchiveId compared by Unicode code point (what Python and Spark compare by).
 *
 * ## Partitions
 * Archives are taken in order; each goes into the current partition unless that partition already
 * holds at least one archive and adding this one would take its bytes above `partitionSizeBytes`,
 * in which case a new partition starts. So a partition holds at most `partitionSizeBytes` unless
 * it is a single archive larger than that. Inside a partition, rows go to files of at most
 * `rowsPerFile` rows. Names are zero-padded so key order is request order:
 * `<runId>/sorted_inventory/<partition:10 digits>/part-<file:5 digits>.csv`.
 *
 * ## Row format
 * Columns {@link PARTITION_COLUMNS} (the `PARTITION_CSV_COLUMNS` contract of src/contract/messages.ts), header on
 * the first line, `\n` line ends, RFC 4180 quoting: a field holding `,`, `"`, `\r` or `\n` is
 * wrapped in `"` with each `"` doubled; any other field is written as is.
 */

/** Same order as `PARTITION_CSV_COLUMNS` in src/contract/messages.ts (asserted by the tests). */
export const PARTITION_COLUMNS = [
  'ArchiveId',
  'CreationDate',
  'Size',
  'SHA256TreeHash',
  'ObjectKey',
  'LastModified',
  'ArchiveDescription',
] as const;

/** Default rows per partition file (a Distributed Map reads one file per child run). */
export const DEFAULT_ROWS_PER_FILE = 100_000;

/** One row of a partition file before formatting. */
export interface PartitionCsvRow {
  readonly archiveId: string;
  readonly creationDate: string;
  readonly size: number;
  readonly treeHash: string;
  readonly objectKey: string;
  readonly lastModified?: string;
  readonly description: string;
}

/** Compares two strings by Unicode code point (not UTF-16 code unit). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs === ys) return x - y;
      return xs ? 1 : -1;
    }
  }
  return a.length - b.length;
}

/** The CreationDate part of the order; throws on a date that is not an ISO-8601 UTC timestamp. */
export function creationSortKey(creationDate: string, archiveId = '?'): string {
  const key = utcSortKey(creationDate);
  if (key === undefined) throw new Error(`Invalid CreationDate ${JSON.stringify(creationDate)} for archive ${archiveId}`);
  return key;
}

/** Request order of two archives given their {@link creationSortKey}s and ids. */
export function compareArchiveOrder(sortKeyA: string, idA: string, sortKeyB: string, idB: string): number {
  if (sortKeyA !== sortKeyB) return sortKeyA < sortKeyB ? -1 : 1;
  return compareCodePoints(idA, idB);
}

/** Where one archive goes. */
export interface PartitionSlot {
  /** 0-based partition number. */
  readonly partition: number;
  /** 0-based file number inside the partition. */
  readonly file: number;
  /** True when this archive starts a new file (write the header first). */
  readonly firstInFile: boolean;
}

/** Assigns archives, fed in request order, to partitions and files (see the module comment). */
export class PartitionAssigner {
  private partition = 0;
  private file = 0;
  private bytes = 0;
  private rowsInPartition = 0;
  private rowsInFile = 0;

  public constructor(private readonly partitionSizeBytes: number, private readonly rowsPerFile: number = DEFAULT_ROWS_PER_FILE) {
    if (!Number.isSafeInteger(partitionSizeBytes) || partitionSizeBytes <= 0) {
      throw new Error(`partitionSizeBytes must be a positive whole number, got ${partitionSizeBytes}`);
    }
    if (!Number.isSafeInteger(rowsPerFile) || rowsPerFile <= 0) throw new Error(`rowsPerFile must be a positive whole number, got ${rowsPerFile}`);
  }

  public next(size: number): PartitionSlot {
    if (this.rowsInPartition > 0 && this.bytes + size > this.partitionSizeBytes) {
      this.partition++;
      this.file = 0;
      this.bytes = 0;
      this.rowsInPartition = 0;
      this.rowsInFile = 0;
    } else if (this.rowsInFile === this.rowsPerFile) {
      this.file++;
      this.rowsInFile = 0;
    }
    const firstInFile = this.rowsInFile === 0;
    this.bytes += size;
    this.rowsInPartition++;
    this.rowsInFile++;
    return { partition: this.partition, file: this.file, firstInFile };
  }
}

/** Partition slots of archives of these sizes, in order (convenience over {@link PartitionAssigner}). */
export function assignPartitions(sizes: readonly number[], partitionSizeBytes: number, rowsPerFile: number = DEFAULT_ROWS_PER_FILE): PartitionSlot[] {
  const assigner = new PartitionAssigner(partitionSizeBytes, rowsPerFile);
  return sizes.map((s) => assigner.next(s));
}

export function partitionName(partition: number): string {
  return String(partition).padStart(10, '0');
}

export function partitionFileName(file: number): string {
  return `part-${String(file).padStart(5, '0')}.csv`;
}

/** `<runId>/sorted_inventory/<partition>/part-<file>.csv` (same as `partitionPrefix(runId)` + name). */
export function partitionFileKey(runId: string, partition: number, file: number): string {
  return `${runId}/sorted_inventory/${partitionName(partition)}/${partitionFileName(file)}`;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One RFC 4180 field. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The header line, `\n` included. */
export function partitionCsvHeader(): string {
  return `${PARTITION_COLUMNS.join(',')}\n`;
}

/** One data line, `\n` included. */
export function formatPartitionRow(row: PartitionCsvRow): string {
  return `${csvField(row.archiveId)},${csvField(row.creationDate)},${row.size},${csvField(row.treeHash)},`
    + `${csvField(row.objectKey)},${csvField(row.lastModified ?? '')},${csvField(row.description)}\n`;
}
