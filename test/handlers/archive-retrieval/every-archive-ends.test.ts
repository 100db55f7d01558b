/*
 * Issue #16: every archive ends downloaded, failed with a reason, or skipped. These reproduce the
 * review's defects on the archive-retrieval side (each failed against the handlers before the fix):
 * a poison archive left staged behind a dead-lettered message, a re-staged split archive whose
 * validation was lost, a late duplicate chunk overwriting the new upload's record.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { archiveBytes, CHUNK_QUEUE, MiB, notificationBody, VALIDATION_QUEUE, World } from './world';
import { chunkSk } from '../../../src/contract/keys';
import { ChunkMessage, ValidationMessage } from '../../../src/contract/messages';
import { COPY_SETTLE_MS } from '../../../src/core/archive-lifecycle';
import type { ArchiveStore } from '../../../src/handlers/archive-retrieval/archive-store';
import { processChunk } from '../../../src/handlers/archive-retrieval/chunk-copy';
import { processNotification, processNotificationDelivery } from '../../../src/handlers/archive-retrieval/notifications';
import { processValidation, processValidationDelivery } from '../../../src/handlers/archive-retrieval/validation';
import { extendBatch, ExtendBatchResult, ExtendDeps } from '../../../src/handlers/download-window-extension/extend-window';
import { RequestStore } from '../../../src/handlers/initiate-retrieval/request-store';
import { ArchiveItem, ArchiveStatus } from '../../../src/handlers/shared/schema';

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(() => world.reset());

const MAX_RECEIVES = 10;

test('poison small archive: PutObject denied on every receive ends FAILED with the S3 error on the last receive (not left staged)', async () => {
  const item = world.seedArchive(archiveBytes(3 * MiB, 3));
  // A bucket policy / KMS key that denies: every PutObject is refused (AccessDenied).
  const deps = { ...world.notificationDeps(), destination: { ...world.destination, bucketOwner: '999999999999' } };
  const body = world.succeeded(item);
  for (let receive = 1; receive < MAX_RECEIVES; receive++) {
    await expect(processNotificationDelivery(deps, body, receive, MAX_RECEIVES)).rejects.toThrow(/Access Denied/);
  }
  expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
  await expect(processNotificationDelivery(deps, body, MAX_RECEIVES, MAX_RECEIVES)).resolves.toBe('archive-failed');
  expect(world.archive(item)).toMatchObject({
    status: ArchiveStatus.FAILED,
    runStatus: `${item.runId}#failed`,
    failureReason: expect.stringMatching(/^copy of the staged archive \(Glacier job notification\) failed on all 10 receives \(AccessDenied: Access Denied/),
  });
  expect(world.s3.objects.has(item.objectKey)).toBe(false);
});

test('a notification of a superseded job failing on its last receive does not fail the archive\'s newer job', async () => {
  const item = world.seedArchive(archiveBytes(3 * MiB, 4));
  const deps = { ...world.notificationDeps(), destination: { ...world.destination, bucketOwner: '999999999999' } };
  const oldBody = world.succeeded(item);
  // The archive moved to another job (window extension) before the old job's last receive.
  world.table.seed({ ...world.archive(item), jobId: 'newer-job' } as unknown as Record<string, unknown>);
  world.table.dynamo.staleJobIndex.set(item.jobId!, { pk: item.pk, sk: 'archive', jobId: item.jobId });
  await expect(processNotificationDelivery(deps, oldBody, MAX_RECEIVES, MAX_RECEIVES)).resolves.toBe('ignored');
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.REQUESTED, jobId: 'newer-job' });
});

describe('split archive', () => {
  const size = 20 * MiB + 5;

  async function uploadAllParts() {
    const data = archiveBytes(size, 21);
    const item = world.seedArchive(data);
    await processNotification(world.notificationDeps(), world.succeeded(item));
    for (const m of world.sqs.take<ChunkMessage>(CHUNK_QUEUE)) await processChunk(world.chunkDeps(), m);
    return { item, data };
  }

  test('validation failing on every receive ends FAILED with the reason on the last receive', async () => {
    const { item } = await uploadAllParts();
    const [validation] = world.sqs.take<ValidationMessage>(VALIDATION_QUEUE);
    // The destination denies CompleteMultipartUpload (and everything else) from now on.
    const deps = { ...world.validationDeps(), destination: { ...world.destination, bucketOwner: '999999999999' } };
    await expect(processValidationDelivery(deps, validation, MAX_RECEIVES - 1, MAX_RECEIVES)).rejects.toThrow(/Access Denied/);
    expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
    await expect(processValidationDelivery(deps, validation, MAX_RECEIVES, MAX_RECEIVES)).resolves.toBe('archive-failed');
    expect(world.archive(item)).toMatchObject({
      status: ArchiveStatus.FAILED,
      failureReason: expect.stringMatching(/^validation of the uploaded archive failed on all 10 receives \(AccessDenied/),
    });
  });

  test('re-staged after its validation message was lost: the new job\'s notification queues exactly its validation (no part copied again)', async () => {
    const { item, data } = await uploadAllParts();
    world.sqs.take<ValidationMessage>(VALIDATION_QUEUE); // lost / dead-lettered
    const staged = world.archive(item);
    expect(staged.partsDone?.size).toBe(3);
    // Window extension: the archive switched to a new job, whose notification arrives.
    world.table.seed({ ...staged, jobId: 'job-restaged', previousJobId: item.jobId } as unknown as Record<string, unknown>);
    world.glacier.seedArchiveJob(item.vaultName, 'job-restaged', data);
    await expect(processNotification(world.notificationDeps(), world.succeeded(item, 'job-restaged'))).resolves.toBe('chunks-queued');

    expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(0);
    const expected: ValidationMessage = { runId: item.runId, archiveId: item.archiveId, uploadId: staged.uploadId! };
    expect(world.sqs.messages<ValidationMessage>(VALIDATION_QUEUE)).toEqual([expected]);
    await world.drain();
    expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
  });

  test('re-staged with two parts missing: exactly those two parts are queued, and no validation yet', async () => {
    const data = archiveBytes(size, 22);
    const item = world.seedArchive(data);
    await processNotification(world.notificationDeps(), world.succeeded(item));
    const [first] = world.sqs.take<ChunkMessage>(CHUNK_QUEUE);
    await processChunk(world.chunkDeps(), first);
    world.table.seed({ ...world.archive(item), jobId: 'job-restaged-2' } as unknown as Record<string, unknown>);
    world.glacier.seedArchiveJob(item.vaultName, 'job-restaged-2', data);
    await processNotification(world.notificationDeps(), world.succeeded(item, 'job-restaged-2'));
    expect(world.sqs.messages<ChunkMessage>(CHUNK_QUEUE).map((m) => [m.partNumber, m.jobId])).toEqual([[2, 'job-restaged-2'], [3, 'job-restaged-2']]);
    expect(world.sqs.messages(VALIDATION_QUEUE)).toHaveLength(0);
  });

  test('a late duplicate chunk delivery of a replaced upload cannot overwrite the new upload\'s chunk record', async () => {
    const data = archiveBytes(size, 23);
    const item = world.seedArchive(data);
    await processNotification(world.notificationDeps(), world.succeeded(item));
    const [first] = world.sqs.take<ChunkMessage>(CHUNK_QUEUE);
    const newRecord = {
      pk: item.pk,
      sk: chunkSk(1),
      partNumber: 1,
      sourceJobId: item.jobId,
      uploadId: 'upload-2-new',
      rangeStart: 0,
      rangeEnd: 8 * MiB - 1,
      etag: '"new"',
      checksum: 'new',
      treeHash: 'f'.repeat(64),
    };
    // While this (old-upload) delivery copies its part, validation re-downloads the archive under
    // a new upload, whose part 1 is recorded first.
    world.table.dynamo.beforeCommand = (command) => {
      if (command !== 'TransactWrite') return;
      world.table.seed({ ...world.archive(item), uploadId: 'upload-2-new', partsDone: new Set([1]) } as unknown as Record<string, unknown>);
      world.table.seed(newRecord);
    };
    await expect(processChunk(world.chunkDeps(), first)).resolves.toBe('superseded');
    expect(world.table.get(item.pk, chunkSk(1))).toEqual(newRecord);
  });
});

/*
 * The race of issue #16 (seen in `rehearse --faults all --seed 52117`): the download-window
 * extension reached the retrieval-job bound of an archive whose last job's copy was still being
 * completed, failed it, and the copy then wrote its object under a FAILED archive. Here the
 * extension runs at the worst moment: after the object is in S3, before the copy records it.
 */
