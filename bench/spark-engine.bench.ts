/**
 * Glue inventory engine on local Spark (glue/local_run.py over glue/inventory_spark.py, the pinned
 * PySpark of `npx projen spark:install`, local[2]) on 1 M and 5 M generated archives, beside the
 * Lambda engine on the same 1 M input, measured in the same run.
 * @bench-timeout-minutes 150 @bench-opt-in (npx projen bench skips it; npx projen bench:spark runs it)
 *
 * Inputs: the seeded inventories of inventory-engine.bench.ts (`writeInventory`, same mix of
 * descriptions, repeated names, bad rows and oversized archives). Per size:
 * - wall time and records/s of the whole local run (JVM start to summary), 1 TiB partitions;
 * - driver memory: by default the executors are separate JVMs (local-cluster[2,1,2048]), so the
 *   driver's JVM holds the driver only (and the local master and workers, which hold no archive
 *   data); BENCH_SPARK_EXECUTORS=0 runs local[2], executor threads inside the driver's JVM, whose
 *   peak is then only an upper bound. Sampled every 250 ms from /proc: the driver JVM's VmHWM
 *   (peak RSS, kernel-maintained, so a short peak between samples is not missed), the Python
 *   driver's VmHWM, the Python workers' summed RSS; and from the JVM's GC log (JAVA_TOOL_OPTIONS
 *   -Xlog:gc): the largest heap before a collection (peak heap used) and after one (live heap);
 * - CPU seconds of every process of the run (utime + stime from /proc/<pid>/stat), the figure
 *   the DPU-hour model rests on (less sensitive to machine load than wall time).
 * The Lambda engine phase is the one of inventory-engine.bench.ts (own Node process, getrusage
 * maxRSS). Target (issue #17): Spark driver peak RSS at 5 M ≤ 1.2 × at 1 M.
 *
 *   npx projen bench:spark           (or: npx tsx bench/spark-engine.bench.ts;
 *                                     BENCH_SPARK_SIZES=100000 for a quick run)
 */
import { spawn } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import { join } from 'path';
import { MiB } from './inventory-bench-support';
import { runPhase, writeInventory } from './inventory-engine.bench';

const ROOT = join(__dirname, '..');
const PYTHON = join(ROOT, '.venv-spark', 'bin', 'python');
const SIZES = process.env.BENCH_SPARK_SIZES ? process.env.BENCH_SPARK_SIZES.split(',').map(Number) : [1_000_000, 5_000_000];
const MAX_ARCHIVE = Math.floor(3.9 * 2 ** 30);
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux
const SAMPLE_MS = 250;
/**
 * Separate executor JVMs (local-cluster, one core each): the driver's JVM then holds what a Glue
 * driver holds (plus the local master and workers, which keep no archive data). 0 = local[2], the
 * executor threads inside the driver's JVM.
 */
const EXECUTORS = Number(process.env.BENCH_SPARK_EXECUTORS ?? 2);
const EXECUTOR_MEMORY_MB = 2048;

/** Lambda's limits and the margins the threshold keeps (README, "Large vaults"). */
export const LAMBDA_MAX_MEMORY_MIB = 10_240;
export const LAMBDA_DEFAULT_ENGINE_MEMORY_MIB = 4096;
export const LAMBDA_TIMEOUT_S = 900;
export const MEMORY_MARGIN = 1.5;
/** Time margin: Lambda's vCPU against this machine's core, and the S3 reads and writes the bench leaves out. */
export const TIME_MARGIN = 3;
/** G.1X: 1 DPU = 4 vCPU; one worker is the driver; executors assumed busy half the time. */
export const GLUE_WORKERS = 10;
export const GLUE_EXECUTOR_EFFICIENCY = 0.5;

interface ProcSample {
  readonly ppid: number;
  readonly cpuTicks: number;
  readonly cmd: string;
}

function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state ppid ... utime (index 11) stime (12).
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]), cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8') };
  } catch {
    return undefined; // ended between the listing and the read
  }
}

function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Every live process under `root` (itself included). */
function processTree(root: number): Map<number, ProcSample> {
  const all = new Map<number, ProcSample>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) all.set(Number(name), p);
  }
  const tree = new Map<number, ProcSample>();
  const self = all.get(root);
  if (!self) return tree;
  tree.set(root, self);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of all) {
      if (!tree.has(pid) && tree.has(p.ppid)) {
        tree.set(pid, p);
        grew = true;
      }
    }
  }
  return tree;
}

export interface GcFigures {
  readonly peakUsedMiB: number;
  readonly peakAfterGcMiB: number;
  readonly peakCommittedMiB: number;
  readonly collections: number;
}

/** Heap figures from a unified GC log (`-Xlog:gc`): `... Pause Young (Normal) ... 300M->120M(512M) 12.3ms`. */
export function parseGcLog(text: string): GcFigures {
  let peakUsedMiB = 0;
  let peakAfterGcMiB = 0;
  let peakCommittedMiB = 0;
  let collections = 0;
  for (const m of text.matchAll(/ (\d+)M->(\d+)M\((\d+)M\)/g)) {
    collections++;
    peakUsedMiB = Math.max(peakUsedMiB, Number(m[1]));
    peakAfterGcMiB = Math.max(peakAfterGcMiB, Number(m[2]));
    peakCommittedMiB = Math.max(peakCommittedMiB, Number(m[3]));
  }
  return { peakUsedMiB, peakAfterGcMiB, peakCommittedMiB, collections };
}

