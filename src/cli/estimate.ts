/**
 * `cdk-glacier-vault-to-s3 estimate`: cost and duration of moving a vault, from its inventory.
 *
 * The inventory (CSV or JSON, as Glacier returns it) is streamed: only running totals are kept,
 * so a multi-gigabyte inventory of tens of millions of archives needs constant memory. A few
 * malformed rows are counted and reported; a file that is not an inventory (empty, neither CSV
 * nor JSON, cut off) or has more than MAX_BAD_ROW_SHARE unreadable rows is refused: an estimate
 * that silently leaves archives out would be wrong without saying so.
 */
import { createReadStream, promises as fs } from 'fs';
import { Readable } from 'stream';
import { MiB, validateChunkSize } from '../core/chunk-plan';
import { ArchiveSizeSummary, CostEstimate, estimateCost, fmtBytes, formatEstimate } from '../core/cost';
import { CsvQuoting, detectInventoryFormat, INVENTORY_COLUMNS, InventoryFormat, InventoryRowError, isWholeFileError, parseInventoryCsv, parseInventoryJson } from '../core/inventory';
import { RetrievalTier, DestinationStorageClass, PRICES_AS_OF, PRICES_REGION } from '../core/prices';

const TiB = 1024 ** 4;

/** A user error: printed without a stack trace, exit code 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Options as the command line gives them (strings) or as a program passes them. */
export interface EstimateOptions {
  readonly inventory: string;
  readonly tier?: string;
  readonly storageClass?: string;
  readonly dailyQuotaTib?: string | number;
  readonly chunkSizeMib?: string | number;
  readonly crossRegion?: boolean;
  /** Default: detected from the first non-blank character (`{` = JSON). */
  readonly format?: string;
  /** The region to price; only PRICES_REGION is known, any other is refused. Default: PRICES_REGION. */
  readonly region?: string;
}

export interface EstimateResult {
  readonly estimate: CostEstimate;
  readonly format: InventoryFormat;
  readonly rows: number;
  readonly malformedRows: number;
  /** First few malformed-row messages, for the report. */
  readonly malformedSamples: readonly string[];
  /** CSV: how quotes inside descriptions are escaped, and the row that showed it (absent: no description holds a quote). */
  readonly csvQuoting?: InventoryScan['csvQuoting'];
  /** The printed report. */
  readonly text: string;
}

const MAX_SAMPLES = 5;
/** More unreadable rows than this share of all rows and the file is refused, not estimated. */
export const MAX_BAD_ROW_SHARE = 0.01;
const EXPECTED_INVENTORY = 'a Glacier vault inventory: CSV with the header '
  + `${INVENTORY_COLUMNS.join(',')}, or JSON {"VaultARN", "InventoryDate", "ArchiveList": [...]}`;

export function parseTier(value: string): RetrievalTier {
  const tier = Object.values(RetrievalTier).find((t) => t.toLowerCase() === value.trim().toLowerCase());
  if (!tier) throw new CliError(`--tier must be one of ${Object.values(RetrievalTier).join(', ')}; got ${JSON.stringify(value)}`);
  return tier;
}

export function parseStorageClass(value: string): DestinationStorageClass {
  const normalized = value.trim().toUpperCase().replace(/[-\s]/g, '_');
  const cls = Object.values(DestinationStorageClass).find((c) => c === normalized);
  if (!cls) throw new CliError(`--storage-class must be one of ${Object.values(DestinationStorageClass).join(', ')}; got ${JSON.stringify(value)}`);
  return cls;
}

function parsePositive(value: string | number, option: string): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if ((typeof value === 'string' && value.trim() === '') || !Number.isFinite(n) || n <= 0) {
    throw new CliError(`${option} must be a positive number; got ${JSON.stringify(value)}`);
  }
  return n;
}

export function parseDailyQuotaTib(value: string | number): number {
  return parsePositive(value, '--daily-quota-tib') * TiB;
}

