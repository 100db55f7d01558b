/**
 * Pacing benchmark on a virtual clock (no real waiting).
 *
 * Synthetic vault: 1,000,000 archives, 100 TiB in total (log-normal sizes, deterministic), daily
 * quota 100 TiB (rolling 24 h). Our sliding-window pacer and the reference per-partition formula
 * (40 TiB partitions one after another, wait 86400 × partition bytes ÷ quota − elapsed) run on the
 * same inventory in the same process; then a resume of a 90%-finished vault.
 *
 * Utilisation = bytes requested ÷ (quota × days), with days = (last − first request) ÷ 24 h + the
 * bytes of the 24-h window ending at the last request ÷ quota (see PacingSimulationResult.totalDays):
 * requesting one quota at once scores 100%, and so does a pacer that keeps the window full.
 *
 * Run alone: npx tsx bench/pacing.bench.ts
 */
import { PacingSimulationResult, PacingStrategy, simulatePacing, TiB } from './pacing-simulator';

const ARCHIVES = 1_000_000;
const QUOTA = 100 * TiB;
/** InitiateJob rate of the "realistic" runs: the reference's ~100 TPS (batches of 100). */
const TPS = 100;

/* eslint-disable no-bitwise -- mulberry32 PRNG */
/** Deterministic log-normal sizes scaled to `totalBytes` (integers, ≥ 1 byte). */
function syntheticSizes(count: number, totalBytes: number, seed = 42): Float64Array {
  let state = seed >>> 0;
  const uniform = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const raw = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    raw[i] = Math.exp(1.5 * z);
    sum += raw[i];
  }
  let assigned = 0;
  for (let i = 0; i < count; i++) {
    raw[i] = Math.max(1, Math.floor((raw[i] / sum) * totalBytes));
    assigned += raw[i];
  }
  raw[count - 1] += totalBytes - assigned; // exact total
  return raw;
}
/* eslint-enable no-bitwise */

function figures(r: PacingSimulationResult) {
  return {
    utilisation: r.utilisation,
    worst: r.worstWindowRatio,
    days: r.totalDays,
    lastRequestHours: r.lastRequestSeconds / 3600,
    firstRequestHours: (r.timeToFirstRequestSeconds ?? NaN) / 3600,
  };
}

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  const t0 = Date.now();
  const sizes = syntheticSizes(ARCHIVES, 100 * TiB);
  const sim = (strategy: PacingStrategy, extra: { requestRate?: number; alreadyCopied?: Uint8Array; archiveSizes?: Float64Array } = {}) =>
    figures(simulatePacing({ archiveSizes: sizes, dailyQuota: QUOTA, batchSize: 100, strategy, ...extra }));

  const ours = sim(PacingStrategy.SLIDING_WINDOW);
  const ref = sim(PacingStrategy.REFERENCE_PARTITIONS);
  const oursTps = sim(PacingStrategy.SLIDING_WINDOW, { requestRate: TPS });
  const refTps = sim(PacingStrategy.REFERENCE_PARTITIONS, { requestRate: TPS });

  // A 250 TiB vault (same archives, 2.5× the size each): multi-day pacing.
  const big = sizes.map((s) => Math.round(s * 2.5));
  const oursBig = sim(PacingStrategy.SLIDING_WINDOW, { archiveSizes: big });
  const refBig = sim(PacingStrategy.REFERENCE_PARTITIONS, { archiveSizes: big });

  // Resume: the first 90% of the archives (creation order) are already in S3.
  const copied = new Uint8Array(ARCHIVES);
  copied.fill(1, 0, Math.floor(ARCHIVES * 0.9));
  const oursResume = sim(PacingStrategy.SLIDING_WINDOW, { requestRate: TPS, alreadyCopied: copied });
  const refResume = sim(PacingStrategy.REFERENCE_PARTITIONS, { requestRate: TPS, alreadyCopied: copied });

  const r3 = (n: number) => Math.round(n * 1000) / 1000;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  // Worst windows are rounded UP so a 0.04% overrun cannot print as 1 and pass.
  const up = (n: number) => Math.ceil(n * 1e6) / 1e6;
  return {
    name: 'pacing',
    metrics: {
      'ours utilisation (100 TiB, pure pacing)': r3(ours.utilisation),
      'ours worst 24-h window / quota': up(ours.worst),
      'ours total days': r3(ours.days),
      'reference utilisation (100 TiB, pure pacing)': r3(ref.utilisation),
      'reference worst 24-h window / quota': up(ref.worst),
      'reference total days': r3(ref.days),
      'ours / reference utilisation': r3(ours.utilisation / ref.utilisation),
      [`ours utilisation @${TPS} TPS`]: r3(oursTps.utilisation),
      [`ours worst window @${TPS} TPS`]: up(oursTps.worst),
      [`ours last request hours @${TPS} TPS`]: r2(oursTps.lastRequestHours),
      [`reference utilisation @${TPS} TPS`]: r3(refTps.utilisation),
      [`reference worst window @${TPS} TPS`]: up(refTps.worst),
      [`reference last request hours @${TPS} TPS`]: r2(refTps.lastRequestHours),
      '250 TiB ours utilisation (pure pacing)': r3(oursBig.utilisation),
      '250 TiB ours worst window': up(oursBig.worst),
      '250 TiB ours total days': r3(oursBig.days),
      '250 TiB reference utilisation (pure pacing)': r3(refBig.utilisation),
      '250 TiB reference worst window': up(refBig.worst),
      '250 TiB reference total days': r3(refBig.days),
      'resume 90%: ours hours to first request': r2(oursResume.firstRequestHours),
      'resume 90%: reference hours to first request': r2(refResume.firstRequestHours),
      'resume 90%: ours hours to last request': r2(oursResume.lastRequestHours),
      'resume 90%: reference hours to last request': r2(refResume.lastRequestHours),
      'simulation wall seconds': r2((Date.now() - t0) / 1000),
    },
    targets: {
      'ours utilisation (100 TiB, pure pacing)': '>= 0.95',
      'ours worst 24-h window / quota': '<= 1',
      [`ours worst window @${TPS} TPS`]: '<= 1',
      '250 TiB ours utilisation (pure pacing)': '>= 0.95',
      '250 TiB ours worst window': '<= 1',
      'resume 90%: ours hours to first request': '<= 0',
    },
  };
}

if (require.main === module) {
  run().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
