import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { ApiStats, sleep } from '../../rehearsal/services/common';
import { LocalDynamo, pipelineTables, startDynamo } from '../../rehearsal/services/dynamodb';
import { SqsPoller, StreamPoller } from '../../rehearsal/services/lambda-poller';
import { LocalSqs, startSqs } from '../../rehearsal/services/sqs';

const credentials = { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' };
let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let sqs: LocalSqs;
const stats = new ApiStats();

beforeAll(async () => {
  dynamo = await startDynamo({ tables: pipelineTables('transfer', 'metrics'), stats });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials, maxAttempts: 1 }));
  sqs = await startSqs([{ name: 'work', visibilityTimeoutSeconds: 2, maxReceiveCount: 2 }], { stats });
});

afterAll(async () => {
  doc.destroy();
  await sqs.stop();
  await dynamo.stop();
});

test('writes to the transfer table produce INSERT/MODIFY stream records with both images; failed conditions produce none', async () => {
  const records = dynamo.streams.get('transfer')!;
  records.length = 0;
  await doc.send(new PutCommand({ TableName: 'transfer', Item: { pk: 'a', sk: 'archive', status: 'requested' } }));
  await doc.send(new UpdateCommand({
    TableName: 'transfer',
    Key: { pk: 'a', sk: 'archive' },
    UpdateExpression: 'SET #s = :s',
    ConditionExpression: '#s = :old',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': 'staged', ':old': 'requested' },
  }));
  await expect(doc.send(new UpdateCommand({
    TableName: 'transfer',
    Key: { pk: 'a', sk: 'archive' },
    UpdateExpression: 'SET #s = :s',
    ConditionExpression: '#s = :old',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': 'staged', ':old': 'requested' },
  }))).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  await doc.send(new PutCommand({ TableName: 'metrics', Item: { pk: 'not-streamed' } }));
  expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
  expect(records[1].dynamodb.OldImage!.status).toEqual({ S: 'requested' });
  expect(records[1].dynamodb.NewImage!.status).toEqual({ S: 'staged' });
  expect(records[1].dynamodb.Keys).toEqual({ pk: { S: 'a' }, sk: { S: 'archive' } });
  expect(BigInt(records[1].dynamodb.SequenceNumber) > BigInt(records[0].dynamodb.SequenceNumber)).toBe(true);
});

