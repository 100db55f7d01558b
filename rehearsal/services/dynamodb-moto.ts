/* eslint-disable @stylistic/max-len */
import { randomUUID } from 'crypto';
import { createServer } from 'http';
import { ApiStats, closeServer, listenLocal, readBody, ReadWriteLock, sleep } from './common';
import { conflictName, DynamoHooks, LocalDynamo, StreamRecord, TableDefinition, WRITE_OPS } from './dynamodb';
import { forwardRequest, replayHeaders } from './forward';

/*
 * DynamoDB served by moto (tables, conditions, transactions, DynamoDB Streams), behind a proxy that
 * counts requests and runs the same fault hooks as the own backend's proxy. A stream reader follows
 * each streamed table's shards through moto's DynamoDB Streams API (GetShardIterator/GetRecords)
 * and hands the records to the same StreamPoller that invokes MetricsProcessor.
 *
 * moto's server is threaded and its DynamoDB takes no lock, so three things DynamoDB guarantees do
 * not hold for concurrent requests (rehearsal/README.md, findings 6 and 7), all handled here:
 *   - a cancelled TransactWriteItems puts back a deep copy of every table it names, taken when it
 *     started: a write another request made meanwhile is undone, and its stream record, already
 *     read, stays counted. The stream shard is part of the copied table, so an iterator taken
 *     earlier reads the discarded shard and never sees a later write: each pass takes a fresh
 *     iterator after the last sequence number it read.
 *   - a conditional write checks its condition, then applies the update: two concurrent writes to
 *     one item can both pass the check and both apply, each with a stream record of the same change.
 *   - a stream record's sequence number is the shard's length when the write began, so concurrent
 *     writes can share one.
 * So every write (and every transaction) runs alone: it holds `writes` exclusively; reads and each
 * stream read pass hold it shared.
 */

export interface MotoDynamoOptions {
  readonly upstream: string;
  readonly tables: TableDefinition[];
  readonly stats?: ApiStats;
  readonly hooks?: DynamoHooks;
  readonly region: string;
}

/** GetRecords' maximum page. */
const STREAM_PAGE = 1000;

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
  const writes = new ReadWriteLock();

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
        const forward = async (): Promise<Awaited<ReturnType<typeof forwardRequest>>> => forwardRequest(upstream, 'POST', req.url ?? '/', req.headers, raw);
        const out = await (isWrite ? writes.exclusive(forward) : writes.shared(forward));
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

  // One reader per streamed table: follow every shard from TRIM_HORIZON, in order; each pass
  // starts a fresh iterator after the last record read (see above: never one from an earlier pass).
  let running = true;
  const lastRead = new Map<string, string>();
  const readOnce = async (table: string, arn: string): Promise<void> => writes.shared(async () => {
    const description = (await streamsApi('DescribeStream', { StreamArn: arn })).StreamDescription as { Shards: { ShardId: string }[] };
    for (const { ShardId } of description.Shards) {
      const after = lastRead.get(`${arn} ${ShardId}`);
      const position = after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' };
      let iterator = (await streamsApi('GetShardIterator', { StreamArn: arn, ShardId, ...position })).ShardIterator as string;
      for (;;) {
        const out = await streamsApi('GetRecords', { ShardIterator: iterator, Limit: STREAM_PAGE });
        const records = (out.Records ?? []) as Omit<StreamRecord, 'eventSourceARN'>[];
        if (records.length === 0) break;
        // GetRecords has no eventSourceARN; Lambda's event source mapping adds it to every record.
        streams.get(table)!.push(...records.map((r) => ({ ...r, eventSourceARN: arn }) as StreamRecord));
        lastRead.set(`${arn} ${ShardId}`, records[records.length - 1].dynamodb.SequenceNumber);
        // A short page is the end of the shard (writes wait while this pass holds the lock).
        if (records.length < STREAM_PAGE) break;
        iterator = out.NextShardIterator as string;
      }
    }
  });
  const reader = (async () => {
    while (running) {
      const writesBefore = unreadWrites;
      if (writesBefore === 0) {
        // Nothing written since the last complete pass: no record can be waiting. (Polling moto
        // anyway cost about 50 requests a second, a third of all it answered in a run.)
        await sleep(15);
        continue;
      }
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
