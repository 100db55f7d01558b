import { hash } from 'crypto';
import { Readable } from 'stream';
import { StringDecoder } from 'string_decoder';
import { parser as jsonParser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { isUtcTimestamp } from './utc-timestamp';

/**
 * Streaming parsers for Glacier vault inventories (CSV and JSON).
 *
 * Both yield one record per archive, in file order: either a validated {@link InventoryArchive} or
 * an {@link InventoryRowError} that says which row is wrong and why. A bad row never stops the
 * iteration and is never skipped silently; a file that ends in the middle of a row yields an error
 * for that row. Memory does not grow with the file, except for the set of ArchiveIds seen (16 bytes
 * of digest per archive), which is how a repeated ArchiveId is reported.
 *
 * ## The CSV dialect
 * Glacier writes `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash`; a field that holds
 * a comma or a double quote is wrapped in double quotes and each `"` in it becomes `\"`; a backslash
 * is NOT doubled (AWS's own example: `my archive description,1\"2` is written
 * `"my archive description,1\\"2"`). A generic CSV reader with `\` as escape character (csv-parse
 * `escape: '\\'`, OpenCSV) therefore corrupts descriptions: it drops every backslash in a quoted
 * field (`"C:\dir, x"` → `C:dir, x`), reads `\\"` as an escaped backslash followed by a closing
 * quote, and after such an error resynchronises by swallowing the following lines. So this parser
 * reads the dialect exactly:
 * - one archive per line (descriptions are printable ASCII, so a row never spans lines); `\n` or
 *   `\r\n`; an optional UTF-8 BOM; blank lines ignored;
 * - only the description can hold commas or quotes, so the other four fields are taken by commas
 *   from both ends of the line and the description is what lies between;
 * - a quoted field must end with `"`; inside it every `"` must be escaped as `\"`, and `\"` is
 *   the only escape (every other backslash is literal). This decoding is exact, even for a
 *   description ending with a backslash;
 * - with the `csvQuoting: 'detect'` option (the estimate CLI), RFC 4180 `""` quoting is read as
 *   well, decided per file (see descriptionOf); the transfer's engines read Glacier's dialect only;
 * - the header names the columns (any order, any ASCII case, quoted or not). A file without a
 *   header whose first line is a valid archive is read in Glacier's column order.
 *
 * ## Validation (both formats)
 * ArchiveId non-empty and free of whitespace and control characters; CreationDate an ISO-8601 UTC
 * timestamp (see utc-timestamp.ts); Size a non-negative safe integer; SHA256TreeHash 64 hex digits
 * (returned lowercase); ArchiveId not seen before in the file.
 */

export const INVENTORY_COLUMNS = ['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash'] as const;

/** One archive of the inventory, validated. */
export interface InventoryArchive {
  readonly kind: 'archive';
  /** CSV: 1-based line number (the header is line 1). JSON: 1-based position in `ArchiveList`. */
  readonly row: number;
  readonly archiveId: string;
  readonly description: string;
  /** As written in the inventory (validated ISO-8601 UTC). */
  readonly creationDate: string;
  /** Bytes. */
  readonly size: number;
  /** Lowercase hex SHA-256 tree hash. */
  readonly treeHash: string;
}

const EMPTY_INVENTORY = 'empty inventory: no header line';
const TRUNCATED_JSON = 'malformed or truncated JSON';

/**
 * Whether an error is about the file as a whole rather than one row: an empty file, or JSON that
 * breaks off (nothing after it was read). Such an inventory cannot be trusted for any total.
 */
export function isWholeFileError(error: InventoryRowError): boolean {
  return error.row === 0 || error.message.startsWith(TRUNCATED_JSON);
}

/** A row that could not be read; the iteration goes on after it. */
export interface InventoryRowError {
  readonly kind: 'error';
  /** Same numbering as {@link InventoryArchive.row}; 0 when the problem is the file as a whole. */
  readonly row: number;
  readonly message: string;
  /**
   * The row's ArchiveId when the row could be split into fields and its ArchiveId is valid (a bad
   * CreationDate, Size or tree hash, or a repeated id); absent when the id itself is unknown.
   */
  readonly archiveId?: string;
  /** The offending line or JSON element (cut to 2,048 characters). */
  readonly raw: string;
}

export type InventoryRecord = InventoryArchive | InventoryRowError;
export type InventoryFormat = 'csv' | 'json';
/** Bytes or text in pieces: a `Readable`, an async generator, an array. */
export type InventorySource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export interface InventoryParseOptions {
  /** Longest CSV line accepted, in characters (default 65,536; real rows stay under ~2,500). */
  readonly maxLineLength?: number;
  /**
   * CSV quoting inside ArchiveDescription: `glacier` (default) reads only Glacier's `\"` escapes,
   * as the transfer's engines do (the Glue engine reads the same dialect); `detect` also reads
   * RFC 4180 `""` quoting and decides per file, at the first description holding a quote (then
   * a row quoted the other way is an error).
   */
  readonly csvQuoting?: CsvQuoting | 'detect';
  /** With `detect`: called once when the file's quoting is decided, with the line that decided it. */
  readonly onCsvQuoting?: (quoting: CsvQuoting, row: number) => void;
}

const DEFAULT_MAX_LINE = 65_536;
const MAX_RAW = 2_048;
const TREE_HASH = /^[0-9a-fA-F]{64}$/;
const DIGITS = /^[0-9]+$/;
const UPPER_HEX = /[A-F]/;
// eslint-disable-next-line no-control-regex
const BAD_ID_CHARACTER = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

function clip(text: string): string {
  return text.length > MAX_RAW ? text.slice(0, MAX_RAW) : text;
}

/**
 * ArchiveIds seen so far, as 16-byte MD5 digests (an id is ~138 characters). Sharded because one
 * V8 Set holds at most 2^24 entries; 16 shards cover 268 million archives.
 */
class SeenArchiveIds {
  private readonly shards: Array<Set<string>> = Array.from({ length: 16 }, () => new Set<string>());

  /** Adds the id; false when it was already there. */
  public add(archiveId: string): boolean {
    const digest = hash('md5', archiveId, 'binary');
    const shard = this.shards[digest.charCodeAt(0) % 16];
    if (shard.has(digest)) return false;
    shard.add(digest);
    return true;
  }
}

/** Field values of one row before validation; `size` is text in CSV and usually a number in JSON. */
interface RowFields {
  readonly archiveId: unknown;
  readonly description: unknown;
  readonly creationDate: unknown;
  readonly size: unknown;
  readonly treeHash: unknown;
}

function rowError(row: number, message: string, raw: unknown, archiveId?: string): InventoryRowError {
  const text = clip(typeof raw === 'string' ? raw : JSON.stringify(raw) ?? '');
  return archiveId === undefined ? { kind: 'error', row, message, raw: text } : { kind: 'error', row, message, archiveId, raw: text };
}

class RowValidator {
  private readonly seen = new SeenArchiveIds();

  /** `raw` is the CSV line or the JSON element, used for the error record only. */
  public check(row: number, f: RowFields, raw: unknown): InventoryRecord {
    const { archiveId, creationDate, size, treeHash } = f;
    const description = f.description ?? '';
    if (typeof archiveId !== 'string' || archiveId === '') return rowError(row, 'empty ArchiveId', raw);
    if (BAD_ID_CHARACTER.test(archiveId)) return rowError(row, 'ArchiveId contains whitespace or control characters', raw);
    if (typeof description !== 'string') return rowError(row, 'ArchiveDescription is not a string', raw, archiveId);
    if (typeof creationDate !== 'string' || !isUtcTimestamp(creationDate)) {
      return rowError(row, `invalid CreationDate ${JSON.stringify(creationDate)}: expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z`, raw, archiveId);
    }
    let bytes: number;
    if (typeof size === 'number') bytes = size;
    else if (typeof size === 'string' && DIGITS.test(size)) bytes = Number(size);
    else bytes = NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      const negative = (typeof size === 'number' && size < 0) || (typeof size === 'string' && /^-[0-9]/.test(size));
      return rowError(row, `invalid Size ${JSON.stringify(size)}: ${negative ? 'negative' : 'expected a whole number of bytes'}`, raw, archiveId);
    }
    if (typeof treeHash !== 'string' || !TREE_HASH.test(treeHash)) {
      return rowError(row, `invalid SHA256TreeHash ${JSON.stringify(treeHash)}: expected 64 hex digits`, raw, archiveId);
    }
    if (!this.seen.add(archiveId)) return rowError(row, `duplicate ArchiveId ${archiveId} (listed on an earlier row)`, raw, archiveId);
    const lower = UPPER_HEX.test(treeHash) ? treeHash.toLowerCase() : treeHash;
    return { kind: 'archive', row, archiveId, description, creationDate, size: bytes, treeHash: lower };
  }
}

