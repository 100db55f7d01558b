/*
 * In-memory stand-ins behind aws-sdk-client-mock for the request-stage tests: one DynamoDB
 * document client serving several tables (conditions and updates evaluated), a Glacier
 * InitiateJob that can be scripted to fail, and an S3 bucket that assembles multipart uploads.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

type Item = Record<string, any>;
const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

const clone = <T>(v: T): T => {
  if (v instanceof Set) return new Set(v) as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
};

/** Evaluates =, <, >, <>, IN, attribute_exists/attribute_not_exists, AND, OR, NOT, parentheses. */
export function evaluate(expr: string, item: Item | undefined, names: Record<string, string> = {}, values: Item = {}): boolean {
  const tokens = expr.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  let pos = 0;
  const attr = (t: string) => (t.startsWith('#') ? names[t] : t);
  const operand = () => {
    const t = tokens[pos++];
    return t.startsWith(':') ? values[t] : item?.[attr(t)];
  };
  const primary = (): boolean => {
    const t = tokens[pos];
    if (t === '(') {
      pos++;
      const v = or();
      pos++;
      return v;
    }
    if (t === 'NOT') {
      pos++;
      return !primary();
    }
    if (t === 'attribute_exists' || t === 'attribute_not_exists') {
      pos += 2;
      const exists = item !== undefined && item[attr(tokens[pos++])] !== undefined;
      pos++;
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
    switch (op) {
      case '=': return left !== undefined && left === right;
      case '<>': return left !== right;
      case '<': return left !== undefined && left < right;
      case '>': return left !== undefined && left > right;
      default: throw new Error(`unsupported operator ${op} in ${expr}`);
    }
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

function applyUpdate(expr: string, item: Item, names: Record<string, string> = {}, values: Item = {}): void {
  const attr = (t: string) => (t.startsWith('#') ? names[t] : t);
  for (const clause of expr.split(/\b(?=SET |REMOVE |ADD )/).map((c) => c.trim()).filter(Boolean)) {
    const [keyword, ...rest] = clause.split(' ');
    for (const part of rest.join(' ').split(',').map((p) => p.trim()).filter(Boolean)) {
      if (keyword === 'SET') {
        const [l, r] = part.split('=').map((s) => s.trim());
        item[attr(l)] = clone(values[r]);
      } else if (keyword === 'REMOVE') {
        delete item[attr(part)];
      } else {
        const [l, r] = part.split(/\s+/);
        item[attr(l)] = (item[attr(l)] ?? 0) + values[r];
      }
    }
  }
}

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { ...meta, httpStatusCode: 400 } });

/** Tables by name; key = pk (+ sk when present). */
export class FakeDynamo {
  public readonly tables = new Map<string, Map<string, Item>>();
  public readonly mock = mockClient(DynamoDBDocumentClient);
  public readonly client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
  /** Called before every command; may mutate state (simulate a concurrent writer) or throw. */
  public beforeCommand?: (command: string, input: Item) => void;
  /** Items per Query page (forces pagination). */
  public pageSize = 3;
  public queryCalls = 0;

  constructor() {
    const hook = (name: string, fn: (input: Item) => unknown) => async (input: Item) => {
      this.beforeCommand?.(name, input);
      return fn(input);
    };
    this.mock.on(GetCommand).callsFake(hook('Get', (i) => ({ Item: clone(this.table(i.TableName).get(this.key(i.Key))), $metadata: meta })));
    this.mock.on(BatchGetCommand).callsFake(hook('BatchGet', (i) => {
      const Responses: Record<string, Item[]> = {};
      for (const [name, req] of Object.entries(i.RequestItems as Record<string, Item>)) {
        Responses[name] = (req.Keys as Item[]).map((k) => this.table(name).get(this.key(k))).filter(Boolean).map(clone) as Item[];
      }
      return { Responses, UnprocessedKeys: {}, $metadata: meta };
    }));
    this.mock.on(PutCommand).callsFake(hook('Put', (i) => {
      const t = this.table(i.TableName);
      const k = this.key(i.Item);
      if (i.ConditionExpression && !evaluate(i.ConditionExpression, t.get(k), i.ExpressionAttributeNames, i.ExpressionAttributeValues)) {
        throw conditionFailed();
      }
      t.set(k, clone(i.Item));
      return { $metadata: meta };
    }));
    this.mock.on(UpdateCommand).callsFake(hook('Update', (i) => {
      const t = this.table(i.TableName);
      const k = this.key(i.Key);
      const existing = t.get(k);
      if (i.ConditionExpression && !evaluate(i.ConditionExpression, existing, i.ExpressionAttributeNames, i.ExpressionAttributeValues)) {
        throw conditionFailed();
      }
      const item = clone(existing ?? i.Key);
      applyUpdate(i.UpdateExpression, item, i.ExpressionAttributeNames, i.ExpressionAttributeValues);
      t.set(k, item);
      return { $metadata: meta };
    }));
    this.mock.on(QueryCommand).callsFake(hook('Query', (i) => {
      this.queryCalls++;
      if (i.IndexName !== 'StatusIndex') throw new Error(`unexpected index ${i.IndexName}`);
      const partition = i.ExpressionAttributeValues[':runStatus'];
      const all = [...this.table(i.TableName).values()]
        .filter((it) => it.runStatus === partition)
        .sort((a, b) => `${a.statusTime}${a.pk}`.localeCompare(`${b.statusTime}${b.pk}`));
      const start = i.ExclusiveStartKey ? all.findIndex((it) => it.pk === i.ExclusiveStartKey.pk) + 1 : 0;
      const limit = Math.min(i.Limit ?? Infinity, this.pageSize);
      const page = all.slice(start, start + limit);
      const names = i.ExpressionAttributeNames;
      const matching = page.filter((it) => !i.FilterExpression || evaluate(i.FilterExpression, it, names, i.ExpressionAttributeValues));
      const last = start + limit < all.length ? { pk: page[page.length - 1].pk, sk: page[page.length - 1].sk } : undefined;
      return { Items: matching.map(clone), LastEvaluatedKey: last, $metadata: meta };
    }));
  }

  public table(name: string): Map<string, Item> {
    if (!this.tables.has(name)) this.tables.set(name, new Map());
    return this.tables.get(name)!;
  }

  public key(k: Item): string {
    return k.sk === undefined ? String(k.pk) : `${k.pk}|${k.sk}`;
  }

  public seed(table: string, item: Item): void {
    this.table(table).set(this.key(item), clone(item));
  }

  public get(table: string, pk: string, sk?: string): Item | undefined {
    return this.table(table).get(this.key({ pk, sk }));
  }
}

export interface GlacierCall {
  readonly vaultName: string;
  readonly archiveId: string;
  readonly tier?: string;
  readonly topic?: string;
  readonly description?: string;
  readonly jobId?: string;
  readonly error?: string;
}

/** Glacier InitiateJob; `failures` scripts errors per archive id (consumed one per call). */
export class FakeGlacier {
  public readonly mock = mockClient(GlacierClient);
  public readonly client = new GlacierClient({ region: 'eu-west-1' });
  public readonly calls: GlacierCall[] = [];
  public readonly failures = new Map<string, Error[]>();
  private next = 1;

  constructor() {
    this.mock.on(InitiateJobCommand).callsFake(async (input) => {
      const p = input.jobParameters;
      const scripted = this.failures.get(p.ArchiveId)?.shift();
      const call = { vaultName: input.vaultName, archiveId: p.ArchiveId, tier: p.Tier, topic: p.SNSTopic, description: p.Description };
      if (scripted) {
        this.calls.push({ ...call, error: scripted.name });
        throw scripted;
      }
      const jobId = `job-${this.next++}`;
      this.calls.push({ ...call, jobId });
      return { jobId, location: `/-/vaults/${input.vaultName}/jobs/${jobId}`, $metadata: { ...meta, httpStatusCode: 202 } };
    });
  }

  public requestedArchives(): string[] {
    return this.calls.filter((c) => c.jobId).map((c) => c.archiveId);
  }
}

/** A Glacier service error as the SDK shapes it. */
export function glacierError(name: string, status: number, message = name): Error {
  const err = new Error(message) as Error & { $metadata: object; $fault: string };
  err.name = name;
  err.$metadata = { httpStatusCode: status };
  err.$fault = status >= 500 ? 'server' : 'client';
  return err;
}

/** S3 PutObject and multipart uploads into memory; tracks the largest part seen. */
export class FakeS3 {
  public readonly mock = mockClient(S3Client);
  public readonly client = new S3Client({ region: 'eu-west-1' });
  public readonly objects = new Map<string, Buffer>();
  public readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  public readonly aborted: string[] = [];
  public largestBody = 0;
  private next = 1;

  constructor() {
    const size = (body: unknown) => {
      const b = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
      this.largestBody = Math.max(this.largestBody, b.length);
      return b;
    };
    this.mock.on(PutObjectCommand).callsFake(async (i) => {
      this.objects.set(i.Key, size(i.Body));
      return { ETag: '"e"', $metadata: meta };
    });
    this.mock.on(CreateMultipartUploadCommand).callsFake(async (i) => {
      const id = `upload-${this.next++}`;
      this.uploads.set(id, { key: i.Key, parts: new Map() });
      return { UploadId: id, $metadata: meta };
    });
    this.mock.on(UploadPartCommand).callsFake(async (i) => {
      this.uploads.get(i.UploadId)!.parts.set(i.PartNumber, size(i.Body));
      return { ETag: `"p${i.PartNumber}"`, ChecksumCRC32: 'AAAAAA==', $metadata: meta };
    });
    this.mock.on(CompleteMultipartUploadCommand).callsFake(async (i) => {
      const upload = this.uploads.get(i.UploadId)!;
      const numbers = (i.MultipartUpload.Parts as Array<{ PartNumber: number }>).map((p) => p.PartNumber);
      this.objects.set(upload.key, Buffer.concat(numbers.map((n) => upload.parts.get(n)!)));
      this.uploads.delete(i.UploadId);
      return { $metadata: meta };
    });
    this.mock.on(AbortMultipartUploadCommand).callsFake(async (i) => {
      this.aborted.push(i.UploadId);
      this.uploads.delete(i.UploadId);
      return { $metadata: meta };
    });
  }
}
