import { PassThrough, Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetJobOutputCommand, GetJobOutputCommandOutput, GlacierClient } from '@aws-sdk/client-glacier';
import { PutObjectCommand, S3Client, StorageClass, UploadPartCommand } from '@aws-sdk/client-s3';
import type { LeafHashPool } from './leaf-hash-workers';
import { checksumFromResponse, UPLOAD_CHECKSUM_ALGORITHM, UploadChecksumAlgorithm } from './part-checksum';
import { objectVersionId } from '../../core/object-version';
import { IntegrityError, TreeHashStream } from '../../core/tree-hash';
import { errorName } from '../shared/aws-errors';

/** The SDK clients a transfer needs (real ones in Lambda, mocked ones in tests and the benchmark). */
export interface TransferClients {
  readonly glacier: GlacierClient;
  readonly s3: S3Client;
  /** Worker threads for tree hashing, when the function has spare vCPUs (see leafHashWorkerCount). */
  readonly hashPool?: LeafHashPool;
}

/** Where the job output is read from. */
export interface JobOutputSource {
  readonly vaultName: string;
  readonly jobId: string;
  /** Vault owner account; `-` means the account of the credentials. */
  readonly accountId?: string;
}

/** The destination bucket and the account that must own it. */
export interface Destination {
  readonly bucket: string;
  readonly bucketOwner: string;
  readonly key: string;
}

/**
 * GetJobOutput answered ResourceNotFoundException: the job's download window is over (or the job
 * is unknown). Not a transfer failure: the message is left for SQS to retry, and the
 * download-window extension re-stages the archive under a new job id.
 */
export class JobOutputExpiredError extends Error {
  constructor(public readonly jobId: string, cause: unknown) {
    super(`job output of ${jobId} is no longer available (${errorName(cause) ?? 'error'}); waiting for re-staged job`);
    this.name = 'JobOutputExpiredError';
  }
}

/** Result of streaming one range into one S3 part. */
export interface PartCopyResult {
  readonly etag: string;
  /** S3's checksum of the part (the target's algorithm). */
  readonly checksum?: string;
  /** Tree hash computed over the bytes that were uploaded. */
  readonly treeHash: string;
  /** Tree hash Glacier sent with the range, when it sent one (already checked equal). */
  readonly glacierTreeHash?: string;
  readonly bytes: number;
}

/** Result of streaming a whole archive into one S3 object. */
export interface ObjectCopyResult {
  readonly etag?: string;
  readonly versionId?: string;
  /** S3's CRC32 of the object. */
  readonly checksum?: string;
  readonly treeHash: string;
  readonly bytes: number;
}

async function getJobOutput(glacier: GlacierClient, source: JobOutputSource, range?: string): Promise<GetJobOutputCommandOutput> {
  try {
    return await glacier.send(new GetJobOutputCommand({
      accountId: source.accountId ?? '-',
      vaultName: source.vaultName,
      jobId: source.jobId,
      range,
    }));
  } catch (err) {
    if (errorName(err) === 'ResourceNotFoundException') throw new JobOutputExpiredError(source.jobId, err);
    throw err;
  }
}

function bodyStream(output: GetJobOutputCommandOutput): Readable {
  const body = output.body as unknown;
  if (body instanceof Readable) return body;
  throw new Error('GetJobOutput returned no readable body');
}

/** Checks a `Content-Range: bytes start-end/total` answer against the requested range. */
function checkContentRange(contentRange: string | undefined, start: number, end: number): void {
  if (contentRange === undefined) return;
  const match = /^bytes (\d+)-(\d+)\//.exec(contentRange.trim());
  if (match && (Number(match[1]) !== start || Number(match[2]) !== end)) {
    throw new IntegrityError(`Glacier answered range ${contentRange} for requested bytes=${start}-${end}`);
  }
}

/**
 * Streams `source` through a TreeHashStream into `upload`, which must consume the stream it is
 * given (as an HTTP client does). Nothing is buffered beyond the streams' own high-water marks.
 *
 * If the bytes do not verify, the hash stream fails before releasing its last piece, the upload is
 * aborted (its body never completes) and the IntegrityError is thrown. If the upload fails, the
 * source is destroyed so the Glacier connection is released.
 */
