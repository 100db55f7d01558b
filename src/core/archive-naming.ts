import { Readable } from 'stream';
import { parse } from 'csv-parse';
import { decodeDescription, DecodedDescription, DescriptionFormat, trimAscii } from './description-formats';
import { assertValidKeyPrefix, fitName, MAX_KEY_BYTES, sanitizePath, sha256Hex, utf8Length } from './safe-key';
import { parseUtcTimestamp, utcSortKey } from './utc-timestamp';

/**
 * Archive naming: from a Glacier archive (id, description, creation date) to its S3 key.
 *
 * Pure functions, no AWS calls. The Glue job applies the same rules (glue/archive_naming.py) and
 * both run test/fixtures/naming-conformance.json. See description-formats.ts for the description
 * formats and safe-key.ts for the sanitising and truncation rules.
 *
 * ## Which path names an archive
 * 1. a naming override (`GlacierArchiveID,FileName` CSV) whose FileName, trimmed of ASCII
 *    whitespace like a plain description, sanitises to something non-empty;
 * 2. otherwise a description that claims a format but cannot be decoded: `00error/<ArchiveId>`;
 * 3. otherwise the decoded path, sanitised; if nothing is left: `00undefined/<ArchiveId>`.
 * The key is `prefix + fitName(name, 1024 - bytes(prefix))`.
 *
 * ## Duplicates (several archives with the same key)
 * Every distinct key computed above is kept by its owner: the archive that comes first in the
 * order (CreationDate instant, then ArchiveId by code point). Every other archive of the group is
 * renamed by inserting ` (<CreationDate as YYYY-MM-DDTHHMMSSZ> <hex>)` before the extension
 * (`photo.jpg` → `photo (2019-01-21T085242Z 1a2b3c4d).jpg`), where `<hex>` starts with
 * SHA-256(ArchiveId). The extension is the last `.` plus 1–16 characters other than `.`, `/` and
 * space, when that dot is not the first character of the last segment; without one the tag is
 * appended. The result is re-fitted to the byte budget (the truncation hash then covers the tag).
 *
 * The renamed candidate can itself be taken, so candidates are settled in rounds, level 0, 1, …:
 * - level L < 4 uses the first 8·2^L hex digits (8, 16, 32, 64); level L ≥ 4 uses all 64 plus
 *   ` <L-2>` (` (… <64 hex> 2)`, ` 3`, …);
 * - `taken` starts as the set of all base keys;
 * - at each level the still-unnamed archives are grouped by candidate; the first archive of a
 *   group in (CreationDate, ArchiveId) order gets the candidate unless it is in `taken`; winners
 *   are added to `taken`; everyone else goes on to the next level.
 * Nothing depends on input order, so the result is stable across re-runs and resumes.
 *
 * ## Kept keys (Resume)
 * An archive already downloaded by an earlier execution of the run is *kept*: its base key is the
 * key its object was written to, and it owns that key whatever the order (its object is already
 * there). It is never renamed; the others of its group are renamed as above. (Two kept archives
 * with one key, impossible in a run, would both keep it.)
 *
 * A sort-based engine (Spark) reproduces it with: a window partitioned by base key ordered by
 * (creation sort key, ArchiveId) → row 1 keeps the base key; then, for the rest, per level: compute
 * the candidate, left-join with the taken keys, a window partitioned by candidate with the same
 * order → row 1 and not taken wins; repeat while rows remain (one level in practice).
 */

export { decodeDescription } from './description-formats';
export type { DecodedDescription, DescriptionFormat } from './description-formats';
export { MAX_KEY_BYTES, MAX_PREFIX_BYTES, sanitizePath, fitName, assertValidKeyPrefix } from './safe-key';

/** An archive as listed in the inventory (only what naming needs). */
export interface ArchiveToName {
  readonly archiveId: string;
  readonly description: string;
  /** Inventory CreationDate; not used for the base key, only for duplicates. */
  readonly creationDate?: string;
}

export interface KeyOptions {
  /** Destination prefix, used verbatim (may be `''`); see {@link assertValidKeyPrefix}. */
  readonly prefix: string;
  /** FileName from the naming override CSV for this archive, if any. */
  readonly override?: string;
}

/** Where the name in a key came from. */
export type KeySource = 'override' | 'description' | 'undefined' | 'error';

export interface ArchiveKey {
  /** Full object key, prefix included, at most 1,024 UTF-8 bytes. */
  readonly key: string;
  readonly source: KeySource;
  /** Description format recognised (decoded even when an override names the archive). */
  readonly format: DescriptionFormat;
  /** Last-modified time from the description, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly lastModified?: string;
  /** Why the description could not be decoded (`source` is then `error` unless overridden). */
  readonly error?: string;
}

