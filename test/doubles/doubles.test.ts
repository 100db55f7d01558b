import { GetJobOutputCommand } from '@aws-sdk/client-glacier';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FakeDynamo } from './dynamodb';
import { FakeGlacier } from './glacier';
import { FakeS3 } from './s3';

const MiB = 1024 * 1024;

describe('the DynamoDB double answers as DynamoDB', () => {
  let dynamo: FakeDynamo;
  beforeEach(() => {
    dynamo = new FakeDynamo();
  });
  afterEach(() => dynamo.reset());

  test('an unused or undefined expression value, a consistent read on an index, two transaction ops on one item: ValidationException', async () => {
    const send = (command: object) => dynamo.client.send(command as never);
    await expect(send(new PutCommand({ TableName: 't', Item: { pk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeValues: { ':x': 1 } })))
      .rejects.toThrow(/unused in expressions: keys: \{:x\}/);
    await expect(send(new UpdateCommand({ TableName: 't', Key: { pk: 'a' }, UpdateExpression: 'SET n = :n' }))).rejects.toThrow(/not defined: :n/);
    await expect(send(new QueryCommand({ TableName: 't', IndexName: 'StatusIndex', KeyConditionExpression: 'runStatus = :s', ExpressionAttributeValues: { ':s': 'x' }, ConsistentRead: true })))
      .rejects.toThrow(/Consistent reads are not supported/);
    const put = { Put: { TableName: 't', Item: { pk: 'a' } } };
    await expect(send(new TransactWriteCommand({ TransactItems: [put, put] }))).rejects.toThrow(/multiple operations on one item/);
    expect(dynamo.tables.get('t')?.size ?? 0).toBe(0);
  });

  test('a reserved word as an attribute name without a # alias: ValidationException naming it; functions and grammar words are not names', async () => {
    const send = (command: object) => dynamo.client.send(command as never);
    await expect(send(new UpdateCommand({ TableName: 't', Key: { pk: 'a' }, UpdateExpression: 'SET status = :s', ExpressionAttributeValues: { ':s': 1 } })))
      .rejects.toMatchObject({ name: 'ValidationException', message: 'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status' });
    await expect(send(new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = :p', FilterExpression: 'Size > :n', ExpressionAttributeValues: { ':p': 'a', ':n': 1 } })))
      .rejects.toThrow(/Invalid FilterExpression: .*reserved keyword: Size/);
    await expect(send(new GetCommand({ TableName: 't', Key: { pk: 'a' }, ProjectionExpression: 'pk, ttl' }))).rejects.toThrow(/reserved keyword: ttl/);
    await send(new UpdateCommand({
      TableName: 't',
      Key: { pk: 'a' },
      UpdateExpression: 'SET #s = if_not_exists(#s, :s) REMOVE gone ADD n :one',
      ConditionExpression: 'attribute_not_exists(pk) AND NOT begins_with(pk, :x) OR n IN (:one)',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': 'new', ':one': 1, ':x': 'x' },
    }));
    expect(dynamo.get('t', 'a')).toEqual({ pk: 'a', status: 'new', n: 1 });
  });

  test('a command the double does not serve fails loudly (no undefined answer a handler could mistake for success)', async () => {
    await expect(dynamo.client.send(new BatchWriteCommand({ RequestItems: { t: [{ PutRequest: { Item: { pk: 'a' } } }] } })))
      .rejects.toThrow('FakeDynamo does not implement this command');
  });

  test('StatusIndex: sorted by statusTime, the key condition on it applied, the filter after the page is read', async () => {
    for (const [pk, statusTime, jobId] of [['c', '3', 'j'], ['a', '1', undefined], ['b', '2', 'j'], ['d', '9', 'j']]) {
      dynamo.seed('t', { pk, sk: 'archive', runStatus: 'r#requested', statusTime, jobId });
    }
    const pages: string[][] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await dynamo.client.send(new QueryCommand({
        TableName: 't',
        IndexName: 'StatusIndex',
        KeyConditionExpression: 'runStatus = :s AND statusTime < :cutoff',
        FilterExpression: 'attribute_exists(jobId)',
        ExpressionAttributeValues: { ':s': 'r#requested', ':cutoff': '5' },
        ExclusiveStartKey: start,
      }));
      pages.push((out.Items ?? []).map((i) => i.pk));
      start = out.LastEvaluatedKey;
    } while (start);
    expect(pages).toEqual([['b'], ['c']]); // pages of 2 read: [a, b] (a filtered out), [c]; d is past the cutoff
  });
});

test('the Glacier double sends the tree hash only for a tree-hash-aligned range of an archive job', async () => {
  const glacier = new FakeGlacier();
  try {
    const data = Buffer.alloc(5 * MiB + 10, 7);
    glacier.seedArchiveJob('v', 'job', data);
    const checksum = async (start: number, end: number) =>
      (await glacier.client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: 'job', range: `bytes=${start}-${end}` }))).checksum;
    expect(await checksum(0, data.length - 1)).toBeDefined();
    expect(await checksum(2 * MiB, 4 * MiB - 1)).toBeDefined();
    expect(await checksum(4 * MiB, data.length - 1)).toBeDefined();
    expect(await checksum(MiB, 3 * MiB - 1)).toBeUndefined(); // MiB-aligned, not a node of the tree
    expect(await checksum(0, 3 * MiB - 1)).toBeUndefined();
    glacier.seedInventoryJob('v', 'ArchiveId\n', { jobId: 'inv' });
    expect((await glacier.client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: 'inv' }))).checksum).toBeUndefined();
  } finally {
    glacier.reset();
  }
});

test('the S3 double refuses to complete an upload whose part before the last is under 5 MiB', async () => {
  const s3 = new FakeS3();
  try {
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'b', Key: 'k' }));
    const parts = [];
    for (const PartNumber of [1, 2]) {
      const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId, PartNumber, Body: Buffer.alloc(MiB) }));
      parts.push({ PartNumber, ETag });
    }
    await expect(s3.client.send(new CompleteMultipartUploadCommand({ Bucket: 'b', Key: 'k', UploadId, MultipartUpload: { Parts: parts } })))
      .rejects.toThrow(expect.objectContaining({ name: 'EntityTooSmall' }));
    expect(s3.objects.size).toBe(0);
  } finally {
    s3.reset();
  }
});
