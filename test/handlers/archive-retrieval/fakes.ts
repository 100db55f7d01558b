/*
 * In-process fakes behind aws-sdk-client-mock (DynamoDB and Glacier: test/doubles/): an S3 bucket
 * whose UploadPart/PutObject consume the body stream like an HTTP client, and SQS queues that record what was sent. Responses have the shapes of the real APIs.
 */
import { createHash } from 'crypto';
import { crc32 } from 'zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  NoSuchUpload,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

const meta = { httpStatusCode: 200, requestId: 'REQ1', attempts: 1, totalRetryDelay: 0 };

// ---------------------------------------------------------------- S3

async function drain(body: unknown): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of body as AsyncIterable<Buffer>) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
}

const sha256b64 = (data: Buffer): string => createHash('sha256').update(data).digest('base64');
const crc32b64 = (data: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
};
/** S3's checksum of `data` under `algorithm`, as the response header carries it. */
function checksumFields(algorithm: string | undefined, data: Buffer): { ChecksumCRC32?: string; ChecksumSHA256?: string } {
  if (algorithm === 'CRC32') return { ChecksumCRC32: crc32b64(data) };
  if (algorithm === 'SHA256') return { ChecksumSHA256: sha256b64(data) };
  if (algorithm === undefined) return {};
  throw new Error(`the fake S3 does not implement checksum algorithm ${algorithm}`);
}
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

export interface StoredObject {
  readonly body: Buffer;
  readonly metadata: Record<string, string>;
  readonly storageClass?: string;
  readonly versionId: string;
}

/** An S3 bucket in memory. UploadPart and PutObject read the whole body stream, as an HTTP client would. */
export class FakeS3 {
  public readonly mock = mockClient(S3Client);
  public readonly objects = new Map<string, StoredObject>();
  public readonly uploads = new Map<string, {
    key: string;
    metadata: Record<string, string>;
    storageClass?: string;
    checksumAlgorithm?: string;
    parts: Map<number, Buffer>;
    initiated?: Date;
  }>();
  /** Calls that streamed a body and how it ended. */
  public readonly bodyResults: Array<{ command: string; ok: boolean; error?: string; bytes?: number }> = [];
  /** Number of CreateMultipartUpload calls to reject with a 503. */
  public rejectCreates = 0;
  /** Number of AbortMultipartUpload calls to reject with a 503 (the upload stays open). */
  public rejectAborts = 0;
  private nextId = 1;

