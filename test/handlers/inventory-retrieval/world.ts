/*
 * In-memory AWS for the InventoryRetrieval handler tests, behind aws-sdk-client-mock: a DynamoDB
 * document client (Get/Put/Update with the condition and SET expressions the handlers use), an S3
 * bucket (objects, ranged GetObject, listing, batch delete, multipart uploads), a Glacier with
 * inventory jobs (InitiateJob, DescribeJob, ranged GetJobOutput) and Step Functions task tokens.
 */
import { Readable } from 'stream';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeJobCommand, GetJobOutputCommand, GlacierClient, InitiateJobCommand, ListJobsCommand, ResourceNotFoundException } from '@aws-sdk/client-glacier';
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
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Log } from '../../../src/handlers/shared/logger';
import { evaluateCondition } from '../archive-retrieval/fakes';

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

const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

// ------------------------------------------------------------------------------------ DynamoDB

/** Tables keyed by `pk` (+ `sk` when given), behind one mocked DynamoDBDocumentClient. */
export class FakeDynamo {
  public readonly tables = new Map<string, Map<string, Item>>();
  public readonly mock = mockClient(DynamoDBDocumentClient);
  public readonly client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  /** Commands to fail once with the given error, by command name ('Get', 'Put', 'Update'). */
  public readonly failOnce = new Map<string, Error>();
  /** Called before each UpdateItem; a thrown error fails that call. */
  public beforeUpdate?: (input: Item) => void;

  public constructor() {
    const maybeFail = (name: string) => {
      const err = this.failOnce.get(name);
      if (err) {
        this.failOnce.delete(name);
        throw err;
      }
    };
    this.mock.on(GetCommand).callsFake(async (input: Item) => {
      maybeFail('Get');
      return { Item: clone(this.table(input.TableName).get(this.key(input.Key))), $metadata: meta };
    });
    this.mock.on(PutCommand).callsFake(async (input: Item) => {
      maybeFail('Put');
      const table = this.table(input.TableName);
      const key = this.key(input.Item);
      const { ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values } = input;
      if (condition && !evaluateCondition(condition, table.get(key), names, values)) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: failMeta });
      }
      // removeUndefinedValues is how the handlers' document client is configured.
      table.set(key, clone(input.Item));
      return { $metadata: meta };
    });
    this.mock.on(UpdateCommand).callsFake(async (input: Item) => {
      maybeFail('Update');
      this.beforeUpdate?.(input);
      const table = this.table(input.TableName);
      const key = this.key(input.Key);
      const existing = table.get(key);
      const { ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values } = input;
      if (condition && !evaluateCondition(condition, existing, names, values)) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: failMeta });
      }
      const expr = String(input.UpdateExpression);
      if (!expr.startsWith('SET ')) throw new Error(`unsupported update ${expr}`);
      const item = existing ?? clone(input.Key);
      for (const part of expr.slice(4).split(',')) {
        const [left, right] = part.split('=').map((s: string) => s.trim());
        const attr = left.startsWith('#') ? input.ExpressionAttributeNames[left] : left;
        item[attr] = clone(input.ExpressionAttributeValues[right]);
      }
      table.set(key, item);
      return { $metadata: meta };
    });
    // StatusIndex queries (`#p = :p` on runStatus), one page.
    this.mock.on(QueryCommand).callsFake(async (input: Item) => {
      const attr = input.ExpressionAttributeNames['#p'];
      const value = input.ExpressionAttributeValues[':p'];
      return { Items: [...this.table(input.TableName).values()].filter((i) => i[attr] === value).map(clone), $metadata: meta };
    });
  }

  public table(name: string): Map<string, Item> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  public key(k: Item): string {
    return k.sk === undefined ? String(k.pk) : `${k.pk}|${k.sk}`;
  }

  public get(table: string, pk: string, sk?: string): Item | undefined {
    return this.table(table).get(this.key({ pk, sk }));
  }

  public seed(table: string, item: Item): void {
    this.table(table).set(this.key(item), clone(item));
  }

  public reset(): void {
    this.mock.restore();
  }
}

// ------------------------------------------------------------------------------------------ S3

export async function drain(body: unknown): Promise<Buffer> {
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const piece of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
}

/** An S3 response body: a stream with the SDK's transformToString. */
export function sdkBody(data: Buffer, pieceSize = 64 * 1024): Readable & { transformToString: (enc?: string) => Promise<string> } {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceSize) pieces.push(data.subarray(i, i + pieceSize));
  const stream = Readable.from(pieces) as Readable & { transformToString: (enc?: string) => Promise<string> };
  stream.transformToString = async (enc = 'utf-8') => (await drain(stream)).toString(enc as BufferEncoding);
  return stream;
}