export async function hashedTransfer<T>(
  source: Readable,
  hasher: TreeHashStream,
  upload: (body: Readable, abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  // The SDK wraps a request body in streams of its own, and after an aborted request nobody
  // listens to those any more: an 'error' travelling through them would crash the runtime. So the
  // body handed to the upload never errors; a failure reaches it only through the abort signal,
  // and the held-back tail of a bad chunk is never written.
  const body = new PassThrough();
  // Source errors are observed through the pipeline; a socket reporting the same failure again
  // after the pipeline settled must not become an uncaught exception.
  source.on('error', ignoreLateError);
  const piped = pipeline(source, hasher).then(
    () => undefined,
    (err: unknown) => {
      abort.abort(err);
      body.destroy();
      return err;
    },
  );
  hasher.on('data', (chunk: Buffer) => {
    if (!body.write(chunk)) hasher.pause();
  });
  body.on('drain', () => hasher.resume());
  hasher.on('end', () => body.end());

  let result: T;
  try {
    result = await upload(body, abort.signal);
  } catch (uploadError) {
    source.destroy();
    hasher.destroy();
    body.destroy();
    const pipeError = await piped;
    throw pipeError instanceof IntegrityError ? pipeError : uploadError;
  }
  // A real upload only succeeds after reading the whole body; drain anything left so the
  // verification at the end of the stream still runs if a client returned early.
  if (!body.readableEnded) body.resume();
  const pipeError = await piped;
  if (pipeError !== undefined) throw pipeError;
  return result;
}

function ignoreLateError(): void {}

/** Inclusive byte range inside the archive (= inside the job output for whole-archive jobs). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** One part of a multipart upload. */
export interface PartTarget extends Destination {
  readonly uploadId: string;
  readonly partNumber: number;
  /** The algorithm the multipart upload was created with (default: UPLOAD_CHECKSUM_ALGORITHM). */
  readonly checksumAlgorithm?: UploadChecksumAlgorithm;
}

/**
 * Copies one byte range of a job's output into one part of a multipart upload, verifying the byte
 * count and, when Glacier returns one, the range's tree hash. The computed tree hash is returned
 * either way (the archive check combines them).
 */
export async function copyRangeToPart(
  clients: TransferClients,
  source: JobOutputSource,
  range: ByteRange,
  target: PartTarget,
): Promise<PartCopyResult> {
  const length = range.end - range.start + 1;
  const output = await getJobOutput(clients.glacier, source, `bytes=${range.start}-${range.end}`);
  const body = bodyStream(output);
  const glacierTreeHash = output.checksum?.toLowerCase();
  try {
    checkContentRange(output.contentRange, range.start, range.end);
  } catch (err) {
    body.destroy();
    throw err;
  }
  const checksumAlgorithm = target.checksumAlgorithm ?? UPLOAD_CHECKSUM_ALGORITHM;
  const hasher = new TreeHashStream({ expectedBytes: length, expectedTreeHash: glacierTreeHash, hasher: clients.hashPool?.tryAcquire() });
  const response = await hashedTransfer(body, hasher, (stream, abortSignal) =>
    clients.s3.send(new UploadPartCommand({
      Bucket: target.bucket,
      Key: target.key,
      UploadId: target.uploadId,
      PartNumber: target.partNumber,
      Body: stream,
      ContentLength: length,
      ChecksumAlgorithm: checksumAlgorithm,
      ExpectedBucketOwner: target.bucketOwner,
    }), { abortSignal }),
  );
  if (!response.ETag) throw new Error(`UploadPart ${target.partNumber} returned no ETag`);
  return {
    etag: response.ETag,
    checksum: checksumFromResponse(response, checksumAlgorithm),
    treeHash: hasher.treeHash,
    glacierTreeHash,
    bytes: hasher.bytes,
  };
}

/** What the single-request copy writes besides the bytes. */
export interface ObjectTarget extends Destination {
  readonly storageClass: string;
  readonly metadata: Record<string, string>;
}

/**
 * Copies a whole (small) archive into one object with PutObject, verifying size and the archive's
 * tree hash while streaming: a mismatch fails the body before S3 receives all of it.
 */
export async function copyArchiveToObject(
  clients: TransferClients,
  source: JobOutputSource,
  expected: { readonly size: number; readonly treeHash: string },
  target: ObjectTarget,
): Promise<ObjectCopyResult> {
  const output = await getJobOutput(clients.glacier, source);
  const body = bodyStream(output);
  const expectedTreeHash = expected.treeHash.toLowerCase();
  if (output.checksum !== undefined && output.checksum.toLowerCase() !== expectedTreeHash) {
    body.destroy();
    throw new IntegrityError(`Glacier returned tree hash ${output.checksum.toLowerCase()} for an archive whose inventory tree hash is ${expectedTreeHash}`);
  }
  const hasher = new TreeHashStream({ expectedBytes: expected.size, expectedTreeHash, hasher: clients.hashPool?.tryAcquire() });
  const response = await hashedTransfer(body, hasher, (stream, abortSignal) =>
    clients.s3.send(new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: stream,
      ContentLength: expected.size,
      ChecksumAlgorithm: UPLOAD_CHECKSUM_ALGORITHM,
      StorageClass: target.storageClass as StorageClass,
      Metadata: target.metadata,
      ExpectedBucketOwner: target.bucketOwner,
    }), { abortSignal }),
  );
  return {
    etag: response.ETag,
    versionId: objectVersionId(response.VersionId),
    checksum: checksumFromResponse(response, UPLOAD_CHECKSUM_ALGORITHM),
    treeHash: hasher.treeHash,
    bytes: hasher.bytes,
  };
}
