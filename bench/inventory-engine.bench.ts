/**
 * Lambda inventory engine benchmark (src/handlers/inventory-retrieval/inventory-engine.ts).
 *
 * For each size (100 k and 1 M archives; 5 M with BENCH_INVENTORY_5M=1, ~2 min more) a seeded
 * Glacier CSV inventory is written to os.tmpdir() (deleted afterwards) with a realistic mix of
 * descriptions (FastGlacier v4, CloudBerry JSON, mt2, plain with commas, empty; 2 % repeated
 * names, 0.05 % bad rows, 0.1 % archives above the size limit). Each phase runs in its own Node
 * process so peak RSS (getrusage maxRSS) belongs to that phase only:
 *
 * (a) baseline: a bare csv-parse pass over the same file, counting records;
 * (b) the engine end to end: stream parse + validate, name every archive, skip, resolve
 *     duplicate keys, sort by (CreationDate, ArchiveId), partition (1 TiB partitions, 100 k rows
 *     per file) and format every output file (the sink only counts bytes: no S3 in the timing).
 *
 * Headline: wall time and peak RSS of (b) per size, and records/s (b) ÷ records/s (a).
 * Target (issue #7): 1 M archives in < 30 s with < 2 GiB RSS.
 *
 *   npx tsx bench/inventory-engine.bench.ts           (BENCH_INVENTORY_SIZES=100000 for a quick run)
 */
import { spawnSync } from 'child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bareCsvParse, glacierField, MiB, peakRssMiB, prng } from './inventory-bench-support';
import { processInventory } from '../src/handlers/inventory-retrieval/inventory-engine';

const PHASE_FLAG = '--inventory-engine-phase';
const SIZES = process.env.BENCH_INVENTORY_SIZES
  ? process.env.BENCH_INVENTORY_SIZES.split(',').map(Number)
  : [100_000, 1_000_000, ...(process.env.BENCH_INVENTORY_5M ? [5_000_000] : [])];
const MAX_ARCHIVE = 3.9 * 2 ** 30;

export interface PhaseResult {
  readonly records: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  /** CPU seconds of the phase's process (user + system): unlike wall time, barely moved by machine load. */
  readonly cpuSeconds?: number;
  readonly outputMiB?: number;
  readonly files?: number;
  readonly skipped?: number;
  readonly errors?: number;
  readonly renamed?: number;
}


const DIRS = ['Photos', 'Backup', 'Projects', 'été', 'Rechnung', '日本語', 'scans', 'video'];


function describe(rand: () => number, i: number): string {
  const path = rand() < 0.02 ? `Photos/dup-${i % 997}.jpg` : `${DIRS[i % DIRS.length]}/${DIRS[(i >> 3) % DIRS.length]}/file-${i}.dat`; // eslint-disable-line no-bitwise
  const mtime = new Date(1_300_000_000_000 + Math.floor(rand() * 3e11)).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const kind = rand();
  if (kind < 0.35) return `<m><v>4</v><p>${Buffer.from(path).toString('base64')}</p><lm>${mtime}</lm></m>`;
  if (kind < 0.5) return JSON.stringify({ Path: path, UTCDateModified: mtime });
  if (kind < 0.65) return `mt2 ${Buffer.from(JSON.stringify({ filename: path, mtime })).toString('base64url')}`;
  if (kind < 0.95) return rand() < 0.3 ? `Backup of ${i}, part ${i % 7}` : path;
  return '';
}

