/**
 * Runs every `bench/*.bench.ts` that exports `run()`, each in its own Node process (so memory
 * figures of one benchmark are not polluted by another), prints every metric, then one summary
 * table of the headline ratios (ours, reference, target, pass/fail), and writes
 * bench/results/latest.json.
 *
 *   npx tsx bench/run-all.ts [--only name] [--markdown] [name-filter ...]
 *   npx tsx bench/run-all.ts --from bench/results/latest.json [--markdown]   # re-print, no run
 *
 * `--only name` (repeatable) and bare filters keep the files whose name contains one of them;
 * `--markdown` prints the summary as a Markdown table (for the README); `--from` re-reads the
 * results of an earlier run instead of running anything.
 *
 * A benchmark's `run()` resolves to `{ name, metrics, targets? }`; `targets` maps a metric name to
 * a condition such as ">= 0.9", "< 16" or "<= 1" and turns the row into pass/fail.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { basename, join } from 'path';
import { DEFAULT_CHUNK_SIZE, MiB, planChunks } from '../src/core/chunk-plan';

export interface BenchResult {
  readonly name: string;
  readonly metrics: Record<string, number | string>;
  readonly targets?: Record<string, string>;
}

interface Row {
  benchmark: string;
  metric: string;
  value: number | string;
  target: string;
  status: 'pass' | 'FAIL' | '';
}

const BENCH_DIR = __dirname;
const CHILD_FLAG = '--child';

/** Evaluate a target like ">= 0.9" against a value. */
export function meets(value: number | string, target: string): boolean {
  const m = /^\s*(<=|>=|<|>|==)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/.exec(target);
  if (!m || typeof value !== 'number' || Number.isNaN(value)) return false;
  const t = Number(m[2]);
  switch (m[1]) {
    case '<=': return value <= t;
    case '>=': return value >= t;
    case '<': return value < t;
    case '>': return value > t;
    default: return value === t;
  }
}

/** Child mode: import one benchmark, run it, write its result as JSON to a file. */
async function child(file: string, out: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { run?: () => Promise<BenchResult> };
  if (typeof mod.run !== 'function') {
    writeFileSync(out, JSON.stringify({ skipped: true }));
    return;
  }
  const result = await mod.run();
  writeFileSync(out, JSON.stringify(result));
}

/** A benchmark marked `@bench-opt-in` runs only when a filter names it (npx projen bench:spark). */
function optIn(file: string): boolean {
  const marked = readFileSync(file, 'utf8').includes('@bench-opt-in');
  if (marked) process.stderr.write(`skipping ${basename(file)} (opt-in: name it, e.g. --only ${basename(file, '.bench.ts')})\n`);
  return marked;
}

function runOne(file: string, tmp: string): BenchResult | { error: string } | undefined {
  const out = join(tmp, `${basename(file)}.json`);
  const started = Date.now();
  // Same Node, same loader flags (tsx), plus --expose-gc for the memory measurements.
  const args = [...process.execArgv, '--expose-gc', __filename, CHILD_FLAG, file, out];
  // 10 minutes unless the file asks for more (`@bench-timeout-minutes N` in its text).
  const minutes = Number(/@bench-timeout-minutes (\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? 10);
  const proc = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: minutes * 60 * 1000 });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (proc.status !== 0) return { error: `exit ${proc.status ?? proc.signal} after ${seconds} s` };
  const parsed = JSON.parse(readFileSync(out, 'utf8')) as BenchResult & { skipped?: boolean };
  if (parsed.skipped) return undefined;
  process.stderr.write(`  ${basename(file)}: ${seconds} s\n`);
  return parsed;
}

