/*
 * The unit tests' one S3: a bucket in memory behind a mocked S3Client (every instance's send).
 * As S3 does: request bodies are read to the end like an HTTP client sends them; ETags are MD5s;
 * CRC32/SHA-256 checksums are answered, a part must use its upload's algorithm and Complete checks
 * each part's ETag and checksum, ascending part numbers and the 5 MiB minimum of every part but the
 * last; `ExpectedBucketOwner` other than the owner is AccessDenied; GetObject of a GLACIER or
 * DEEP_ARCHIVE object is InvalidObjectState; VersionId only on a versioned bucket; listings page;
 * GetBucketLocation answers the constraint the bucket was created with (none in us-east-1).
 */
import { createHash } from 'crypto';
import { crc32 } from 'zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommandInput,
  DeleteObjectsCommand,
  DeleteObjectsCommandInput,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  NoSuchKey,
  NoSuchUpload,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { drain, rangeOf, sdkBody } from './body';
import { awsError as s3Error, Double, meta } from './service';

const MIN_PART = 5 * 1024 * 1024;
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

/** S3's checksum of `data` under `algorithm`, as the response carries it. */
function checksumFields(algorithm: string | undefined, data: Buffer): { ChecksumCRC32?: string; ChecksumSHA256?: string } {
  if (algorithm === 'CRC32') {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(data));
    return { ChecksumCRC32: out.toString('base64') };
  }
  if (algorithm === 'SHA256') return { ChecksumSHA256: createHash('sha256').update(data).digest('base64') };
  if (algorithm === undefined) return {};
  throw new Error(`the S3 double does not implement checksum algorithm ${algorithm}`);
}

export interface StoredObject {
  readonly body: Buffer;
  readonly metadata: Record<string, string>;
  readonly storageClass?: string;
  readonly versionId?: string;
}

export interface Upload {
  key: string;
  metadata: Record<string, string>;
  storageClass?: string;
  checksumAlgorithm?: string;
  parts: Map<number, Buffer>;
  initiated?: Date;
}

export interface S3Options {
  /** The only bucket requests may name (default: any). */
  readonly bucket?: string;
  readonly owner?: string;
  /** The bucket's LocationConstraint (none: us-east-1). */
  readonly location?: string;
  /** Refuse requests without ExpectedBucketOwner (the destination's rule in this project). */
  readonly requireExpectedOwner?: boolean;
  readonly versioned?: boolean;
}

export class FakeS3 extends Double {
  public readonly client = new S3Client({ region: 'us-east-1' });
  public readonly objects = new Map<string, StoredObject>();
  public readonly uploads = new Map<string, Upload>();
  /** Upload ids aborted, in order. */
  public readonly aborted: string[] = [];
  /** Calls that streamed a body and how it ended. */
  public readonly bodyResults: Array<{ command: string; ok: boolean; error?: string; bytes?: number }> = [];
  /** The account owning the bucket, its LocationConstraint. */
  public owner: string;
  public location?: string;
  /** Keys per ListObjectsV2 page, parts per ListParts page, uploads per ListMultipartUploads page. */
  public pageSize = 2;
  private nextId = 1;

