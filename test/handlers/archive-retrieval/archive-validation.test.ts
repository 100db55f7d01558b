import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { archiveBytes, CHUNK_QUEUE, MiB, OWNER, VALIDATION_QUEUE, World } from './world';
import { ChunkMessage, ValidationMessage } from '../../../src/contract/messages';
import { processChunk } from '../../../src/handlers/archive-retrieval/chunk-copy';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { IncompleteChunksError, processValidation } from '../../../src/handlers/archive-retrieval/validation';
import { ArchiveItem, ArchiveStatus, ChunkItem } from '../../../src/handlers/shared/schema';
import { awsError } from '../../doubles/service';

let world: World;
let item: ArchiveItem;
let data: Buffer;

function chunkItems(): ChunkItem[] {
  return [...world.table.items.values()].filter((i) => i.pk === item.pk && String(i.sk).startsWith('chunk#')) as unknown as ChunkItem[];
}

async function uploadAllParts(): Promise<ValidationMessage> {
  for (const m of world.sqs.take<ChunkMessage>(CHUNK_QUEUE)) await processChunk(world.chunkDeps(), m);
  const [validation] = world.sqs.take<ValidationMessage>(VALIDATION_QUEUE);
  return validation;
}

beforeEach(async () => {
  world = new World();
  data = archiveBytes(40 * MiB + 999, 5);
  item = world.seedArchive(data);
  await processNotification(world.notificationDeps(), world.succeeded(item));
});
afterEach(() => world.reset());

test('matching tree hash: completes with every part\'s ETag and SHA-256, verifies the object, marks downloaded', async () => {
  const validation = await uploadAllParts();
  await expect(processValidation(world.validationDeps(), validation)).resolves.toBe('downloaded');

  const complete = world.s3.mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input;
  expect(complete.ExpectedBucketOwner).toBe(OWNER);
  expect(complete.MultipartUpload!.Parts!.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(complete.MultipartUpload!.Parts!.every((p) => /^".+"$/.test(p.ETag!) && p.ChecksumCRC32 && !p.ChecksumSHA256)).toBe(true);
  const object = world.s3.objects.get(item.objectKey)!;
  expect(object.body.equals(data)).toBe(true);
  expect(world.archive(item)).toMatchObject({
    status: ArchiveStatus.DOWNLOADED,
    objectVersionId: object.versionId,
    downloadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });

  // Redelivery of the same validation message is harmless.
  await expect(processValidation(world.validationDeps(), validation)).resolves.toBe('superseded');
  expect(world.s3.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
});

test('upload already completed by an earlier attempt (NoSuchUpload): verified by HeadObject and marked downloaded', async () => {
  const validation = await uploadAllParts();
  // The earlier attempt completed the upload, then died before writing the status.
  world.table.dynamo.fail('Update', Object.assign(new Error('Lambda timed out'), { name: 'TimeoutError' }), { when: (input) => String(input.UpdateExpression).includes('downloadedAt') });
  await expect(processValidation(world.validationDeps(), validation)).rejects.toThrow(/timed out/);
  expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);

  await expect(processValidation(world.validationDeps(), validation)).resolves.toBe('downloaded');
  expect(world.s3.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(2);
  expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
});

test('NoSuchUpload and no verified object is a mismatch (re-download), not a success', async () => {
  const validation = await uploadAllParts();
  world.s3.uploads.delete(validation.uploadId); // aborted by someone else
  await expect(processValidation(world.validationDeps(), validation)).resolves.toBe('redownloading');
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.STAGED, downloadAttempts: 1 });
});

test('combined tree hash mismatch: abort, delete chunks, fresh upload and chunks; failed at the limit', async () => {
  // Inventory hash that the bytes can never match (e.g. a corrupted archive in Glacier).
  const wrong = 'ab'.repeat(32);
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, treeHash: wrong });
  const first = await uploadAllParts();

  await expect(processValidation(world.validationDeps(), first)).resolves.toBe('redownloading');
  expect(world.s3.mock.commandCalls(AbortMultipartUploadCommand)[0].args[0].input.UploadId).toBe(first.uploadId);
  expect(world.s3.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  const afterFirst = world.archive(item);
  expect(afterFirst).toMatchObject({ status: ArchiveStatus.STAGED, downloadAttempts: 1, lastVerificationFailure: expect.stringMatching(/combined tree hash/) });
  expect(afterFirst.uploadId).not.toBe(first.uploadId);
  expect(afterFirst.partsDone).toBeUndefined();
  expect(afterFirst.validationQueuedBy).toBeUndefined();
  const resent = world.sqs.messages<ChunkMessage>(CHUNK_QUEUE);
  expect(resent).toHaveLength(6);
  expect(resent.every((m) => m.uploadId === afterFirst.uploadId)).toBe(true);
  expect([...world.table.items.keys()].filter((k) => k.includes('chunk#'))).toHaveLength(0);

  // A stale chunk message of the old upload is acknowledged and changes nothing.
  await expect(processChunk(world.chunkDeps(), { ...resent[0], uploadId: first.uploadId })).resolves.toBe('superseded');

  const second = await uploadAllParts();
  await expect(processValidation(world.validationDeps(), second)).resolves.toBe('redownloading');
  const third = await uploadAllParts();
  await expect(processValidation(world.validationDeps(), third)).resolves.toBe('failed');

  const final = world.archive(item);
  expect(final).toMatchObject({ status: ArchiveStatus.FAILED, downloadAttempts: 3, failureReason: expect.stringMatching(/failed verification 3 time/) });
  expect(world.s3.objects.has(item.objectKey)).toBe(false);
  expect(world.s3.uploads.size).toBe(0);
  expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(3);
});

