/*
 * In-memory AWS for the InventoryRetrieval handler tests, behind aws-sdk-client-mock (DynamoDB:
 * test/doubles/dynamodb.ts): an S3
 * bucket (objects, ranged GetObject, listing, batch delete, multipart uploads) and Step Functions
 * task tokens.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CompleteMultipartUploadCommandInput,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  DeleteObjectsCommandInput,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  NoSuchKey,
  NoSuchUpload,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { Log } from '../../../src/handlers/shared/logger';
import { drain, rangeOf, sdkBody } from '../../doubles/body';

export { FakeDynamo } from '../../doubles/dynamodb';
export { FakeGlacier } from '../../doubles/glacier';

export type Item = Record<string, any>;
const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };
const failMeta = { ...meta, httpStatusCode: 400 };

/** A logger that keeps what was logged (for assertions) and prints nothing. */
export function recordingLog(): Log & { lines: Array<{ level: string; message: string; extra?: unknown }> } {
  const lines: Array<{ level: string; message: string; extra?: unknown }> = [];
  const at = (level: string) => (message: unknown, extra?: unknown) => {
    lines.push({ level, message: String(message), extra });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as any;
}


// ------------------------------------------------------------------------------------------ S3

/** One S3 bucket in memory. */
export class FakeS3 {
  public readonly mock = mockClient(S3Client);
  public readonly client = new S3Client({ region: 'us-east-1' });
  public readonly objects = new Map<string, Buffer>();
  public readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  /** Keys listed per ListObjectsV2 page (small, so pagination runs). */
  public pageSize = 2;
  private nextUpload = 1;

  public constructor(public readonly bucket: string) {
    const check = (input: { Bucket?: string }) => {
      if (input.Bucket !== this.bucket) throw new Error(`unexpected bucket ${input.Bucket}`);
    };
    const notFound = () => new NotFound({ message: 'Not Found', $metadata: { ...meta, httpStatusCode: 404 } });
    const noSuchKey = () => new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
    const noSuchUpload = () => new NoSuchUpload({ message: 'The specified upload does not exist.', $metadata: { ...meta, httpStatusCode: 404 } });
    this.mock.on(PutObjectCommand).callsFake(async (input) => {
      check(input);
      this.objects.set(input.Key!, await drain(input.Body ?? ''));
      return { ETag: '"e"', $metadata: meta };
    });
    this.mock.on(GetObjectCommand).callsFake(async (input) => {
      check(input);
      const data = this.objects.get(input.Key!);
      if (!data) throw noSuchKey();
      const range = rangeOf(input.Range, data.length);
      const body = range ? data.subarray(range[0], range[1] + 1) : data;
      return { Body: sdkBody(body), ContentLength: body.length, $metadata: meta };
    });
    this.mock.on(HeadObjectCommand).callsFake(async (input) => {
      check(input);
      const data = this.objects.get(input.Key!);
      if (!data) throw notFound();
      return { ContentLength: data.length, $metadata: meta };
    });
    this.mock.on(ListObjectsV2Command).callsFake(async (input) => {
      check(input);
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(input.Prefix ?? '')).sort();
      const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
      const page = keys.slice(start, start + this.pageSize);
      const more = start + this.pageSize < keys.length;
      return {
        Contents: page.map((Key) => ({ Key, Size: this.objects.get(Key)!.length })),
        KeyCount: page.length,
        IsTruncated: more,
        NextContinuationToken: more ? String(start + this.pageSize) : undefined,
        $metadata: meta,
      };
    });
    this.mock.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
      check(input);
      for (const o of input.Delete?.Objects ?? []) this.objects.delete(o.Key!);
      return { Deleted: input.Delete?.Objects?.map((o) => ({ Key: o.Key })), $metadata: meta };
    });
    this.mock.on(CreateMultipartUploadCommand).callsFake(async (input) => {
      check(input);
      const UploadId = `upload-${this.nextUpload++}`;
      this.uploads.set(UploadId, { key: input.Key!, parts: new Map() });
      return { Bucket: input.Bucket, Key: input.Key, UploadId, $metadata: meta };
    });
    this.mock.on(UploadPartCommand).callsFake(async (input) => {
      check(input);
      const upload = this.uploads.get(input.UploadId!);
      if (!upload || upload.key !== input.Key) throw noSuchUpload();
      const data = await drain(input.Body);
      if (input.ContentLength !== undefined && input.ContentLength !== data.length) throw new Error('ContentLength does not match the body');
      upload.parts.set(input.PartNumber!, data);
      return { ETag: `"etag-${input.PartNumber}"`, $metadata: meta };
    });
    this.mock.on(ListPartsCommand).callsFake(async (input) => {
      check(input);
      const upload = this.uploads.get(input.UploadId!);
      if (!upload) throw noSuchUpload();
      const numbers = [...upload.parts.keys()].sort((a, b) => a - b).filter((n) => n > Number(input.PartNumberMarker ?? 0));
      const page = numbers.slice(0, 2);
      const more = numbers.length > 2;
      return {
        Parts: page.map((n) => ({ PartNumber: n, Size: upload.parts.get(n)!.length, ETag: `"etag-${n}"` })),
        IsTruncated: more,
        NextPartNumberMarker: more ? String(page[page.length - 1]) : undefined,
        $metadata: meta,
      };
    });
    this.mock.on(CompleteMultipartUploadCommand).callsFake(async (input: CompleteMultipartUploadCommandInput) => {
      check(input);
      const upload = this.uploads.get(input.UploadId!);
      if (!upload) throw noSuchUpload();
      const listed = input.MultipartUpload?.Parts ?? [];
      for (let i = 0; i < listed.length; i++) {
        if (listed[i].PartNumber !== i + 1 && i > 0 && listed[i].PartNumber! <= listed[i - 1].PartNumber!) throw new Error('InvalidPartOrder');
        if (!upload.parts.has(listed[i].PartNumber!)) throw new Error('InvalidPart');
      }
      this.objects.set(upload.key, Buffer.concat(listed.map((p) => upload.parts.get(p.PartNumber!)!)));
      this.uploads.delete(input.UploadId!);
      return { Key: upload.key, $metadata: meta };
    });
    this.mock.on(AbortMultipartUploadCommand).callsFake(async (input) => {
      check(input);
      if (!this.uploads.delete(input.UploadId!)) throw noSuchUpload();
      return { $metadata: meta };
    });
  }

  public text(key: string): string | undefined {
    return this.objects.get(key)?.toString('utf8');
  }

  public reset(): void {
    this.mock.restore();
  }
}

