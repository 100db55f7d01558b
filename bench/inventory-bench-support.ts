/*
 * Pieces the inventory benchmarks share, so every "÷ bare csv-parse" ratio is taken against the
 * same baseline and every generated inventory uses the same random source and CSV dialect.
 */
import { createReadStream } from 'fs';
import { parse } from 'csv-parse';

export const MiB = 1024 * 1024;

/** Small seeded PRNG (mulberry32): the same inventory every run. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0; // eslint-disable-line no-bitwise
    let t = Math.imul(a ^ (a >>> 15), 1 | a); // eslint-disable-line no-bitwise
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; // eslint-disable-line no-bitwise
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296; // eslint-disable-line no-bitwise
  };
}

/** A field as Glacier writes it: quoted when needed, inner quotes escaped with a backslash. */
export function glacierField(text: string): string {
  return /[",]/.test(text) ? `"${text.replace(/"/g, '\\"')}"` : text;
}

/** Peak RSS of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS * 1024) / MiB);
}

/** The baseline: a bare csv-parse of the file (no validation, no naming), records and time. */
export async function bareCsvParse(file: string): Promise<{ records: number; seconds: number; peakRssMiB: number }> {
  const started = process.hrtime.bigint();
  let records = 0;
  const parser = createReadStream(file, { highWaterMark: MiB }).pipe(
    parse({ escape: '\\', relax_column_count: true, skip_records_with_error: true, from_line: 2 }),
  );
  for await (const _record of parser) records++;
  return { records, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMiB: peakRssMiB() };
}
