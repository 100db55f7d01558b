/*
 * Benchmark of the chunk path: GetJobOutput → tree-hash verification → UploadPart, through the
 * very function ChunkRetrieval uses (copyRangeToPart) and the real AWS SDK v3 clients, against
 * in-process fakes of Glacier and S3 plugged in as the clients' HTTP handlers. So the measured
 * path is what runs in Lambda — request signing, response parsing, the SDK's aws-chunked body
 * encoding with its trailing CRC32 — minus the network.
 *
 * The archive (default 4 GiB, 1 GiB chunks) is generated on the fly from AES-128-CTR keystream —
 * deterministic pseudo-random bytes that can start at any offset — and never held in memory. The
 * fake S3 drains each request body the way a socket would and answers with the checksum the SDK
 * sent in the trailer.
 *
 * Measured per byte range, interleaved (so load from other processes hits all alike):
 * - plain copy: the same GetJobOutput and UploadPart (same clients, same CRC32 part checksum)
 *   with the response body handed straight to the upload — what copying costs without
 *   verification. The target ratio (≥ 0.8) is against this.
 * - chunk path: copyRangeToPart with tree hashing on this thread, and (on a machine with spare
 *   cores) on the leaf-hashing workers ChunkRetrieval uses in a Lambda of ≥ 3,538 MB.
 * - chunk path with SHA-256 part checksums, as earlier versions uploaded: shows what hashing
 *   every byte twice cost.
 * - bare stream copy: generator → PassThrough → sink, no SDK at all. Its ratio is reported but
 *   has no target: SHA-256 of every byte (~1.7 GB/s on one core here) is slower than moving
 *   bytes in memory, so verification can never run at bare-copy speed on one core.
 *
 *   npx tsx bench/chunk-path.bench.ts                  # 4 GiB
 *   npx tsx bench/chunk-path.bench.ts --size-mib 512
 */
