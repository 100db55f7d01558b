import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { silentLogger } from './fakes';
import { archiveBytes, CHUNK_QUEUE, MiB, OWNER, RUN, World } from './world';
import { RUN_SK, runPk } from '../../../src/contract/keys';
import { ChunkMessage } from '../../../src/contract/messages';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { objectMetadata } from '../../../src/handlers/archive-retrieval/object-metadata';
import { UPLOAD_CHECKSUM_ALGORITHM } from '../../../src/handlers/archive-retrieval/part-checksum';
import { cleanupUploads } from '../../../src/handlers/orchestration/cleanup-uploads';
import { ArchiveItem, ArchiveStatus } from '../../../src/handlers/shared/schema';
import { awsError } from '../../doubles/service';

/*
 * An attempt can die between CreateMultipartUpload and the conditional write that records the
 * upload id (or lose the race to record one and fail to abort its own): nothing in the table names
 * that upload, and the redelivery starts (or reuses) another one, which completes. The archive ends
 * `downloaded` with an orphan upload at its key, which the run's CleanupIncompleteUploads must
 * abort, leaving the completed object alone.
 */

let world: World;
let item: ArchiveItem;
let data: Buffer;

const crash = () => Object.assign(new Error('the function died at this step boundary'), { name: 'RehearsalInjectedCrash', $metadata: { httpStatusCode: 400 } });
const recordsUpload = (input: Record<string, unknown>) => String(input.UpdateExpression).startsWith('SET uploadId');

function runCleanup() {
  return cleanupUploads({
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    s3: world.clients.s3,
    transferTable: world.destination.tableName,
    destinationBucket: world.destination.bucket,
    destinationBucketOwner: OWNER,
    destinationPrefix: 'photos/',
    log: silentLogger(),
  }, { runId: RUN });
}

beforeEach(() => {
  world = new World();
  data = archiveBytes(20 * MiB + 17, 3);
  item = world.seedArchive(data);
  world.table.seed({ pk: runPk(RUN), sk: RUN_SK, runId: RUN, firstStartedAt: new Date(Date.now() - 3_600_000).toISOString() });
});
afterEach(() => world.reset());

test('crash between CreateMultipartUpload and recording it: the redelivery\'s upload completes, the run cleanup aborts the orphan', async () => {
  world.table.dynamo.fail('Update', crash(), { when: recordsUpload });
  await expect(processNotification(world.notificationDeps(), world.succeeded(item))).rejects.toThrow(/died/);
  const [orphan] = world.s3.uploads.keys();
  expect(world.archive(item).uploadId).toBeUndefined();

  // SQS redelivers the notification: nothing names the first upload, so a second one is created.
  await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('chunks-queued');
  const live = world.archive(item).uploadId!;
  expect(live).not.toBe(orphan);
  await world.drain();
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, uploadId: live });
  expect([...world.s3.uploads.keys()]).toEqual([orphan]);

  await expect(runCleanup()).resolves.toMatchObject({ aborted: 1, listed: 1, leftAlone: 0 });
  expect(world.s3.uploads.size).toBe(0);
  expect(world.s3.mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input.UploadId)).toEqual([orphan]);
  expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
});

test('lost upload race whose abort failed: the winner\'s upload completes, the run cleanup aborts the loser\'s', async () => {
  // Another delivery records its upload between our CreateMultipartUpload and our write; our abort then fails.
  world.table.dynamo.intercept('Update', (input, real) => {
    const current = world.table.get(item.pk, 'archive')!;
    world.table.seed({ ...current, uploadId: 'winner-upload', checksumAlgorithm: UPLOAD_CHECKSUM_ALGORITHM, chunkSize: 8 * MiB, chunkCount: 3 });
    world.s3.uploads.set('winner-upload', {
      key: item.objectKey, metadata: objectMetadata(item), checksumAlgorithm: UPLOAD_CHECKSUM_ALGORITHM, parts: new Map(), initiated: new Date(),
    });
    world.s3.fail('AbortMultipartUpload', awsError('ServiceUnavailable', 503, 'Service Unavailable'));
    return real(input);
  }, { when: recordsUpload });
  await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('chunks-queued');
  expect(world.sqs.messages<ChunkMessage>(CHUNK_QUEUE).map((m) => m.uploadId)).toEqual(['winner-upload', 'winner-upload', 'winner-upload']);
  expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
  const loser = [...world.s3.uploads.keys()].find((id) => id !== 'winner-upload');
  expect(loser).toBeDefined();
  await world.drain();
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, uploadId: 'winner-upload' });
  expect([...world.s3.uploads.keys()]).toEqual([loser]);

  await expect(runCleanup()).resolves.toMatchObject({ aborted: 1, leftAlone: 0 });
  expect(world.s3.uploads.size).toBe(0);
  expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
});

test('the cleanup leaves alone uploads at a downloaded archive\'s key started before the run, and keys of no archive of the run', async () => {
  await processNotification(world.notificationDeps(), world.succeeded(item));
  await world.drain();
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
  const before = new Date(Date.now() - 7_200_000);
  world.s3.uploads.set('earlier-run', { key: item.objectKey, metadata: {}, parts: new Map(), initiated: before });
  world.s3.uploads.set('someone-else', { key: 'photos/not-of-this-run.jpg', metadata: {}, parts: new Map(), initiated: new Date() });

  await expect(runCleanup()).resolves.toMatchObject({ aborted: 0, listed: 2, leftAlone: 2 });
  expect([...world.s3.uploads.keys()].sort()).toEqual(['earlier-run', 'someone-else']);
  expect(world.s3.mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
});
