import { TextDecoder } from 'util';
import { parseUtcTimestamp } from './utc-timestamp';

/**
 * Decoding the archive descriptions written by common Glacier clients.
 *
 * Glacier only stores up to 1,024 printable ASCII characters per description, so clients encode
 * the original path. The description is first trimmed of ASCII whitespace (tab, LF, VT, FF, CR,
 * space), then the first matching rule wins:
 *
 * | format           | recognised by                                                  | path from                                   | lastModified from |
 * |------------------|----------------------------------------------------------------|---------------------------------------------|-------------------|
 * | `empty`          | nothing left after trimming                                    | –                                           | –                 |
 * | `fastglacier`    | `<m>` … `</m>` (v2–v4), optionally inside one pair of `"`      | `<p>`: standard base64 of UTF-8             | `<lm>`            |
 * | `fastglacier-v1` | `<ArchiveMetadata>` … `</ArchiveMetadata>`, same `"` allowance | `<Path>`: standard base64 of UTF-8          | –                 |
 * | `cloudberry`     | starts with `{` + optional JSON space + `"`, or `"{`, or `"\"{` | JSON object (after at most 2 string levels), first key equal to `path` ignoring ASCII case | key `utcdatemodified` (any ASCII case) |
 * | `mt2`            | `mt2` + spaces + payload                                       | base64url → UTF-8 JSON `filename`           | `mtime`           |
 * | `mt1`            | `mt1` + spaces + payload                                       | as mt2, but UTF-8 decoded twice             | `mtime`           |
 * | `plain`          | anything else (AWS CLI, boto, glacier-cli, console)            | the trimmed description                     | –                 |
 *
 * Base64 inside XML may contain ASCII whitespace (removed first); it must use the standard
 * alphabet, at most two `=` of padding (padding optional), and not leave a lone 6-bit group.
 * base64url (mt) must not contain whitespace. Decoded bytes must be valid UTF-8 (no BOM removal).
 * A description that matches a format but whose payload cannot be decoded (bad base64, bad UTF-8,
 * bad JSON, JSON nested deeper than 64 levels, missing path element or key, path not a string)
 * yields `error`. Timestamps that are missing or invalid are simply omitted.
 */

export type DescriptionFormat = 'empty' | 'plain' | 'fastglacier' | 'fastglacier-v1' | 'cloudberry' | 'mt2' | 'mt1';

/** What a description says about the original file. */
export interface DecodedDescription {
  readonly format: DescriptionFormat;
  /** The path as the client stored it, not yet sanitised; `''` when there is none or on error. */
  readonly path: string;
  /** Last-modified time carried by the description, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly lastModified?: string;
  /** Why a description that claims a format could not be decoded. */
  readonly error?: string;
}

/** Deepest JSON nesting accepted (keeps the Python twin away from its recursion limit). */
const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class DecodeError extends Error {}

