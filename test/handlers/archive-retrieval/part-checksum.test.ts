import { CompleteMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { archiveBytes, CHUNK_QUEUE, MiB, World } from './world';
import { ChunkMessage } from '../../../src/contract/messages';
import { processChunk } from '../../../src/handlers/archive-retrieval/chunk-copy';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { completedPart, uploadChecksumAlgorithm, UPLOAD_CHECKSUM_ALGORITHM } from '../../../src/handlers/archive-retrieval/part-checksum';
import { ArchiveStatus, ChunkItem } from '../../../src/handlers/shared/schema';

const chunk = (fields: Partial<ChunkItem>): ChunkItem => ({
  pk: 'p', sk: 'chunk#00001', partNumber: 1, sourceJobId: 'j', uploadId: 'u', rangeStart: 0, rangeEnd: 1, etag: '"e"', treeHash: 'ab'.repeat(32), ...fields,
});

test('new uploads use CRC32; items without the field are uploads of earlier versions (SHA256); anything else is an error', () => {
  expect(UPLOAD_CHECKSUM_ALGORITHM).toBe('CRC32');
  expect(uploadChecksumAlgorithm({ checksumAlgorithm: 'CRC32' })).toBe('CRC32');
  expect(uploadChecksumAlgorithm({})).toBe('SHA256');
  expect(() => uploadChecksumAlgorithm({ checksumAlgorithm: 'MD5' })).toThrow(/checksumAlgorithm "MD5"; expected CRC32 or SHA256/);
});

test('completed parts carry the checksum under the upload\'s algorithm, reading the legacy field too', () => {
  expect(completedPart(chunk({ checksum: 'AAAAAA==' }), 'CRC32')).toEqual({ PartNumber: 1, ETag: '"e"', ChecksumCRC32: 'AAAAAA==' });
  expect(completedPart(chunk({ checksumSha256: 'c2hh' }), 'SHA256')).toEqual({ PartNumber: 1, ETag: '"e"', ChecksumSHA256: 'c2hh' });
  expect(completedPart(chunk({}), 'CRC32')).toEqual({ PartNumber: 1, ETag: '"e"' });
});

test('an upload started by an earlier version (SHA256, no checksumAlgorithm on the item) is finished with SHA256 parts', async () => {
  const world = new World();
  try {
    const data = archiveBytes(20 * MiB + 9, 5);
    const item = world.seedArchive(data);
    await processNotification(world.notificationDeps(), world.succeeded(item));
    // Turn the upload into what an earlier version left behind: a SHA256 upload, an item without
    // the algorithm, and one part already recorded under the old field name.
    const archive = world.table.get(item.pk, 'archive')!;
    const upload = world.s3.uploads.get(archive.uploadId as string)!;
    upload.checksumAlgorithm = 'SHA256';
    delete archive.checksumAlgorithm;
    const messages = world.sqs.take<ChunkMessage>(CHUNK_QUEUE);
    await processChunk(world.chunkDeps(), messages[0]);
    const first = world.table.get(item.pk, 'chunk#00001')!;
    first.checksumSha256 = first.checksum;
    delete first.checksum;

    for (const message of messages.slice(1)) await processChunk(world.chunkDeps(), message);
    await world.drain();

    expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
    expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
    expect(world.s3.mock.commandCalls(UploadPartCommand).map((c) => c.args[0].input.ChecksumAlgorithm)).toEqual(['SHA256', 'SHA256', 'SHA256']);
    const parts = world.s3.mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.MultipartUpload!.Parts!;
    expect(parts.every((p) => p.ChecksumSHA256 && !p.ChecksumCRC32)).toBe(true);
  } finally {
    world.reset();
  }
});