test('a crash after the reset is finished by the redelivered validation message', async () => {
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, treeHash: 'cd'.repeat(32) });
  const first = await uploadAllParts();
  world.s3.fail('CreateMultipartUpload', awsError('ServiceUnavailable', 503, 'Service Unavailable'));
  await expect(processValidation(world.validationDeps(), first)).rejects.toThrow(/Service Unavailable/);
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.STAGED, downloadAttempts: 1 });
  expect(world.archive(item).uploadId).toBeUndefined();

  await expect(processValidation(world.validationDeps(), first)).resolves.toBe('superseded');
  const resumed = world.archive(item);
  expect(resumed.uploadId).toBeDefined();
  expect(resumed.chunksQueuedFor).toBe(item.jobId);
  expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(6);
  expect(world.archive(item).downloadAttempts).toBe(1);
});

test('a crash right after the reset (old upload still open, its chunk items still there) is finished by the redelivery', async () => {
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, treeHash: 'cd'.repeat(32) });
  const first = await uploadAllParts();
  world.s3.fail('AbortMultipartUpload', awsError('ServiceUnavailable', 503, 'Service Unavailable')); // abortUpload only logs this: the chunk-item delete below is the crash
  world.table.dynamo.fail('Delete', Object.assign(new Error('Lambda timed out'), { name: 'TimeoutError' }));
  await expect(processValidation(world.validationDeps(), first)).rejects.toThrow(/timed out/);
  expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.STAGED, downloadAttempts: 1 });
  expect(world.archive(item).uploadId).toBeUndefined();
  expect(world.s3.uploads.has(first.uploadId)).toBe(true);

  // Before the fix this order (chunks deleted, then the reset) could leave the archive naming an
  // upload without chunk items: every redelivery failed with IncompleteChunksError.
  world.table.seed({ ...world.table.get(item.pk, 'archive')!, treeHash: item.treeHash });
  await expect(processValidation(world.validationDeps(), first)).resolves.toBe('superseded');
  const resumed = world.archive(item);
  expect(resumed.uploadId).toBeDefined();
  expect(resumed.uploadId).not.toBe(first.uploadId);
  expect(world.s3.uploads.has(first.uploadId)).toBe(false);
  expect(chunkItems().filter((c) => c.uploadId === first.uploadId)).toEqual([]);
  expect(world.sqs.messages<ChunkMessage>(CHUNK_QUEUE).every((m) => m.uploadId === resumed.uploadId)).toBe(true);
  expect(world.sqs.messages(CHUNK_QUEUE)).toHaveLength(6);

  // With the inventory's real tree hash back (set before the redelivery, which wrote it into the
  // new upload's metadata), the new upload completes with the archive's bytes.
  await expect(processValidation(world.validationDeps(), await uploadAllParts())).resolves.toBe('downloaded');
  expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
});

test('deleting a replaced upload\'s chunk items keeps a part the next upload already recorded', async () => {
  const first = await uploadAllParts();
  const store = world.validationDeps().store;
  const [part1] = chunkItems();
  world.table.seed({ ...part1, uploadId: 'next-upload' } as never);
  await store.deleteChunksOf(item.pk, first.uploadId, [1, 2, 3, 4, 5, 6]);
  expect(chunkItems().map((c) => [c.partNumber, c.uploadId])).toEqual([[1, 'next-upload']]);
});

test('missing chunk items make validation retry instead of guessing', async () => {
  const validation = await uploadAllParts();
  world.table.items.delete(`${item.pk}|chunk#00004`);
  await expect(processValidation(world.validationDeps(), validation)).rejects.toBeInstanceOf(IncompleteChunksError);
  expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
});