function rangeOf(header: string | undefined, size: number): [number, number] | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header);
  if (!m) throw new Error(`bad range ${header}`);
  return [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
}

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

// ------------------------------------------------------------------------------------- Glacier

export interface FakeJob {
  jobId: string;
  vaultName: string;
  action: 'InventoryRetrieval' | 'ArchiveRetrieval';
  statusCode: 'InProgress' | 'Succeeded' | 'Failed';
  statusMessage?: string;
  output?: Buffer;
  description?: string;
  snsTopic?: string;
  format?: string;
  /** Expired jobs answer ResourceNotFoundException. */
  expired?: boolean;
  /** GetJobOutput returns this many bytes fewer than asked (a cut connection). */
  shortBy?: number;
}

export class FakeGlacier {
  public readonly mock = mockClient(GlacierClient);
  public readonly client = new GlacierClient({ region: 'us-east-1' });
  public readonly jobs = new Map<string, FakeJob>();
  private nextJob = 1;

  public constructor() {
    const find = (jobId: string | undefined, vaultName: string | undefined): FakeJob => {
      const job = this.jobs.get(jobId ?? '');
      if (!job || job.expired || job.vaultName !== vaultName) {
        throw new ResourceNotFoundException({ message: `The job ID was not found: ${jobId}`, $metadata: { ...meta, httpStatusCode: 404 }, type: 'Client', code: 'ResourceNotFoundException' });
      }
      return job;
    };
    this.mock.on(InitiateJobCommand).callsFake(async (input) => {
      const p = input.jobParameters ?? {};
      const jobId = `JOB${String(this.nextJob++).padStart(4, '0')}`;
      this.jobs.set(jobId, {
        jobId,
        vaultName: input.vaultName!,
        action: p.Type === 'inventory-retrieval' ? 'InventoryRetrieval' : 'ArchiveRetrieval',
        statusCode: 'InProgress',
        description: p.Description,
        snsTopic: p.SNSTopic,
        format: p.Format,
      });
      return { jobId, location: `/111122223333/vaults/${input.vaultName}/jobs/${jobId}`, $metadata: { ...meta, httpStatusCode: 202 } };
    });
    this.mock.on(DescribeJobCommand).callsFake(async (input) => {
      const job = find(input.jobId, input.vaultName);
      const done = job.statusCode !== 'InProgress';
      return {
        JobId: job.jobId,
        Action: job.action,
        StatusCode: job.statusCode,
        StatusMessage: job.statusMessage ?? (job.statusCode === 'Succeeded' ? 'Succeeded' : undefined),
        Completed: done,
        CompletionDate: done ? '2026-11-24T10:00:00.000Z' : undefined,
        CreationDate: '2026-11-24T06:00:00.000Z',
        InventorySizeInBytes: job.statusCode === 'Succeeded' ? job.output?.length : undefined,
        VaultARN: `arn:aws:glacier:us-east-1:111122223333:vaults/${job.vaultName}`,
        SNSTopic: job.snsTopic,
        JobDescription: job.description,
        $metadata: meta,
      };
    });
    this.mock.on(ListJobsCommand).callsFake(async (input) => {
      const all = [...this.jobs.values()].filter((j) => j.vaultName === input.vaultName && !j.expired);
      const from = input.marker ? all.findIndex((j) => j.jobId === input.marker) : 0;
      const limit = Number(input.limit ?? 50);
      const page = all.slice(from, from + limit);
      return {
        JobList: page.map((j) => ({ JobId: j.jobId, Action: j.action, StatusCode: j.statusCode, JobDescription: j.description, Completed: j.statusCode !== 'InProgress' })),
        Marker: all[from + limit]?.jobId,
        $metadata: meta,
      };
    });
    this.mock.on(GetJobOutputCommand).callsFake(async (input) => {
      const job = find(input.jobId, input.vaultName);
      if (job.statusCode !== 'Succeeded' || !job.output) throw new Error('job output not available');
      const range = rangeOf(input.range, job.output.length);
      let data = range ? job.output.subarray(range[0], range[1] + 1) : job.output;
      if (job.shortBy) data = data.subarray(0, Math.max(0, data.length - job.shortBy));
      return { body: sdkBody(Buffer.from(data)) as any, status: range ? 206 : 200, contentType: 'text/csv', $metadata: meta };
    });
  }

  /** A finished inventory job with this output. */
  public seedInventoryJob(vaultName: string, output: string | Buffer, extra: Partial<FakeJob> = {}): FakeJob {
    const jobId = extra.jobId ?? `INV${String(this.nextJob++).padStart(4, '0')}`;
    const job: FakeJob = { jobId, vaultName, action: 'InventoryRetrieval', statusCode: 'Succeeded', output: Buffer.from(output), ...extra };
    this.jobs.set(jobId, job);
    return job;
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
