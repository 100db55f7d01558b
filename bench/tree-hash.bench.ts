/**
 * Tree-hash benchmark.
 *
 * 1. Throughput of TreeHasher ÷ raw node:crypto SHA-256 over the same 256 MiB fed in the same
 *    unaligned pieces (a tree hash cannot be faster than one SHA-256 pass; target ≥ 0.9).
 * 2. TreeHasher ÷ the AWS SDK's `TreeHash` (@aws-sdk/sha256-tree-hash) on the same pieces.
 * 3. Peak extra memory of TreeHashStream over 1 GiB generated on the fly in random pieces
 *    (target < 16 MiB: nothing but the current piece should be held).
 *
 * Run alone: npx tsx bench/tree-hash.bench.ts
 */
import { createHash, randomFillSync } from 'crypto';
import { Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
// eslint-disable-next-line import/no-extraneous-dependencies
import { TreeHash } from '@aws-sdk/sha256-tree-hash';
import { TreeHasher, TreeHashStream, treeHashOf } from '../src/core/tree-hash';

const MiB = 1024 * 1024;
const HASH_BYTES = 256 * MiB;
const STREAM_BYTES = 1024 * MiB;
const ROUNDS = 3;

/* eslint-disable no-bitwise -- xorshift PRNG */
/** Deterministic pseudo-random piece sizes (xorshift), unaligned with the 1 MiB leaves. */
function pieceSizes(total: number, maxPiece: number, seed = 0x9e3779b9): number[] {
  const sizes: number[] = [];
  let x = seed >>> 0;
  let left = total;
  while (left > 0) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const size = Math.min(left, 1 + (x % maxPiece));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}
/* eslint-enable no-bitwise */

/** node:crypto SHA-256 in the shape of the SDK's Checksum interface (update + async digest). */
class NodeSha256 {
  private hash = createHash('sha256');
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = createHash('sha256');
  }
}

const fromUtf8 = (s: string) => Buffer.from(s, 'utf8');

function slices(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const s of sizes) {
    out.push(data.subarray(off, off + s));
    off += s;
  }
  return out;
}

/** Best of N wall-clock runs, seconds. */
async function best(fn: () => unknown | Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

async function throughput() {
  const data = randomFillSync(Buffer.allocUnsafe(HASH_BYTES));
  const pieces = slices(data, pieceSizes(HASH_BYTES, 3 * MiB + 17));
  const expected = treeHashOf(data);

  let ours = '';
  let sdk = '';
  const raw = await best(() => {
    const h = createHash('sha256');
    for (const p of pieces) h.update(p);
    h.digest();
  });
  const oursSeconds = await best(() => {
    const h = new TreeHasher();
    for (const p of pieces) h.update(p);
    ours = h.digest();
  });
  const sdkSeconds = await best(async () => {
    const h = new TreeHash(NodeSha256, fromUtf8);
    for (const p of pieces) h.update(p);
    sdk = Buffer.from(await h.digest()).toString('hex');
  });
  if (ours !== expected || sdk !== expected) throw new Error(`tree hashes disagree: ours ${ours}, sdk ${sdk}, one-shot ${expected}`);
  const mbps = (s: number) => HASH_BYTES / MiB / s;
  return {
    pieces: pieces.length,
    rawMiBps: mbps(raw),
    oursMiBps: mbps(oursSeconds),
    sdkMiBps: mbps(sdkSeconds),
    vsRaw: raw / oursSeconds,
    vsSdk: sdkSeconds / oursSeconds,
  };
}

/** Stream 1 GiB of freshly generated random pieces through TreeHashStream, sampling memory. */
async function streamingMemory() {
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = 0;
  let peakHeapExt = 0;
  let peakLazy = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss - base.rss);
    peakHeapExt = Math.max(peakHeapExt, m.heapUsed + m.external - (base.heapUsed + base.external));
  };
  const sizes = pieceSizes(STREAM_BYTES, 256 * 1024 + 3, 12345);
  let i = 0;
  const source = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (i === sizes.length) {
        this.push(null);
        return;
      }
      // A new buffer per piece, as a network stream delivers them.
      this.push(randomFillSync(Buffer.allocUnsafe(sizes[i++])));
      if (i % 64 === 0) {
        // Collect the pieces already hashed and passed on, so the sample shows what the stream
        // RETAINS, not how lazily V8 frees dead buffers (that figure is reported separately).
        peakLazy = Math.max(peakLazy, process.memoryUsage().external - base.external);
        global.gc?.();
        sample();
      }
    },
  });
  let seen = 0;
  const sink = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      cb();
    },
  });
  const hashStream = new TreeHashStream({ expectedBytes: STREAM_BYTES });
  const t0 = process.hrtime.bigint();
  await pipeline(source, hashStream, sink);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sample();
  if (seen !== STREAM_BYTES) throw new Error(`sink saw ${seen} bytes`);
  return {
    peakRssMiB: peakRss / MiB,
    peakHeapExternalMiB: peakHeapExt / MiB,
    peakExternalNoGcMiB: peakLazy / MiB,
    gcExposed: global.gc !== undefined,
    seconds,
    treeHash: hashStream.treeHash,
  };
}

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  // Memory first, while the process is fresh (the throughput phase allocates 256 MiB).
  const m = await streamingMemory();
  const t = await throughput();
  return {
    name: 'tree-hash',
    metrics: {
      'raw sha256 MiB/s (256 MiB)': round(t.rawMiBps),
      'TreeHasher MiB/s': round(t.oursMiBps),
      'aws-sdk TreeHash MiB/s': round(t.sdkMiBps),
      'TreeHasher / raw sha256': round(t.vsRaw, 3),
      'TreeHasher / aws-sdk TreeHash': round(t.vsSdk, 3),
      'pieces (unaligned)': t.pieces,
      'stream 1 GiB seconds': round(m.seconds, 2),
      'stream 1 GiB peak RSS delta MiB': round(m.peakRssMiB, 1),
      'stream 1 GiB peak heap+external delta MiB': round(m.peakHeapExternalMiB, 1),
      'stream 1 GiB external incl. uncollected garbage MiB': round(m.peakExternalNoGcMiB, 1),
      'stream memory sampled after gc()': m.gcExposed ? 'yes' : 'no (run with --expose-gc)',
    },
    targets: {
      'TreeHasher / raw sha256': '>= 0.9',
      'stream 1 GiB peak RSS delta MiB': '< 16',
      'stream 1 GiB peak heap+external delta MiB': '< 16',
    },
  };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
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
