import { GetJobOutputCommand } from '@aws-sdk/client-glacier';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { FakeDynamo, FakeGlacier, FakeS3, HEADER, INVENTORY_BUCKET, inventoryCsv, recordingLog, RUN, TRANSFER, treeHash, VAULT } from './world';
import { INVENTORY_SK, originalInventoryKey, runPk } from '../../../src/contract/keys';
import {
  checkParses,
  checkProvidedInventory,
  completeDownload,
  downloadChunk,
  InventoryValidationError,
  MAX_INVENTORY_CHUNKS,
  MIN_INVENTORY_CHUNK,
  planInventoryChunks,
  prepareDownload,
} from '../../../src/handlers/inventory-retrieval/inventory-download';
import { InventoryStore } from '../../../src/handlers/inventory-retrieval/inventory-store';

const MiB = 1024 * 1024;
let ddb: FakeDynamo;
let s3: FakeS3;
let glacier: FakeGlacier;

beforeEach(() => {
  ddb = new FakeDynamo();
  s3 = new FakeS3({ bucket: INVENTORY_BUCKET });
  glacier = new FakeGlacier();
});
afterEach(() => {
  ddb.reset();
  s3.reset();
  glacier.reset();
});

const deps = () => ({
  glacier: glacier.client, s3: s3.client, store: new InventoryStore(ddb.client, TRANSFER), bucket: INVENTORY_BUCKET, log: recordingLog(),
});
const record = () => ddb.get(TRANSFER, runPk(RUN), INVENTORY_SK);

/** A CSV inventory of at least `bytes` bytes (long descriptions keep the row count low). */
function bigInventory(bytes: number): Buffer {
  const rows: string[] = [HEADER];
  let size = HEADER.length;
  for (let i = 0; size < bytes; i++) {
    const row = `id-${i},${'d'.repeat(8000)}-${i}.bin,2015-03-01T12:00:00Z,${i},${treeHash(i)}\n`;
    rows.push(row);
    size += row.length;
  }
  return Buffer.from(rows.join(''));
}

function expectCoverage(size: number): void {
  const chunks = planInventoryChunks(size);
  let next = 0;
  chunks.forEach((c, i) => {
    expect(c.partNumber).toBe(i + 1);
    expect(c.start).toBe(next);
    expect(c.end).toBeGreaterThanOrEqual(c.start);
    if (i < chunks.length - 1) {
      // S3: every part but the last is ≥ 5 MiB; the plan uses whole MiB of at least 64 MiB.
      expect((c.end - c.start + 1) % MiB).toBe(0);
      expect(c.end - c.start + 1).toBeGreaterThanOrEqual(MIN_INVENTORY_CHUNK);
    }
    next = c.end + 1;
  });
  expect(next).toBe(size);
  expect(chunks.length).toBeLessThanOrEqual(MAX_INVENTORY_CHUNKS);
}

describe('planInventoryChunks', () => {
  test('ranges are inclusive, contiguous and cover the inventory exactly', () => {
    expect(planInventoryChunks(0)).toEqual([]);
    expect(planInventoryChunks(1)).toEqual([{ partNumber: 1, start: 0, end: 0 }]);
    expect(planInventoryChunks(MIN_INVENTORY_CHUNK)).toEqual([{ partNumber: 1, start: 0, end: MIN_INVENTORY_CHUNK - 1 }]);
    expect(planInventoryChunks(MIN_INVENTORY_CHUNK + 1)).toEqual([
      { partNumber: 1, start: 0, end: MIN_INVENTORY_CHUNK - 1 },
      { partNumber: 2, start: MIN_INVENTORY_CHUNK, end: MIN_INVENTORY_CHUNK },
    ]);
    for (const size of [1, 5 * MiB + 3, MIN_INVENTORY_CHUNK - 1, 3 * MIN_INVENTORY_CHUNK, 10 * 1024 * MiB + 17, 200 * 1024 * MiB - 1]) {
      expectCoverage(size);
    }
  });

  test('a huge inventory stays within the Map item limit with larger, whole-MiB ranges', () => {
    const size = 500 * 1024 * MiB + 12345; // 500 GiB
    const chunks = planInventoryChunks(size);
    expect(chunks.length).toBeLessThanOrEqual(MAX_INVENTORY_CHUNKS);
    expect(chunks[0].end + 1).toBe(Math.ceil(size / MAX_INVENTORY_CHUNKS / MiB) * MiB);
    expectCoverage(size);
  });

  test('rejects sizes that are not whole non-negative numbers', () => {
    expect(() => planInventoryChunks(-1)).toThrow(/invalid inventory size/);
    expect(() => planInventoryChunks(1.5)).toThrow(/invalid inventory size/);
    expect(() => planInventoryChunks(NaN)).toThrow(/invalid inventory size/);
  });
});

