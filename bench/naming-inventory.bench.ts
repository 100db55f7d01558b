/**
 * Inventory parsing + archive naming benchmark.
 *
 * Writes a 1,000,000-row Glacier CSV inventory to os.tmpdir() (deleted afterwards) with the mix of
 * descriptions real vaults hold (FastGlacier v4 and v1, CloudBerry JSON with `\"` escapes, mt2,
 * plain text with and without commas, empty; 2% repeated names; 0.05% bad rows), then measures,
 * each in its own Node process so peak RSS belongs to one phase only:
 *
 * (a) baseline: a bare csv-parse pass over the file (`escape: '\\'`), counting records;
 * (b) ours: parseInventoryCsv (split + validate + duplicate-id check) and keyForArchive for every
 *     archive (decode description, sanitise, fit to 1,024 bytes);
 * (c) ours + assignUniqueKeys over the whole vault (needs every key in memory: informational).
 *
 * Headline: records/s of (b) ÷ records/s of (a), same file, same run. Memory: peak RSS per phase,
 * and for (b) the heap still in use after a final gc() (what parsing retains: the ArchiveId set).
 *
 * Run alone: npx tsx bench/naming-inventory.bench.ts   (BENCH_ROWS=100000 for a quick run)
 */
import { spawnSync } from 'child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { bareCsvParse, glacierField, MiB, peakRssMiB, prng } from './inventory-bench-support';
import { assignUniqueKeys, keyForArchive, KeyedArchive } from '../src/core/archive-naming';
import { parseInventoryCsv } from '../src/core/inventory';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PREFIX = 'restored/';
const PHASE_FLAG = '--naming-inventory-phase';

type Phase = 'baseline' | 'ours' | 'unique';

interface PhaseResult {
  readonly records: number;
  readonly errors: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly renamed?: number;
  readonly uniqueSeconds?: number;
  readonly retainedHeapMiB?: number;
}

// ------------------------------------------------------------------------------------------------
// Inventory generation

/** Deterministic PRNG (mulberry32), so every run reads the same file. */

const WORDS = ['Photos', 'Backup', 'Projects', 'été', 'Rechnung', '日本語', 'scan', 'IMG', 'report', 'Q1'];
const EXTS = ['.jpg', '.tar.gz', '.pdf', '.dpx', '.bak', '.mov', ''];

/** Glacier's CSV encoding of one field: quoted when it holds `,` or `"`, `"` written as `\"`. */

function compactTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

function description(rand: () => number, i: number): string {
  const path = rand() < 0.02
    ? `Photos/dup-${i % 1000}.jpg`
    : `${WORDS[Math.floor(rand() * WORDS.length)]}/${WORDS[Math.floor(rand() * WORDS.length)]}/file-${i}${EXTS[i % EXTS.length]}`;
  const mtime = compactTime(1_300_000_000_000 + Math.floor(rand() * 300_000_000_000));
  const kind = rand();
  if (kind < 0.30) return `<m><v>4</v><p>${Buffer.from(path).toString('base64')}</p><lm>${mtime}</lm></m>`;
  if (kind < 0.35) return `<ArchiveMetadata><Path>${Buffer.from(path).toString('base64')}</Path></ArchiveMetadata>`;
  if (kind < 0.50) {
    // CloudBerry escapes non-ASCII as \uXXXX; Windows separators become \\ in JSON.
    const json = JSON.stringify({ Path: `C:\\${path.replace(/\//g, '\\')}`, UTCDateModified: mtime });
    return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (kind < 0.65) return `mt2 ${Buffer.from(JSON.stringify({ filename: path, mtime })).toString('base64url')}`;
  if (kind < 0.95) return rand() < 0.3 ? `Backup of ${i}, part ${i % 7}` : `backup-${i}.tar.gz`;
  return '';
}

async function writeInventory(file: string, rows: number): Promise<void> {
  const rand = prng(20261125);
  const out = createWriteStream(file);
  const write = (text: string): Promise<void> =>
    new Promise((resolve, reject) => out.write(text, (e) => (e ? reject(e) : resolve())));
  await write('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n');
  const random = Buffer.alloc(136); // 104 bytes → 138 base64url characters of ArchiveId, 32 → tree hash
  let batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < random.length; k += 4) random.writeUInt32LE(Math.floor(rand() * 4294967296), k);
    const id = random.toString('base64url', 0, 104).slice(0, 138);
    const hash = random.toString('hex', 104);
    const created = new Date(1_330_000_000_000 + i * 60_000 + Math.floor(rand() * 1000)).toISOString();
    const size = i % 2000 === 0 ? '-1' : String(Math.floor(rand() * 4 * 2 ** 30));
    batch.push(`${id},${glacierField(description(rand, i))},${created},${size},${hash}\n`);
    if (batch.length === 10_000) {
      await write(batch.join(''));
      batch = [];
    }
  }
  await write(batch.join(''));
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