// ------------------------------------------------------------------------------------------------
// CSV

/** Positions of the five columns in a line: `positions[i]` is where INVENTORY_COLUMNS[i] sits. */
type Layout = readonly number[];
const GLACIER_LAYOUT: Layout = [0, 1, 2, 3, 4];

function unquoteSimple(cell: string): string {
  return cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1) : cell;
}

function headerLayout(line: string): Layout | undefined {
  const names = line.split(',').map((c) => unquoteSimple(c.trim()).toLowerCase());
  if (names.length !== INVENTORY_COLUMNS.length) return undefined;
  const positions = INVENTORY_COLUMNS.map((c) => names.indexOf(c.toLowerCase()));
  return positions.includes(-1) ? undefined : positions;
}

/** Quotes that are not preceded by a backslash: odd means a quoted field was left open. */
function openQuote(line: string): boolean {
  let count = 0;
  for (let i = line.indexOf('"'); i >= 0; i = line.indexOf('"', i + 1)) if (i === 0 || line[i - 1] !== '\\') count++;
  return count % 2 === 1;
}

function columnCountError(line: string): string {
  if (openQuote(line)) return 'unterminated quoted field (is the file truncated?)';
  return `expected ${INVENTORY_COLUMNS.length} columns, found ${line.split(',').length}`;
}

