import { inventoryErrorsKey, skippedReportKey } from '../../contract/keys';
import { INVENTORY_ERROR_COLUMNS } from '../../contract/messages';
import { assignUniqueKeys, keyForArchive, KeyedArchive } from '../../core/archive-naming';
import { detectInventoryFormat, InventoryRecord, InventorySource, parseInventory, parseInventoryCsv } from '../../core/inventory';
import {
  compareArchiveOrder,
  creationSortKey,
  csvField,
  DEFAULT_ROWS_PER_FILE,
  formatPartitionRow,
  partitionCsvHeader,
  partitionFileKey,
  PartitionAssigner,
} from '../../core/partitioning';

/**
 * The Lambda inventory engine: one pass over the inventory (streaming parse), then naming,
 * duplicate resolution, ordering and partitioning in memory, then the output files. The Glue
 * engine (glue/inventory_job.py) writes the same files from the same rules.
 *
 * Memory: each archive is kept as a few strings in column arrays (id, description, date, tree
 * hash, key, sort key) plus one number — roughly the inventory's own size plus ~150 bytes per
 * archive. See bench/inventory-engine.bench.ts for measured figures.
 *
 * Outputs (all keys deterministic, so a re-run overwrites the same objects):
 * - `<runId>/sorted_inventory/<partition>/part-<n>.csv` — the archives to transfer;
 * - `<runId>/skipped/skipped.csv` — archives above `maxArchiveSizeBytes` (partition columns + Reason);
 * - `<runId>/inventory_errors/errors.csv` — rows that could not be read (`Row,ArchiveId,Message,Raw`,
 *   see INVENTORY_ERROR_COLUMNS), a repeated ArchiveId included.
 * Skipped archives are named (their key appears in the report) but take no part in duplicate
 * resolution: only transferred archives compete for keys.
 */

export interface EngineOptions {
  readonly runId: string;
  /** Destination prefix ('' or ending in '/'). */
  readonly prefix: string;
  readonly partitionSizeBytes: number;
  readonly maxArchiveSizeBytes: number;
  /** Rows per partition file (default {@link DEFAULT_ROWS_PER_FILE}). */
  readonly rowsPerFile?: number;
  /** Naming overrides, ArchiveId → FileName. */
  readonly overrides?: ReadonlyMap<string, string>;
  /**
   * Resume: ArchiveId → object key of the archives an earlier execution of the run already
   * downloaded. They keep that key (it names their object), override or not, and own it in
   * duplicate resolution ({@link KeyedArchive.kept}).
   */
  readonly keptKeys?: ReadonlyMap<string, string>;
}

/** Receives the output files, in order; `body` is UTF-8. */
export type OutputSink = (key: string, body: Buffer) => Promise<void>;

/** An archive that is not transferred. */
export interface SkippedArchive {
  readonly archiveId: string;
  readonly description: string;
  readonly creationDate: string;
  readonly size: number;
  readonly treeHash: string;
  readonly objectKey: string;
  readonly lastModified?: string;
  readonly reason: string;
}

/** What one inventory processing produced (also written as the run's inventory summary). */
export interface InventorySummary {
  readonly runId: string;
  readonly engine: 'lambda' | 'glue';
  /** Archives listed in the inventory (transferred + skipped). */
  readonly totalCount: number;
  readonly totalBytes: number;
  /** Archives in the partition files. */
  readonly transferCount: number;
  readonly transferBytes: number;
  readonly skippedCount: number;
  readonly skippedBytes: number;
  /** Rows that could not be read. */
  readonly errorCount: number;
  /** Archives whose key got a duplicate suffix. */
  readonly renamedCount: number;
  /** Archives named by the naming override CSV. */
  readonly overriddenCount: number;
  readonly partitionCount: number;
  /** Partition file keys, in order. */
  readonly partitionFiles: string[];
}

export interface EngineResult {
  readonly summary: InventorySummary;
  readonly skipped: SkippedArchive[];
}

export const SKIPPED_COLUMNS_SUFFIX = 'Reason';
export const ERROR_COLUMNS = `${INVENTORY_ERROR_COLUMNS.join(',')}\n`;

/** Column store of the archives being processed. */
class Archives {
  public readonly ids: string[] = [];
  public readonly descriptions: string[] = [];
  public readonly dates: string[] = [];
  public readonly hashes: string[] = [];
  public readonly keys: string[] = [];
  public readonly sortKeys: string[] = [];
  public readonly lastModified: Array<string | undefined> = [];
  /** Indexes of kept archives (see EngineOptions.keptKeys). */
  public readonly kept = new Set<number>();
  public sizes = new Float64Array(1024);
  public length = 0;

