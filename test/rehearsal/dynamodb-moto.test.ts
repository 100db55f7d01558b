import { existsSync } from 'fs';
import { join } from 'path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReadWriteLock, sleep } from '../../rehearsal/services/common';
import { LocalDynamo, pipelineTables } from '../../rehearsal/services/dynamodb';
import { startMotoDynamo } from '../../rehearsal/services/dynamodb-moto';
import { MotoServer, MOTO_VENV, startMotoServer } from '../../rehearsal/services/moto';

/*
 * The moto backend's DynamoDB proxy and stream reader against a real moto_server (installed by
 * `npx projen rehearse:setup`; without it these tests are skipped and say so). Finding 6 in
 * rehearsal/README.md: moto puts a deep copy of the table back when a transaction is cancelled;
 * finding 7: moto's conditional writes are not atomic under concurrent requests.
 */

const haveMoto = existsSync(join(MOTO_VENV, 'bin', 'moto_server'));
if (!haveMoto) process.stderr.write(`dynamodb-moto.test.ts: skipped, no moto in ${MOTO_VENV} (npx projen rehearse:setup)\n`);
const withMoto = haveMoto ? describe : describe.skip;

const credentials = { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' };

/** A transaction cancelled by its condition check (moto still applies and streams the Put, then rolls back). */
const cancelled = (pk: string): TransactWriteCommand => new TransactWriteCommand({
  TransactItems: [
    { ConditionCheck: { TableName: 'transfer', Key: { pk: 'missing', sk: 'archive' }, ConditionExpression: 'attribute_exists(pk)' } },
    { Put: { TableName: 'transfer', Item: { pk, sk: 'chunk#1' } } },
  ],
});

withMoto('DynamoDB on moto', () => {
  jest.setTimeout(60_000);
  let moto: MotoServer;
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    moto = await startMotoServer('111122223333');
    dynamo = await startMotoDynamo({ upstream: moto.endpoint, tables: pipelineTables('transfer', 'metrics'), region: 'us-east-1' });
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials, maxAttempts: 1 }));
  });

  afterAll(async () => {
    doc?.destroy();
    await dynamo?.stop();
    await moto?.stop();
  });

  const streamedKeys = (): string[] => dynamo.streams.get('transfer')!.map((r) => (r.dynamodb.Keys.pk as { S: string }).S);
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 400 && dynamo.streamBacklog! > 0; i++) await sleep(10);
    await sleep(100);
  };

  test('the stream reader sees writes made after a cancelled transaction, and no record of the cancelled one', async () => {
    await doc.send(new PutCommand({ TableName: 'transfer', Item: { pk: 'before', sk: 'archive' } }));
    await settle();
    await expect(doc.send(cancelled('cancelled'))).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    await doc.send(new PutCommand({ TableName: 'transfer', Item: { pk: 'after', sk: 'archive' } }));
    await settle();
    expect(streamedKeys()).toEqual(['before', 'after']);
  });

  test('a cancelled transaction does not undo a write another request made meanwhile', async () => {
    // A larger table makes moto's copy of it slow enough for writes to land while it copies.
    for (let i = 0; i < 300; i += 25) {
      await Promise.all(Array.from({ length: 25 }, async (_, j) => doc.send(new PutCommand({ TableName: 'transfer', Item: { pk: `filler-${i + j}`, sk: 'archive', pad: 'x'.repeat(200) } }))));
    }
    const writes = Array.from({ length: 40 }, (_, i) => `concurrent-${i}`);
    await Promise.all([
      ...writes.map(async (pk) => doc.send(new PutCommand({ TableName: 'transfer', Item: { pk, sk: 'archive' } }))),
      ...writes.map(async (pk) => expect(doc.send(cancelled(`${pk}-tx`))).rejects.toMatchObject({ name: 'TransactionCanceledException' })),
    ]);
    const lost = [];
    for (const pk of writes) {
      if (!(await doc.send(new GetCommand({ TableName: 'transfer', Key: { pk, sk: 'archive' }, ConsistentRead: true }))).Item) lost.push(pk);
    }
    expect(lost).toEqual([]);
    await settle();
    expect(streamedKeys().filter((pk) => pk.startsWith('concurrent-')).sort()).toEqual([...writes].sort());
  });

  test('concurrent conditional updates of one item: exactly one applies, with one stream record (finding 7)', async () => {
    // moto checks the condition, then applies: without the proxy's lock two of these twins both
    // applied in about one round in seven (a larger item makes moto's copy of it slower).
    const rounds = Array.from({ length: 40 }, (_, i) => `twin-${i}`);
    const applied: number[] = [];
    for (const pk of rounds) {
      await doc.send(new PutCommand({ TableName: 'transfer', Item: { pk, sk: 'archive', status: 'requested', pad: 'x'.repeat(2000) } }));
      const results = await Promise.allSettled(Array.from({ length: 6 }, async () => doc.send(new UpdateCommand({
        TableName: 'transfer',
        Key: { pk, sk: 'archive' },
        UpdateExpression: 'SET #s = :staged',
        ConditionExpression: '#s = :requested',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':staged': 'staged', ':requested': 'requested' },
      }))));
      applied.push(results.filter((r) => r.status === 'fulfilled').length);
    }
    expect(applied).toEqual(rounds.map(() => 1));
    await settle();
    const changes = dynamo.streams.get('transfer')!.filter((r) => (r.dynamodb.Keys.pk as { S: string }).S.startsWith('twin-') && r.eventName === 'MODIFY');
    expect(changes.map((r) => (r.dynamodb.Keys.pk as { S: string }).S).sort()).toEqual([...rounds].sort());
    expect(new Set(dynamo.streams.get('transfer')!.map((r) => r.dynamodb.SequenceNumber)).size).toBe(dynamo.streams.get('transfer')!.length);
  });
});

test('ReadWriteLock: shared tasks overlap, an exclusive task runs alone, waiters start in arrival order', async () => {
  const lock = new ReadWriteLock();
  const events: string[] = [];
  const task = (name: string, ms: number) => async (): Promise<void> => {
    events.push(`${name}+`);
    await sleep(ms);
    events.push(`${name}-`);
  };
  await Promise.all([
    lock.shared(task('a', 30)),
    lock.shared(task('b', 10)),
    lock.exclusive(task('x', 10)),
    lock.shared(task('c', 5)),
  ]);
  expect(events).toEqual(['a+', 'b+', 'b-', 'a-', 'x+', 'x-', 'c+', 'c-']);
});
