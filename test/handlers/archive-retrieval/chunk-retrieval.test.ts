import { GetJobOutputCommand } from '@aws-sdk/client-glacier';
import { UploadPartCommand } from '@aws-sdk/client-s3';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { archiveBytes, CHUNK_QUEUE, MiB, OWNER, VALIDATION_QUEUE, World } from './world';
import { ChunkMessage, ValidationMessage } from '../../../src/contract/messages';
import { IntegrityError } from '../../../src/core/tree-hash';
import { processChunk, processChunkDelivery } from '../../../src/handlers/archive-retrieval/chunk-copy';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { JobOutputExpiredError } from '../../../src/handlers/archive-retrieval/transfer';
import { ArchiveItem, ArchiveStatus } from '../../../src/handlers/shared/schema';

let world: World;
let item: ArchiveItem;
let data: Buffer;
let chunks: ChunkMessage[];

beforeEach(async () => {
  world = new World();
  data = archiveBytes(20 * MiB + 5, 11);
  item = world.seedArchive(data);
  await processNotification(world.notificationDeps(), world.succeeded(item));
  chunks = world.sqs.take<ChunkMessage>(CHUNK_QUEUE);
});
afterEach(() => world.reset());

const validations = (): ValidationMessage[] => world.sqs.messages<ValidationMessage>(VALIDATION_QUEUE);

test('streams each range into its part with the right length, checksum algorithm and owner, and records it', async () => {
  await expect(processChunk(world.chunkDeps(), chunks[1])).resolves.toBe('recorded');
  expect(world.glacier.mock.commandCalls(GetJobOutputCommand)[0].args[0].input).toMatchObject({
    accountId: '-', vaultName: 'photos-2012', jobId: item.jobId, range: `bytes=${8 * MiB}-${16 * MiB - 1}`,
  });
  expect(world.s3.mock.commandCalls(UploadPartCommand)[0].args[0].input).toMatchObject({
    PartNumber: 2, ContentLength: 8 * MiB, ChecksumAlgorithm: 'CRC32', ExpectedBucketOwner: OWNER, UploadId: chunks[1].uploadId,
  });
  const chunk = world.table.get(item.pk, 'chunk#00002')!;
  expect(chunk).toMatchObject({
    partNumber: 2,
    sourceJobId: item.jobId,
    uploadId: chunks[1].uploadId,
    rangeStart: 8 * MiB,
    rangeEnd: 16 * MiB - 1,
    etag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
    checksum: expect.stringMatching(/^[A-Za-z0-9+/]{6}==$/), // base64 of a 4-byte CRC32
  });
  expect(chunk.treeHash).toMatch(/^[0-9a-f]{64}$/);
  expect(chunk.jobId).toBeUndefined();
  expect(world.archive(item).partsDone).toEqual(new Set([2]));
  expect(validations()).toHaveLength(0);
});

test('out-of-order and duplicate chunk messages: only the part that completed the set queues validation', async () => {
  const deps = world.chunkDeps();
  const outcomes = [];
  for (const m of [chunks[2], chunks[0], chunks[2], chunks[1], chunks[0], chunks[1]]) outcomes.push(await processChunk(deps, m));
  expect(outcomes).toEqual(['recorded', 'recorded', 'already-done', 'validation-queued', 'already-done', 'validation-queued']);
  // The last line above is the same part (2) redelivered: that is the crash-before-send case and may re-send.
  expect(validations()).toHaveLength(2);
  expect(world.s3.mock.commandCalls(UploadPartCommand)).toHaveLength(3);
});

test('validation is queued once for duplicates of parts that did not complete the set', async () => {
  const deps = world.chunkDeps();
  for (const m of [chunks[0], chunks[0], chunks[1], chunks[2], chunks[0], chunks[1]]) await processChunk(deps, m);
  expect(validations()).toEqual([{ runId: item.runId, archiveId: item.archiveId, uploadId: chunks[0].uploadId }]);
  expect(world.archive(item).validationQueuedBy).toBe(3);
});

