import { createHash } from 'crypto';

/**
 * From an untrusted path to a safe S3 object key.
 *
 * These are the rules shared with the Glue job (glue/archive_naming.py must stay byte-for-byte
 * identical; test/fixtures/naming-conformance.json holds the cases both languages run):
 *
 * 1. lone UTF-16 surrogates become U+FFFD;
 * 2. removed: C0/C1 controls (U+0000–U+001F, U+007F–U+009F), bidi embeddings/overrides
 *    (U+202A–U+202E) and isolates (U+2066–U+2069), U+FEFF, and the XML non-characters U+FFFE/U+FFFF;
 * 3. Unicode NFC (with the runtime's Unicode database: Node's ICU is newer than Python 3.11's
 *    Unicode 14.0, so the two runtimes can disagree only on marks and decomposable characters
 *    assigned after Unicode 14.0; compute all keys of one run with one engine);
 * 4. every `\` becomes `/`;
 * 5. the path is split on `/`; segments that are empty, blank (only white space: U+0020, U+00A0,
 *    U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), `.` or `..` are dropped,
 *    wherever they are (`..` is dropped, not resolved, so nothing can climb out of the destination
 *    prefix); a drive letter segment (`C:`) becomes the folder `C` (so `C:/data/x` and `D:/data/x`
 *    never collide, and `RENDERFARM5/B:/one` keeps its drive); the rest is joined with `/`;
 * 6. if the result is longer than the byte budget (1,024 UTF-8 bytes minus the prefix), its middle
 *    is replaced by `~<16 hex>~`, the first 16 hex digits of SHA-256 over the whole UTF-8 name:
 *    the head keeps `ceil(a/2)` bytes and the tail `floor(a/2)` bytes, `a = budget - 18`, both cut
 *    back to a UTF-8 character boundary. Two long names that share head and tail still differ.
 */

/** S3's limit on an object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** The longest destination prefix accepted: at least 512 bytes stay for the name. */
export const MAX_PREFIX_BYTES = 512;
/** Length of the marker that replaces the middle of a truncated name: `~` + 16 hex + `~`. */
export const TRUNCATION_MARKER_BYTES = 18;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g;
const DRIVE_LETTER = /^[A-Za-z]:$/;
/** A segment of white space only (the Unicode White_Space characters step 2 keeps). */
const BLANK_SEGMENT = /^[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** Lowercase hex SHA-256 of the UTF-8 encoding of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Number of bytes of `text` in UTF-8. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Steps 1–3: well-formed, without control/bidi characters, NFC. */
export function cleanText(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return text;
  return text.replace(LONE_SURROGATE, '\ufffd').replace(FORBIDDEN, '').normalize('NFC');
}

/** Anything step 4 or 5 could change: a backslash, a colon, an empty, blank, `.` or `..` segment. */
const NEEDS_SPLIT = /[\\:]|\/\/|^\/|\/$|(?:^|\/)(?:\.\.?|[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+)(?:\/|$)/;

/** Steps 1–5: the relative path that will follow the destination prefix (may be empty). */
export function sanitizePath(path: string): string {
  const text = cleanText(path);
  if (!NEEDS_SPLIT.test(text)) return text;
  const kept: string[] = [];
  for (const s of text.replace(/\\/g, '/').split('/')) {
    if (s === '.' || s === '..' || BLANK_SEGMENT.test(s)) continue;
    kept.push(DRIVE_LETTER.test(s) ? s[0] : s);
  }
  return kept.join('/');
}

/** UTF-8 continuation bytes are 10xxxxxx (0x80–0xBF); a character never starts with one. */
function isContinuationByte(byte: number): boolean {
  return byte >= 0x80 && byte < 0xc0;
}

/**
 * Step 6: `name` unchanged if it fits in `budget` UTF-8 bytes, otherwise its middle replaced by
 * the hash marker. `name` must be well-formed (the output of {@link sanitizePath}).
 */
export function fitName(name: string, budget: number): string {
  if (name.length * 3 <= budget) return name; // a UTF-16 code unit never takes more than 3 UTF-8 bytes
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= budget) return name;
  const available = budget - TRUNCATION_MARKER_BYTES;
  if (available < 2) throw new RangeError(`key budget ${budget} is too small`);
  const tailMax = Math.floor(available / 2);
  const headMax = available - tailMax;
  let headEnd = headMax;
  while (headEnd > 0 && isContinuationByte(bytes[headEnd])) headEnd--;
  let tailStart = bytes.length - tailMax;
  while (tailStart < bytes.length && isContinuationByte(bytes[tailStart])) tailStart++;
  const marker = `~${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}~`;
  return bytes.subarray(0, headEnd).toString('utf8') + marker + bytes.subarray(tailStart).toString('utf8');
}

/**
 * Throws unless `prefix` can head a key: at most {@link MAX_PREFIX_BYTES} UTF-8 bytes, no leading
 * `/`, no empty, `.` or `..` segment (a trailing `/` is fine), no `\`, no character removed by the
 * sanitiser, no segment of white space only. The prefix is used as given: `restored/` gives `restored/photo.jpg`, `vault-a-` gives
 * `vault-a-photo.jpg`.
 */
export function assertValidKeyPrefix(prefix: string): void {
  if (prefix === lastValidPrefix) return;
  const why = prefixProblem(prefix);
  if (why !== undefined) throw new Error(`Invalid key prefix ${JSON.stringify(prefix)}: ${why}`);
  lastValidPrefix = prefix;
}

/** The last prefix found valid (naming a whole vault checks the same prefix a million times). */
let lastValidPrefix = '';

function prefixProblem(prefix: string): string | undefined {
  if (typeof prefix !== 'string') return 'not a string';
  if (utf8Length(prefix) > MAX_PREFIX_BYTES) return `longer than ${MAX_PREFIX_BYTES} UTF-8 bytes`;
  if (cleanText(prefix) !== prefix) return 'contains control, bidi or ill-formed characters, or is not NFC';
  if (prefix.includes('\\')) return 'contains a backslash';
  // The prefix also scopes IAM resource ARNs: a wildcard or policy variable there widens them.
  if (/[*?]|\$\{/.test(prefix)) return 'contains *, ? or ${ (IAM wildcards and policy variables: the prefix scopes IAM policies)';
  const segments = prefix.split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if ((s === '' && i < segments.length - 1) || s === '.' || s === '..') return 'has an empty, "." or ".." segment';
    if (s !== '' && BLANK_SEGMENT.test(s)) return 'has a segment of white space only';
  }
  return undefined;
}
