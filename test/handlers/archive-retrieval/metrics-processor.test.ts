import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { silentLogger } from './fakes';
import { processStatusStream } from '../../../src/handlers/archive-retrieval/metrics';
import { FakeTable } from '../../doubles/dynamodb';

let table: FakeTable;
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const deps = () => ({ ddb, tableName: 'metrics', log: silentLogger(), clock: () => new Date('2026-11-24T08:00:00Z') });
beforeEach(() => {
  table = new FakeTable('metrics');
});
afterEach(() => table.dynamo.mock.restore());

let seq = 100;
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', oldStatus: string | undefined, newStatus: string | undefined, opts: { size?: number; run?: string; sk?: string; id?: string } = {}): DynamoDBRecord {
  const image = (status: string | undefined) => (status === undefined ? undefined : {
    pk: { S: `archive#${opts.run ?? 'r1'}#A` }, sk: { S: opts.sk ?? 'archive' }, runId: { S: opts.run ?? 'r1' }, status: { S: status }, size: { N: String(opts.size ?? 1000) },
  });
  seq++;
  return {
    eventID: opts.id ?? `evt-${seq}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1795852800,
      Keys: { pk: { S: `archive#${opts.run ?? 'r1'}#A` }, sk: { S: opts.sk ?? 'archive' } },
      OldImage: eventName === 'INSERT' ? undefined : image(oldStatus),
      NewImage: eventName === 'REMOVE' ? undefined : image(newStatus),
      SequenceNumber: String(seq).padStart(21, '0'),
      SizeBytes: 180,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:111122223333:table/transfer/stream/2026-11-24T00:00:00.000',
  };
}

const counters = (run = 'r1'): Record<string, number> => (table.get(`run#${run}`) ?? {}) as Record<string, number>;

test('counts inserts and transitions (including staged → downloaded after a re-stage) in one transaction', async () => {
  const records = [
    record('INSERT', undefined, 'pending', { size: 10 }),
    record('MODIFY', 'pending', 'requested', { size: 10 }),
    record('MODIFY', 'requested', 'staged', { size: 10 }),
    record('MODIFY', 'staged', 'staged', { size: 10 }), // re-staged: same status, no count change
    record('MODIFY', 'staged', 'downloaded', { size: 10 }),
    record('INSERT', undefined, 'pending', { size: 5, run: 'r2' }),
    record('MODIFY', 'x', 'y', { sk: 'chunk#00001' }), // not an archive item
    record('REMOVE', 'downloaded', undefined), // TTL expiry keeps history
  ];
  await expect(processStatusStream(deps(), records)).resolves.toEqual({ batchItemFailures: [] });
  expect(table.dynamo.mock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  expect(counters()).toEqual({ pk: 'run#r1', pendingCount: 0, pendingBytes: 0, requestedCount: 0, requestedBytes: 0, stagedCount: 0, stagedBytes: 0, downloadedCount: 1, downloadedBytes: 10 });
  expect(counters('r2')).toMatchObject({ pendingCount: 1, pendingBytes: 5 });
  const marker = table.get(`stream-event#${records[0].eventID}`)!;
  expect(marker.expiresAt).toBe(Date.parse('2026-11-24T08:00:00Z') / 1000 + 7 * 86400);
});

test('stream redelivery: the same eventID is counted once (grouped, then one by one)', async () => {
  const a = record('INSERT', undefined, 'requested', { size: 7 });
  const b = record('MODIFY', 'requested', 'staged', { size: 7 });
  await processStatusStream(deps(), [a]);
  // The batch is redelivered with one more record: the group is cancelled by a's marker, then counted one by one.
  await expect(processStatusStream(deps(), [a, b])).resolves.toEqual({ batchItemFailures: [] });
  expect(counters()).toMatchObject({ requestedCount: 0, requestedBytes: 0, stagedCount: 1, stagedBytes: 7 });
  await processStatusStream(deps(), [a, b]);
  expect(counters()).toMatchObject({ requestedCount: 0, stagedCount: 1 });
});

test('a failure reports that record and every later one, in order, and counts nothing twice on retry', async () => {
  const records = [record('INSERT', undefined, 'requested'), record('MODIFY', 'requested', 'staged'), record('MODIFY', 'staged', 'failed')];
  // Group fails with a throttling error, then the second one-by-one write throttles too.
  const throttle = () => Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  let calls = 0;
  table.dynamo.fail('TransactWrite', throttle(), { times: 2, when: () => ++calls === 1 || calls === 3 });
  const result = await processStatusStream(deps(), records);
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[1].dynamodb!.SequenceNumber, records[2].dynamodb!.SequenceNumber]);
  expect(counters()).toMatchObject({ requestedCount: 1 });

  // Lambda retries from the failed record (and may resend the first): final counts are exact.
  await expect(processStatusStream(deps(), records)).resolves.toEqual({ batchItemFailures: [] });
  expect(counters()).toMatchObject({ requestedCount: 0, stagedCount: 0, failedCount: 1, failedBytes: 1000 });
});

test('large batches are split so no transaction exceeds 100 items', async () => {
  const records = Array.from({ length: 150 }, (_, i) => record('INSERT', undefined, 'pending', { run: `r${i % 3}`, size: 1 }));
  await processStatusStream(deps(), records);
  const sizes = table.dynamo.mock.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems!.length);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
  expect(counters('r0').pendingCount + counters('r1').pendingCount + counters('r2').pendingCount).toBe(150);
});