/** An archive whose base key is known, input of {@link assignUniqueKeys}. */
export interface KeyedArchive {
  readonly archiveId: string;
  /** Inventory CreationDate (ISO-8601 UTC). */
  readonly creationDate: string;
  /** Base key from {@link keyForArchive}, prefix included. */
  readonly key: string;
  /** Already downloaded under `key` (Resume): owns `key` whatever the order. See the module comment. */
  readonly kept?: boolean;
}

export interface UniqueKey {
  readonly archiveId: string;
  /** Final key, unique across the records given. */
  readonly key: string;
  /** True when `key` differs from the base key because another archive owns it. */
  readonly renamed: boolean;
}

function nameBudget(prefix: string): number {
  return MAX_KEY_BYTES - utf8Length(prefix);
}

/** `prefix` + a sanitised name fitted into the rest of the 1,024 bytes. */
function fitKey(name: string, prefix: string): string {
  return prefix + fitName(name, nameBudget(prefix));
}

function fallbackName(folder: '00undefined' | '00error', archiveId: string): string {
  return sanitizePath(`${folder}/${archiveId}`);
}

/**
 * Safe key for a path: `prefix` + the sanitised path, fitted into 1,024 bytes; `prefix +
 * 00undefined/<archiveId>` when nothing is left of the path.
 */
export function toSafeKey(path: string, archiveId: string, prefix: string): string {
  assertValidKeyPrefix(prefix);
  const name = sanitizePath(path);
  return fitKey(name !== '' ? name : fallbackName('00undefined', archiveId), prefix);
}

/** The base key of one archive (before duplicates are resolved), with what the description said. */
export function keyForArchive(archive: ArchiveToName, options: KeyOptions): ArchiveKey {
  const { prefix, override } = options;
  assertValidKeyPrefix(prefix);
  const decoded: DecodedDescription = decodeDescription(archive.description);
  const extra = {
    format: decoded.format,
    ...(decoded.lastModified !== undefined && { lastModified: decoded.lastModified }),
    ...(decoded.error !== undefined && { error: decoded.error }),
  };
  const overrideName = override === undefined ? '' : sanitizePath(trimAscii(override));
  if (overrideName !== '') return { key: fitKey(overrideName, prefix), source: 'override', ...extra };
  if (decoded.error !== undefined) {
    return { key: fitKey(fallbackName('00error', archive.archiveId), prefix), source: 'error', ...extra };
  }
  const name = sanitizePath(decoded.path);
  if (name === '') return { key: fitKey(fallbackName('00undefined', archive.archiveId), prefix), source: 'undefined', ...extra };
  return { key: fitKey(name, prefix), source: 'description', ...extra };
}

const EXTENSION = /(?<=[^/])\.[^./ ]{1,16}$/u;

/** Inserts `tag` before the extension of the last segment of `name` (or at the end). */
export function insertBeforeExtension(name: string, tag: string): string {
  const m = EXTENSION.exec(name);
  return m ? name.slice(0, m.index) + tag + name.slice(m.index) : name + tag;
}

/**
 * Candidate key of a renamed duplicate at `level` (0 first); see the module comment.
 * `baseKey` must start with `prefix`.
 */
export function duplicateCandidate(baseKey: string, archiveId: string, creationDate: string, level: number, prefix: string): string {
  const created = parseUtcTimestamp(creationDate);
  if (!created) throw new Error(`Invalid CreationDate ${JSON.stringify(creationDate)} for archive ${archiveId}`);
  if (!baseKey.startsWith(prefix)) throw new Error(`Key ${JSON.stringify(baseKey)} does not start with prefix ${JSON.stringify(prefix)}`);
  const hex = sha256Hex(archiveId);
  const tag = level < 4 ? `${created.compact} ${hex.slice(0, 8 * 2 ** level)}` : `${created.compact} ${hex} ${level - 2}`;
  return fitKey(insertBeforeExtension(baseKey.slice(prefix.length), ` (${tag})`), prefix);
}

/** Order by code point (what Python and Spark use), not by UTF-16 code unit. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const xSurrogate = x >= 0xd800 && x <= 0xdfff;
      const ySurrogate = y >= 0xd800 && y <= 0xdfff;
      if (xSurrogate === ySurrogate) return x - y;
      return xSurrogate ? 1 : -1;
    }
  }
  return a.length - b.length;
}

interface Entry {
  readonly record: KeyedArchive;
  readonly index: number;
  readonly sortKey: string;
}

function compareEntries(a: Entry, b: Entry): number {
  if (Boolean(a.record.kept) !== Boolean(b.record.kept)) return a.record.kept ? -1 : 1;
  if (a.sortKey !== b.sortKey) return a.sortKey < b.sortKey ? -1 : 1;
  return compareCodePoints(a.record.archiveId, b.record.archiveId);
}

function groupBy(entries: Iterable<Entry>, keyOf: (e: Entry) => string): Map<string, Entry[]> {
  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const k = keyOf(e);
    const group = groups.get(k);
    if (group) group.push(e);
    else groups.set(k, [e]);
  }
  for (const group of groups.values()) if (group.length > 1) group.sort(compareEntries);
  return groups;
}

/**
 * Final, unique keys for a whole set of archives (the duplicate rule in the module comment).
 * Returns one entry per record, in input order. Throws on an invalid CreationDate, a key that
 * does not start with `prefix`, or an ArchiveId listed twice.
 */