test('TransactWriteItems: success applies all; a failed condition cancels, rolls back and reports reasons', async () => {
  const records = dynamo.streams.get('transfer')!;
  records.length = 0;
  await doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: 'transfer', Item: { pk: 't1', sk: 'archive', n: 1 }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Update: { TableName: 'metrics', Key: { pk: 'run#1' }, UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': 1 } } },
    ],
  }));
  expect((await doc.send(new GetCommand({ TableName: 'metrics', Key: { pk: 'run#1' } }))).Item).toEqual({ pk: 'run#1', c: 1 });
  expect(records.map((r) => r.eventName)).toEqual(['INSERT']);

  const err = await doc.send(new TransactWriteCommand({
    TransactItems: [
      { Update: { TableName: 'metrics', Key: { pk: 'run#1' }, UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': 1 } } },
      { ConditionCheck: { TableName: 'transfer', Key: { pk: 't1', sk: 'archive' }, ConditionExpression: 'n = :two', ExpressionAttributeValues: { ':two': 2 } } },
      { Put: { TableName: 'transfer', Item: { pk: 't2', sk: 'archive' } } },
    ],
  })).catch((e: unknown) => e as { name: string; CancellationReasons?: { Code: string }[] });
  expect(err).toMatchObject({ name: 'TransactionCanceledException' });
  expect((err as { CancellationReasons: { Code: string }[] }).CancellationReasons.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed', 'None']);
  expect((await doc.send(new GetCommand({ TableName: 'metrics', Key: { pk: 'run#1' } }))).Item).toEqual({ pk: 'run#1', c: 1 });
  expect((await doc.send(new GetCommand({ TableName: 'transfer', Key: { pk: 't2', sk: 'archive' } }))).Item).toBeUndefined();
  expect(records).toHaveLength(1);
});

test('TransactWriteItems names every item whose condition failed (DynamoDB does; the proxy once named only the first)', async () => {
  const err = await doc.send(new TransactWriteCommand({
    TransactItems: [
      { ConditionCheck: { TableName: 'transfer', Key: { pk: 't1', sk: 'archive' }, ConditionExpression: 'n = :two', ExpressionAttributeValues: { ':two': 2 } } },
      { Put: { TableName: 'transfer', Item: { pk: 't3', sk: 'archive' } } },
      { Put: { TableName: 'transfer', Item: { pk: 't1', sk: 'chunk' }, ConditionExpression: 'attribute_exists(pk)' } },
    ],
  })).catch((e: unknown) => e as { name: string; CancellationReasons?: { Code: string }[] });
  expect(err).toMatchObject({ name: 'TransactionCanceledException' });
  expect((err as { CancellationReasons: { Code: string }[] }).CancellationReasons.map((r) => r.Code)).toEqual(['ConditionalCheckFailed', 'None', 'ConditionalCheckFailed']);
  expect((await doc.send(new GetCommand({ TableName: 'transfer', Key: { pk: 't3', sk: 'archive' } }))).Item).toBeUndefined();
});

test('stream poller retries from the first reported failure', async () => {
  const buffer = dynamo.streams.get('transfer')!;
  buffer.length = 0;
  for (let i = 0; i < 5; i++) await doc.send(new PutCommand({ TableName: 'transfer', Item: { pk: `s${i}`, sk: 'archive' } }));
  const seen: string[] = [];
  let failedOnce = false;
  const poller = new StreamPoller({
    functionName: 'metrics',
    records: buffer,
    batchSize: 3,
    retryDelayMs: 1,
    handler: async (event: DynamoDBStreamEvent) => {
      const failures = [];
      for (const r of event.Records) {
        const pk = r.dynamodb!.Keys!.pk.S!;
        if (pk === 's1' && !failedOnce) {
          failedOnce = true;
          failures.push({ itemIdentifier: r.dynamodb!.SequenceNumber! });
          continue;
        }
        if (failures.length === 0) seen.push(pk);
      }
      return { batchItemFailures: failures };
    },
  });
  poller.start();
  for (let i = 0; i < 100 && buffer.length > 0; i++) await sleep(10);
  await poller.stop();
  expect(seen).toEqual(['s0', 's1', 's2', 's3', 's4']);
});

test('SQS poller: partial batch failure redelivers only the failed record, with a higher receive count', async () => {
  const queue = sqs.queues.get('work')!;
  await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['a', 'b', 'c'].map((b) => ({ Id: b, MessageBody: b })) }));
  const deliveries: { body: string; count: string }[] = [];
  const poller = new SqsPoller({
    functionName: 'worker',
    queue,
    client: sqs.client,
    batchSize: 10,
    maxConcurrency: 1,
    handler: async (event: SQSEvent) => {
      deliveries.push(...event.Records.map((r) => ({ body: r.body, count: r.attributes.ApproximateReceiveCount })));
      return { batchItemFailures: event.Records.filter((r) => r.body === 'b' && r.attributes.ApproximateReceiveCount === '1').map((r) => ({ itemIdentifier: r.messageId })) };
    },
  });
  poller.start();
  for (let i = 0; i < 120 && deliveries.length < 4; i++) await sleep(50);
  await poller.stop();
  expect(deliveries.filter((d) => d.body === 'b').map((d) => d.count)).toEqual(['1', '2']);
  expect(deliveries.filter((d) => d.body !== 'b')).toHaveLength(2);
  expect(await sqs.depth(queue.url)).toBe(0);
  expect(poller.stats.failedRecords).toBe(1);
});

test('SQS poller: a batch whose invocation outlives the visibility timeout is not redelivered while it runs', async () => {
  const queue = sqs.queues.get('work')!;
  await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: 'slow', MessageBody: 'slow' }] }));
  const deliveries: string[] = [];
  const poller = new SqsPoller({
    functionName: 'slow-worker',
    queue,
    client: sqs.client,
    batchSize: 10,
    maxConcurrency: 2,
    visibilityTimeoutSeconds: 2,
    handler: async (event: SQSEvent) => {
      deliveries.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
      await sleep(5_000); // 2.5 × the queue's visibility timeout
    },
  });
  poller.start();
  for (let i = 0; i < 140 && (deliveries.length === 0 || poller.busy > 0); i++) await sleep(50);
  await poller.stop();
  expect(deliveries).toEqual(['1']);
  expect(await sqs.depth(queue.url)).toBe(0);
});