/**
 * How quotes inside a quoted ArchiveDescription are escaped: `glacier` = `\"` (what Glacier writes),
 * `rfc4180` = `""` (RFC 4180, what spreadsheets and most CSV libraries write).
 */
export type CsvQuoting = 'glacier' | 'rfc4180';

/** Inner text of a quoted field with Glacier's `\"` escapes decoded, or undefined when a `"` is not escaped. */
function decodeGlacierQuoted(inner: string): string | undefined {
  for (let i = inner.indexOf('"'); i >= 0; i = inner.indexOf('"', i + 1)) {
    if (i === 0 || inner[i - 1] !== '\\') return undefined;
  }
  return inner.includes('"') ? inner.replace(/\\"/g, '"') : inner;
}

/** Inner text of a quoted field with RFC 4180 `""` pairs decoded, or undefined when a `"` is not doubled. */
function decodeRfc4180Quoted(inner: string): string | undefined {
  for (let i = inner.indexOf('"'); i >= 0; i = inner.indexOf('"', i + 2)) {
    if (inner[i + 1] !== '"') return undefined;
  }
  return inner.replace(/""/g, '"');
}

/** A decoded description, and the quoting it proves when it holds a quote (a quote decodes in one dialect at most). */
interface Description {
  readonly value: string;
  readonly proves?: CsvQuoting;
}

/**
 * Decodes the description field (quoted, or bare); an error message otherwise. `quoting` is the
 * file's dialect, or undefined while a detecting parser has not met a quote inside a description.
 * A quote inside a quoted field is never valid in both dialects (`\"` leaves a lone `"`, which RFC
 * 4180 refuses; a `""` pair has a quote not preceded by `\`, which Glacier's dialect refuses), so
 * the first such field decides the file's dialect exactly, and every earlier row decoded the same
 * way in both.
 */
function descriptionOf(cell: string, line: string, quoting: CsvQuoting | undefined): Description | { error: string } {
  if (!cell.startsWith('"')) {
    if (cell.includes(',')) return { error: columnCountError(line) };
    return cell.includes('"') ? { error: 'unexpected quote in unquoted ArchiveDescription' } : { value: cell };
  }
  if (cell.length < 2 || !cell.endsWith('"')) {
    return { error: openQuote(line) ? columnCountError(line) : 'text after the closing quote of ArchiveDescription' };
  }
  const inner = cell.slice(1, -1);
  if (!inner.includes('"')) return { value: inner };
  const glacier = quoting === 'rfc4180' ? undefined : decodeGlacierQuoted(inner);
  if (glacier !== undefined) return { value: glacier, proves: 'glacier' };
  const rfc = quoting === 'glacier' ? undefined : decodeRfc4180Quoted(inner);
  if (rfc !== undefined) return { value: rfc, proves: 'rfc4180' };
  if (quoting === 'rfc4180') {
    return { error: 'quote inside the quoted ArchiveDescription not doubled (this file uses RFC 4180 "" quoting), or too many columns' };
  }
  return { error: 'unescaped quote inside the quoted ArchiveDescription (Glacier writes \\"), or too many columns' };
}

/** The five cells of a line in INVENTORY_COLUMNS order (and the quoting its description proves), or why it cannot be split. */
function splitLine(line: string, layout: Layout, quoting: CsvQuoting | undefined): { cells: string[]; proves?: CsvQuoting } | { error: string } {
  const descAt = layout[1];
  const cells: string[] = new Array<string>(INVENTORY_COLUMNS.length);
  let start = 0;
  for (let p = 0; p < descAt; p++) {
    const comma = line.indexOf(',', start);
    if (comma < 0) return { error: columnCountError(line) };
    cells[p] = line.slice(start, comma);
    start = comma + 1;
  }
  let end = line.length;
  for (let p = INVENTORY_COLUMNS.length - 1; p > descAt; p--) {
    const comma = end > start ? line.lastIndexOf(',', end - 1) : -1;
    if (comma < start) return { error: columnCountError(line) };
    cells[p] = line.slice(comma + 1, end);
    end = comma;
  }
  const description = descriptionOf(line.slice(start, end), line, quoting);
  if ('error' in description) return description;
  cells[descAt] = description.value;
  const byColumn = layout.map((p) => cells[p]);
  for (let c = 0; c < byColumn.length; c++) {
    if (c === 1) continue;
    const value = unquoteSimple(byColumn[c]);
    if (value.includes('"')) return { error: `unexpected quote in ${INVENTORY_COLUMNS[c]}` };
    byColumn[c] = value;
  }
  return { cells: byColumn, proves: description.proves };
}

function fieldsOf(cells: readonly string[]): RowFields {
  return { archiveId: cells[0], description: cells[1], creationDate: cells[2], size: cells[3], treeHash: cells[4] };
}

interface CsvState {
  layout?: Layout;
  /** The file's quoting; undefined until a detecting parser meets a quote inside a description. */
  quoting?: CsvQuoting;
  readonly onQuoting?: (quoting: CsvQuoting, row: number) => void;
  readonly validator: RowValidator;
}

/** Validates a split line and, for an archive, fixes the file's quoting when the line proved it. */
function checkRow(lineNo: number, split: { cells: string[]; proves?: CsvQuoting }, line: string, state: CsvState): InventoryRecord {
  const record = state.validator.check(lineNo, fieldsOf(split.cells), line);
  if (record.kind === 'archive' && state.quoting === undefined && split.proves !== undefined) {
    state.quoting = split.proves;
    state.onQuoting?.(split.proves, lineNo);
  }
  return record;
}

/** The record for one non-empty line, or nothing for the header. */
function csvLine(line: string, lineNo: number, state: CsvState): InventoryRecord | undefined {
  if (state.layout === undefined) {
    state.layout = headerLayout(line);
    if (state.layout !== undefined) return undefined;
    // No header: read the first line as data if it is a valid archive in Glacier's order.
    state.layout = GLACIER_LAYOUT;
    const split = splitLine(line, GLACIER_LAYOUT, state.quoting);
    if (!('error' in split) && new RowValidator().check(lineNo, fieldsOf(split.cells), line).kind === 'archive') {
      return checkRow(lineNo, split, line, state);
    }
    return rowError(lineNo, `missing header: expected ${INVENTORY_COLUMNS.join(',')}`, line);
  }
  const split = splitLine(line, state.layout, state.quoting);
  if ('error' in split) return rowError(lineNo, split.error, line);
  return checkRow(lineNo, split, line, state);
}

/**
 * Splits text into lines as it streams in: each complete line is parsed into `out`, the unfinished
 * last one is kept, and a line longer than `maxLine` is reported once and then dropped as it arrives.
 */
class LineSplitter {
  private carry = '';
  private skipping = false;
  private lineNo = 0;
  private bomChecked = false;

  public constructor(private readonly maxLine: number, private readonly state: CsvState) {}

  public push(text: string, out: InventoryRecord[]): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.carry = '';
        continue;
      }
      const line = this.carry === '' ? piece : this.carry + piece;
      this.carry = '';
      this.line(line, out);
    }
    if (this.skipping) return;
    this.carry += text.slice(start);
    if (this.carry.length > this.maxLine) {
      this.line(this.carry, out);
      this.carry = '';
      this.skipping = true;
    }
  }

  public end(out: InventoryRecord[]): void {
    if (this.carry !== '' && !this.skipping) this.line(this.carry, out);
    this.carry = '';
    if (this.state.layout === undefined) out.push(rowError(0, EMPTY_INVENTORY, ''));
  }

  private line(raw: string, out: InventoryRecord[]): void {
    const lineNo = ++this.lineNo;
    if (raw.length > this.maxLine) {
      out.push(rowError(lineNo, `line longer than ${this.maxLine} characters`, raw));
      return;
    }
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!this.bomChecked) {
      this.bomChecked = true;
      if (line.startsWith('\ufeff')) line = line.slice(1);
    }
    if (line === '') return;
    const record = csvLine(line, lineNo, this.state);
    if (record) out.push(record);
  }
}