export function assignUniqueKeys(records: readonly KeyedArchive[], options: { readonly prefix: string }): UniqueKey[] {
  const { prefix } = options;
  assertValidKeyPrefix(prefix);
  const ids = new Set<string>();
  const entries = records.map((record, index): Entry => {
    const sortKey = utcSortKey(record.creationDate);
    if (sortKey === undefined) throw new Error(`Invalid CreationDate ${JSON.stringify(record.creationDate)} for archive ${record.archiveId}`);
    if (!record.key.startsWith(prefix)) throw new Error(`Key of archive ${record.archiveId} does not start with the prefix`);
    if (ids.has(record.archiveId)) throw new Error(`Archive ${record.archiveId} is listed twice`);
    ids.add(record.archiveId);
    return { record, index, sortKey };
  });

  const keys: string[] = new Array<string>(records.length);
  const byBaseKey = groupBy(entries, (e) => e.record.key);
  const taken = new Set<string>(byBaseKey.keys());
  let pending: Entry[] = [];
  for (const [key, group] of byBaseKey) {
    keys[group[0].index] = key;
    for (let i = 1; i < group.length; i++) {
      if (group[i].record.kept) keys[group[i].index] = key;
      else pending.push(group[i]);
    }
  }
  for (let level = 0; pending.length > 0; level++) {
    const next: Entry[] = [];
    const byCandidate = groupBy(pending, (e) =>
      duplicateCandidate(e.record.key, e.record.archiveId, e.record.creationDate, level, prefix));
    for (const [candidate, group] of byCandidate) {
      let first = 0;
      if (!taken.has(candidate)) {
        keys[group[0].index] = candidate;
        taken.add(candidate);
        first = 1;
      }
      for (let i = first; i < group.length; i++) next.push(group[i]);
    }
    pending = next;
  }
  return records.map((r, i) => ({ archiveId: r.archiveId, key: keys[i], renamed: keys[i] !== r.key }));
}

/** One row of a naming override CSV: its ArchiveId, FileName (may be blank) and line number. */
export interface NamingOverrideRow {
  readonly archiveId: string;
  readonly fileName: string;
  readonly line: number;
}

/**
 * The rows of a naming override CSV (RFC 4180, header with `GlacierArchiveID` and `FileName`
 * columns in any order and ASCII case, optional UTF-8 BOM), streamed: nothing but the current row
 * is held. Rows whose ArchiveId is blank are left out. Throws on a missing column or a malformed
 * CSV.
 */
export async function* namingOverrideRows(source: string | Uint8Array | AsyncIterable<string | Uint8Array>): AsyncGenerator<NamingOverrideRow> {
  const input = typeof source === 'string' || source instanceof Uint8Array ? Readable.from([source]) : Readable.from(source);
  const parser = input.pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }));
  input.on('error', (e) => parser.destroy(e));
  let idColumn = -1;
  let nameColumn = -1;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    if (idColumn < 0) {
      const names = record.map((h) => h.trim().toLowerCase());
      idColumn = names.indexOf('glacierarchiveid');
      nameColumn = names.indexOf('filename');
      if (idColumn < 0 || nameColumn < 0) throw new Error('Naming override CSV: the header needs GlacierArchiveID and FileName columns');
      continue;
    }
    const archiveId = (record[idColumn] ?? '').trim();
    if (archiveId !== '') yield { archiveId, fileName: record[nameColumn] ?? '', line: info.lines };
  }
  if (idColumn < 0) throw new Error('Naming override CSV: the header needs GlacierArchiveID and FileName columns');
}

/**
 * Reads a naming override CSV ({@link namingOverrideRows}) into ArchiveId → FileName. Rows whose
 * FileName is blank are left out so the description names the archive. Throws on a missing
 * column, a malformed CSV or an ArchiveId listed twice (with the line).
 */
export async function parseNamingOverrides(source: string | Uint8Array | AsyncIterable<string | Uint8Array>): Promise<Map<string, string>> {
  const overrides = new Map<string, string>();
  const seen = new Set<string>();
  for await (const { archiveId, fileName, line } of namingOverrideRows(source)) {
    if (seen.has(archiveId)) throw new Error(`Naming override CSV line ${line}: GlacierArchiveID ${archiveId} is listed twice`);
    seen.add(archiveId);
    if (fileName.trim() !== '') overrides.set(archiveId, fileName);
  }
  return overrides;
}