test('the completing part redelivered after a crash before the send queues validation once more, other parts do not', async () => {
  const deps = world.chunkDeps();
  await processChunk(deps, chunks[0]);
  await processChunk(deps, chunks[1]);
  world.sqs.fail('SendMessage', Object.assign(new Error('Task timed out'), { name: 'TimeoutError' })); // the function dies before the send
  await expect(processChunk(deps, chunks[2])).rejects.toThrow(/timed out/);
  expect(validations()).toHaveLength(0);
  expect(world.archive(item).validationQueuedBy).toBe(3);

  await expect(processChunk(deps, chunks[0])).resolves.toBe('already-done');
  expect(validations()).toHaveLength(0);
  await expect(processChunk(deps, chunks[2])).resolves.toBe('validation-queued');
  expect(validations()).toHaveLength(1);
  expect(world.s3.mock.commandCalls(UploadPartCommand)).toHaveLength(3);
});

test('crash between UploadPart and the DynamoDB write: redelivery uploads again and records the part', async () => {
  const deps = world.chunkDeps();
  world.table.dynamo.fail('TransactWrite', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
  await expect(processChunk(deps, chunks[0])).rejects.toThrow(/socket hang up/);
  expect(world.table.get(item.pk, 'chunk#00001')).toBeUndefined();
  expect(world.archive(item).partsDone).toBeUndefined();

  await expect(processChunk(deps, chunks[0])).resolves.toBe('recorded');
  expect(world.s3.mock.commandCalls(UploadPartCommand)).toHaveLength(2);
  expect(world.table.get(item.pk, 'chunk#00001')).toBeDefined();
  expect(world.archive(item).partsDone).toEqual(new Set([1]));
});

test('tree hash mismatch: the part body never completes, nothing is recorded, the message fails', async () => {
  world.glacier.jobs.get(item.jobId!)!.corrupt = (d, start) => {
    if (start === 8 * MiB) d[d.length - 1] = 255 - d[d.length - 1]; // last byte of part 2
    return d;
  };
  const deps = world.chunkDeps();
  const err = await processChunk(deps, chunks[1]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(IntegrityError);
  expect((err as Error).message).toMatch(/tree hash mismatch/);
  // The body is cut off (premature close), never completed: S3 cannot store a bad part.
  expect(world.s3.bodyResults).toEqual([expect.objectContaining({ command: 'UploadPart', ok: false })]);
  expect(world.s3.uploads.get(chunks[1].uploadId)!.parts.size).toBe(0);
  expect(world.table.get(item.pk, 'chunk#00002')).toBeUndefined();
  expect(world.archive(item).partsDone).toBeUndefined();
  expect(world.table.dynamo.mock.commandCalls(PutCommand)).toHaveLength(0);
});

test('short read from Glacier fails the part', async () => {
  world.glacier.jobs.get(item.jobId!)!.corrupt = (d) => d.subarray(0, d.length - 100);
  await expect(processChunk(world.chunkDeps(), chunks[0])).rejects.toThrow(/short read/);
  expect(world.table.get(item.pk, 'chunk#00001')).toBeUndefined();
});

test('expired download window: typed error, message left for retry; once re-staged, old-job messages are superseded and the new job completes the same upload', async () => {
  world.glacier.jobs.get(item.jobId!)!.expired = true;
  const deps = world.chunkDeps();
  await expect(processChunk(deps, chunks[0])).rejects.toBeInstanceOf(JobOutputExpiredError);
  expect(world.s3.mock.commandCalls(UploadPartCommand)).toHaveLength(0);

  // The download-window extension re-requested the archive: same bytes, new job id. Until that
  // job completes its output is not downloadable, so messages of the old job must not spin on it:
  // the new job's notification re-queues every part still missing.
  world.glacier.seedArchiveJob(item.vaultName, 'job-restaged', data);
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, jobId: 'job-restaged' });
  const getsBefore = world.glacier.mock.commandCalls(GetJobOutputCommand).length;
  await expect(processChunk(deps, chunks[0])).resolves.toBe('superseded');
  expect(world.glacier.mock.commandCalls(GetJobOutputCommand)).toHaveLength(getsBefore);

  const restaged = chunks.map((c) => ({ ...c, jobId: 'job-restaged' }));
  await expect(processChunk(deps, restaged[0])).resolves.toBe('recorded');
  expect(world.glacier.mock.commandCalls(GetJobOutputCommand).at(-1)!.args[0].input.jobId).toBe('job-restaged');
  expect(world.table.get(item.pk, 'chunk#00001')).toMatchObject({ sourceJobId: 'job-restaged', uploadId: chunks[0].uploadId });

  await processChunk(deps, restaged[1]);
  await processChunk(deps, restaged[2]);
  await world.drain();
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
  expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
});