  public push(id: string, description: string, date: string, size: number, hash: string, key: string, sortKey: string, lm: string | undefined): void {
    if (this.length === this.sizes.length) {
      const grown = new Float64Array(this.sizes.length * 2);
      grown.set(this.sizes);
      this.sizes = grown;
    }
    this.ids.push(id);
    this.descriptions.push(description);
    this.dates.push(date);
    this.hashes.push(hash);
    this.keys.push(key);
    this.sortKeys.push(sortKey);
    this.lastModified.push(lm);
    this.sizes[this.length++] = size;
  }
}

/**
 * Final keys, exactly as {@link assignUniqueKeys} over all archives would give them, computed on
 * the duplicate groups only (an archive alone with its base key keeps it). If a renamed key lands
 * on a base key outside those groups, the whole set is re-run through assignUniqueKeys.
 */
function uniqueKeys(a: Archives, prefix: string): { keys: string[]; renamed: number } {
  const counts = new Map<string, number>();
  for (const key of a.keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  if (counts.size === a.length) return { keys: a.keys, renamed: 0 };
  const subset: number[] = [];
  for (let i = 0; i < a.length; i++) if (counts.get(a.keys[i])! > 1) subset.push(i);
  const records = (indexes: Iterable<number>): KeyedArchive[] =>
    Array.from(indexes, (i) => ({ archiveId: a.ids[i], creationDate: a.dates[i], key: a.keys[i], ...(a.kept.has(i) && { kept: true }) }));
  const result = assignUniqueKeys(records(subset), { prefix });
  const clash = result.some((r) => r.renamed && counts.has(r.key));
  const keys = a.keys.slice();
  let renamed = 0;
  if (!clash) {
    result.forEach((r, j) => {
      keys[subset[j]] = r.key;
      if (r.renamed) renamed++;
    });
    return { keys, renamed };
  }
  const all = assignUniqueKeys(records(Array.from({ length: a.length }, (_, i) => i)), { prefix });
  all.forEach((r, i) => {
    keys[i] = r.key;
    if (r.renamed) renamed++;
  });
  return { keys, renamed };
}

/**
 * Accumulates UTF-8 text in 8 MiB buffers (no string joins: a file of many rows never becomes
 * one huge string, and nothing is encoded twice).
 */
class TextBuffer {
  private static readonly CHUNK = 8 * 1024 * 1024;
  private readonly parts: Buffer[] = [];
  private current = Buffer.allocUnsafe(TextBuffer.CHUNK);
  private offset = 0;

  public add(text: string): void {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes.
    if (this.offset + text.length * 3 > this.current.length) {
      this.parts.push(this.current.subarray(0, this.offset));
      this.current = Buffer.allocUnsafe(Math.max(TextBuffer.CHUNK, text.length * 3));
      this.offset = 0;
    }
    this.offset += this.current.write(text, this.offset, 'utf8');
  }

  public toBuffer(): Buffer {
    return Buffer.concat([...this.parts, this.current.subarray(0, this.offset)]);
  }
}

/**
 * Inventory records, parsed with one async-generator layer fewer than `parseInventory` (which
 * re-yields every record): the format is detected here from the first bytes.
 */
async function openRecords(source: InventorySource): Promise<AsyncIterable<InventoryRecord>> {
  const iterator = (Symbol.asyncIterator in source
    ? (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array | string>)[Symbol.iterator]()) as AsyncIterator<Uint8Array | string>;
  const head: Array<Uint8Array | string> = [];
  let headText = '';
  let done = false;
  while (!done && !headText.includes('\n') && headText.length < 65_536) {
    const next = await iterator.next();
    if (next.done) {done = true;} else {
      head.push(next.value);
      headText += typeof next.value === 'string' ? next.value : Buffer.from(next.value).toString('utf8');
    }
  }
  async function* replay(): AsyncGenerator<Uint8Array | string> {
    yield* head;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  const format = detectInventoryFormat(headText);
  // JSON, or an unknown format (parseInventory reports it), goes through the core's dispatcher.
  if (format === 'json' || (format === undefined && headText.trim() !== '')) return parseInventory(replay());
  return parseInventoryCsv(replay());
}

/** Processes one inventory (CSV or JSON) into partition files, the skipped report and the error report. */
export async function processInventory(source: InventorySource, options: EngineOptions, sink: OutputSink): Promise<EngineResult> {
  const { runId, prefix, maxArchiveSizeBytes } = options;
  const overrides = options.overrides ?? new Map<string, string>();
  const keptKeys = options.keptKeys ?? new Map<string, string>();
  const archives = new Archives();
  const skipped: SkippedArchive[] = [];
  const errors = new TextBuffer();
  errors.add(ERROR_COLUMNS);
  let errorCount = 0;
  let overriddenCount = 0;
  let totalBytes = 0;
  let totalCount = 0;

  for await (const record of await openRecords(source)) {
    if (record.kind === 'error') {
      errorCount++;
      errors.add(`${record.row},${csvField(record.archiveId ?? '')},${csvField(record.message)},${csvField(record.raw)}\n`);
      continue;
    }
    const override = overrides.get(record.archiveId);
    const named = keyForArchive(record, { prefix, override });
    if (named.source === 'override') overriddenCount++;
    const keptKey = keptKeys.get(record.archiveId);
    const key = keptKey ?? named.key;
    totalCount++;
    totalBytes += record.size;
    if (record.size > maxArchiveSizeBytes) {
      skipped.push({
        archiveId: record.archiveId,
        description: record.description,
        creationDate: record.creationDate,
        size: record.size,
        treeHash: record.treeHash,
        objectKey: key,
        lastModified: named.lastModified,
        reason: `size ${record.size} bytes is above the limit of ${maxArchiveSizeBytes} bytes`,
      });
      continue;
    }
    if (keptKey !== undefined) archives.kept.add(archives.length);
    archives.push(record.archiveId, record.description, record.creationDate, record.size, record.treeHash, key,
      creationSortKey(record.creationDate, record.archiveId), named.lastModified);
  }

  const { keys, renamed } = uniqueKeys(archives, prefix);

  const order = new Uint32Array(archives.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const { sortKeys, ids } = archives;
  // Plain `<` on ids equals code point order unless an id holds a code unit >= U+D800 (never in
  // practice: ids are URL-safe base64); then the exact comparison is used.
  const plain = ids.every((id) => !/[\ud800-\uffff]/.test(id));
  order.sort(plain
    ? (x, y) => {
      const a = sortKeys[x];
      const b = sortKeys[y];
      if (a !== b) return a < b ? -1 : 1;
      const p = ids[x];
      const q = ids[y];
      return p < q ? -1 : p > q ? 1 : 0;
    }
    : (x, y) => compareArchiveOrder(sortKeys[x], ids[x], sortKeys[y], ids[y]));

  const assigner = new PartitionAssigner(options.partitionSizeBytes, options.rowsPerFile ?? DEFAULT_ROWS_PER_FILE);
  const partitionFiles: string[] = [];
  let file: TextBuffer | undefined;
  let fileKey = '';
  let partitionCount = 0;
  let transferBytes = 0;
  for (const i of order) {
    const size = archives.sizes[i];
    const slot = assigner.next(size);
    if (slot.firstInFile) {
      if (file) await sink(fileKey, file.toBuffer());
      fileKey = partitionFileKey(runId, slot.partition, slot.file);
      partitionFiles.push(fileKey);
      partitionCount = slot.partition + 1;
      file = new TextBuffer();
      file.add(partitionCsvHeader());
    }
    transferBytes += size;
    // Same text as formatPartitionRow: the date, tree hash and last-modified time were validated
    // (digits, letters, '-', ':', '.'), so only the id, key and description can need quotes.
    file!.add(`${csvField(ids[i])},${archives.dates[i]},${size},${archives.hashes[i]},${csvField(keys[i])},`
      + `${archives.lastModified[i] ?? ''},${csvField(archives.descriptions[i])}\n`);
  }
  if (file) await sink(fileKey, file.toBuffer());

  skipped.sort((x, y) => compareArchiveOrder(creationSortKey(x.creationDate), x.archiveId, creationSortKey(y.creationDate), y.archiveId));
  const report = new TextBuffer();
  report.add(partitionCsvHeader().replace(/\n$/, `,${SKIPPED_COLUMNS_SUFFIX}\n`));
  for (const s of skipped) {
    report.add(formatPartitionRow({ ...s, objectKey: s.objectKey }).replace(/\n$/, `,${csvField(s.reason)}\n`));
  }
  await sink(skippedReportKey(runId), report.toBuffer());
  await sink(inventoryErrorsKey(runId), errors.toBuffer());

  const skippedBytes = skipped.reduce((sum, s) => sum + s.size, 0);
  return {
    summary: {
      runId,
      engine: 'lambda',
      totalCount,
      totalBytes,
      transferCount: archives.length,
      transferBytes,
      skippedCount: skipped.length,
      skippedBytes,
      errorCount,
      renamedCount: renamed,
      overriddenCount,
      partitionCount,
      partitionFiles,
    },
    skipped,
  };
}