describe('prepareDownload / downloadChunk / completeDownload', () => {
  test('a two-range inventory ends up byte-identical in original_inventory/, parts uploaded under their numbers', async () => {
    const data = bigInventory(MIN_INVENTORY_CHUNK + 3 * MiB);
    const job = glacier.seedInventoryJob(VAULT, data);
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    expect(plan).toEqual({
      uploadId: 'upload-1-VXBsb2FkSWQ',
      key: originalInventoryKey(RUN),
      size: data.length,
      chunks: [
        { partNumber: 1, start: 0, end: MIN_INVENTORY_CHUNK - 1 },
        { partNumber: 2, start: MIN_INVENTORY_CHUNK, end: data.length - 1 },
      ],
    });
    expect(s3.mock.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toEqual({
      Bucket: INVENTORY_BUCKET, Key: `${RUN}/original_inventory/inventory.csv`, ContentType: 'text/csv',
    });
    expect(record()).toMatchObject({ uploadId: 'upload-1-VXBsb2FkSWQ', inventorySize: data.length, inventoryKey: originalInventoryKey(RUN) });

    // The Distributed Map runs the ranges in any order.
    for (const chunk of [...plan.chunks].reverse()) {
      const out = await downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
        { ...chunk, vaultName: VAULT, jobId: job.jobId, uploadId: plan.uploadId, key: plan.key });
      expect(out).toEqual({ partNumber: chunk.partNumber, size: chunk.end - chunk.start + 1 });
    }
    expect(glacier.mock.commandCalls(GetJobOutputCommand).map((c) => c.args[0].input.range)).toEqual([
      `bytes=${MIN_INVENTORY_CHUNK}-${data.length - 1}`,
      `bytes=0-${MIN_INVENTORY_CHUNK - 1}`,
    ]);
    const uploads = s3.mock.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(uploads.map((u) => [u.Bucket, u.Key, u.UploadId, u.PartNumber, u.ContentLength])).toEqual([
      [INVENTORY_BUCKET, plan.key, 'upload-1-VXBsb2FkSWQ', 2, data.length - MIN_INVENTORY_CHUNK],
      [INVENTORY_BUCKET, plan.key, 'upload-1-VXBsb2FkSWQ', 1, MIN_INVENTORY_CHUNK],
    ]);

    const validated = await completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size });
    expect(validated).toEqual({ key: plan.key, size: data.length, format: 'csv' });
    // Completed with the parts in ascending order, whatever order they were uploaded in.
    expect(s3.mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.MultipartUpload!.Parts!.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(s3.objects.get(plan.key)!.body.equals(data)).toBe(true);
    // Only the first MiB is read back to check it parses.
    expect(s3.mock.commandCalls(GetObjectCommand)[0].args[0].input.Range).toBe(`bytes=0-${MiB - 1}`);
    expect(record()).toMatchObject({ inventoryStatus: 'downloaded', inventoryKey: plan.key, inventorySize: data.length, inventoryFormat: 'csv' });

    // A retry of the completion step after it succeeded (upload gone) checks the object and passes.
    expect(await completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size })).toEqual(validated);
  });

  test('a small inventory: one range, whole file parsed', async () => {
    const csv = inventoryCsv([{ id: 'a' }, { id: 'b', description: 'x, "quoted"' }]);
    const job = glacier.seedInventoryJob(VAULT, csv);
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    expect(plan.chunks).toEqual([{ partNumber: 1, start: 0, end: csv.length - 1 }]);
    await downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { ...plan.chunks[0], vaultName: VAULT, jobId: job.jobId, uploadId: plan.uploadId, key: plan.key });
    await completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size });
    expect(s3.text(plan.key)).toBe(csv);
    expect(s3.mock.commandCalls(GetObjectCommand)[0].args[0].input.Range).toBeUndefined();
  });

  test('a short body from GetJobOutput fails the range and uploads nothing', async () => {
    const job = glacier.seedInventoryJob(VAULT, inventoryCsv([{ id: 'a' }, { id: 'b' }]), { corrupt: (d) => d.subarray(0, d.length - 7) });
    const size = job.output!.length;
    const call = downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { partNumber: 1, start: 0, end: size - 1, vaultName: VAULT, jobId: job.jobId, uploadId: 'u', key: 'k' });
    await expect(call).rejects.toThrow(InventoryValidationError);
    await expect(downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { partNumber: 1, start: 0, end: size - 1, vaultName: VAULT, jobId: job.jobId, uploadId: 'u', key: 'k' }))
      .rejects.toThrow(`range 0-${size - 1}: got ${size - 7} bytes, expected ${size}`);
    expect(s3.mock.commandCalls(UploadPartCommand)).toHaveLength(0);
  });

  test('an empty body is a short body too', async () => {
    const job = glacier.seedInventoryJob(VAULT, 'abc', { corrupt: (d) => d.subarray(0, d.length - 3) });
    await expect(downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { partNumber: 1, start: 0, end: 2, vaultName: VAULT, jobId: job.jobId, uploadId: 'u', key: 'k' })).rejects.toThrow('got 0 bytes, expected 3');
  });

  test('prepare refuses a job that is not a succeeded inventory retrieval', async () => {
    const running = glacier.seedInventoryJob(VAULT, 'x', { statusCode: 'InProgress' });
    await expect(prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: running.jobId }))
      .rejects.toThrow(`job ${running.jobId} is not a succeeded inventory retrieval (Action InventoryRetrieval, StatusCode InProgress)`);
    const archiveJob = glacier.seedInventoryJob(VAULT, 'x', { action: 'ArchiveRetrieval' });
    await expect(prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: archiveJob.jobId })).rejects.toThrow(InventoryValidationError);
    expect(s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  test('a re-run of prepare aborts the upload of the earlier attempt', async () => {
    const job = glacier.seedInventoryJob(VAULT, inventoryCsv([{ id: 'a' }]));
    const first = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    const second = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    expect(second.uploadId).not.toBe(first.uploadId);
    expect(s3.mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: INVENTORY_BUCKET, Key: originalInventoryKey(RUN), UploadId: first.uploadId },
    ]);
    expect([...s3.uploads.keys()]).toEqual([second.uploadId]);
    expect(record()!.uploadId).toBe(second.uploadId);
  });

  test('a missing part fails the completion clearly and completes nothing', async () => {
    const data = bigInventory(MIN_INVENTORY_CHUNK + MiB);
    const job = glacier.seedInventoryJob(VAULT, data);
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    await downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { ...plan.chunks[0], vaultName: VAULT, jobId: job.jobId, uploadId: plan.uploadId, key: plan.key });
    await expect(completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size }))
      .rejects.toThrow(`inventory upload incomplete: 1/2 parts, ${MIN_INVENTORY_CHUNK}/${data.length} bytes`);
    expect(s3.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(record()!.inventoryStatus).toBeUndefined();
  });

  test('size mismatch: parts that do not add up to the job size fail clearly', async () => {
    const csv = inventoryCsv([{ id: 'a' }]);
    const job = glacier.seedInventoryJob(VAULT, csv);
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    s3.uploads.get(plan.uploadId)!.parts.set(1, Buffer.from(csv.slice(0, -1)));
    await expect(completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size }))
      .rejects.toThrow(`inventory upload incomplete: 1/1 parts, ${csv.length - 1}/${csv.length} bytes`);
  });

  test('size mismatch: an object completed earlier with another size fails clearly', async () => {
    const key = originalInventoryKey(RUN);
    s3.seed(key, inventoryCsv([{ id: 'a' }]));
    await expect(completeDownload(deps(), { runId: RUN, uploadId: 'upload-gone', key, size: 9999 }))
      .rejects.toThrow(`${key} holds ${s3.objects.get(key)!.body.length} bytes, the inventory job 9999`);
  });

  test('an unparsable inventory fails clearly after download', async () => {
    const job = glacier.seedInventoryJob(VAULT, '<html>Service Unavailable</html>\n');
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    await downloadChunk({ glacier: glacier.client, s3: s3.client, bucket: INVENTORY_BUCKET },
      { ...plan.chunks[0], vaultName: VAULT, jobId: job.jobId, uploadId: plan.uploadId, key: plan.key });
    await expect(completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: plan.size }))
      .rejects.toThrow(`${plan.key} is neither a Glacier CSV nor a JSON inventory`);
    expect(record()!.inventoryStatus).toBeUndefined();
  });

  test('an empty job output (0 bytes) is stored as an empty object without a multipart upload', async () => {
    const job = glacier.seedInventoryJob(VAULT, '');
    const plan = await prepareDownload(deps(), { runId: RUN, vaultName: VAULT, jobId: job.jobId });
    expect(plan.chunks).toEqual([]);
    expect(await completeDownload(deps(), { runId: RUN, uploadId: plan.uploadId, key: plan.key, size: 0 }))
      .toEqual({ key: plan.key, size: 0, format: 'csv' });
    expect(s3.objects.get(plan.key)!.body.length).toBe(0);
    expect(s3.uploads.size).toBe(0);
  });
});