describe('issue #16: the job bound does not fail an archive whose copy is in flight', () => {
  const BOUND = 3;
  const HOUR = 3600 * 1000;

  /** A succeeded-job notification whose output stays readable for `hoursLeft` more hours (inside the extension margin). */
  function notificationWithWindow(item: ArchiveItem, hoursLeft: number): string {
    return notificationBody({
      JobId: item.jobId,
      ArchiveId: item.archiveId,
      ArchiveSizeInBytes: item.size,
      ArchiveSHA256TreeHash: item.treeHash,
      SHA256TreeHash: item.treeHash,
      RetrievalByteRange: `0-${item.size - 1}`,
      CompletionDate: new Date(Date.now() - (24 - hoursLeft) * HOUR).toISOString(),
    });
  }

  /** One ExtendDownloadWindow batch listing `item` under its current job, as the scan found it. */
  async function windowExtension(item: ArchiveItem): Promise<ExtendBatchResult> {
    const store = new RequestStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'transfer');
    const current = world.archive(item);
    // At the bound nothing is re-requested, so the quota ledger and Glacier are never used.
    const deps = { store, maxRetrievalJobs: BOUND, maxWaitSeconds: 0, log: world.logger } as unknown as ExtendDeps;
    return extendBatch(deps, {
      BatchInput: { runId: item.runId, tier: 'Bulk', topicArn: 'arn:aws:sns:us-east-1:111122223333:t' },
      Items: [{ archiveId: item.archiveId, vaultName: item.vaultName, jobId: current.jobId!, size: item.size, jobExpiresAt: current.jobExpiresAt! }],
    });
  }

  /** The archive store with the window extension run just before the copy records its result. */
  function racingStore(item: ArchiveItem, results: ExtendBatchResult[]): ArchiveStore {
    return Object.assign(Object.create(world.store) as ArchiveStore, {
      markDownloaded: async (...args: Parameters<ArchiveStore['markDownloaded']>) => {
        results.push(await windowExtension(item));
        return world.store.markDownloaded(...args);
      },
    });
  }

  test('small archive: the extension runs between PutObject and the downloaded mark: the archive ends downloaded, not FAILED with a stray object', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 31), { retrievalJobs: BOUND });
    const results: ExtendBatchResult[] = [];
    const outcome = await processNotification({ ...world.notificationDeps(), store: racingStore(item, results) }, notificationWithWindow(item, 2));

    expect(results).toEqual([expect.objectContaining({ boundReached: 0, boundWaiting: 1, extended: 0 })]);
    expect(outcome).toBe('downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, retrievalJobs: BOUND });
    expect(world.s3.objects.has(item.objectKey)).toBe(true);
  });

  test('split archive: the extension runs between CompleteMultipartUpload and the downloaded mark: the archive ends downloaded', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB + 5, 32), { retrievalJobs: BOUND });
    await processNotification(world.notificationDeps(), notificationWithWindow(item, 2));
    for (const m of world.sqs.take<ChunkMessage>(CHUNK_QUEUE)) await processChunk(world.chunkDeps(), m);
    const [validation] = world.sqs.take<ValidationMessage>(VALIDATION_QUEUE);
    const results: ExtendBatchResult[] = [];
    const outcome = await processValidation({ ...world.validationDeps(), store: racingStore(item, results) }, validation);

    expect(results).toEqual([expect.objectContaining({ boundReached: 0, boundWaiting: 1 })]);
    expect(outcome).toBe('downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED });
    expect(world.s3.objects.has(item.objectKey)).toBe(true);
  });

  test('no copy can land any more (window closed beyond the copy timeout, no validation queued): the bound fails it, and nothing is in S3', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB + 5, 33), { retrievalJobs: BOUND });
    // Staged under its last job, whose window closed long ago; two of three parts were copied.
    await processNotification(world.notificationDeps(), notificationWithWindow(item, 2));
    const chunks = world.sqs.take<ChunkMessage>(CHUNK_QUEUE);
    for (const m of chunks.slice(0, 2)) await processChunk(world.chunkDeps(), m);
    world.table.seed({ ...world.archive(item), jobExpiresAt: Date.now() - COPY_SETTLE_MS - HOUR } as unknown as Record<string, unknown>);

    expect(await windowExtension(item)).toMatchObject({ boundReached: 1, boundWaiting: 0 });
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.FAILED, failureReason: expect.stringMatching(/^retrieval job bound reached/) });
    // A late delivery of the third part cannot record it, so no validation and no object.
    await processChunk(world.chunkDeps(), chunks[2]).catch(() => undefined);
    expect(world.sqs.take<ValidationMessage>(VALIDATION_QUEUE)).toHaveLength(0);
    expect(world.s3.objects.has(item.objectKey)).toBe(false);
  });
});