test('right after a window extension, messages of the previous job keep copying while its output is still readable', async () => {
  const deps = world.chunkDeps();
  const original = item.jobId!;
  world.table.seed({
    ...world.table.get(item.pk, 'archive')!,
    jobId: 'job-extended',
    previousJobId: original,
    previousJobExpiresAt: Date.now() + 3_600_000,
  });
  await expect(processChunk(deps, chunks[0])).resolves.toBe('recorded');
  expect(world.glacier.mock.commandCalls(GetJobOutputCommand).at(-1)!.args[0].input.jobId).toBe(original);

  // Once the previous job's output is gone, its messages step aside for the new job.
  world.glacier.jobs.get(original)!.expired = true;
  await expect(processChunk(deps, chunks[1])).resolves.toBe('superseded');
  expect(world.table.get(item.pk, 'chunk#00002')).toBeUndefined();
});

test('on the last receive a chunk that still fails marks its archive failed with the reason', async () => {
  const deps = world.chunkDeps();
  world.glacier.jobs.get(item.jobId!)!.corrupt = (d) => d.subarray(0, d.length - 100);
  // Before the last receive the error propagates (SQS retries).
  await expect(processChunkDelivery(deps, chunks[0], 39, 40)).rejects.toThrow(/short read/);
  expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
  // On the last receive the archive is failed with the reason and the message is settled.
  await expect(processChunkDelivery(deps, chunks[0], 40, 40)).resolves.toBe('archive-failed');
  expect(world.archive(item)).toMatchObject({
    status: ArchiveStatus.FAILED,
    failureReason: expect.stringMatching(/^part 1 \(copy from Glacier into S3\) failed on all 40 receives \(IntegrityError: short read/),
  });
  expect(world.table.get(item.pk, 'chunk#00001')).toBeUndefined();
});

test('two parts failing on their last receive at the same moment: the second settles its message (archive already FAILED), nothing dead-letters', async () => {
  const deps = world.chunkDeps();
  const otherPartsReason = 'part 2 (copy from Glacier into S3) failed on all 40 receives (AccessDenied: Access Denied)';
  // While part 1 is being copied, part 2's last receive fails the archive (the rehearsal's poison
  // profile: UploadPart denied for good at this key, both parts retried in lockstep).
  world.glacier.jobs.get(item.jobId!)!.corrupt = (d) => {
    world.table.seed({ ...world.table.get(item.pk, 'archive')!, status: ArchiveStatus.FAILED, runStatus: `${item.runId}#failed`, failureReason: otherPartsReason });
    return d.subarray(0, d.length - 100);
  };
  await expect(processChunkDelivery(deps, chunks[0], 40, 40)).resolves.toBe('archive-finished');
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.FAILED, failureReason: otherPartsReason });
  // Before the last receive the error still propagates (SQS retries; the next receive sees the FAILED archive).
  await expect(processChunkDelivery(deps, chunks[1], 39, 40)).resolves.toBe('superseded');
});

test('a message for a replaced upload or a finished archive is acknowledged without work', async () => {
  await expect(processChunk(world.chunkDeps(), { ...chunks[0], uploadId: 'upload-from-an-earlier-attempt' })).resolves.toBe('superseded');
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, status: ArchiveStatus.FAILED });
  await expect(processChunk(world.chunkDeps(), chunks[0])).resolves.toBe('superseded');
  expect(world.glacier.mock.calls()).toHaveLength(0);
});

test('S3 AccessDenied (bucket owned by another account) fails the part and records nothing', async () => {
  const deps = { ...world.chunkDeps(), destination: { ...world.destination, bucketOwner: '999999999999' } };
  await expect(processChunk(deps, chunks[0])).rejects.toMatchObject({ name: 'AccessDenied' });
  expect(world.table.get(item.pk, 'chunk#00001')).toBeUndefined();
});
