/**
 * Runs every `bench/*.bench.ts` that exports `run()`, each in its own Node process (so memory
 * figures of one benchmark are not polluted by another), prints one table and writes
 * bench/results/latest.json.
 *
 *   npx tsx bench/run-all.ts [name-filter ...]
 *
 * A benchmark's `run()` resolves to `{ name, metrics, targets? }`; `targets` maps a metric name to
 * a condition such as ">= 0.9", "< 16" or "<= 1" and turns the row into pass/fail.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { basename, join } from 'path';

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

function runOne(file: string, tmp: string): BenchResult | { error: string } | undefined {
  const out = join(tmp, `${basename(file)}.json`);
  const started = Date.now();
  // Same Node, same loader flags (tsx), plus --expose-gc for the memory measurements.
  const args = [...process.execArgv, '--expose-gc', __filename, CHILD_FLAG, file, out];
  const proc = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60 * 1000 });
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

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const files = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
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
  console.log(table(rows));
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, results, rows }, null, 2)}\n`,
  );
  console.log(`\n${failed === 0 ? 'all targets met' : `${failed} target(s) missed or benchmark(s) failed`}; written to bench/results/latest.json`);
  return failed === 0 ? 0 : 1;
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
