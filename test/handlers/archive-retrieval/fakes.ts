/*
 * In-process fakes behind aws-sdk-client-mock: a DynamoDB table that evaluates the condition and
 * update expressions the handlers use, an S3 bucket whose UploadPart/PutObject consume the body
 * stream like an HTTP client, a Glacier job store that serves ranged output with the tree-hash
 * header, and SQS queues that record what was sent. Responses have the shapes of the real APIs.
 */
import { createHash } from 'crypto';
import { Readable } from 'stream';
import { crc32 } from 'zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetJobOutputCommand, GlacierClient, ResourceNotFoundException } from '@aws-sdk/client-glacier';
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
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { treeHashOf } from '../../../src/core/tree-hash';

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

const meta = { httpStatusCode: 200, requestId: 'REQ1', attempts: 1, totalRetryDelay: 0 };

// ---------------------------------------------------------------- DynamoDB expression evaluation

type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

function clone<T>(value: T): T {
  if (value instanceof Set) return new Set(value) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value && typeof value === 'object') {
    const out: Item = {};
    for (const [k, v] of Object.entries(value)) out[k] = clone(v);
    return out as T;
  }
  return value;
}

function tokenize(expr: string): string[] {
  return expr.match(/\(|\)|,|<>|<|=|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
}

/** Evaluates the subset of condition expressions the handlers use. */
export function evaluateCondition(expr: string, item: Item | undefined, names: Names, values: Values): boolean {
  const tokens = tokenize(expr);
  let pos = 0;
  const name = (t: string): string => (t.startsWith('#') ? names![t] : t);
  const operand = (): unknown => {
    const t = tokens[pos++];
    if (t.startsWith(':')) return values![t];
    return item?.[name(t)];
  };
  const primary = (): boolean => {
    const t = tokens[pos];
    if (t === '(') {
      pos++;
      const v = or();
      pos++; // ')'
      return v;
    }
    if (t === 'NOT') {
      pos++;
      return !primary();
    }
    if (t === 'attribute_not_exists' || t === 'attribute_exists') {
      pos += 2;
      const attr = name(tokens[pos++]);
      pos++;
      const exists = item !== undefined && item[attr] !== undefined;
      return t === 'attribute_exists' ? exists : !exists;
    }
    const left = operand();
    const op = tokens[pos++];
    if (op === 'IN') {
      pos++; // '('
      const list: unknown[] = [];
      while (tokens[pos] !== ')') {
        if (tokens[pos] === ',') pos++;
        else list.push(operand());
      }
      pos++;
      return list.includes(left);
    }
    const right = operand();
    if (op === '=') return left !== undefined && left === right;
    if (op === '<>') return left !== right;
    if (op === '<') return left !== undefined && (left as number) < (right as number);
    throw new Error(`unsupported operator ${op} in ${expr}`);
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[pos] === 'AND') {
      pos++;
      const r = primary();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[pos] === 'OR') {
      pos++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  return or();
}

/** Applies `SET a = :v, … REMOVE x, … ADD n :v, …`. */
export function applyUpdate(expr: string, item: Item, names: Names, values: Values): void {
  const clauses = expr.split(/\b(?=SET |REMOVE |ADD )/).map((c) => c.trim()).filter(Boolean);
  const name = (t: string): string => (t.startsWith('#') ? names![t] : t);
  for (const clause of clauses) {
    const [keyword, ...rest] = clause.split(' ');
    const parts = rest.join(' ').split(',').map((p) => p.trim()).filter(Boolean);
    for (const part of parts) {
      if (keyword === 'SET') {
        const [left, right] = part.split('=').map((s) => s.trim());
        item[name(left)] = clone(values![right]);
      } else if (keyword === 'REMOVE') {
        delete item[name(part)];
      } else if (keyword === 'ADD') {
        const [left, right] = part.split(/\s+/);
        const attr = name(left);
        const value = values![right];
        if (value instanceof Set) {
          const set = (item[attr] as Set<unknown> | undefined) ?? new Set();
          for (const v of value) set.add(v);
          item[attr] = set;
        } else {
          item[attr] = ((item[attr] as number | undefined) ?? 0) + (value as number);
        }
      } else {
        throw new Error(`unsupported update clause ${clause}`);
      }
    }
  }
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { ...meta, httpStatusCode: 400 } });
}