/**
 * Parses a Glacier CSV inventory (see the module comment for the dialect). Yields every archive and
 * every bad row, in file order.
 */
export async function* parseInventoryCsv(source: InventorySource, options: InventoryParseOptions = {}): AsyncGenerator<InventoryRecord> {
  const decoder = new StringDecoder('utf8');
  const quoting = options.csvQuoting ?? 'glacier';
  const lines = new LineSplitter(options.maxLineLength ?? DEFAULT_MAX_LINE, {
    validator: new RowValidator(),
    quoting: quoting === 'detect' ? undefined : quoting,
    onQuoting: options.onCsvQuoting,
  });
  let out: InventoryRecord[] = [];
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    lines.push(text, out);
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  lines.push(decoder.end(), out);
  lines.end(out);
  yield* out;
}

// ------------------------------------------------------------------------------------------------
// JSON

/**
 * Parses a Glacier JSON inventory `{VaultARN, InventoryDate, ArchiveList: [...]}`, streaming the
 * elements of `ArchiveList` one by one (the document is never held whole). A JSON syntax error or
 * a truncated file yields one final error record.
 */
export async function* parseInventoryJson(source: InventorySource): AsyncGenerator<InventoryRecord> {
  const validator = new RowValidator();
  let sawArchiveList = false;
  const input = source instanceof Readable ? source : Readable.from(source);
  const parser = jsonParser();
  const picker = pick({
    filter: (stack) => {
      const hit = stack.length === 1 && stack[0] === 'ArchiveList';
      if (hit) sawArchiveList = true;
      return hit;
    },
  });
  const items = streamArray();
  // Not `pipeline`: on a syntax error or a truncated file it would destroy every stage, dropping
  // the elements already parsed but not yet read (a truncated inventory then lost its valid rows).
  // Instead the first error is kept and the stages after it are ended, so what was parsed before
  // the error still comes through, followed by one error record.
  // A failing source (an S3 body reset) is not a problem of the file: it is thrown to the caller,
  // which retries, rather than reported as a truncated inventory that would then be processed.
  let failure: Error | undefined;
  let sourceFailure: Error | undefined;
  const fail = (stage: NodeJS.WritableStream | undefined) => (e: Error): void => {
    if (failure !== undefined) return;
    failure = e;
    stage?.end();
  };
  input.on('error', (e) => {
    sourceFailure ??= e;
    items.destroy(e);
  });
  parser.on('error', fail(picker));
  picker.on('error', fail(items));
  input.pipe(parser).pipe(picker).pipe(items);
  let row = 0;
  try {
    for await (const item of items as AsyncIterable<{ key: number; value: unknown }>) {
      row = item.key + 1;
      const v = item.value;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        yield rowError(row, 'ArchiveList element is not an object', v);
        continue;
      }
      const o = v as Record<string, unknown>;
      yield validator.check(row, {
        archiveId: o.ArchiveId, description: o.ArchiveDescription, creationDate: o.CreationDate, size: o.Size, treeHash: o.SHA256TreeHash,
      }, v);
    }
  } catch (e) {
    if (sourceFailure !== undefined) throw sourceFailure;
    failure ??= e instanceof Error ? e : new Error(String(e));
  } finally {
    input.destroy();
    parser.destroy();
    picker.destroy();
  }
  if (failure !== undefined) {
    yield { kind: 'error', row: row + 1, message: `${TRUNCATED_JSON} after row ${row}: ${failure.message}`, raw: '' };
    return;
  }
  if (!sawArchiveList) yield { kind: 'error', row: 0, message: 'not a Glacier JSON inventory: no ArchiveList', raw: '' };
}

