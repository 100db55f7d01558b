import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { archiveBytes, CHUNK_QUEUE, MiB, OWNER, VALIDATION_QUEUE, World } from './world';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
Object.assign(process.env, {
  TRANSFER_TABLE_NAME: 'transfer',
  DESTINATION_BUCKET_NAME: 'destination-bucket',
  DESTINATION_BUCKET_OWNER: OWNER,
  CHUNK_QUEUE_URL: CHUNK_QUEUE,
  VALIDATION_QUEUE_URL: VALIDATION_QUEUE,
  CHUNK_SIZE_BYTES: String(8 * MiB),
  METRICS_TABLE_NAME: 'metrics',
  AWS_REGION: 'us-east-1',
});

type SqsHandler = { handler: (event: SQSEvent) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> };
/** Loads a handler module after the environment above is set (its clients and logger are module-scoped). */
function load(name: string): SqsHandler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`../../../src/handlers/archive-retrieval/${name}.lambda`) as SqsHandler;
}

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(() => world.reset());

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i): SQSRecord => ({
      messageId: `059f36b4-87a3-44ab-83d2-66197545${String(i).padStart(4, '0')}`,
      receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1795852800000', SenderId: 'AIDAIENQZJOLO23YVJ4VO', ApproximateFirstReceiveTimestamp: '1795852800001' },
      messageAttributes: {},
      md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:notifications',
      awsRegion: 'us-east-1',
    })),
  };
}

test('NotificationsProcessor: a malformed body fails only its own record; the good one is processed', async () => {
  const { handler } = load('notifications-processor');
  const item = world.seedArchive(archiveBytes(MiB));
  const result = await handler(sqsEvent('{"Type":"Notification","Message":"not json', world.succeeded(item)));
  expect(result.batchItemFailures).toEqual([{ itemIdentifier: '059f36b4-87a3-44ab-83d2-661975450000' }]);
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
});

test('NotificationsProcessor: an unknown job id is reported as a failure', async () => {
  const { handler } = load('notifications-processor');
  const result = await handler(sqsEvent(world.succeeded({ ...world.seedArchive(archiveBytes(MiB)), jobId: 'job-unknown' }, 'job-unknown')));
  expect(result.batchItemFailures).toHaveLength(1);
});

test('ChunkRetrieval and ArchiveValidation: malformed messages are failures, never silently acknowledged', async () => {
  const chunk = load('chunk-retrieval');
  const validation = load('archive-validation');
  const bad = JSON.stringify({ runId: 'r', archiveId: 'a', jobId: 'j', uploadId: 'u', partNumber: 0, rangeStart: 0, rangeEnd: 1, chunkCount: 1 });
  expect((await chunk.handler(sqsEvent(bad, '[]'))).batchItemFailures).toHaveLength(2);
  expect((await validation.handler(sqsEvent('{"runId":"r"}'))).batchItemFailures).toHaveLength(1);
});

test('end to end through the handlers: notification → chunks → validation → downloaded', async () => {
  const notifications = load('notifications-processor');
  const chunk = load('chunk-retrieval');
  const validation = load('archive-validation');
  const data = archiveBytes(17 * MiB, 3);
  const item = world.seedArchive(data);
  expect((await notifications.handler(sqsEvent(world.succeeded(item)))).batchItemFailures).toEqual([]);
  const chunkBodies = world.sqs.sent.get(CHUNK_QUEUE)!.splice(0);
  expect(chunkBodies).toHaveLength(3);
  expect((await chunk.handler(sqsEvent(...chunkBodies))).batchItemFailures).toEqual([]);
  const validationBodies = world.sqs.sent.get(VALIDATION_QUEUE)!.splice(0);
  expect(validationBodies).toHaveLength(1);
  expect((await validation.handler(sqsEvent(...validationBodies))).batchItemFailures).toEqual([]);
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
  expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
});