import { createCipheriv } from 'crypto';
import { readFileSync } from 'fs';
import { availableParallelism } from 'os';
import { performance } from 'perf_hooks';
import { PassThrough, Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetJobOutputCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { ChunkRange, chunkRanges, planChunks } from '../src/core/chunk-plan';
import { TreeHasher } from '../src/core/tree-hash';
import { LeafHashPool, leafHashWorkerCount } from '../src/handlers/archive-retrieval/leaf-hash-workers';
import { copyRangeToPart, TransferClients } from '../src/handlers/archive-retrieval/transfer';

const MiB = 1024 * 1024;
const PIECE = 64 * 1024; // typical size of the pieces a socket hands to a Node HTTP response
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
/** Keystream input: CTR output = keystream XOR input, so zeros give the keystream itself. */
const ZEROS = Buffer.alloc(PIECE);
const OWNER = '111122223333';
const CREDENTIALS = { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'benchmark-only' };

export interface ChunkPathBenchOptions {
  /** Archive size in bytes (default 4 GiB). */
  readonly sizeBytes?: number;
  /** Chunk size in bytes (default 1 GiB). */
  readonly chunkSize?: number;
  /** Leaf-hashing worker threads for the pooled variant (default: what ChunkRetrieval would use on this machine). */
  readonly hashWorkers?: number;
}

export interface BenchResult {
  readonly name: string;
  readonly metrics: Record<string, number | string>;
  readonly targets?: Record<string, string>;
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

/**
 * Consumes a body the way the SDK's Node HTTP handler hands it to a socket: piped into a Writable
 * that sees every piece as it was pushed (a socket writes them out; it does not concatenate).
 * Reading with `for await` instead would make Readable.read() merge whatever is buffered into new
 * Buffers, a copy per piece that no real upload makes.
 */
async function drain(body: Readable, onPiece: (piece: Buffer) => void): Promise<void> {
  const socket = new Writable({
    write(piece: Buffer, _encoding, callback) {
      try {
        onPiece(piece);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  await pipeline(body, socket);
}

async function sink(body: Readable): Promise<number> {
  let bytes = 0;
  await drain(body, (piece) => {
    bytes += piece.length;
  });
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

interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
}
type FakeResponse = { response: { statusCode: number; headers: Record<string, string>; body: Readable } };
interface HandlerOptions {
  readonly abortSignal?: AbortSignal;
}

/** Like the SDK's Node HTTP handler: an aborted request rejects even while its body is being sent. */
function abortable<T>(work: Promise<T>, options: HandlerOptions | undefined, body: unknown): Promise<T> {
  const signal = options?.abortSignal;
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      (body as Readable | undefined)?.destroy?.();
      reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Glacier's GetJobOutput over "HTTP": the requested range, with its tree hash and Content-Range. */
function fakeGlacierHandler(sizeBytes: number, treeHashes: Map<string, string>) {
  return {
    handle: async (request: FakeRequest): Promise<FakeResponse> => {
      const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
      if (request.method !== 'GET' || !request.path.endsWith('/output') || !match) {
        throw new Error(`fake Glacier: unexpected ${request.method} ${request.path} range=${request.headers.range}`);
      }
      const start = Number(match[1]);
      const end = Number(match[2]);
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        'content-length': String(end - start + 1),
        'content-range': `bytes ${start}-${end}/${sizeBytes}`,
      };
      const treeHash = treeHashes.get(`${start}-${end}`);
      if (treeHash) headers['x-amz-sha256-tree-hash'] = treeHash;
      return { response: { statusCode: 206, headers, body: new ArchiveBytes(start, end) } };
    },
  };
}

/**
 * Reads an aws-chunked body (`<hex size>\r\n<data>\r\n` frames, a `0\r\n` frame, then trailer
 * lines) without copying the data, and returns the payload size and the trailer.
 */
async function readAwsChunked(body: Readable): Promise<{ payloadBytes: number; trailer: string }> {
  let payloadBytes = 0;
  let inFrame = 0; // data bytes (+ the frame's closing CRLF) still to skip
  let header = '';
  let trailer: string | undefined;
  await drain(body, (piece) => {
    let at = 0;
    while (at < piece.length) {
      if (trailer !== undefined) {
        trailer += piece.toString('latin1', at);
        return;
      }
      if (inFrame > 0) {
        const take = Math.min(inFrame, piece.length - at);
        inFrame -= take;
        at += take;
        continue;
      }
      const eol = piece.indexOf(0x0a, at);
      header += piece.toString('latin1', at, eol < 0 ? piece.length : eol + 1);
      if (eol < 0) return;
      at = eol + 1;
      const size = parseInt(header, 16);
      if (!Number.isFinite(size)) throw new Error(`fake S3: bad aws-chunked frame header ${JSON.stringify(header)}`);
      header = '';
      if (size === 0) {trailer = '';} else {
        payloadBytes += size;
        inFrame = size + 2;
      }
    }
  });
  if (trailer === undefined) throw new Error('fake S3: aws-chunked body ended without its final frame');
  return { payloadBytes, trailer };
}

/** S3's UploadPart over "HTTP": reads the aws-chunked body and answers with the trailer's checksum. */
async function receivePart(request: FakeRequest): Promise<FakeResponse> {
  if (request.method !== 'PUT' || request.query?.['x-id'] !== 'UploadPart') throw new Error(`fake S3: unexpected ${request.method} ${request.path}`);
  if (request.headers['content-encoding'] !== 'aws-chunked') throw new Error('fake S3: expected an aws-chunked body with a checksum trailer');
  const { payloadBytes, trailer } = await readAwsChunked(request.body as Readable);
  const checksum = /^x-amz-checksum-(crc32|sha256):([A-Za-z0-9+/=]+)\r\n/.exec(trailer);
  if (!checksum) throw new Error(`fake S3: no checksum in the trailer ${JSON.stringify(trailer)}`);
  return {
    response: {
      statusCode: 200,
      headers: { etag: `"part-${request.query.partNumber}-${payloadBytes}"`, [`x-amz-checksum-${checksum[1]}`]: checksum[2] },
      body: Readable.from([]),
    },
  };
}

const fakeS3Handler = {
  handle: (request: FakeRequest, options?: HandlerOptions): Promise<FakeResponse> => abortable(receivePart(request), options, request.body),
};

/**
 * CPU seconds used so far by this process's main thread alone (Linux: /proc/thread-self/stat;
 * undefined elsewhere). process.cpuUsage() counts every thread: V8's GC helpers and hash workers too.
 */
function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime (fields 14 and 15 of stat(5)), in clock ticks; 100 per second on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
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

type Variant = 'bare' | 'plain' | 'inline' | 'pooled' | 'inlineSha256';

export async function run(options: ChunkPathBenchOptions = {}): Promise<BenchResult> {
  const sizeBytes = options.sizeBytes ?? 4 * 1024 * MiB;
  const plan = planChunks(sizeBytes, options.chunkSize ?? 1024 * MiB);
  const ranges = chunkRanges(plan);
  const treeHashes = new Map<string, string>();
  for (const r of ranges) treeHashes.set(`${r.start}-${r.end}`, await treeHashOfRange(r.start, r.end));

  const glacier = new GlacierClient({ region: 'us-east-1', credentials: CREDENTIALS, requestHandler: fakeGlacierHandler(sizeBytes, treeHashes) as never });
  const s3 = new S3Client({ region: 'us-east-1', credentials: CREDENTIALS, requestHandler: fakeS3Handler as never });
  const workers = options.hashWorkers ?? leafHashWorkerCount();
  const hashPool = workers > 0 ? new LeafHashPool(workers) : undefined;
  const source = { vaultName: 'bench-vault', jobId: 'bench-job' };
  const target = (r: ChunkRange) => ({ bucket: 'bench-bucket', bucketOwner: OWNER, key: 'bench/archive.bin', uploadId: 'bench-upload', partNumber: r.partNumber });

  const copy: Record<Variant, (r: ChunkRange) => Promise<number>> = {
    bare: async (r) => {
      const through = new PassThrough();
      const [, copied] = await Promise.all([pipeline(new ArchiveBytes(r.start, r.end), through), sink(through)]);
      return copied;
    },
    plain: async (r) => {
      const output = await glacier.send(new GetJobOutputCommand({ accountId: '-', ...source, range: `bytes=${r.start}-${r.end}` }));
      const length = r.end - r.start + 1;
      const uploaded = await s3.send(new UploadPartCommand({
        Bucket: 'bench-bucket',
        Key: 'bench/archive.bin',
        UploadId: 'bench-upload',
        PartNumber: r.partNumber,
        Body: output.body as Readable,
        ContentLength: length,
        ChecksumAlgorithm: 'CRC32',
        ExpectedBucketOwner: OWNER,
      }));
      if (uploaded.ETag !== `"part-${r.partNumber}-${length}"`) throw new Error(`plain copy: S3 answered ${uploaded.ETag}`);
      return length;
    },
    inline: (r) => verifiedCopy({ glacier, s3 }, r, 'CRC32'),
    pooled: (r) => verifiedCopy({ glacier, s3, hashPool }, r, 'CRC32'),
    inlineSha256: (r) => verifiedCopy({ glacier, s3 }, r, 'SHA256'),
  };
  async function verifiedCopy(clients: TransferClients, r: ChunkRange, checksumAlgorithm: 'CRC32' | 'SHA256'): Promise<number> {
    const result = await copyRangeToPart(clients, source, r, { ...target(r), checksumAlgorithm });
    if (result.treeHash !== treeHashes.get(`${r.start}-${r.end}`)) throw new Error(`part ${r.partNumber} tree hash differs`);
    if (result.etag !== `"part-${r.partNumber}-${result.bytes}"` || !result.checksum) throw new Error(`part ${r.partNumber}: S3 answered ${result.etag}`);
    return result.bytes;
  }

  const variants: Variant[] = hashPool ? ['bare', 'plain', 'inline', 'pooled', 'inlineSha256'] : ['bare', 'plain', 'inline', 'inlineSha256'];
  const seconds: Record<string, number> = {};
  const cpuSeconds: Record<string, number> = {};
  /** Seconds the main thread's event loop was busy (the rest it waited, e.g. for hash workers). */
  const busy: Record<string, number> = {};
  const mainCpuSeconds: Record<string, number> = {};
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  try {
    // Warm-up: one small range through every variant, so JIT and first-use costs are not measured.
    const warm = chunkRanges(planChunks(8 * MiB, 8 * MiB))[0];
    treeHashes.set(`${warm.start}-${warm.end}`, await treeHashOfRange(warm.start, warm.end));
    for (const v of variants) await copy[v](warm);

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const sampler = new RssSampler();
    for (const r of ranges) {
      for (const v of variants) {
        const c0 = cpu();
        const m0 = mainThreadCpuSeconds();
        const e0 = performance.eventLoopUtilization();
        const t0 = process.hrtime.bigint();
        const copied = await copy[v](r);
        const elu = performance.eventLoopUtilization(e0);
        busy[v] = (busy[v] ?? 0) + elu.active / 1000;
        seconds[v] = (seconds[v] ?? 0) + Number(process.hrtime.bigint() - t0) / 1e9;
        cpuSeconds[v] = (cpuSeconds[v] ?? 0) + cpu() - c0;
        const m1 = mainThreadCpuSeconds();
        if (m0 !== undefined && m1 !== undefined) mainCpuSeconds[v] = (mainCpuSeconds[v] ?? 0) + m1 - m0;
        if (copied !== r.end - r.start + 1) throw new Error(`${v}: part ${r.partNumber} carried ${copied} bytes`);
      }
    }
    const peakRss = sampler.stop();

    const mibps = (v: Variant) => Math.round(sizeBytes / MiB / seconds[v]);
    const ratio = (a: Variant, b: Variant) => Number((seconds[b] / seconds[a]).toFixed(3));
    // The configuration ChunkRetrieval runs here: the pool when this machine has spare cores.
    const deployed: Variant = hashPool ? 'pooled' : 'inline';
    const gib = sizeBytes / (1024 * MiB);
    const perGiB = (value: number | undefined) => (value === undefined ? 'n/a' : Number((value / gib).toFixed(3)));
    const cores = availableParallelism();
    const metrics: Record<string, number | string> = {
      archiveGiB: Number((sizeBytes / (1024 * MiB)).toFixed(3)),
      chunkMiB: plan.chunkSize / MiB,
      parts: plan.chunkCount,
      cores,
      hashWorkers: workers,
      plainCopyMiBps: mibps('plain'),
      chunkPathInlineMiBps: mibps('inline'),
      chunkPathSha256PartsMiBps: mibps('inlineSha256'),
      bareCopyMiBps: mibps('bare'),
      plainCopyCpuSeconds: Number(cpuSeconds.plain.toFixed(3)),
      chunkPathInlineCpuSeconds: Number(cpuSeconds.inline.toFixed(3)),
      // The headline: the chunk path as ChunkRetrieval runs on this machine ÷ the plain copy.
      throughputRatio: ratio(deployed, 'plain'),
      throughputRatioTarget: 0.8,
      inlineHashingRatio: ratio('inline', 'plain'),
      sha256PartsRatio: ratio('inlineSha256', 'plain'),
      crc32OverSha256Parts: Number((seconds.inlineSha256 / seconds.inline).toFixed(3)),
      ratioVsBareCopy: ratio(deployed, 'bare'),
      // CPU budget, in core-seconds per GiB over all threads (V8's GC helpers included), and the
      // best ratio this machine's cores could give the deployed path if all its work were spread
      // perfectly: its wall time cannot be below its CPU time ÷ cores.
      plainCopyCoreSecondsPerGiB: perGiB(cpuSeconds.plain),
      plainCopyMainThreadCoreSecondsPerGiB: perGiB(mainCpuSeconds.plain),
      chunkPathCoreSecondsPerGiB: perGiB(cpuSeconds[deployed]),
      chunkPathMainThreadCoreSecondsPerGiB: perGiB(mainCpuSeconds[deployed]),
      throughputRatioCpuBound: Number(Math.min(1, (cores * seconds.plain) / cpuSeconds[deployed]).toFixed(3)),
      peakRssMiB: Math.round(peakRss / MiB),
      rssBeforeChunkPathMiB: Math.round(rssBefore / MiB),
      peakRssTargetMiB: 256,
    };
    if (hashPool) {
      metrics.chunkPathPooledMiBps = mibps('pooled');
      metrics.chunkPathPooledCpuSeconds = Number(cpuSeconds.pooled.toFixed(3));
      metrics.pooledHashingRatio = ratio('pooled', 'plain');
      metrics.pooledMainThreadBusyShare = Number((busy.pooled / seconds.pooled).toFixed(3));
      metrics.plainMainThreadBusyShare = Number((busy.plain / seconds.plain).toFixed(3));
    }
    return { name: 'chunk-path', metrics, targets: { throughputRatio: '>= 0.8', peakRssMiB: '< 256' } };
  } finally {
    await hashPool?.close();
  }
}

if (require.main === module) {
  const arg = (name: string): number | undefined => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : undefined;
  };
  const sizeMiB = arg('--size-mib');
  run({ sizeBytes: sizeMiB === undefined ? undefined : sizeMiB * MiB, hashWorkers: arg('--hash-workers') }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