// ------------------------------------------------------------------------------------------------
// Detection

/**
 * Format of an inventory from its first bytes: `json` when the first character after an optional
 * BOM and whitespace is `{`, `csv` when the first line holds a comma, otherwise `undefined`.
 */
export function detectInventoryFormat(head: Uint8Array | string): InventoryFormat | undefined {
  const text = (typeof head === 'string' ? head : Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8'))
    .replace(/^\ufeff/, '')
    .trimStart();
  if (text.startsWith('{')) return 'json';
  const firstLine = text.split('\n', 1)[0];
  return firstLine.includes(',') ? 'csv' : undefined;
}

/** Parses a CSV or JSON inventory, detected from its first non-blank bytes. */
export async function* parseInventory(source: InventorySource, options: InventoryParseOptions = {}): AsyncGenerator<InventoryRecord> {
  const iterator = (Symbol.asyncIterator in source
    ? (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array | string>)[Symbol.iterator]()) as AsyncIterator<Uint8Array | string> | Iterator<Uint8Array | string>;
  const head: Array<Uint8Array | string> = [];
  let headText = '';
  let done = false;
  // Read until the first line is complete (or 64 KiB), enough to tell the formats apart.
  while (!done && !headText.includes('\n') && headText.length < 65_536) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
    } else {
      head.push(next.value);
      headText += typeof next.value === 'string' ? next.value : Buffer.from(next.value).toString('utf8');
    }
  }
  async function* replay(): AsyncGenerator<Uint8Array | string> {
    try {
      yield* head;
      if (done) return;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    } finally {
      if (!done) await iterator.return?.();
    }
  }
  const format = detectInventoryFormat(headText);
  if (format === 'json') {
    yield* parseInventoryJson(replay());
  } else if (format === 'csv' || headText.trim() === '') {
    yield* parseInventoryCsv(replay(), options);
  } else {
    yield { kind: 'error', row: 0, message: 'unknown inventory format: expected Glacier CSV or JSON', raw: clip(headText.split('\n', 1)[0]) };
  }
}