  constructor(public readonly owner = '111122223333') {
    const checkOwner = (input: { ExpectedBucketOwner?: string }): void => {
      if (input.ExpectedBucketOwner !== this.owner) {
        const err = new Error('Access Denied');
        err.name = 'AccessDenied';
        Object.assign(err, { $metadata: { ...meta, httpStatusCode: 403 } });
        throw err;
      }
    };
    this.mock.on(CreateMultipartUploadCommand).callsFake(async (input) => {
      checkOwner(input);
      if (this.rejectCreates > 0) {
        this.rejectCreates--;
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { ...meta, httpStatusCode: 503 } });
      }
      const uploadId = `upload-${this.nextId++}-VXBsb2FkSWQ`;
      this.uploads.set(uploadId, {
        key: input.Key!,
        metadata: input.Metadata ?? {},
        storageClass: input.StorageClass,
        checksumAlgorithm: input.ChecksumAlgorithm,
        parts: new Map(),
        initiated: new Date(),
      });
      return { Bucket: input.Bucket, Key: input.Key, UploadId: uploadId, ChecksumAlgorithm: input.ChecksumAlgorithm, ChecksumType: 'COMPOSITE', $metadata: meta };
    });
    this.mock.on(UploadPartCommand).callsFake(async (input) => {
      checkOwner(input);
      let data: Buffer;
      try {
        data = await drain(input.Body);
      } catch (err) {
        this.bodyResults.push({ command: 'UploadPart', ok: false, error: (err as Error).name });
        throw err;
      }
      this.bodyResults.push({ command: 'UploadPart', ok: true, bytes: data.length });
      if (data.length !== input.ContentLength) throw new Error(`IncompleteBody: ${data.length} != ${input.ContentLength}`);
      const upload = this.uploads.get(input.UploadId!);
      if (!upload) throw new NoSuchUpload({ message: 'The specified upload does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
      if (input.ChecksumAlgorithm !== upload.checksumAlgorithm) {
        // S3 rejects a part whose checksum algorithm differs from the upload's.
        throw Object.assign(new Error(`Checksum Type mismatch: upload uses ${upload.checksumAlgorithm}, part sent ${input.ChecksumAlgorithm}`), {
          name: 'InvalidRequest', $metadata: { ...meta, httpStatusCode: 400 },
        });
      }
      upload.parts.set(input.PartNumber!, data);
      return { ETag: `"${md5(data)}"`, ...checksumFields(upload.checksumAlgorithm, data), ServerSideEncryption: 'AES256', $metadata: meta };
    });
    this.mock.on(CompleteMultipartUploadCommand).callsFake(async (input) => {
      checkOwner(input);
      const upload = this.uploads.get(input.UploadId!);
      if (!upload) throw new NoSuchUpload({ message: 'The specified upload does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
      const parts = input.MultipartUpload!.Parts!;
      const buffers = parts.map((p: { PartNumber?: number; ETag?: string; ChecksumCRC32?: string; ChecksumSHA256?: string }, i: number) => {
        const data = upload.parts.get(p.PartNumber!);
        const expected = data ? checksumFields(upload.checksumAlgorithm, data) : {};
        const checksumsMatch = p.ChecksumCRC32 === expected.ChecksumCRC32 && p.ChecksumSHA256 === expected.ChecksumSHA256;
        if (!data || p.PartNumber !== i + 1 || p.ETag !== `"${md5(data)}"` || !checksumsMatch) {
          const err = new Error('One or more of the specified parts could not be found.');
          err.name = 'InvalidPart';
          throw err;
        }
        return data;
      });
      const versionId = `v${this.nextId++}`;
      this.objects.set(upload.key, { body: Buffer.concat(buffers), metadata: upload.metadata, storageClass: upload.storageClass, versionId });
      this.uploads.delete(input.UploadId!);
      return { Bucket: input.Bucket, Key: upload.key, ETag: `"${md5(Buffer.concat(buffers))}-${parts.length}"`, VersionId: versionId, $metadata: meta };
    });
    this.mock.on(AbortMultipartUploadCommand).callsFake(async (input) => {
      checkOwner(input);
      if (this.rejectAborts > 0) {
        this.rejectAborts--;
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { ...meta, httpStatusCode: 503 } });
      }
      if (!this.uploads.delete(input.UploadId!)) {
        throw new NoSuchUpload({ message: 'The specified upload does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
      }
      return { $metadata: { ...meta, httpStatusCode: 204 } };
    });
    this.mock.on(ListMultipartUploadsCommand).callsFake(async (input) => {
      checkOwner(input);
      const uploads = [...this.uploads.entries()]
        .filter(([, u]) => u.key.startsWith(input.Prefix ?? ''))
        .map(([uploadId, u]) => ({ Key: u.key, UploadId: uploadId, Initiated: u.initiated }))
        .sort((a, b) => a.Key.localeCompare(b.Key) || (a.Initiated?.getTime() ?? 0) - (b.Initiated?.getTime() ?? 0));
      return { Bucket: input.Bucket, Prefix: input.Prefix, Uploads: uploads, IsTruncated: false, $metadata: meta };
    });
    this.mock.on(PutObjectCommand).callsFake(async (input) => {
      checkOwner(input);
      let data: Buffer;
      try {
        data = await drain(input.Body);
      } catch (err) {
        this.bodyResults.push({ command: 'PutObject', ok: false, error: (err as Error).name });
        throw err;
      }
      this.bodyResults.push({ command: 'PutObject', ok: true, bytes: data.length });
      const versionId = `v${this.nextId++}`;
      this.objects.set(input.Key!, { body: data, metadata: input.Metadata ?? {}, storageClass: input.StorageClass, versionId });
      return { ETag: `"${md5(data)}"`, ...checksumFields(input.ChecksumAlgorithm, data), VersionId: versionId, $metadata: meta };
    });
    this.mock.on(HeadObjectCommand).callsFake(async (input) => {
      checkOwner(input);
      const object = this.objects.get(input.Key!);
      if (!object) throw new NotFound({ message: 'Not Found', $metadata: { ...meta, httpStatusCode: 404 } });
      return {
        ContentLength: object.body.length,
        ETag: `"${md5(object.body)}"`,
        Metadata: object.metadata,
        StorageClass: object.storageClass,
        VersionId: object.versionId,
        $metadata: meta,
      };
    });
  }
}

// ---------------------------------------------------------------- SQS

export class FakeSqs {
  public readonly mock = mockClient(SQSClient);
  public readonly sent = new Map<string, string[]>();
  /** Entry ids to report as Failed once (then accept). */
  public readonly failOnce = new Set<string>();
  /** Number of SendMessageBatch calls to reject outright (SQS 500). */
  public rejectBatches = 0;
  /** Number of SendMessage calls to reject outright (simulates dying before the send). */
  public rejectSends = 0;

  constructor() {
    this.mock.on(SendMessageBatchCommand).callsFake(async (input) => {
      if (this.rejectBatches > 0) {
        this.rejectBatches--;
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
          name: 'InternalError',
          $metadata: { ...meta, httpStatusCode: 500 },
        });
      }
      const failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
      const ok: Array<{ Id: string; MessageId: string; MD5OfMessageBody: string }> = [];
      for (const entry of input.Entries!) {
        if (this.failOnce.delete(entry.Id!)) {
          failed.push({ Id: entry.Id!, SenderFault: false, Code: 'InternalError', Message: 'Internal error' });
          continue;
        }
        this.record(input.QueueUrl!, entry.MessageBody!);
        ok.push({ Id: entry.Id!, MessageId: `m-${entry.Id}`, MD5OfMessageBody: md5(Buffer.from(entry.MessageBody!)) });
      }
      return { Successful: ok, Failed: failed, $metadata: meta };
    });
    this.mock.on(SendMessageCommand).callsFake(async (input) => {
      if (this.rejectSends > 0) {
        this.rejectSends--;
        throw Object.assign(new Error('Task timed out'), { name: 'TimeoutError' });
      }
      this.record(input.QueueUrl!, input.MessageBody!);
      return { MessageId: 'm-1', MD5OfMessageBody: md5(Buffer.from(input.MessageBody!)), $metadata: meta };
    });
  }

  public messages<T>(queueUrl: string): T[] {
    return (this.sent.get(queueUrl) ?? []).map((b) => JSON.parse(b) as T);
  }

  public take<T>(queueUrl: string): T[] {
    const out = this.messages<T>(queueUrl);
    this.sent.set(queueUrl, []);
    return out;
  }

  private record(url: string, body: string): void {
    const list = this.sent.get(url) ?? [];
    list.push(body);
    this.sent.set(url, list);
  }
}

/* eslint-disable no-bitwise */
/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(Math.ceil(length / 4) * 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, length);
}
/* eslint-enable no-bitwise */