  public constructor(public readonly options: S3Options = {}) {
    super(S3Client);
    this.owner = options.owner ?? '111122223333';
    this.location = options.location;
    const check = (input: { Bucket?: string; ExpectedBucketOwner?: string }): void => {
      if (options.bucket !== undefined && input.Bucket !== options.bucket) throw s3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
      const named = input.ExpectedBucketOwner;
      if ((named !== undefined && named !== this.owner) || (named === undefined && options.requireExpectedOwner)) throw s3Error('AccessDenied', 403, 'Access Denied');
    };
    const upload = (id: string | undefined, key: string | undefined): Upload => {
      const found = this.uploads.get(id ?? '');
      if (!found || found.key !== key) throw new NoSuchUpload({ message: 'The specified upload does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
      return found;
    };
    const readBody = async (command: string, body: unknown): Promise<Buffer> => {
      try {
        const data = await drain(body ?? '');
        this.bodyResults.push({ command, ok: true, bytes: data.length });
        return data;
      } catch (err) {
        this.bodyResults.push({ command, ok: false, error: (err as Error).name });
        throw err;
      }
    };
    const store = (key: string, object: Omit<StoredObject, 'versionId'>): string | undefined => {
      const versionId = options.versioned ? `v${this.nextId++}` : undefined;
      this.objects.set(key, { ...object, versionId });
      return versionId;
    };
    this.serve(PutObjectCommand, async (input) => {
      check(input);
      const data = await readBody('PutObject', input.Body);
      const VersionId = store(input.Key!, { body: data, metadata: input.Metadata ?? {}, storageClass: input.StorageClass });
      return { ETag: `"${md5(data)}"`, ...checksumFields(input.ChecksumAlgorithm, data), VersionId };
    });
    this.serve(GetObjectCommand, async (input) => {
      check(input);
      const object = this.objects.get(input.Key!);
      if (!object) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
      if (object.storageClass === 'GLACIER' || object.storageClass === 'DEEP_ARCHIVE') {
        throw s3Error('InvalidObjectState', 403, 'The operation is not valid for the object\'s storage class');
      }
      const range = rangeOf(input.Range, object.body.length);
      const body = range ? object.body.subarray(range[0], range[1] + 1) : object.body;
      return { Body: sdkBody(body) as never, ContentLength: body.length, ETag: `"${md5(object.body)}"`, VersionId: object.versionId };
    });
    this.serve(GetBucketLocationCommand, (input) => {
      check(input);
      return { LocationConstraint: this.location };
    });
    this.serve(HeadObjectCommand, async (input) => {
      check(input);
      const object = this.objects.get(input.Key!);
      if (!object) throw new NotFound({ message: 'Not Found', $metadata: { ...meta, httpStatusCode: 404 } });
      const { body, metadata, storageClass, versionId } = object;
      return { ContentLength: body.length, ETag: `"${md5(body)}"`, Metadata: metadata, StorageClass: storageClass, VersionId: versionId };
    });
    this.serve(ListObjectsV2Command, async (input) => {
      check(input);
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(input.Prefix ?? '')).sort();
      const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
      const page = keys.slice(start, start + this.pageSize);
      const more = start + this.pageSize < keys.length;
      return {
        Contents: page.map((Key) => ({ Key, Size: this.objects.get(Key)!.body.length })),
        KeyCount: page.length,
        IsTruncated: more,
        NextContinuationToken: more ? String(start + this.pageSize) : undefined,
      };
    });
    this.serve(DeleteObjectsCommand, async (input: DeleteObjectsCommandInput) => {
      check(input);
      for (const o of input.Delete?.Objects ?? []) this.objects.delete(o.Key!);
      return { Deleted: input.Delete?.Objects?.map((o) => ({ Key: o.Key })) };
    });
    this.serve(CreateMultipartUploadCommand, async (input) => {
      check(input);
      const UploadId = `upload-${this.nextId++}-VXBsb2FkSWQ`;
      const { Key: key, Metadata: metadata = {}, StorageClass: storageClass, ChecksumAlgorithm: checksumAlgorithm } = input;
      this.uploads.set(UploadId, { key: key!, metadata, storageClass, checksumAlgorithm, parts: new Map(), initiated: new Date() });
      return { Bucket: input.Bucket, Key: key, UploadId, ChecksumAlgorithm: checksumAlgorithm };
    });
    this.serve(UploadPartCommand, async (input) => {
      check(input);
      const data = await readBody('UploadPart', input.Body);
      if (input.ContentLength !== undefined && data.length !== input.ContentLength) throw new Error(`IncompleteBody: ${data.length} != ${input.ContentLength}`);
      const target = upload(input.UploadId, input.Key);
      if (input.ChecksumAlgorithm !== target.checksumAlgorithm) {
        throw s3Error('InvalidRequest', 400, `Checksum Type mismatch: upload uses ${target.checksumAlgorithm}, part sent ${input.ChecksumAlgorithm}`);
      }
      target.parts.set(input.PartNumber!, data);
      return { ETag: `"${md5(data)}"`, ...checksumFields(target.checksumAlgorithm, data) };
    });
    this.serve(ListPartsCommand, async (input) => {
      check(input);
      const { parts } = upload(input.UploadId, input.Key);
      const numbers = [...parts.keys()].sort((a, b) => a - b).filter((n) => n > Number(input.PartNumberMarker ?? 0));
      const page = numbers.slice(0, this.pageSize);
      const more = numbers.length > this.pageSize;
      return {
        Parts: page.map((n) => ({ PartNumber: n, Size: parts.get(n)!.length, ETag: `"${md5(parts.get(n)!)}"` })),
        IsTruncated: more,
        NextPartNumberMarker: more ? String(page[page.length - 1]) : undefined,
      };
    });
    this.serve(CompleteMultipartUploadCommand, async (input: CompleteMultipartUploadCommandInput) => {
      check(input);
      const target = upload(input.UploadId, input.Key);
      const listed = input.MultipartUpload?.Parts ?? [];
      const buffers = listed.map((p, i) => {
        const data = target.parts.get(p.PartNumber!);
        if (i > 0 && p.PartNumber! <= listed[i - 1].PartNumber!) throw s3Error('InvalidPartOrder', 400, 'The list of parts was not in ascending order.');
        const expected = data ? checksumFields(target.checksumAlgorithm, data) : {};
        if (!data || p.ETag !== `"${md5(data)}"` || p.ChecksumCRC32 !== expected.ChecksumCRC32 || p.ChecksumSHA256 !== expected.ChecksumSHA256) {
          throw s3Error('InvalidPart', 400, 'One or more of the specified parts could not be found.');
        }
        if (i < listed.length - 1 && data.length < MIN_PART) throw s3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.');
        return data;
      });
      const body = Buffer.concat(buffers);
      const VersionId = store(target.key, { body, metadata: target.metadata, storageClass: target.storageClass });
      this.uploads.delete(input.UploadId!);
      return { Bucket: input.Bucket, Key: target.key, ETag: `"${md5(body)}-${listed.length}"`, VersionId };
    });
    this.serve(AbortMultipartUploadCommand, async (input) => {
      check(input);
      upload(input.UploadId, input.Key);
      this.uploads.delete(input.UploadId!);
      this.aborted.push(input.UploadId!);
      return { $metadata: { ...meta, httpStatusCode: 204 } };
    });
    this.serve(ListMultipartUploadsCommand, async (input) => {
      check(input);
      const all = [...this.uploads.entries()]
        .filter(([, u]) => u.key.startsWith(input.Prefix ?? ''))
        .map(([UploadId, u]) => ({ Key: u.key, UploadId, Initiated: u.initiated }))
        .sort((x, y) => x.Key.localeCompare(y.Key) || (x.Initiated?.getTime() ?? 0) - (y.Initiated?.getTime() ?? 0));
      // After the markers: keys past KeyMarker, or the uploads of KeyMarker that follow UploadIdMarker.
      const at = all.findIndex((u) => u.Key === input.KeyMarker && u.UploadId === input.UploadIdMarker);
      const rest = at >= 0 ? all.slice(at + 1) : all.filter((u) => input.KeyMarker === undefined || u.Key > input.KeyMarker);
      const page = rest.slice(0, Math.min(input.MaxUploads ?? 1000, this.pageSize));
      const more = rest.length > page.length;
      const last = page[page.length - 1];
      const next = more ? { NextKeyMarker: last.Key, NextUploadIdMarker: last.UploadId } : {};
      return { Bucket: input.Bucket, Prefix: input.Prefix, Uploads: page, IsTruncated: more, ...next };
    });
  }

  /** Stores `body` at `key` as a PutObject would. */
  public seed(key: string, body: string | Buffer, extra: Partial<Omit<StoredObject, 'body'>> = {}): void {
    this.objects.set(key, { metadata: {}, ...extra, body: Buffer.from(body) });
  }

  /** An upload open at `key`, as CreateMultipartUpload leaves it. */
  public openUpload(key: string, uploadId: string, initiated = new Date()): void {
    this.uploads.set(uploadId, { key, metadata: {}, parts: new Map(), initiated });
  }

  public text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }

  /** The largest body a request streamed. */
  public get largestBody(): number {
    return Math.max(0, ...this.bodyResults.map((r) => r.bytes ?? 0));
  }
}