describe('checkParses / checkProvidedInventory', () => {
  const put = (key: string, body: string | Buffer) => s3.seed(key, body);

  test('a provided CSV inventory is validated and recorded as the run\'s inventory', async () => {
    put('uploads/inventory.csv', inventoryCsv([{ id: 'a' }]));
    expect(await checkProvidedInventory(deps(), { runId: RUN, vaultName: VAULT, key: 'uploads/inventory.csv' }))
      .toEqual({ key: 'uploads/inventory.csv', size: s3.objects.get('uploads/inventory.csv')!.body.length, format: 'csv' });
    expect(record()).toMatchObject({
      runId: RUN, vaultName: VAULT, inventoryStatus: 'downloaded', inventoryKey: 'uploads/inventory.csv', inventoryFormat: 'csv', source: 'provided',
    });
    expect(glacier.mock.calls()).toHaveLength(0);
  });

  test('a provided JSON inventory is detected as JSON; a header-only CSV (empty vault) is valid', async () => {
    put('uploads/inv.json', JSON.stringify({
      VaultARN: 'arn:aws:glacier:us-east-1:111122223333:vaults/v',
      InventoryDate: '2024-01-01T00:00:00Z',
      ArchiveList: [{ ArchiveId: 'a', ArchiveDescription: '', CreationDate: '2020-01-01T00:00:00Z', Size: 1, SHA256TreeHash: treeHash(1) }],
    }));
    expect((await checkProvidedInventory(deps(), { runId: RUN, vaultName: VAULT, key: 'uploads/inv.json' })).format).toBe('json');
    put('uploads/empty.csv', HEADER);
    expect((await checkProvidedInventory(deps(), { runId: RUN, vaultName: VAULT, key: 'uploads/empty.csv' })).format).toBe('csv');
  });

  test('a missing provided inventory fails clearly with its S3 path', async () => {
    await expect(checkProvidedInventory(deps(), { runId: RUN, vaultName: VAULT, key: 'uploads/none.csv' }))
      .rejects.toThrow(new InventoryValidationError(`provided inventory s3://${INVENTORY_BUCKET}/uploads/none.csv does not exist`));
    expect(record()).toBeUndefined();
  });

  test.each([
    ['plain text', 'this is not an inventory\n', /is neither a Glacier CSV nor a JSON inventory/],
    ['JSON without ArchiveList', '{"VaultARN":"arn","Archives":[]}', /does not parse: not a Glacier JSON inventory: no ArchiveList/],
    ['a CSV without the Glacier header or any readable archive', 'Bucket,Key,Size\nmy-bucket,a.txt,3\n', /has no readable archive/],
  ])('an unparsable provided inventory fails clearly: %s', async (_name, body, message) => {
    put('uploads/bad', body);
    await expect(checkProvidedInventory(deps(), { runId: RUN, vaultName: VAULT, key: 'uploads/bad' })).rejects.toThrow(message);
    expect(record()).toBeUndefined();
  });

  test('a large CSV is checked on its first MiB only, cut at a line end', async () => {
    const data = bigInventory(3 * MiB);
    put('big.csv', data);
    expect(await checkParses(s3.client, INVENTORY_BUCKET, 'big.csv', data.length)).toBe('csv');
    put('big-garbage.csv', Buffer.concat([Buffer.from('a,b\n'), Buffer.alloc(2 * MiB, 'x,y\n')]));
    await expect(checkParses(s3.client, INVENTORY_BUCKET, 'big-garbage.csv', 2 * MiB + 4)).rejects.toThrow(InventoryValidationError);
  });

  test('a large JSON inventory passes although its first MiB is a truncated document', async () => {
    const list = Array.from({ length: 20_000 }, (_, i) => ({
      ArchiveId: `id-${i}`, ArchiveDescription: `file-${i}.bin`, CreationDate: '2020-01-01T00:00:00Z', Size: i, SHA256TreeHash: treeHash(i),
    }));
    const data = Buffer.from(JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:111122223333:vaults/v', InventoryDate: '2024-01-01T00:00:00Z', ArchiveList: list }));
    expect(data.length).toBeGreaterThan(MiB);
    put('big.json', data);
    expect(await checkParses(s3.client, INVENTORY_BUCKET, 'big.json', data.length)).toBe('json');
  });
});