// ------------------------------------------------------------------------------ Step Functions

/** Task tokens that can be completed once; later calls get TaskTimedOut like the real service. */
export class FakeSfn {
  public readonly mock = mockClient(SFNClient);
  public readonly client = new SFNClient({ region: 'us-east-1' });
  public readonly live = new Set<string>();
  public readonly results: Array<{ token: string; success?: unknown; error?: string; cause?: string }> = [];

  public constructor() {
    const consume = (token: string | undefined) => {
      if (!token || !this.live.has(token)) {
        throw new TaskTimedOut({ message: 'Task Timed Out: \'Provided task does not exist anymore\'', $metadata: failMeta });
      }
      this.live.delete(token);
    };
    this.mock.on(SendTaskSuccessCommand).callsFake(async (input) => {
      consume(input.taskToken);
      this.results.push({ token: input.taskToken!, success: JSON.parse(input.output!) });
      return { $metadata: meta };
    });
    this.mock.on(SendTaskFailureCommand).callsFake(async (input) => {
      consume(input.taskToken);
      this.results.push({ token: input.taskToken!, error: input.error, cause: input.cause });
      return { $metadata: meta };
    });
  }

  public reset(): void {
    this.mock.restore();
  }
}

// ----------------------------------------------------------------------------- Inventory data

export const VAULT = 'photos-2012';
export const RUN = 'run-2026-11-24';
export const TOPIC = 'arn:aws:sns:us-east-1:111122223333:glacier-jobs';
export const INVENTORY_BUCKET = 'inventory-bucket';
export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const ASYNC = 'async-facilitator';

export const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n';

export interface Row {
  readonly id: string;
  readonly description?: string;
  readonly date?: string;
  readonly size?: number;
  readonly hash?: string;
}

/** A Glacier-style tree hash for tests: 64 hex digits derived from `n`. */
export const treeHash = (n: number): string => n.toString(16).padStart(64, '0');

/** Glacier's CSV dialect: a description holding `,` or `"` is quoted, `"` escaped as `\"`. */
export function csvDescription(d: string): string {
  return /[,"]/.test(d) ? `"${d.replace(/"/g, '\\"')}"` : d;
}

export function inventoryCsv(rows: readonly Row[]): string {
  return HEADER + rows.map((r, i) =>
    `${r.id},${csvDescription(r.description ?? `file-${r.id}.bin`)},${r.date ?? '2015-03-01T12:00:00Z'},${r.size ?? 100},${r.hash ?? treeHash(i + 1)}\n`).join('');
}