/** Throws ConditionalCheckFailed unless the write's ConditionExpression (if any) holds for `existing`. */
function requireCondition(input: Item, existing: Item | undefined): void {
  if (input.ConditionExpression && !evaluateCondition(input.ConditionExpression as string, existing,
    input.ExpressionAttributeNames as Names, input.ExpressionAttributeValues as Values)) throw conditionFailed();
}

/** A DynamoDB table (pk + optional sk) in memory, behind a mocked DynamoDBDocumentClient. */
export class FakeTable {
  public readonly items = new Map<string, Item>();
  public readonly mock = mockClient(DynamoDBDocumentClient);
  /** Index entries that outlive the item's change (the JobIdIndex is eventually consistent). */
  public readonly staleJobIndex = new Map<string, Item>();
  /** Hooks to inject failures: return an error to throw it instead of running the command. */
  public failNext: Array<(command: string, input: Item) => Error | undefined> = [];

  constructor(private readonly hasSortKey = true) {
    const wrap = <I extends Item>(command: string, fn: (input: I) => unknown) => async (input: I) => {
      for (const hook of this.failNext) {
        const err = hook(command, input);
        if (err) {
          this.failNext = this.failNext.filter((h) => h !== hook);
          throw err;
        }
      }
      return fn(input);
    };
    this.mock.on(GetCommand).callsFake(wrap('Get', (input: Item) => {
      const item = this.items.get(this.key(input.Key as Item));
      return { Item: item ? clone(item) : undefined, $metadata: meta };
    }));
    this.mock.on(PutCommand).callsFake(wrap('Put', (input: Item) => {
      this.put(input);
      return { $metadata: meta };
    }));
    this.mock.on(UpdateCommand).callsFake(wrap('Update', (input: Item) => {
      const item = this.update(input);
      return { Attributes: input.ReturnValues === 'ALL_NEW' ? clone(item) : undefined, $metadata: meta };
    }));
    this.mock.on(DeleteCommand).callsFake(wrap('Delete', (input: Item) => {
      const key = this.key(input.Key as Item);
      requireCondition(input, this.items.get(key));
      this.items.delete(key);
      return { $metadata: meta };
    }));
    this.mock.on(QueryCommand).callsFake(wrap('Query', (input: Item) => this.query(input)));
    this.mock.on(BatchWriteCommand).callsFake(wrap('BatchWrite', (input: Item) => {
      for (const requests of Object.values(input.RequestItems as Record<string, Item[]>)) {
        for (const request of requests) {
          const del = request.DeleteRequest as Item | undefined;
          if (del) this.items.delete(this.key(del.Key as Item));
          const put = request.PutRequest as Item | undefined;
          if (put) this.items.set(this.key(put.Item as Item), clone(put.Item as Item));
        }
      }
      return { UnprocessedItems: {}, $metadata: meta };
    }));
    this.mock.on(TransactWriteCommand).callsFake(wrap('TransactWrite', (input: Item) => {
      const ops = input.TransactItems as Item[];
      const reasons = ops.map((op) => {
        const [kind, body] = Object.entries(op)[0] as [string, Item];
        if (!body.ConditionExpression) return { Code: 'None' };
        const key = kind === 'Put' ? this.keyOf(body.Item as Item) : this.key(body.Key as Item);
        const ok = evaluateCondition(body.ConditionExpression as string, this.items.get(key), body.ExpressionAttributeNames as Names,
          body.ExpressionAttributeValues as Values);
        return ok ? { Code: 'None' } : { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
      });
      if (reasons.some((r) => r.Code !== 'None')) {
        throw new TransactionCanceledException({
          message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
          CancellationReasons: reasons,
          $metadata: { ...meta, httpStatusCode: 400 },
        });
      }
      for (const op of ops) {
        const [kind, body] = Object.entries(op)[0] as [string, Item];
        if (kind === 'Put') this.items.set(this.keyOf(body.Item as Item), clone(body.Item as Item));
        else if (kind === 'Update') this.update({ ...body, ConditionExpression: undefined });
      }
      return { $metadata: meta };
    }));
  }

  public key(key: Item): string {
    return this.hasSortKey ? `${key.pk}|${key.sk}` : String(key.pk);
  }

  private keyOf(item: Item): string {
    return this.key({ pk: item.pk, sk: item.sk });
  }

  public get(pk: string, sk?: string): Item | undefined {
    return this.items.get(this.key({ pk, sk }));
  }

  public seed(item: Item): void {
    this.items.set(this.keyOf(item), clone(item));
  }

  private put(input: Item): void {
    const item = input.Item as Item;
    const existing = this.items.get(this.keyOf(item));
    requireCondition(input, existing);
    this.items.set(this.keyOf(item), clone(item));
  }

  private update(input: Item): Item {
    const key = this.key(input.Key as Item);
    const existing = this.items.get(key);
    requireCondition(input, existing);
    const item = existing ? clone(existing) : clone(input.Key as Item);
    applyUpdate(input.UpdateExpression as string, item, input.ExpressionAttributeNames as Names, input.ExpressionAttributeValues as Values);
    this.items.set(key, item);
    return item;
  }

  private query(input: Item): unknown {
    const values = input.ExpressionAttributeValues as Record<string, unknown>;
    let matches: Item[];
    if (input.IndexName === 'StatusIndex') {
      // The run/status partition the orchestration stages query (`#p = :p`).
      const attribute = (input.ExpressionAttributeNames as Record<string, string>)['#p'];
      matches = [...this.items.values()].filter((i) => i[attribute] === values[':p']).map(clone);
    } else if (input.IndexName === 'JobIdIndex') {
      // KEYS_ONLY projection: table keys + index key.
      matches = [...this.items.values()].filter((i) => i.jobId === values[':jobId'])
        .map((i) => ({ pk: i.pk, sk: i.sk, jobId: i.jobId }));
      const stale = this.staleJobIndex.get(values[':jobId'] as string);
      if (stale) matches.push(stale);
    } else {
      matches = [...this.items.values()]
        .filter((i) => i.pk === values[':pk'] && String(i.sk).startsWith(values[':prefix'] as string))
        .sort((a, b) => String(a.sk).localeCompare(String(b.sk)))
        .map(clone);
    }
    // Pages of 2 items, so pagination is always exercised.
    const start = input.ExclusiveStartKey ? matches.findIndex((m) => this.keyOf(m) === this.keyOf(input.ExclusiveStartKey as Item)) + 1 : 0;
    const page = matches.slice(start, start + 2);
    const last = start + 2 < matches.length ? { pk: page[page.length - 1].pk, sk: page[page.length - 1].sk } : undefined;
    return { Items: page, Count: page.length, LastEvaluatedKey: last, $metadata: meta };
  }
}

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

// ---------------------------------------------------------------- Glacier

/** Glacier jobs whose output is an in-memory archive. */
export class FakeGlacier {
  public readonly mock = mockClient(GlacierClient);
  public readonly jobs = new Map<string, Buffer>();
  public readonly expired = new Set<string>();
  /** Overrides the bytes served for a job (corruption in transit). */
  public readonly corrupt = new Map<string, (data: Buffer, start: number) => Buffer>();

