/* eslint-disable @stylistic/max-len */
import { randomUUID } from 'crypto';
import { createServer } from 'http';
import { ApiStats, closeServer, listenLocal, readBody, sleep } from './common';
import { conflictName, DynamoHooks, LocalDynamo, StreamRecord, TableDefinition, WRITE_OPS } from './dynamodb';
import { forwardRequest, replayHeaders } from './forward';

/*
 * DynamoDB served by moto (tables, conditions, transactions, DynamoDB Streams), behind a proxy that
 * counts requests and runs the same fault hooks as the own backend's proxy. A stream reader follows
 * each streamed table's shards through moto's DynamoDB Streams API (GetShardIterator/GetRecords)
 * and hands the records to the same StreamPoller that invokes MetricsProcessor.
 */

export interface MotoDynamoOptions {
  readonly upstream: string;
  readonly tables: TableDefinition[];
  readonly stats?: ApiStats;
  readonly hooks?: DynamoHooks;
  readonly region: string;
}

const AUTH = (region: string): Record<string, string> => ({
  'content-type': 'application/x-amz-json-1.0',
  'authorization': `AWS4-HMAC-SHA256 Credential=rehearsal/20260101/${region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
});

export async function startMotoDynamo(options: MotoDynamoOptions): Promise<LocalDynamo> {
  const { upstream, region } = options;
  const call = async (target: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const out = await forwardRequest(upstream, 'POST', '/', { ...AUTH(region), 'x-amz-target': target }, Buffer.from(JSON.stringify(body)));
    const parsed = out.body.length ? JSON.parse(out.body.toString('utf8')) as Record<string, unknown> : {};
    if (out.status >= 400) throw Object.assign(new Error(`${target}: ${String(parsed.message ?? parsed.__type ?? out.status)}`), { name: String(parsed.__type ?? 'Error').split('#').pop() });
    return parsed;
  };
  const dynamo = async (op: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => call(`DynamoDB_20120810.${op}`, body);
  const streamsApi = async (op: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => call(`DynamoDBStreams_20120810.${op}`, body);

  const streams = new Map<string, StreamRecord[]>(options.tables.filter((t) => t.stream).map((t) => [t.TableName, []]));
  const streamArns = new Map<string, string>();
  /** Writes to a streamed table answered since the reader's last complete pass: records may still be on their way. */
  let unreadWrites = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? 'Unknown';
      options.stats?.count('DynamoDB', op);
      let body: Record<string, unknown> = {};
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) as Record<string, unknown> : {};
      } catch {
        // moto answers the SerializationException itself
      }
      const reply = (status: number, type: string, message: string): void => {
        const text = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': randomUUID() });
        res.end(text);
      };
      try {
        const injected = options.hooks?.before?.(op, body);
        if (injected) {
          options.stats?.count('DynamoDB', `injected:${injected.type}`);
          reply(injected.status, injected.type, injected.message);
          return;
        }
        const isWrite = WRITE_OPS.has(op) || op === 'TransactWriteItems';
        if (isWrite) unreadWrites++;
        const out = await forwardRequest(upstream, 'POST', req.url ?? '/', req.headers, raw);
        if (out.status < 400 && isWrite) {
          const after = options.hooks?.after?.(op, body);
          if (after) {
            options.stats?.count('DynamoDB', `injected-after-write:${after.type}`);
            reply(after.status, after.type, after.message);
            return;
          }
        }
        const conflict = conflictName(out.status, out.body);
        if (conflict) options.stats?.count('Conflicts', conflict);
        res.writeHead(out.status, replayHeaders(out.headers, out.body.length));
        res.end(out.body);
      } catch (e) {
        reply(500, 'InternalServerError', String((e as Error)?.stack ?? e));
      }
    })().catch(() => {
      // The caller went away mid-request (an aborted upload): nothing to answer.
      res.destroy();
    });
  });
  const { endpoint } = await listenLocal(server);

  for (const table of options.tables) {
    const { stream, GlobalSecondaryIndexes, ...rest } = table;
    const created = await dynamo('CreateTable', {
      ...rest,
      BillingMode: 'PAY_PER_REQUEST',
      ...(GlobalSecondaryIndexes ? { GlobalSecondaryIndexes } : {}),
      ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
    });
    const arn = (created.TableDescription as { LatestStreamArn?: string }).LatestStreamArn;
    if (stream) {
      if (!arn) throw new Error(`moto created ${table.TableName} without a stream`);
      streamArns.set(table.TableName, arn);
    }
  }

  // One reader per streamed table: follow every shard from TRIM_HORIZON, in order.
  let running = true;
  const iterators = new Map<string, string>();
  const readOnce = async (table: string, arn: string): Promise<void> => {
    const description = (await streamsApi('DescribeStream', { StreamArn: arn })).StreamDescription as { Shards: { ShardId: string }[] };
    for (const { ShardId } of description.Shards) {
      let iterator = iterators.get(ShardId);
      if (!iterator) {
        iterator = (await streamsApi('GetShardIterator', { StreamArn: arn, ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator as string;
      }
      for (;;) {
        const out = await streamsApi('GetRecords', { ShardIterator: iterator, Limit: 1000 });
        const records = (out.Records ?? []) as Omit<StreamRecord, 'eventSourceARN'>[];
        // GetRecords has no eventSourceARN; Lambda's event source mapping adds it to every record.
        streams.get(table)!.push(...records.map((r) => ({ ...r, eventSourceARN: arn }) as StreamRecord));
        iterator = out.NextShardIterator as string;
        if (records.length === 0) break;
      }
      iterators.set(ShardId, iterator);
    }
  };
  const reader = (async () => {
    while (running) {
      const writesBefore = unreadWrites;
      try {
        for (const [table, arn] of streamArns) await readOnce(table, arn);
        unreadWrites -= writesBefore;
      } catch (e) {
        if (running) process.stderr.write(`moto stream reader: ${(e as Error).message}\n`);
      }
      await sleep(15);
    }
  })();

  return {
    endpoint,
    streams,
    /** Records buffered plus writes the reader has not looked past yet (keeps the idle check honest). */
    get streamBacklog(): number {
      return unreadWrites;
    },
    streamArn: (table: string) => streamArns.get(table) ?? '',
    call: dynamo,
    stop: async () => {
      running = false;
      await reader;
      await closeServer(server);
    },
  } as LocalDynamo;
}
