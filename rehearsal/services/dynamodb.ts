/* eslint-disable @stylistic/max-len */
import { randomUUID } from 'crypto';
import { createServer, IncomingHttpHeaders, request } from 'http';
import { AddressInfo } from 'net';
import { ApiStats, closeServer, listenLocal, Mutex, readBody, RunningService, sleep } from './common';
import { MetricsTable, TransferTable } from '../../src/contract/keys';

/*
 * DynamoDB for the rehearsal: dynalite (in memory) behind a small HTTP proxy that adds what
 * dynalite lacks (rehearsal/README.md):
 *   - DynamoDB Streams: every write to a table with a stream is serialised per table, the old and
 *     new images are read around it, and a NEW_AND_OLD_IMAGES record is buffered for the poller.
 *   - TransactWriteItems: applied in order under the table locks; the first failed condition rolls
 *     back the earlier writes and answers TransactionCanceledException with CancellationReasons.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('http').Server;

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

export interface TableDefinition {
  readonly TableName: string;
  readonly KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  readonly AttributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  readonly GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }[];
  /** Emit stream records for this table. */
  readonly stream?: boolean;
}

/** The tables the construct creates, mirrored from the storage contract (schema.ts). */
export function pipelineTables(transferTableName: string, metricsTableName: string): TableDefinition[] {
  return [
    {
      TableName: transferTableName,
      KeySchema: [{ AttributeName: TransferTable.partitionKey, KeyType: 'HASH' }, { AttributeName: TransferTable.sortKey, KeyType: 'RANGE' }],
      AttributeDefinitions: [
        { AttributeName: TransferTable.partitionKey, AttributeType: 'S' },
        { AttributeName: TransferTable.sortKey, AttributeType: 'S' },
        { AttributeName: TransferTable.jobIdAttribute, AttributeType: 'S' },
        { AttributeName: TransferTable.statusIndexPartition, AttributeType: 'S' },
        { AttributeName: TransferTable.statusIndexSort, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        { IndexName: TransferTable.jobIdIndex, KeySchema: [{ AttributeName: TransferTable.jobIdAttribute, KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } },
        {
          IndexName: TransferTable.statusIndex,
          KeySchema: [{ AttributeName: TransferTable.statusIndexPartition, KeyType: 'HASH' }, { AttributeName: TransferTable.statusIndexSort, KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      stream: true,
    },
    {
      TableName: metricsTableName,
      KeySchema: [{ AttributeName: MetricsTable.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: MetricsTable.partitionKey, AttributeType: 'S' }],
    },
  ];
}

export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly eventSourceARN: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: Item;
    readonly NewImage?: Item;
    readonly OldImage?: Item;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: 'NEW_AND_OLD_IMAGES';
  };
}

/** An error the fault hook can return instead of forwarding a request. */
export interface InjectedDynamoError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

export interface DynamoHooks {
  /** Inspect a request before it runs; return an error to fail it. */
  before?(operation: string, body: Record<string, unknown>): InjectedDynamoError | undefined;
  /**
   * Inspect a write that was APPLIED (streams emitted); return an error to answer it instead of the
   * result, as if the caller died right after the write reached the table.
   */
  after?(operation: string, body: Record<string, unknown>): InjectedDynamoError | undefined;
}

export interface DynamoOptions {
  readonly tables: TableDefinition[];
  readonly stats?: ApiStats;
  readonly hooks?: DynamoHooks;
  readonly region?: string;
  readonly accountId?: string;
}

export interface LocalDynamo extends RunningService {
  /** Buffered, not yet delivered stream records of a table (oldest first). */
  readonly streams: Map<string, StreamRecord[]>;
  /** Applied writes whose stream records may not be in `streams` yet (moto's are read by polling). */
  readonly streamBacklog?: number;
  streamArn(tableName: string): string;
  /** Issue a raw DynamoDB JSON call to dynalite, bypassing the proxy (no stream, no stats). */
  call(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
}

class DynamoError extends Error {
  constructor(public readonly status: number, public readonly type: string, message: string, public readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

/**
 * Conditional-write conflicts answered (ConditionalCheckFailedException, TransactionCanceledException),
 * counted as stats service `Conflicts` by both backends' proxies: the report shows how often writers raced.
 */
export function conflictName(status: number, payload: Buffer | Record<string, unknown>): string | undefined {
  if (status !== 400) return undefined;
  let type: unknown;
  try {
    type = Buffer.isBuffer(payload) ? (JSON.parse(payload.toString('utf8')) as Record<string, unknown>).__type : payload.__type;
  } catch {
    return undefined;
  }
  const name = String(type ?? '').split('#').pop()!;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException' ? name : undefined;
}

export const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

function sameImage(a: Item | undefined, b: Item | undefined): boolean {
  const canon = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(canon);
    if (x && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canon((x as Record<string, unknown>)[k])]));
    return x;
  };
  return JSON.stringify(canon(a ?? null)) === JSON.stringify(canon(b ?? null));
}

export async function startDynamo(options: DynamoOptions): Promise<LocalDynamo> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const backend = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', () => resolve()));
  const backendPort = (backend.address() as AddressInfo).port;
  const definitions = new Map(options.tables.map((t) => [t.TableName, t]));
  const locks = new Map(options.tables.map((t) => [t.TableName, new Mutex()]));
  const streams = new Map<string, StreamRecord[]>(options.tables.filter((t) => t.stream).map((t) => [t.TableName, []]));
  let sequence = 100_000_000_000;
  const streamArn = (table: string): string => `arn:aws:dynamodb:${region}:${accountId}:table/${table}/stream/2026-01-01T00:00:00.000`;

  const forward = async (headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: backendPort, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        readBody(res).then((data) => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: data }), reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const call = async (operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const payload = Buffer.from(JSON.stringify(body));
    const res = await forward({
      'x-amz-target': `DynamoDB_20120810.${operation}`,
      'content-type': 'application/x-amz-json-1.0',
      'authorization': 'AWS4-HMAC-SHA256 Credential=rehearsal/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20260101T000000Z',
    }, payload);
    const parsed = res.body.length ? JSON.parse(res.body.toString('utf8')) as Record<string, unknown> : {};
    if (res.status >= 400) {
      const type = String(parsed.__type ?? 'InternalServerError').split('#').pop()!;
      throw new DynamoError(res.status, type, String(parsed.message ?? parsed.Message ?? type), parsed);
    }
    return parsed;
  };

  const keyOf = (table: string, item: Item): Item => {
    const def = definitions.get(table);
    if (!def) throw new DynamoError(400, 'ResourceNotFoundException', `Requested resource not found: Table: ${table} not found`);
    return Object.fromEntries(def.KeySchema.map((k) => [k.AttributeName, item[k.AttributeName]]));
  };

  const getImage = async (table: string, key: Item): Promise<Item | undefined> =>
    (await call('GetItem', { TableName: table, Key: key, ConsistentRead: true })).Item as Item | undefined;

  const emit = (table: string, key: Item, oldImage: Item | undefined, newImage: Item | undefined): void => {
    const buffer = streams.get(table);
    if (!buffer || sameImage(oldImage, newImage)) return;
    sequence += 1;
    buffer.push({
      eventID: randomUUID().replace(/-/g, ''),
      eventName: !oldImage ? 'INSERT' : !newImage ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      eventSourceARN: streamArn(table),
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: key,
        ...(newImage ? { NewImage: newImage } : {}),
        ...(oldImage ? { OldImage: oldImage } : {}),
        SequenceNumber: String(sequence).padStart(21, '0'),
        SizeBytes: Buffer.byteLength(JSON.stringify(newImage ?? oldImage ?? {})),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  };

  /** Runs `task` holding the locks of `tables` (sorted, so two writers never deadlock). */
  const withLocks = async <T>(tables: string[], task: () => Promise<T>): Promise<T> => {
    const sorted = [...new Set(tables)].filter((t) => locks.has(t)).sort();
    const acquire = (i: number): Promise<T> => (i === sorted.length ? task() : locks.get(sorted[i])!.run(async () => acquire(i + 1)));
    return acquire(0);
  };

  /** Keys touched by a single-item or batch write, per table. */
  const writeTargets = (op: string, body: Record<string, unknown>): { table: string; key: Item }[] => {
    if (op === 'BatchWriteItem') {
      const requests = body.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>;
      return Object.entries(requests).flatMap(([table, list]) => list.map((r) => ({ table, key: r.PutRequest ? keyOf(table, r.PutRequest.Item) : r.DeleteRequest!.Key })));
    }
    const table = body.TableName as string;
    return [{ table, key: op === 'PutItem' ? keyOf(table, body.Item as Item) : body.Key as Item }];
  };

  const transactWrite = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    type Op = { kind: 'ConditionCheck' | 'Put' | 'Update' | 'Delete'; params: Record<string, unknown>; table: string; key: Item };
    const items = (body.TransactItems as Record<string, Record<string, unknown>>[] | undefined) ?? [];
    if (items.length === 0 || items.length > 100) throw new DynamoError(400, 'ValidationException', 'TransactItems must have between 1 and 100 items');
    const ops: Op[] = items.map((entry) => {
      const kind = Object.keys(entry)[0] as Op['kind'];
      const params = { ...entry[kind] };
      delete params.ReturnValuesOnConditionCheckFailure;
      const table = params.TableName as string;
      return { kind, params, table, key: kind === 'Put' ? keyOf(table, params.Item as Item) : params.Key as Item };
    });
    const seen = new Set<string>();
    for (const op of ops) {
      const id = `${op.table}|${JSON.stringify(keyOf(op.table, op.key))}`;
      if (seen.has(id)) throw new DynamoError(400, 'ValidationException', 'Transaction request cannot include multiple operations on one item');
      seen.add(id);
    }
    return withLocks(ops.map((o) => o.table), async () => {
      const oldImages = await Promise.all(ops.map(async (o) => getImage(o.table, o.key)));
      const applied: number[] = [];
      const restore = async (i: number): Promise<void> => {
        const old = oldImages[i];
        if (old) await call('PutItem', { TableName: ops[i].table, Item: old });
        else await call('DeleteItem', { TableName: ops[i].table, Key: ops[i].key });
      };
      // Every item's condition is evaluated (the items are distinct, so one item's write cannot change
      // another's condition): like DynamoDB, CancellationReasons names EVERY item whose condition
      // failed, not only the first. Any failure rolls back what was applied.
      const failed = new Set<number>();
      for (const [i, op] of ops.entries()) {
        try {
          if (op.kind === 'Put') {await call('PutItem', op.params);} else if (op.kind === 'Update') {await call('UpdateItem', op.params);} else if (op.kind === 'Delete') {await call('DeleteItem', op.params);} else {
            // A condition check writes nothing: rewrite the current image under the condition.
            const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = op.params;
            await call('PutItem', { TableName: op.table, Item: oldImages[i] ?? op.key, ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues });
          }
          applied.push(i);
        } catch (e) {
          if (e instanceof DynamoError && e.type === 'ConditionalCheckFailedException') {
            failed.add(i);
            continue;
          }
          for (const j of applied.reverse()) await restore(j);
          throw e;
        }
      }
      if (failed.size > 0) {
        for (const j of applied.reverse()) await restore(j);
        const reasons = ops.map((op, j) => {
          if (!failed.has(j)) return { Code: 'None' };
          const wantOld = (items[j][op.kind] as Record<string, unknown>).ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
          return { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(wantOld && oldImages[j] ? { Item: oldImages[j] } : {}) };
        });
        throw new DynamoError(400, 'TransactionCanceledException',
          `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
          { CancellationReasons: reasons });
      }
      // Condition checks on absent items put a bare key; remove it again.
      for (const [i, op] of ops.entries()) {
        if (op.kind === 'ConditionCheck' && !oldImages[i]) await call('DeleteItem', { TableName: op.table, Key: op.key });
      }
      for (const [i, op] of ops.entries()) {
        if (op.kind === 'ConditionCheck') continue;
        emit(op.table, keyOf(op.table, op.key), oldImages[i], await getImage(op.table, op.key));
      }
      return {};
    });
  };

  const noteConflict = (status: number, payload: Buffer | Record<string, unknown>): void => {
    const name = conflictName(status, payload);
    if (name) options.stats?.count('Conflicts', name);
  };

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.split('.').pop() ?? 'Unknown';
      options.stats?.count('DynamoDB', op);
      let body: Record<string, unknown> = {};
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) as Record<string, unknown> : {};
      } catch {
        // dynalite answers the SerializationException itself
      }
      const reply = (status: number, payload: Record<string, unknown>): void => {
        noteConflict(status, payload);
        const text = JSON.stringify(payload);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': randomUUID() });
        res.end(text);
      };
      try {
        const injected = options.hooks?.before?.(op, body);
        if (injected) {
          options.stats?.count('DynamoDB', `injected:${injected.type}`);
          reply(injected.status, { __type: `com.amazonaws.dynamodb.v20120810#${injected.type}`, message: injected.message });
          return;
        }
        const injectAfter = (): boolean => {
          const after = options.hooks?.after?.(op, body);
          if (!after) return false;
          options.stats?.count('DynamoDB', `injected-after-write:${after.type}`);
          reply(after.status, { __type: `com.amazonaws.dynamodb.v20120810#${after.type}`, message: after.message });
          return true;
        };
        if (op === 'TransactWriteItems') {
          const result = await transactWrite(body);
          if (!injectAfter()) reply(200, result);
          return;
        }
        if (WRITE_OPS.has(op)) {
          const targets = writeTargets(op, body);
          if (targets.some((t) => streams.has(t.table))) {
            await withLocks(targets.map((t) => t.table), async () => {
              const before = await Promise.all(targets.map(async (t) => (streams.has(t.table) ? getImage(t.table, t.key) : undefined)));
              const out = await forward(req.headers, raw);
              if (out.status < 400) {
                for (const [i, t] of targets.entries()) {
                  if (streams.has(t.table)) emit(t.table, t.key, before[i], await getImage(t.table, t.key));
                }
                if (injectAfter()) return;
              }
              noteConflict(out.status, out.body);
              res.writeHead(out.status, out.headers);
              res.end(out.body);
            });
            return;
          }
        }
        const out = await forward(req.headers, raw);
        if (out.status < 400 && WRITE_OPS.has(op) && injectAfter()) return;
        noteConflict(out.status, out.body);
        res.writeHead(out.status, out.headers);
        res.end(out.body);
      } catch (e) {
        if (e instanceof DynamoError) reply(e.status, { ...e.extra, __type: `com.amazonaws.dynamodb.v20120810#${e.type}`, message: e.message });
        else reply(500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String((e as Error)?.stack ?? e) });
      }
    })();
  });
  const { endpoint } = await listenLocal(server);

  for (const table of options.tables) {
    const { stream: _stream, GlobalSecondaryIndexes, ...rest } = table;
    await call('CreateTable', {
      ...rest,
      BillingMode: 'PAY_PER_REQUEST',
      ...(GlobalSecondaryIndexes ? { GlobalSecondaryIndexes } : {}),
    });
  }
  for (let i = 0; i < 50; i++) {
    const states = await Promise.all(options.tables.map(async (t) => ((await call('DescribeTable', { TableName: t.TableName })).Table as { TableStatus: string }).TableStatus));
    if (states.every((s) => s === 'ACTIVE')) break;
    await sleep(10);
  }

  return {
    endpoint,
    streams,
    streamArn,
    call,
    stop: async () => {
      await closeServer(server);
      await new Promise<void>((resolve) => {
        backend.close(() => resolve());
        backend.closeAllConnections();
      });
    },
  };
}