  constructor() {
    this.mock.on(GetJobOutputCommand).callsFake(async (input) => {
      const archive = this.jobs.get(input.jobId!);
      if (!archive || this.expired.has(input.jobId!)) {
        throw new ResourceNotFoundException({
          message: `The job ID was not found: ${input.jobId}`,
          type: 'Client',
          code: 'ResourceNotFoundException',
          $metadata: { ...meta, httpStatusCode: 404 },
        });
      }
      let start = 0;
      let end = archive.length - 1;
      if (input.range) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(input.range)!;
        start = Number(m[1]);
        end = Math.min(Number(m[2]), archive.length - 1);
      }
      const honest = archive.subarray(start, end + 1);
      const served = this.corrupt.get(input.jobId!)?.(Buffer.from(honest), start) ?? honest;
      const aligned = start % 1048576 === 0 && ((end + 1) % 1048576 === 0 || end === archive.length - 1);
      return {
        body: Readable.from(chunks(served, 64 * 1024)) as never,
        checksum: aligned ? treeHashOf(honest) : undefined,
        status: input.range ? 206 : 200,
        contentRange: input.range ? `bytes ${start}-${end}/${archive.length}` : undefined,
        acceptRanges: 'bytes',
        contentType: 'application/octet-stream',
        $metadata: { ...meta, httpStatusCode: input.range ? 206 : 200 },
      };
    });
  }
}

function* chunks(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(i + size, data.length));
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
