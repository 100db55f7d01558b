/*
 * Benchmark of the chunk path: GetJobOutput body → TreeHashStream → UploadPart body, through the
 * very function ChunkRetrieval uses (copyRangeToPart), against in-process fakes of Glacier and S3.
 *
 * The archive (default 4 GiB, 1 GiB chunks) is generated on the fly from AES-128-CTR keystream —
 * deterministic pseudo-random bytes that can start at any offset — and never held in memory. The
 * fake S3 drains each part body the way an HTTP client writes it to a socket. The baseline is a
 * plain stream copy of the same bytes (source → pipeline → same sink, no hashing) in the same run.
 *
 * Fairness: baseline and chunk path use the same generator and the same sink, and are interleaved
 * range by range (baseline copy of range i, then chunk path of range i), so load from other
 * processes on a shared machine hits both alike. The generator's own cost (generator → sink, no
 * pipeline) is measured and reported: the cheaper it is, the harder the ratio target, so it keeps
 * one zero-filled input buffer instead of allocating one per piece (its output is still a fresh
 * buffer per piece, as a socket delivers).
 *
 *   npx tsx bench/chunk-path.bench.ts            # 4 GiB
 *   npx tsx bench/chunk-path.bench.ts --size-mib 512
 */
import { createCipheriv } from 'crypto';
import { availableParallelism } from 'os';
import { PassThrough, Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetJobOutputCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { chunkRanges, planChunks } from '../src/core/chunk-plan';
import { TreeHasher } from '../src/core/tree-hash';
import { copyRangeToPart } from '../src/handlers/archive-retrieval/transfer';

const MiB = 1024 * 1024;
const PIECE = 64 * 1024; // typical size of the pieces a socket hands to a Node HTTP response
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
/** Keystream input: CTR output = keystream XOR input, so zeros give the keystream itself. */
const ZEROS = Buffer.alloc(PIECE);

export interface ChunkPathBenchOptions {
  /** Archive size in bytes (default 4 GiB). */
  readonly sizeBytes?: number;
  /** Chunk size in bytes (default 1 GiB). */
  readonly chunkSize?: number;
  /** Have the fake Glacier return each range's tree hash, as the real service does (default true). */
  readonly withGlacierChecksums?: boolean;
}

export interface BenchResult {
  readonly name: string;
  readonly metrics: Record<string, number | string>;
}

/** Deterministic pseudo-random bytes [start, end] of the synthetic archive, produced on demand. */
class ArchiveBytes extends Readable {
  private position: number;
  private readonly cipher;

  constructor(start: number, private readonly end: number) {
    super({ highWaterMark: PIECE });
    if (start % 16 !== 0) throw new Error('ranges start on 16-byte boundaries');
    this.position = start;
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(BigInt(start / 16), 8);
    this.cipher = createCipheriv('aes-128-ctr', KEY, iv);
  }

  _read(): void {
    const remaining = this.end + 1 - this.position;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const length = Math.min(PIECE, remaining);
    this.position += length;
    this.push(this.cipher.update(length === PIECE ? ZEROS : ZEROS.subarray(0, length)));
  }
}

/** Consumes a body like an HTTP client: reads every piece, keeps nothing. */
async function sink(body: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  for await (const piece of body) bytes += piece.length;
  return bytes;
}

function treeHashOfRange(start: number, end: number): Promise<string> {
  const hasher = new TreeHasher();
  return new Promise((resolve, reject) => {
    new ArchiveBytes(start, end)
      .on('data', (piece: Buffer) => hasher.update(piece))
      .on('end', () => resolve(hasher.digest()))
      .on('error', reject);
  });
}

class RssSampler {
  public peak = process.memoryUsage().rss;
  private readonly timer = setInterval(() => this.sample(), 20);
  public sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }
  public stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export async function run(options: ChunkPathBenchOptions = {}): Promise<BenchResult> {
  const sizeBytes = options.sizeBytes ?? 4 * 1024 * MiB;
  const plan = planChunks(sizeBytes, options.chunkSize ?? 1024 * MiB);
  const ranges = chunkRanges(plan);

  const checksums = new Map<number, string>();
  if (options.withGlacierChecksums ?? true) {
    for (const r of ranges) checksums.set(r.start, await treeHashOfRange(r.start, r.end));
  }

  const glacier = new GlacierClient({ region: 'us-east-1' });
  const s3 = new S3Client({ region: 'us-east-1' });
  const glacierMock = mockClient(glacier);
  const s3Mock = mockClient(s3);
  glacierMock.on(GetJobOutputCommand).callsFake(async (input) => {
    const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(input.range!)!;
    const start = Number(a);
    return { body: new ArchiveBytes(start, Number(b)) as never, checksum: checksums.get(start), status: 206, $metadata: {} };
  });
  s3Mock.on(UploadPartCommand).callsFake(async (input) => {
    const bytes = await sink(input.Body as AsyncIterable<Buffer>);
    return { ETag: `"part-${input.PartNumber}-${bytes}"`, ChecksumSHA256: 'bm90LWNvbXB1dGVkLWJ5LXRoZS1mYWtl', $metadata: {} };
  });

  const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
  try {
    global.gc?.();
    // The generator alone, into the same sink (its share of the baseline is reported).
    let generatorSeconds = 0;
    for (const r of ranges) {
      const t0 = process.hrtime.bigint();
      const generated = await sink(new ArchiveBytes(r.start, r.end));
      generatorSeconds += seconds(t0);
      if (generated !== r.end - r.start + 1) throw new Error('generator produced the wrong number of bytes');
    }

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const sampler = new RssSampler();
    let baselineSeconds = 0;
    let chunkSeconds = 0;
    let baselineCpu = 0;
    let chunkCpu = 0;
    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    for (const r of ranges) {
      // Baseline: the same bytes through a plain pipeline into the same sink.
      const c0 = cpu();
      const t0 = process.hrtime.bigint();
      const through = new PassThrough();
      const [, copied] = await Promise.all([pipeline(new ArchiveBytes(r.start, r.end), through), sink(through)]);
      baselineSeconds += seconds(t0);
      baselineCpu += cpu() - c0;
      if (copied !== r.end - r.start + 1) throw new Error('baseline copied the wrong number of bytes');

      // The chunk path, exactly as ChunkRetrieval runs it.
      const c1 = cpu();
      const t1 = process.hrtime.bigint();
      const result = await copyRangeToPart(
        { glacier, s3 },
        { vaultName: 'bench-vault', jobId: 'bench-job' },
        r,
        { bucket: 'bench-bucket', bucketOwner: '111122223333', key: 'bench/archive.bin', uploadId: 'bench-upload', partNumber: r.partNumber },
      );
      chunkSeconds += seconds(t1);
      chunkCpu += cpu() - c1;
      if (result.bytes !== r.end - r.start + 1) throw new Error(`part ${r.partNumber} carried ${result.bytes} bytes`);
      if (checksums.size > 0 && result.treeHash !== checksums.get(r.start)) throw new Error(`part ${r.partNumber} tree hash differs`);
    }
    const peakRss = sampler.stop();

    const gib = sizeBytes / (1024 * MiB);
    const ratio = baselineSeconds / chunkSeconds;
    return {
      name: 'chunk-path',
      metrics: {
        archiveGiB: Number(gib.toFixed(3)),
        chunkMiB: plan.chunkSize / MiB,
        parts: plan.chunkCount,
        glacierChecksums: checksums.size > 0 ? 'yes' : 'no',
        chunkPathSeconds: Number(chunkSeconds.toFixed(3)),
        chunkPathMiBps: Math.round(sizeBytes / MiB / chunkSeconds),
        baselineSeconds: Number(baselineSeconds.toFixed(3)),
        baselineMiBps: Math.round(sizeBytes / MiB / baselineSeconds),
        // CPU seconds of all threads (the chunk path's hash worker included): on a loaded machine
        // the wall-clock ratio is noisy, this shows the work itself.
        baselineCpuSeconds: Number(baselineCpu.toFixed(3)),
        chunkPathCpuSeconds: Number(chunkCpu.toFixed(3)),
        generatorSeconds: Number(generatorSeconds.toFixed(3)),
        generatorShareOfBaseline: Number((generatorSeconds / baselineSeconds).toFixed(3)),
        cores: availableParallelism(),
        throughputRatio: Number(ratio.toFixed(3)),
        throughputRatioTarget: 0.8,
        peakRssMiB: Math.round(peakRss / MiB),
        rssBeforeChunkPathMiB: Math.round(rssBefore / MiB),
        processMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        peakRssTargetMiB: 256,
      },
    };
  } finally {
    glacierMock.restore();
    s3Mock.restore();
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--size-mib');
  const sizeBytes = at > 0 ? Number(process.argv[at + 1]) * MiB : undefined;
  run({ sizeBytes }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