export function parseChunkSizeMib(value: string | number): number {
  const bytes = parsePositive(value, '--chunk-size-mib') * MiB;
  try {
    validateChunkSize(bytes, '--chunk-size-mib');
  } catch (e) {
    throw new CliError(`--chunk-size-mib must be a power of two from 8 to 4096 (MiB); got ${JSON.stringify(value)}`);
  }
  return bytes;
}

function parseFormat(value: string): InventoryFormat {
  const f = value.trim().toLowerCase();
  if (f !== 'csv' && f !== 'json') throw new CliError(`--format must be csv or json; got ${JSON.stringify(value)}`);
  return f;
}

async function detectFormat(path: string): Promise<InventoryFormat> {
  const handle = await fs.open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    // Unrecognisable content is read as CSV, whose parser reports the missing header as a row error.
    return detectInventoryFormat(buffer.subarray(0, bytesRead)) ?? 'csv';
  } finally {
    await handle.close();
  }
}

async function checkReadable(path: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `inventory file not found: ${path}` : `cannot read inventory file ${path}: ${(e as Error).message}`);
  }
  if (!stat.isFile()) throw new CliError(`inventory path is not a file: ${path}`);
}

/** What a pass over the inventory found. */
export interface InventoryScan {
  readonly summary: ArchiveSizeSummary;
  readonly rows: number;
  readonly malformedRows: number;
  readonly malformedSamples: string[];
  readonly wholeFileError?: string;
  /** CSV only: the quoting of descriptions, detected at the first one holding a quote; absent when none does. */
  readonly csvQuoting?: { readonly quoting: CsvQuoting; readonly row: number };
}

/**
 * Stream an inventory into a size summary, counting malformed rows. A CSV may use Glacier's `\"`
 * escapes or RFC 4180 `""` quoting (a file re-saved by a spreadsheet or a CSV library): both are
 * read, detected per file.
 */
export async function summarizeInventory(
  input: Readable,
  format: InventoryFormat,
  chunkSizeBytes: number,
): Promise<InventoryScan> {
  const summary = new ArchiveSizeSummary(chunkSizeBytes);
  const samples: string[] = [];
  let rows = 0;
  let malformed = 0;
  let wholeFileError: string | undefined;
  let csvQuoting: InventoryScan['csvQuoting'];
  const records = format === 'json' ? parseInventoryJson(input) : parseInventoryCsv(input, {
    csvQuoting: 'detect',
    onCsvQuoting: (quoting, row) => {
      csvQuoting = { quoting, row };
    },
  });
  for await (const record of records) {
    if (record.kind === 'archive') {
      rows++;
      summary.add(record.size);
    } else {
      malformed++;
      if (samples.length < MAX_SAMPLES) samples.push(describeError(record));
      if (wholeFileError === undefined && isWholeFileError(record)) wholeFileError = describeError(record);
    }
  }
  return { summary, rows, malformedRows: malformed, malformedSamples: samples, wholeFileError, csvQuoting };
}

function describeError(record: InventoryRowError): string {
  return `row ${record.row}: ${record.message}`;
}

/** The `--json` document: the inventory as read, and the estimate (which names its price region and date). */
export function estimateJson(inventory: string, result: EstimateResult): object {
  return {
    inventory: {
      file: inventory,
      format: result.format,
      archiveRows: result.rows,
      malformedRows: result.malformedRows,
      malformedSamples: result.malformedSamples,
      csvQuoting: result.csvQuoting?.quoting,
    },
    estimate: result.estimate,
  };
}

