import { readFileSync } from 'fs';
import { join } from 'path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { archiveBytes, CHUNK_QUEUE, MiB, notificationBody, OWNER, RUN, World } from './world';
import { runStatusKey } from '../../../src/contract/keys';
import { ChunkMessage, retrievalJobDescription } from '../../../src/contract/messages';
import { parseGlacierNotification } from '../../../src/handlers/archive-retrieval/glacier-notification';
import { processNotification, UnknownJobError } from '../../../src/handlers/archive-retrieval/notifications';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { MalformedMessageError } from '../../../src/handlers/shared/sqs-batch';
import { awsError } from '../../doubles/service';

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(() => world.reset());

describe('parseGlacierNotification', () => {
  test('reads the recorded SNS envelope of an archive retrieval', () => {
    const body = readFileSync(join(__dirname, '..', '..', 'fixtures', 'glacier', 'archive-retrieval-notification.json'), 'utf8');
    const n = parseGlacierNotification(body);
    expect(n).toMatchObject({
      action: 'ArchiveRetrieval',
      jobId: expect.stringMatching(/EXAMPLEjobID$/),
      completed: true,
      statusCode: 'Succeeded',
      archiveSizeInBytes: 3145728,
      archiveTreeHash: '9628195fcdbcbbe76cdde932d4646fa7de5f219fb39823836d81f0cc0e18aa67',
      tier: 'Bulk',
      completionDate: '2026-11-24T07:41:18.457Z',
    });
  });

  test('accepts raw message delivery (the job JSON itself)', () => {
    const job = JSON.parse(JSON.parse(notificationBody({})).Message);
    expect(parseGlacierNotification(JSON.stringify(job)).jobId).toBe(job.JobId);
  });

  test.each([
    ['not JSON', 'this is not json'],
    ['SNS subscription confirmation', JSON.stringify({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe' })],
    ['job without JobId', JSON.stringify({ Type: 'Notification', Message: JSON.stringify({ Action: 'ArchiveRetrieval', StatusCode: 'Succeeded' }) })],
    ['unknown status', notificationBody({ StatusCode: 'Exploded' })],
  ])('rejects %s as malformed, with a snippet of the body', (_name, body) => {
    const err = (() => {
      try {
        parseGlacierNotification(body);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(MalformedMessageError);
    const bodySnippet = (err as MalformedMessageError).bodySnippet;
    expect(bodySnippet.startsWith(body.slice(0, 512))).toBe(true);
    expect(bodySnippet.length).toBeLessThanOrEqual(513);
  });
});

describe('processNotification', () => {
  test('small archive: one verified PutObject, metadata, then downloaded; no multipart upload or chunk messages', async () => {
    const data = archiveBytes(3 * MiB + 17);
    const item = world.seedArchive(data);

    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('downloaded');

    const object = world.s3.objects.get(item.objectKey)!;
    expect(object.body.equals(data)).toBe(true);
    expect(object.storageClass).toBe('DEEP_ARCHIVE');
    expect(object.metadata).toEqual({
      'archive-id': item.archiveId,
      'creation-date': '2012-09-15T10:11:12Z',
      'last-modified': '2012-09-15T10:11:12Z',
      'glacier-tree-hash': item.treeHash,
      'description': expect.stringMatching(/^%3Cm%3E%3Cv%3E4%3C%2Fv%3E/),
    });
    expect(decodeURIComponent(object.metadata.description)).toBe(item.description);
    const put = world.s3.mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ ContentLength: data.length, ChecksumAlgorithm: 'CRC32', ExpectedBucketOwner: OWNER });
    expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(0);

    const after = world.archive(item);
    expect(after.status).toBe(ArchiveStatus.DOWNLOADED);
    expect(after.runStatus).toBe(`${item.runId}#downloaded`);
    expect(after.objectVersionId).toBe(object.versionId);
    expect(after.jobExpiresAt).toBe(Date.parse('2026-11-24T07:41:18.457Z') + 24 * 3600 * 1000);
  });

  test('multi-chunk archive: staged, one upload with CRC32 part checksums + metadata, one chunk message per part', async () => {
    const data = archiveBytes(20 * MiB + 123);
    const item = world.seedArchive(data);

    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('chunks-queued');

    const creates = world.s3.mock.commandCalls(CreateMultipartUploadCommand);
    expect(creates).toHaveLength(1);
    expect(creates[0].args[0].input).toMatchObject({
      Bucket: 'destination-bucket',
      Key: item.objectKey,
      StorageClass: 'DEEP_ARCHIVE',
      ChecksumAlgorithm: 'CRC32',
      ExpectedBucketOwner: OWNER,
      Metadata: expect.objectContaining({ 'glacier-tree-hash': item.treeHash, 'archive-id': item.archiveId }),
    });
    const after = world.archive(item);
    expect(after).toMatchObject({ status: ArchiveStatus.STAGED, chunkCount: 3, chunkSize: 8 * MiB, chunksQueuedFor: item.jobId });
    const messages = world.sqs.messages<ChunkMessage>(CHUNK_QUEUE);
    expect(messages.map((m) => [m.partNumber, m.rangeStart, m.rangeEnd])).toEqual([
      [1, 0, 8 * MiB - 1],
      [2, 8 * MiB, 16 * MiB - 1],
      [3, 16 * MiB, 20 * MiB + 122],
    ]);
    expect(messages.every((m) => m.uploadId === after.uploadId && m.jobId === item.jobId && m.chunkCount === 3)).toBe(true);

    await world.drain();
    expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
    expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
  });

  test('duplicate notification (SNS delivers twice) is harmless: one upload, one set of chunk messages', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB));
    const deps = world.notificationDeps();
    await processNotification(deps, world.succeeded(item));
    await expect(processNotification(deps, world.succeeded(item))).resolves.toBe('duplicate');
    expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
    expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(3);

    await world.drain();
    await expect(processNotification(deps, world.succeeded(item))).resolves.toBe('duplicate');
    expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
    expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(0);
  });

  test('duplicate small-archive notification after the copy does not copy again', async () => {
    const item = world.seedArchive(archiveBytes(MiB));
    await processNotification(world.notificationDeps(), world.succeeded(item));
    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('duplicate');
    expect(world.s3.mock.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  test('redelivery after a crash mid-enqueue reuses the stored upload and re-sends the parts', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB));
    // The first delivery dies on its chunk messages (SQS keeps failing them).
    world.sqs.fail('SendMessageBatch', awsError('InternalError', 500, 'We encountered an internal error. Please try again.'));
    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).rejects.toThrow(/internal error/);
    expect(world.sqs.mock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    const uploadId = world.archive(item).uploadId;
    expect(uploadId).toBeDefined();
    expect(world.archive(item).chunksQueuedFor).toBeUndefined();

    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('chunks-queued');
    expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
    expect(world.sqs.messages<ChunkMessage>(CHUNK_QUEUE).map((m) => m.uploadId)).toEqual([uploadId, uploadId, uploadId]);
  });

  test('losing the upload race aborts the orphan and reuses the winner\'s upload', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB));
    // Another delivery stores its upload id between our CreateMultipartUpload and our write.
    world.table.dynamo.beforeCommand = (command, input) => {
      if (command === 'Update' && String(input.UpdateExpression).startsWith('SET uploadId')) {
        const current = world.table.get(item.pk, 'archive')!;
        world.table.seed({ ...current, uploadId: 'winner-upload', chunkSize: 8 * MiB, chunkCount: 3 });
        world.s3.openUpload(item.objectKey, 'winner-upload');
      }
    };
    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('chunks-queued');
    expect(world.s3.uploads.has('upload-1-VXBsb2FkSWQ')).toBe(false);
    expect(world.sqs.messages<ChunkMessage>(CHUNK_QUEUE).map((m) => m.uploadId)).toEqual(['winner-upload', 'winner-upload', 'winner-upload']);
  });

  test('Failed job marks the archive failed with Glacier\'s message and never starts an upload', async () => {
    const item = world.seedArchive(archiveBytes(20 * MiB));
    const body = notificationBody({ JobId: item.jobId, ArchiveId: item.archiveId, StatusCode: 'Failed', StatusMessage: 'Archive retrieval failed: internal error', ArchiveSHA256TreeHash: null, SHA256TreeHash: null });
    await expect(processNotification(world.notificationDeps(), body)).resolves.toBe('job-failed');
    expect(world.archive(item)).toMatchObject({
      status: ArchiveStatus.FAILED,
      failureReason: 'Glacier retrieval job failed: Archive retrieval failed: internal error',
    });
    expect(world.s3.mock.calls()).toHaveLength(0);
    expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(0);
  });

  test('an in-progress job is only logged', async () => {
    const item = world.seedArchive(archiveBytes(MiB));
    const body = notificationBody({ JobId: item.jobId, Completed: false, StatusCode: 'InProgress', CompletionDate: null });
    await expect(processNotification(world.notificationDeps(), body)).resolves.toBe('not-complete');
    expect(world.archive(item).status).toBe(ArchiveStatus.REQUESTED);
    expect(world.s3.mock.calls()).toHaveLength(0);
  });

  test('unknown job id fails the message (retry, then DLQ) instead of dropping it', async () => {
    world.seedArchive(archiveBytes(MiB));
    await expect(processNotification(world.notificationDeps(), notificationBody({ JobId: 'job-nobody-knows' }))).rejects.toBeInstanceOf(UnknownJobError);
    expect(world.s3.mock.calls()).toHaveLength(0);
  });

  test('a job whose id was never recorded (crash after InitiateJob) is matched through its description', async () => {
    const data = archiveBytes(MiB);
    const item = world.seedArchive(data, { status: ArchiveStatus.PENDING, runStatus: runStatusKey(RUN, ArchiveStatus.PENDING) });
    world.table.seed({ ...(world.table.get(item.pk, 'archive') as Record<string, unknown>), jobId: undefined });
    expect(world.archive(item).jobId).toBeUndefined();
    const body = notificationBody({
      ...JSON.parse(JSON.parse(world.succeeded(item)).Message),
      JobDescription: retrievalJobDescription(RUN, item.archiveId),
    });
    await expect(processNotification(world.notificationDeps(), body)).resolves.toBe('downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, jobId: item.jobId });
    expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);

    // A job for an archive already requested under another job is a duplicate, not an error.
    const other = notificationBody({
      ...JSON.parse(JSON.parse(world.succeeded(item)).Message),
      JobId: 'job-duplicate-request',
      JobDescription: retrievalJobDescription(RUN, item.archiveId),
    });
    await expect(processNotification(world.notificationDeps(), other)).resolves.toBe('ignored');
  });

  test('inventory notifications are acknowledged and left to the inventory stage', async () => {
    const body = readFileSync(join(__dirname, '..', '..', 'fixtures', 'glacier', 'inventory-retrieval-notification.json'), 'utf8');
    const seen: string[] = [];
    const deps = { ...world.notificationDeps(), onInventoryNotification: async (n: { jobId: string }) => { seen.push(n.jobId); } };
    await expect(processNotification(deps, body)).resolves.toBe('inventory');
    expect(seen).toEqual([expect.stringMatching(/EXAMPLEinvJob$/)]);
    expect(world.table.dynamo.mock.calls()).toHaveLength(0);
  });

  test('a job whose archive facts contradict the inventory fails the archive', async () => {
    const item = world.seedArchive(archiveBytes(MiB));
    const body = notificationBody({
      JobId: item.jobId, ArchiveId: item.archiveId, ArchiveSizeInBytes: item.size + 1, ArchiveSHA256TreeHash: item.treeHash,
    });
    await expect(processNotification(world.notificationDeps(), body)).resolves.toBe('job-failed');
    expect(world.archive(item).failureReason).toMatch(/size/);
  });

  test('notification of a superseded job (the index still maps the old job) is ignored', async () => {
    const item = world.seedArchive(archiveBytes(MiB));
    world.table.seed({ ...world.table.get(item.pk, 'archive')!, jobId: 'job-newer' });
    world.table.dynamo.staleJobIndex.set(item.jobId!, { pk: item.pk, sk: 'archive', jobId: item.jobId });
    await expect(processNotification(world.notificationDeps(), world.succeeded(item))).resolves.toBe('ignored');
    expect(world.archive(item).status).toBe(ArchiveStatus.REQUESTED);
    expect(world.s3.mock.calls()).toHaveLength(0);
  });

  test('small archive corrupted in transit: attempts counted, then failed at the limit, never downloaded', async () => {
    const item = world.seedArchive(archiveBytes(2 * MiB));
    world.glacier.jobs.get(item.jobId!)!.corrupt = (d) => {
      d[12345] = 255 - d[12345];
      return d;
    };
    const deps = world.notificationDeps();
    await expect(processNotification(deps, world.succeeded(item))).rejects.toThrow(/tree hash mismatch/);
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.STAGED, downloadAttempts: 1 });
    await expect(processNotification(deps, world.succeeded(item))).rejects.toThrow(/tree hash mismatch/);
    await expect(processNotification(deps, world.succeeded(item))).resolves.toBe('failed');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.FAILED, downloadAttempts: 3 });
    expect(world.s3.objects.has(item.objectKey)).toBe(false);
    expect(world.s3.bodyResults.every((r) => !r.ok)).toBe(true);
  });
});