// ------------------------------------------------------------------------------------------------
// Phases (each runs in a child process)


/** `gc()` from --expose-gc (the phases are started with it). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function ours(file: string, keep?: KeyedArchive[]): Promise<PhaseResult> {
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const sampleEvery = Math.ceil(ROWS / 4);
  let retained = 0;
  let gcNs = 0n;
  const started = process.hrtime.bigint();
  let records = 0;
  let errors = 0;
  for await (const r of parseInventoryCsv(createReadStream(file, { highWaterMark: MiB }))) {
    records++;
    if (!keep && records % sampleEvery === 0) {
      // What the parser holds at this point (the ArchiveId set), not garbage awaiting collection.
      const t = process.hrtime.bigint();
      collectGarbage();
      retained = Math.max(retained, process.memoryUsage().heapUsed - heapBefore);
      gcNs += process.hrtime.bigint() - t;
    }
    if (r.kind === 'error') {
      errors++;
      continue;
    }
    const { key } = keyForArchive(r, { prefix: PREFIX });
    keep?.push({ archiveId: r.archiveId, creationDate: r.creationDate, key });
  }
  const seconds = Number(process.hrtime.bigint() - started - gcNs) / 1e9;
  return { records, errors, seconds, peakRssMiB: peakRssMiB(), retainedHeapMiB: retained / MiB };
}

async function unique(file: string): Promise<PhaseResult> {
  const keyed: KeyedArchive[] = [];
  const parsed = await ours(file, keyed);
  const started = process.hrtime.bigint();
  const assigned = assignUniqueKeys(keyed, { prefix: PREFIX });
  const uniqueSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const renamed = assigned.filter((a) => a.renamed).length;
  return { ...parsed, renamed, uniqueSeconds, peakRssMiB: peakRssMiB() };
}

function runPhase(phase: Phase, file: string): PhaseResult {
  // Same Node and loader flags (tsx) as this process.
  const proc = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', __filename, PHASE_FLAG, phase, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: MiB,
  });
  if (proc.status !== 0) throw new Error(`phase ${phase} failed: exit ${proc.status ?? proc.signal}`);
  return JSON.parse(proc.stdout.trim().split('\n').pop() ?? '') as PhaseResult;
}

// ------------------------------------------------------------------------------------------------

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'naming-inventory-'));
  const file = join(dir, 'inventory.csv');
  try {
    const generated = process.hrtime.bigint();
    await writeInventory(file, ROWS);
    const generateSeconds = Number(process.hrtime.bigint() - generated) / 1e9;
    const a = runPhase('baseline', file);
    const b = runPhase('ours', file);
    const c = runPhase('unique', file);
    if (a.records !== ROWS || b.records !== ROWS) throw new Error(`row counts differ: csv-parse ${a.records}, ours ${b.records}, expected ${ROWS}`);
    const rate = (p: PhaseResult): number => Math.round(p.records / p.seconds);
    return {
      name: 'naming-inventory',
      metrics: {
        'rows': ROWS,
        'file MiB': Math.round(statSync(file).size / MiB),
        'generate s': Number(generateSeconds.toFixed(1)),
        '(a) csv-parse records/s': rate(a),
        '(b) parse+validate+name records/s': rate(b),
        '(b)/(a) throughput ratio': Number((rate(b) / rate(a)).toFixed(2)),
        '(a) peak RSS MiB': a.peakRssMiB,
        '(b) peak RSS MiB': b.peakRssMiB,
        '(b) retained heap MiB after gc': Number((b.retainedHeapMiB ?? NaN).toFixed(1)),
        '(b) bad rows reported': b.errors,
        '(c) assignUniqueKeys s': Number((c.uniqueSeconds ?? 0).toFixed(2)),
        '(c) renamed duplicates': c.renamed ?? 0,
        '(c) peak RSS MiB (all keys in memory)': c.peakRssMiB,
      },
      targets: {
        // Doing more per row than a bare tokenizer, we still want to keep up with it.
        '(b)/(a) throughput ratio': '>= 0.5',
        // Streaming: the duplicate-id set (16-byte digests, ~56 bytes per archive) is all that stays.
        '(b) retained heap MiB after gc': `< ${Math.ceil((ROWS * 100) / MiB)}`,
        '(b) peak RSS MiB': '< 400',
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const phaseAt = process.argv.indexOf(PHASE_FLAG);
if (phaseAt >= 0) {
  const phase = process.argv[phaseAt + 1] as Phase;
  const file = process.argv[phaseAt + 2];
  const work = phase === 'baseline' ? bareCsvParse(file).then((r) => ({ ...r, errors: 0 })) : phase === 'ours' ? ours(file) : unique(file);
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