/*
 * The other way to an object under a FAILED archive (issue #16, seen in `rehearse --faults all
 * --seed 52117` once the job bound waited): the last receive of a message fails after the copy
 * wrote its verified object and before the archive was marked downloaded (the function died, a
 * DynamoDB error). Failing the archive then would leave the object at the key of a FAILED archive.
 */
describe('issue #16: a last receive that fails after the copy landed', () => {
  /** The archive store whose first downloaded mark fails as if the function died just before it. */
  function crashingBeforeMark(): ArchiveStore {
    let crashed = false;
    return Object.assign(Object.create(world.store) as ArchiveStore, {
      markDownloaded: async (...args: Parameters<ArchiveStore['markDownloaded']>) => {
        if (!crashed) {
          crashed = true;
          throw Object.assign(new Error('the function stopped between the S3 write and the DynamoDB write'), { name: 'Crash' });
        }
        return world.store.markDownloaded(...args);
      },
    });
  }

  test('small archive: PutObject landed, the mark crashed on the last receive: downloaded, not FAILED', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 41));
    const deps = { ...world.notificationDeps(), store: crashingBeforeMark() };
    await expect(processNotificationDelivery(deps, world.succeeded(item), MAX_RECEIVES, MAX_RECEIVES)).resolves.toBe('archive-downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, runStatus: `${item.runId}#downloaded` });
    expect(world.archive(item).failureReason).toBeUndefined();
    expect(world.s3.objects.has(item.objectKey)).toBe(true);
  });

  test('split archive: CompleteMultipartUpload done, the mark crashed on the last receive: downloaded', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB + 5, 42));
    await processNotification(world.notificationDeps(), world.succeeded(item));
    for (const m of world.sqs.take<ChunkMessage>(CHUNK_QUEUE)) await processChunk(world.chunkDeps(), m);
    const [validation] = world.sqs.take<ValidationMessage>(VALIDATION_QUEUE);
    const deps = { ...world.validationDeps(), store: crashingBeforeMark() };
    await expect(processValidationDelivery(deps, validation, MAX_RECEIVES, MAX_RECEIVES)).resolves.toBe('archive-downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED });
    expect(world.s3.objects.has(item.objectKey)).toBe(true);
  });
});