export async function writeInventory(file: string, rows: number): Promise<void> {
  const rand = prng(7_2026);
  const out = createWriteStream(file);
  const write = (text: string): Promise<void> => new Promise((resolve, reject) => out.write(text, (e) => (e ? reject(e) : resolve())));
  await write('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n');
  const random = Buffer.alloc(136);
  let batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < random.length; k += 4) random.writeUInt32LE(Math.floor(rand() * 4294967296), k);
    const id = random.toString('base64url', 0, 104).slice(0, 138);
    // Not in order: inventories are roughly but not exactly chronological.
    const created = new Date(1_330_000_000_000 + Math.floor(rand() * rows) * 60_000).toISOString();
    const size = i % 2000 === 1 ? 'x' : String(i % 1000 === 3 ? 4 * 2 ** 30 : Math.floor(rand() * 2 ** 30));
    batch.push(`${id},${glacierField(describe(rand, i))},${created},${size},${random.toString('hex', 104)}\n`);
    if (batch.length === 10_000) {
      await write(batch.join(''));
      batch = [];
    }
  }
  await write(batch.join(''));
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}


async function engine(file: string): Promise<PhaseResult> {
  const started = process.hrtime.bigint();
  let bytes = 0;
  let files = 0;
  const { summary } = await processInventory(createReadStream(file, { highWaterMark: MiB }), {
    runId: 'bench', prefix: 'restored/', partitionSizeBytes: 2 ** 40, maxArchiveSizeBytes: MAX_ARCHIVE, rowsPerFile: 100_000,
  }, async (_key, body) => {
    bytes += body.length;
    files++;
  });
  return {
    records: summary.totalCount + summary.errorCount,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    peakRssMiB: peakRssMiB(),
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    outputMiB: Math.round(bytes / MiB),
    files,
    skipped: summary.skippedCount,
    errors: summary.errorCount,
    renamed: summary.renamedCount,
  };
}

/** One phase in its own Node process (so its peak RSS is its own); also used by spark-engine.bench.ts. */
export function runPhase(phase: 'baseline' | 'engine', file: string): PhaseResult {
  const proc = spawnSync(process.execPath, [...process.execArgv, '--max-old-space-size=6144', __filename, PHASE_FLAG, phase, file], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: MiB,
  });
  if (proc.status !== 0) throw new Error(`phase ${phase} failed: exit ${proc.status ?? proc.signal}`);
  return JSON.parse(proc.stdout.trim().split('\n').pop() ?? '') as PhaseResult;
}

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  const metrics: Record<string, number | string> = {};
  const targets: Record<string, string> = {};
  for (const rows of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'inventory-engine-'));
    const file = join(dir, 'inventory.csv');
    try {
      await writeInventory(file, rows);
      const a = runPhase('baseline', file);
      const b = runPhase('engine', file);
      const label = rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`;
      const rate = (p: PhaseResult) => p.records / p.seconds;
      metrics[`${label} file MiB`] = Math.round(statSync(file).size / MiB);
      metrics[`${label} engine wall s`] = Number(b.seconds.toFixed(1));
      metrics[`${label} engine peak RSS MiB`] = b.peakRssMiB;
      metrics[`${label} engine CPU s`] = Number((b.cpuSeconds ?? 0).toFixed(1));
      metrics[`${label} engine records/s`] = Math.round(rate(b));
      metrics[`${label} csv-parse records/s`] = Math.round(rate(a));
      metrics[`${label} engine/csv-parse ratio`] = Number((rate(b) / rate(a)).toFixed(2));
      metrics[`${label} output MiB / files`] = `${b.outputMiB} / ${b.files}`;
      metrics[`${label} skipped / bad rows / renamed`] = `${b.skipped} / ${b.errors} / ${b.renamed}`;
      if (rows === 1_000_000) {
        targets[`${label} engine wall s`] = '< 30';
        targets[`${label} engine peak RSS MiB`] = '< 2048';
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { name: 'inventory-engine', metrics, targets };
}


const at = process.argv.indexOf(PHASE_FLAG);
if (at >= 0) {
  const work = process.argv[at + 1] === 'baseline' ? bareCsvParse(process.argv[at + 2]) : engine(process.argv[at + 2]);
  work.then((r) => console.log(JSON.stringify(r)), (e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else if (require.main === module) {
  run().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