function table(rows: Row[]): string {
  const headers = ['benchmark', 'metric', 'value', 'target', 'result'];
  const cells = rows.map((r) => [r.benchmark, r.metric, String(r.value), r.target, r.status]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

// ------------------------------------------------------------------------------------------------
// Requests per archive, counted from the chunk plan (no benchmark needed)

/** API requests to copy one archive of `size` bytes, as our handlers issue them. */
export function oursRequestsPerArchive(size: number, chunkSize = DEFAULT_CHUNK_SIZE): { total: number; detail: string } {
  const plan = planChunks(size, chunkSize);
  if (plan.singleRequest) {
    // staging.ts copySmallArchive: GetJobOutput → PutObject (verified stream), then HeadObject read-back.
    return { total: 3, detail: 'GetJobOutput + PutObject + HeadObject' };
  }
  // staging.ts ensureUploadAndEnqueue → CreateMultipartUpload; chunk-copy: per part GetJobOutput +
  // UploadPart; validation.ts: CompleteMultipartUpload + HeadObject.
  const n = plan.chunkCount;
  return { total: 1 + 2 * n + 2, detail: `Create + ${n}×(GetJobOutput + UploadPart) + Complete + HeadObject` };
}

/**
 * The reference solution's count: every archive goes through a multipart upload, one part per
 * chunk of the same size (a small archive is one part): Create + N×(GetJobOutput + UploadPart) +
 * Complete, no read-back.
 */
export function referenceRequestsPerArchive(size: number, chunkSize = DEFAULT_CHUNK_SIZE): { total: number; detail: string } {
  const n = Math.max(1, Math.ceil(size / chunkSize));
  return { total: 1 + 2 * n + 1, detail: `Create + ${n}×(GetJobOutput + UploadPart) + Complete` };
}

// ------------------------------------------------------------------------------------------------
// Headline summary

export interface HeadlineRow {
  readonly headline: string;
  readonly ours: number | string;
  readonly reference: number | string;
  readonly target: string;
  /** '' when there is no target, 'n/a' when the benchmark did not run. */
  readonly status: 'pass' | 'FAIL' | '' | 'n/a';
  /** Printed under the table. */
  readonly note?: string;
}

type Metrics = Record<string, Record<string, number | string>>;

function metricsByBenchmark(results: ReadonlyArray<BenchResult | { file: string; error: string }>): Metrics {
  const out: Metrics = {};
  for (const r of results) if ('metrics' in r) out[r.name] = r.metrics;
  return out;
}

/**
 * One row per headline ratio. Each row names the benchmark metric it reads; a row whose benchmark
 * did not run (filtered out or failed) shows `n/a` rather than disappearing.
 */
export function headlineRows(results: ReadonlyArray<BenchResult | { file: string; error: string }>): HeadlineRow[] {
  const m = metricsByBenchmark(results);
  const rows: HeadlineRow[] = [];
  const get = (bench: string, metric: string): number | string | undefined => m[bench]?.[metric];
  const row = (headline: string, ours: number | string | undefined, reference: number | string | undefined, target: string): void => {
    if (ours === undefined) {
      rows.push({ headline, ours: 'n/a', reference: reference ?? '', target, status: 'n/a' });
      return;
    }
    rows.push({ headline, ours, reference: reference ?? '', target, status: target ? (meets(ours, target) ? 'pass' : 'FAIL') : '' });
  };

  row('tree hash throughput ÷ raw SHA-256', get('tree-hash', 'TreeHasher / raw sha256'), 1, '>= 0.9');
  row('tree hash streaming 1 GiB, peak RSS delta MiB', get('tree-hash', 'stream 1 GiB peak RSS delta MiB'), undefined, '< 16');
  const chunkTarget = get('chunk-path', 'throughputRatioTarget');
  row('chunk path throughput ÷ plain copy (same SDK clients and fakes, no verification)', get('chunk-path', 'throughputRatio'), 1,
    typeof chunkTarget === 'number' ? `>= ${chunkTarget}` : '>= 0.8');
  row('chunk path ceiling on this machine: cores × plain copy time ÷ chunk path CPU time', get('chunk-path', 'throughputRatioCpuBound'), 1, '');
  row('chunk path with tree hashing on this thread ÷ plain copy', get('chunk-path', 'inlineHashingRatio'), 1, '');
  row('chunk path, CRC32 ÷ SHA-256 part checksums (speed-up)', get('chunk-path', 'crc32OverSha256Parts'), 1, '');
  row('chunk path ÷ bare in-memory stream copy (no SDK)', get('chunk-path', 'ratioVsBareCopy'), 1, '');
  const rssTarget = get('chunk-path', 'peakRssTargetMiB');
  row('chunk path peak RSS MiB (4 GiB archive)', get('chunk-path', 'peakRssMiB'), undefined, typeof rssTarget === 'number' ? `< ${rssTarget}` : '< 256');
  row('inventory engine 1 M archives, wall s', get('inventory-engine', '1M engine wall s'), undefined, '< 30');
  row('inventory engine 1 M archives, peak RSS MiB', get('inventory-engine', '1M engine peak RSS MiB'), undefined, '< 2048');
  row('inventory engine 1 M ÷ bare csv-parse (records/s)', get('inventory-engine', '1M engine/csv-parse ratio'), 1, '');
  row('spark engine driver peak RSS 5 M ÷ 1 M archives (bench:spark)', get('spark-engine', 'spark driver peak RSS 5M ÷ 1M'), undefined, '<= 1.2');
  row('spark engine 1 M ÷ lambda engine 1 M (records/s, bench:spark)', get('spark-engine', '1M spark ÷ lambda engine records/s'), 1, '');
  row('parse+validate+name ÷ bare csv-parse (records/s)', get('naming-inventory', '(b)/(a) throughput ratio'), 1, '>= 0.5');
  row('pacing utilisation, 100 TiB', get('pacing', 'ours utilisation (100 TiB, pure pacing)'),
    get('pacing', 'reference utilisation (100 TiB, pure pacing)'), '>= 0.95');
  row('pacing utilisation, 250 TiB', get('pacing', '250 TiB ours utilisation (pure pacing)'),
    get('pacing', '250 TiB reference utilisation (pure pacing)'), '>= 0.95');
  row('pacing utilisation ours ÷ reference, 100 TiB', get('pacing', 'ours / reference utilisation'), 1, '>= 1');
  row('worst 24 h window ÷ quota, 250 TiB', get('pacing', '250 TiB ours worst window'), get('pacing', '250 TiB reference worst window'), '<= 1');
  row('resume at 90 %: hours to first request (simulation)', get('pacing', 'resume 90%: ours hours to first request'),
    get('pacing', 'resume 90%: reference hours to first request'), '<= 0');
  row('resume at 90 %: hours to first request (handler, 1 TiB partitions)', get('initiate-pacing', 'resume 90% (handler): hours to first request'),
    get('initiate-pacing', 'resume 90% (reference formula, 1 TiB partitions): hours to first request'), '<= 0.5');

  // Counted by code from the chunk plan (1 GiB chunks), not measured.
  const small = 100 * MiB;
  const large = 10 * 1024 * MiB;
  // Target: no more than the reference, plus the one HeadObject read-back that verifies the object.
  for (const [label, size] of [['small (100 MiB)', small], ['large (10 GiB, 1 GiB chunks)', large]] as const) {
    const ours = oursRequestsPerArchive(size);
    const ref = referenceRequestsPerArchive(size);
    const limit = ref.total + 1;
    rows.push({
      headline: `requests per archive, ${label} (counted)`,
      ours: ours.total,
      reference: ref.total,
      target: `<= ${limit}`,
      status: ours.total <= limit ? 'pass' : 'FAIL',
      note: `${label}: ours = ${ours.detail}; reference = ${ref.detail}; target = reference + 1 HeadObject read-back`,
    });
  }
  return rows;
}

function summaryCells(rows: readonly HeadlineRow[]): string[][] {
  return rows.map((r) => [r.headline, String(r.ours), String(r.reference), r.target, r.status]);
}

const SUMMARY_HEADERS = ['headline', 'ours', 'reference', 'target', 'result'];

export function summaryTable(rows: readonly HeadlineRow[]): string {
  const cells = summaryCells(rows);
  const widths = SUMMARY_HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(SUMMARY_HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function summaryMarkdown(rows: readonly HeadlineRow[]): string {
  const esc = (v: string) => v.replace(/\|/g, '\\|');
  const line = (c: string[]) => `| ${c.map(esc).join(' | ')} |`;
  return [line(SUMMARY_HEADERS), '|---|---:|---:|---|---|', ...summaryCells(rows).map(line)].join('\n');
}

interface Args {
  readonly filters: string[];
  readonly markdown: boolean;
  readonly from?: string;
}

export function parseArgs(argv: readonly string[]): Args {
  const filters: string[] = [];
  let markdown = false;
  let from: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    switch (name) {
      case '--markdown':
        markdown = true;
        break;
      case '--only':
      case '--from': {
        const v = inline ?? argv[++i];
        if (v === undefined || v === '' || v.startsWith('--')) throw new Error(`${name} needs a value`);
        if (name === '--only') filters.push(v);
        else from = v;
        break;
      }
      default:
        if (name.startsWith('--')) throw new Error(`unknown option ${a} (expected --only NAME, --markdown, --from FILE)`);
        filters.push(a);
    }
  }
  return { filters, markdown, from };
}

function printSummary(results: ReadonlyArray<BenchResult | { file: string; error: string }>, markdown: boolean): number {
  const rows = headlineRows(results);
  const notes = rows.filter((r) => r.note).map((r) => `${markdown ? '- ' : '  '}${r.note}`);
  console.log(`\nSummary (headline ratios)\n\n${markdown ? summaryMarkdown(rows) : summaryTable(rows)}\n\n${notes.join('\n')}`);
  return rows.filter((r) => r.status === 'FAIL').length;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.from) {
    const saved = JSON.parse(readFileSync(args.from, 'utf8')) as { results: Array<BenchResult | { file: string; error: string }>; rows: Row[] };
    if (!args.markdown) console.log(table(saved.rows));
    const failed = printSummary(saved.results, args.markdown);
    return failed === 0 ? 0 : 1;
  }
  const { filters } = args;
  const files = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => (filters.length === 0 ? !optIn(join(BENCH_DIR, f)) : filters.some((x) => f.includes(x))))
    .sort()
    .map((f) => join(BENCH_DIR, f));
  const tmp = mkdtempSync(join(tmpdir(), 'bench-'));
  const rows: Row[] = [];
  const results: Array<BenchResult | { file: string; error: string }> = [];
  let failed = 0;
  try {
    for (const file of files) {
      process.stderr.write(`running ${basename(file)} ...\n`);
      const r = runOne(file, tmp);
      if (!r) continue;
      if ('error' in r) {
        failed++;
        results.push({ file: basename(file), error: r.error });
        rows.push({ benchmark: basename(file, '.bench.ts'), metric: '(benchmark failed)', value: r.error, target: '', status: 'FAIL' });
        continue;
      }
      results.push(r);
      for (const [metric, value] of Object.entries(r.metrics)) {
        const target = r.targets?.[metric] ?? '';
        const status = target ? (meets(value, target) ? 'pass' : 'FAIL') : '';
        if (status === 'FAIL') failed++;
        rows.push({ benchmark: r.name, metric, value, target, status });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!args.markdown) console.log(table(rows));
  const headlinesFailed = printSummary(results, args.markdown);
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, results, rows }, null, 2)}\n`,
  );
  console.log(`\n${failed === 0 && headlinesFailed === 0
    ? 'all targets met'
    : `${failed} metric target(s) missed or benchmark(s) failed, ${headlinesFailed} headline(s) failed`}; written to bench/results/latest.json`);
  return failed === 0 && headlinesFailed === 0 ? 0 : 1;
}

if (process.argv[2] === CHILD_FLAG) {
  child(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  }, (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