/** `text` without leading and trailing ASCII whitespace (tab, LF, VT, FF, CR, space). */
export function trimAscii(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiSpace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8`);
  }
}

function decodeBase64(text: string, url: boolean, what: string): Buffer {
  const compact = url ? text : text.replace(/[\t\n\v\f\r ]+/g, '');
  const alphabet = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  const body = compact.replace(/=+$/, '');
  const padded = compact.length !== body.length;
  if (!alphabet.test(compact) || body.length % 4 === 1 || (padded && compact.length % 4 !== 0)) {
    throw new DecodeError(`${what} is not valid ${url ? 'base64url' : 'base64'}`);
  }
  return Buffer.from(body, url ? 'base64url' : 'base64');
}

function lastModifiedOf(value: unknown): string | undefined {
  return typeof value === 'string' ? parseUtcTimestamp(trimAscii(value))?.iso : undefined;
}

/** Maximum bracket depth of a JSON text, skipping string contents. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      max = Math.max(max, ++depth);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

function parseJson(text: string, what: string): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new DecodeError(`${what} is nested too deeply`);
  try {
    return JSON.parse(text);
  } catch {
    throw new DecodeError(`${what} is not valid JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Value of the first key equal to `lowerName` ignoring ASCII case, in key order. */
function getIgnoringAsciiCase(obj: Record<string, unknown>, lowerName: string): unknown {
  for (const key of Object.keys(obj)) {
    if (key.length === lowerName.length && ASCII.test(key) && key.toLowerCase() === lowerName) return obj[key];
  }
  return undefined;
}

const ASCII = /^[\u0000-\u007f]*$/;
const ELEMENTS = { p: /<p>([^<]*)<\/p>/, Path: /<Path>([^<]*)<\/Path>/, lm: /<lm>([^<]*)<\/lm>/ };

function element(xml: string, tag: keyof typeof ELEMENTS): string | undefined {
  const m = ELEMENTS[tag].exec(xml);
  return m ? m[1] : undefined;
}

function decodeFastGlacier(xml: string, v1: boolean): DecodedDescription {
  const format: DescriptionFormat = v1 ? 'fastglacier-v1' : 'fastglacier';
  const tag = v1 ? 'Path' : 'p';
  const encoded = element(xml, tag);
  if (encoded === undefined) throw new DecodeError(`no <${tag}> element`);
  const path = decodeUtf8(decodeBase64(encoded, false, `<${tag}>`), `<${tag}>`);
  const lastModified = v1 ? undefined : lastModifiedOf(element(xml, 'lm'));
  return lastModified === undefined ? { format, path } : { format, path, lastModified };
}

function decodeCloudBerry(text: string): DecodedDescription {
  let value = parseJson(text, 'JSON description');
  for (let level = 0; level < 2 && typeof value === 'string'; level++) value = parseJson(value, 'JSON description');
  if (!isObject(value)) throw new DecodeError('JSON description is not an object');
  const path = getIgnoringAsciiCase(value, 'path');
  if (path === undefined) throw new DecodeError('JSON description has no Path');
  if (typeof path !== 'string') throw new DecodeError('JSON description Path is not a string');
  const lastModified = lastModifiedOf(getIgnoringAsciiCase(value, 'utcdatemodified'));
  return lastModified === undefined ? { format: 'cloudberry', path } : { format: 'cloudberry', path, lastModified };
}

function decodeMtAwsGlacier(format: 'mt1' | 'mt2', payload: string): DecodedDescription {
  let text = decodeUtf8(decodeBase64(payload, true, `${format} payload`), `${format} payload`);
  if (format === 'mt1') {
    // mt1 UTF-8-encoded the UTF-8 bytes once more as if they were Latin-1: undo that.
    if (/[^\u0000-\u00ff]/.test(text)) throw new DecodeError('mt1 payload is not double-encoded UTF-8');
    text = decodeUtf8(Buffer.from(text, 'latin1'), 'mt1 payload');
  }
  const value = parseJson(text, `${format} payload`);
  if (!isObject(value)) throw new DecodeError(`${format} payload is not a JSON object`);
  if (typeof value.filename !== 'string') throw new DecodeError(`${format} payload has no filename`);
  const lastModified = lastModifiedOf(value.mtime);
  return lastModified === undefined ? { format, path: value.filename } : { format, path: value.filename, lastModified };
}

/** Strips one pair of surrounding double quotes (some tools quote FastGlacier XML). */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? trimAscii(text.slice(1, -1)) : text;
}

/** Runs a decoder; a payload that cannot be decoded becomes an `error` of the claimed format. */
function attempt(format: DescriptionFormat, decode: () => DecodedDescription): DecodedDescription {
  try {
    return decode();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { format, path: '', error: e.message };
  }
}

/**
 * Recovers the original path (and last-modified time, where the format carries one) from an
 * archive description. Never throws on any string input.
 */
export function decodeDescription(description: string): DecodedDescription {
  const text = trimAscii(description);
  if (text === '') return { format: 'empty', path: '' };
  const xml = unquote(text);
  if (xml.startsWith('<m>') && xml.endsWith('</m>')) return attempt('fastglacier', () => decodeFastGlacier(xml, false));
  if (xml.startsWith('<ArchiveMetadata>') && xml.endsWith('</ArchiveMetadata>')) {
    return attempt('fastglacier-v1', () => decodeFastGlacier(xml, true));
  }
  if (/^(?:\{[\t\n\r ]*"|"\{|"\\"\{)/.test(text)) return attempt('cloudberry', () => decodeCloudBerry(text));
  const mt = /^mt([12]) +([^]*)$/.exec(text);
  if (mt) {
    const format = mt[1] === '1' ? 'mt1' : 'mt2';
    return attempt(format, () => decodeMtAwsGlacier(format, mt[2]));
  }
  return { format: 'plain', path: text };
}