/** Throws a CliError naming the file and what was expected when it is not a usable inventory. */
function refuseUnlessInventory(file: string, format: InventoryFormat,
  scanned: InventoryScan): void {
  const firstBad = scanned.malformedSamples.map((s) => `\n  - ${s}`).join('');
  if (scanned.wholeFileError !== undefined) {
    throw new CliError(`${file} is not a complete inventory (read as ${format.toUpperCase()}): ${scanned.wholeFileError}; expected ${EXPECTED_INVENTORY}${firstBad}`);
  }
  const total = scanned.rows + scanned.malformedRows;
  const share = total === 0 ? 0 : scanned.malformedRows / total;
  if (scanned.rows === 0 && scanned.malformedRows > 0) {
    throw new CliError(`${file} has no readable archive row (read as ${format.toUpperCase()}, ${scanned.malformedRows} unreadable); expected ${EXPECTED_INVENTORY}${firstBad}`);
  }
  if (share > MAX_BAD_ROW_SHARE) {
    throw new CliError(`${file}: ${scanned.malformedRows.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows (${(share * 100).toFixed(1)} %) cannot be read, `
      + `more than the ${MAX_BAD_ROW_SHARE * 100} % an estimate tolerates; expected ${EXPECTED_INVENTORY}. First unreadable rows:${firstBad}`);
  }
}

/** Read the inventory, estimate, and render the report. */
export async function runEstimate(options: EstimateOptions): Promise<EstimateResult> {
  if (!options.inventory) throw new CliError('--inventory FILE is required');
  if (options.region !== undefined && options.region.trim() !== PRICES_REGION) {
    throw new CliError(`--region ${options.region}: only ${PRICES_REGION} prices are known (list prices as of ${PRICES_AS_OF}); `
      + `run without --region for a ${PRICES_REGION} estimate and compare with that region's price pages`);
  }
  const tier = parseTier(options.tier ?? RetrievalTier.BULK);
  const storageClass = parseStorageClass(options.storageClass ?? DestinationStorageClass.DEEP_ARCHIVE);
  const dailyQuotaBytes = parseDailyQuotaTib(options.dailyQuotaTib ?? 100);
  const chunkSizeBytes = parseChunkSizeMib(options.chunkSizeMib ?? 1024);
  await checkReadable(options.inventory);
  const format = options.format !== undefined ? parseFormat(options.format) : await detectFormat(options.inventory);

  let scanned;
  try {
    scanned = await summarizeInventory(createReadStream(options.inventory), format, chunkSizeBytes);
  } catch (e) {
    throw new CliError(`cannot parse ${format.toUpperCase()} inventory ${options.inventory}: ${(e as Error).message}`);
  }
  refuseUnlessInventory(options.inventory, format, scanned);
  const estimate = estimateCost({
    archives: scanned.summary,
    tier,
    storageClass,
    dailyQuotaBytes,
    crossRegion: options.crossRegion,
  });
  const head = [
    `Inventory: ${options.inventory} (${format.toUpperCase()}), ${scanned.rows.toLocaleString('en-US')} archive row(s), `
      + `${fmtBytes(estimate.totalBytes)}`,
  ];
  if (scanned.csvQuoting?.quoting === 'rfc4180') {
    head.push(`Quoting: RFC 4180 ("" inside quoted descriptions, first at line ${scanned.csvQuoting.row}), not Glacier's \\". `
      + 'As a provided inventory of a transfer, write it back in Glacier\'s dialect first: the transfer reads only that, '
        + 'and its rows quoted with "" would become FAILED archives (unreadable inventory rows).');
  }
  if (scanned.malformedRows > 0) {
    head.push(`Malformed rows skipped: ${scanned.malformedRows.toLocaleString('en-US')} (not included in the estimate)`);
    for (const s of scanned.malformedSamples) head.push(`  - ${s}`);
    if (scanned.malformedRows > scanned.malformedSamples.length) head.push(`  - ... and ${scanned.malformedRows - scanned.malformedSamples.length} more`);
  }
  const text = `${head.join('\n')}\n\n${formatEstimate(estimate)}\n`;
  const { rows, malformedRows, malformedSamples, csvQuoting } = scanned;
  return { estimate, format, rows, malformedRows, malformedSamples, csvQuoting, text };
}
