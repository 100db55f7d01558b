/**
 * Strict parsing of the UTC timestamps found in Glacier inventories and archive descriptions.
 *
 * Two spellings are accepted, both in UTC (`Z`) only:
 * - extended: `2012-05-15T17:19:46.700Z` (inventory CreationDate; 0 to 9 fraction digits);
 * - basic (compact): `20190121T085242Z` (FastGlacier `<lm>`, CloudBerry `UTCDateModified`, mt-aws-glacier `mtime`).
 *
 * The calendar is checked (month 01–12, day within the month, leap years of the proleptic Gregorian
 * calendar, hour 00–23, minute and second 00–59). The Glue job (glue/archive_naming.py) applies the
 * same rules.
 */

/** A validated UTC timestamp in the spellings the naming rules need. */
export interface UtcTimestamp {
  /** `YYYY-MM-DDTHH:MM:SSZ` (fraction dropped). */
  readonly iso: string;
  /** `YYYY-MM-DDTHHMMSSZ`: the form used in duplicate-name suffixes (no `:`, which some tools dislike in file names). */
  readonly compact: string;
  /**
   * `YYYYMMDDHHMMSS` + the fraction padded or cut to 9 digits: 23 ASCII digits whose string order
   * is the chronological order.
   */
  readonly sortKey: string;
}

const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function validFields(y: string, mo: string, d: string, h: string, mi: string, s: string): boolean {
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(y), month)) return false;
  return Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59;
}

/** Parses an extended or basic ISO-8601 UTC timestamp; `undefined` when it is not one or not a real date. */
export function parseUtcTimestamp(text: string): UtcTimestamp | undefined {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  if (!validFields(y, mo, d, h, mi, s)) return undefined;
  return {
    iso: `${y}-${mo}-${d}T${h}:${mi}:${s}Z`,
    compact: `${y}-${mo}-${d}T${h}${mi}${s}Z`,
    sortKey: `${y}${mo}${d}${h}${mi}${s}${(m[7] ?? '').padEnd(9, '0')}`,
  };
}

/** True when {@link parseUtcTimestamp} would accept `text` (cheaper: builds no strings). */
export function isUtcTimestamp(text: string): boolean {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  return m !== null && validFields(m[1], m[2], m[3], m[4], m[5], m[6]);
}

/** Only the {@link UtcTimestamp.sortKey} of `text` (what ordering a whole vault needs), or `undefined`. */
export function utcSortKey(text: string): string | undefined {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  if (m === null || !validFields(m[1], m[2], m[3], m[4], m[5], m[6])) return undefined;
  return m[1] + m[2] + m[3] + m[4] + m[5] + m[6] + (m[7] ?? '').padEnd(9, '0');
}