interface SparkRun {
  readonly records: number;
  readonly seconds: number;
  readonly jvmPeakRssMiB: number;
  /** The largest executor JVM's peak RSS (0 when the executors run inside the driver's JVM). */
  readonly executorPeakRssMiB: number;
  readonly pythonDriverPeakRssMiB: number;
  readonly workersPeakRssMiB: number;
  readonly cpuSeconds: number;
  readonly gc: GcFigures;
  readonly files: number;
}

async function runSpark(inventory: string, work: string): Promise<SparkRun> {
  // One GC log per JVM (%p: its pid); the driver's is picked by pid after the run.
  const gcLog = join(work, 'gc-%p.log');
  const out = join(work, 'out');
  mkdirSync(out);
  const started = process.hrtime.bigint();
  const child = spawn(PYTHON, [join(ROOT, 'glue', 'local_run.py'), '--inventory', inventory, '--output', out, '--run_id', 'bench',
    '--partition_size', String(2 ** 40), '--max_archive_size', String(MAX_ARCHIVE), '--destination_prefix', 'restored/', '--cores', '2',
    '--executors', String(EXECUTORS), '--executor_memory_mb', String(EXECUTOR_MEMORY_MB)], {
    cwd: ROOT,
    env: { ...process.env, JAVA_TOOL_OPTIONS: `-Xlog:gc:file=${gcLog}`, SPARK_LOCAL_DIRS: join(work, 'spark-local') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const root = child.pid!;
  let jvmHwmKiB = 0;
  let driverJvmPid = 0;
  const executorHwmKiB = new Map<number, number>();
  let pyHwmKiB = 0;
  let workersKiB = 0;
  const ticks = new Map<number, number>();
  const sample = (): void => {
    let workers = 0;
    for (const [pid, p] of processTree(root)) {
      ticks.set(pid, p.cpuTicks);
      if (p.cmd.includes('CoarseGrainedExecutorBackend')) executorHwmKiB.set(pid, statusKiB(pid, 'VmHWM'));
      else if (p.cmd.includes('java')) {
        driverJvmPid = pid;
        jvmHwmKiB = Math.max(jvmHwmKiB, statusKiB(pid, 'VmHWM'));
      }
      else if (pid === root) pyHwmKiB = Math.max(pyHwmKiB, statusKiB(pid, 'VmHWM'));
      else workers += statusKiB(pid, 'VmRSS');
    }
    workersKiB = Math.max(workersKiB, workers);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`local Spark run failed (exit ${code}): ${stderr}`);
  const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { totalCount: number; errorCount: number };
  const cpuTicks = [...ticks.values()].reduce((a, b) => a + b, 0);
  const files = readdirSync(join(out, 'bench', 'sorted_inventory'), { recursive: true }).filter((f) => String(f).endsWith('.csv')).length;
  return {
    records: summary.totalCount + summary.errorCount,
    seconds,
    jvmPeakRssMiB: Math.round(jvmHwmKiB / 1024),
    executorPeakRssMiB: Math.round(Math.max(0, ...executorHwmKiB.values()) / 1024),
    pythonDriverPeakRssMiB: Math.round(pyHwmKiB / 1024),
    workersPeakRssMiB: Math.round(workersKiB / 1024),
    cpuSeconds: cpuTicks / CLOCK_TICKS,
    gc: parseGcLog(readFileSync(join(work, `gc-${driverJvmPid}.log`), 'utf8')),
    files,
  };
}

const label = (rows: number) => (rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run \`npx projen spark:install\` first (npx projen bench does)`);
  const metrics: Record<string, number | string> = {};
  const targets: Record<string, string> = {};
  metrics['machine: cpus / load (1 5 15 min) at start'] = `${cpus().length} / ${load()}`;
  metrics['spark master'] = EXECUTORS ? `local-cluster[${EXECUTORS},1,${EXECUTOR_MEMORY_MB}] (separate executor JVMs)` : 'local[2] (executors in the driver JVM)';
  const spark = new Map<number, SparkRun>();
  for (const rows of SIZES) {
    const work = mkdtempSync(join(tmpdir(), 'spark-engine-'));
    const file = join(work, 'inventory.csv');
    const l = label(rows);
    try {
      await writeInventory(file, rows);
      const inventoryBytes = statSync(file).size;
      metrics[`${l} file MiB`] = Math.round(inventoryBytes / MiB);
      if (rows === 1_000_000 || SIZES.length === 1) {
        // The Lambda engine on the same input, in the same run.
        const lambda = runPhase('engine', file);
        const bytesPerArchive = (lambda.peakRssMiB * MiB) / lambda.records;
        // CPU time, not wall time: the Lambda engine is single-threaded, and CPU time barely moves with load.
        const secondsPerArchive = (lambda.cpuSeconds ?? lambda.seconds) / lambda.records;
        const inventoryBytesPerArchive = inventoryBytes / lambda.records;
        metrics[`${l} lambda engine wall s`] = Number(lambda.seconds.toFixed(1));
        metrics[`${l} lambda engine peak RSS MiB`] = lambda.peakRssMiB;
        metrics[`${l} lambda engine CPU s`] = Number((lambda.cpuSeconds ?? 0).toFixed(1));
        metrics[`${l} lambda engine records/s`] = Math.round(lambda.records / lambda.seconds);
        metrics['lambda engine peak RSS bytes / archive'] = Math.round(bytesPerArchive);
        metrics['lambda engine CPU µs / archive'] = Number((secondsPerArchive * 1e6).toFixed(1));
        metrics['inventory bytes / archive'] = Math.round(inventoryBytesPerArchive);
        // The switch threshold these limits allow (README, "Large vaults").
        const byMemory = (mib: number) => Math.floor((mib * MiB) / (bytesPerArchive * MEMORY_MARGIN));
        const byTime = Math.floor(LAMBDA_TIMEOUT_S / (secondsPerArchive * TIME_MARGIN));
        for (const mib of [LAMBDA_DEFAULT_ENGINE_MEMORY_MIB, LAMBDA_MAX_MEMORY_MIB]) {
          const archives = Math.min(byMemory(mib), byTime);
          metrics[`lambda engine max archives at ${mib} MB (memory ÷ ${MEMORY_MARGIN}, 900 s ÷ ${TIME_MARGIN})`] =
            `${(archives / 1e6).toFixed(2)} M (memory ${(byMemory(mib) / 1e6).toFixed(2)} M, time ${(byTime / 1e6).toFixed(2)} M)`;
          metrics[`lambdaEngineMaxBytes these allow at ${mib} MB, MiB`] = Math.floor((archives * inventoryBytesPerArchive) / MiB);
        }
      }
      const s = await runSpark(file, work);
      spark.set(rows, s);
      metrics[`${l} spark wall s`] = Number(s.seconds.toFixed(1));
      metrics[`${l} spark records/s`] = Math.round(s.records / s.seconds);
      metrics[`${l} spark CPU s (all processes)`] = Number(s.cpuSeconds.toFixed(1));
      metrics[`${l} spark driver JVM peak RSS MiB`] = s.jvmPeakRssMiB;
      if (EXECUTORS) metrics[`${l} spark largest executor JVM peak RSS MiB`] = s.executorPeakRssMiB;
      metrics[`${l} spark driver heap peak used / after GC / committed MiB`] = `${s.gc.peakUsedMiB} / ${s.gc.peakAfterGcMiB} / ${s.gc.peakCommittedMiB}`;
      metrics[`${l} spark Python driver peak RSS MiB`] = s.pythonDriverPeakRssMiB;
      metrics[`${l} spark Python workers peak RSS MiB (sum)`] = s.workersPeakRssMiB;
      metrics[`${l} spark partition files`] = s.files;
      if (rows === 1_000_000 && metrics['1M lambda engine records/s'] !== undefined) {
        metrics['1M spark ÷ lambda engine records/s'] = Number(((s.records / s.seconds) / Number(metrics['1M lambda engine records/s'])).toFixed(2));
      }
      metrics[`load (1 5 15 min) after ${l}`] = load();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const one = spark.get(1_000_000);
  const five = spark.get(5_000_000);
  if (one && five) {
    metrics['spark driver peak RSS 5M ÷ 1M'] = Number((five.jvmPeakRssMiB / one.jvmPeakRssMiB).toFixed(2));
    targets['spark driver peak RSS 5M ÷ 1M'] = '<= 1.2';
    metrics['spark driver live heap after GC 5M ÷ 1M'] = Number((five.gc.peakAfterGcMiB / one.gc.peakAfterGcMiB).toFixed(2));
    metrics['spark Python driver peak RSS 5M ÷ 1M'] = Number((five.pythonDriverPeakRssMiB / one.pythonDriverPeakRssMiB).toFixed(2));
  }
  const largest = Math.max(...spark.keys());
  const cpuPerMillion = spark.get(largest)!.cpuSeconds / (largest / 1e6);
  metrics['spark CPU s per M archives (largest run)'] = Number(cpuPerMillion.toFixed(1));
  // Modelled Glue cost: the CPU spread over the executors' vCPUs at the stated efficiency, every
  // worker (driver included) billed for that time.
  const dpuHours = (GLUE_WORKERS * cpuPerMillion) / ((GLUE_WORKERS - 1) * 4 * GLUE_EXECUTOR_EFFICIENCY) / 3600;
  metrics[`modelled Glue DPU-hours per M archives (${GLUE_WORKERS} × G.1X, efficiency ${GLUE_EXECUTOR_EFFICIENCY})`] = Number(dpuHours.toFixed(3));
  return { name: 'spark-engine', metrics, targets };
}

if (require.main === module) {
  run().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
