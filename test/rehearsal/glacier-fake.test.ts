import {
  DescribeJobCommand,
  GetJobOutputCommand,
  GlacierClient,
  InitiateJobCommand,
  ListJobsCommand,
} from '@aws-sdk/client-glacier';
import { Clock } from '../../rehearsal/clock';
import { ApiStats } from '../../rehearsal/services/common';
import { GlacierFake, isTreeHashAligned, startGlacierFake } from '../../rehearsal/services/glacier-fake';
import { contentPieces, generateVault } from '../../rehearsal/vault-generator';
import { treeHashOf } from '../../src/core/tree-hash';

const MiB = 1024 * 1024;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:rehearsal-topic';
let clock: Clock;
let glacier: GlacierFake;
let client: GlacierClient;
const published: { topic: string; message: string }[] = [];
const stats = new ApiStats();
const size = 6.5 * MiB;
const archive = {
  archiveId: 'A'.repeat(138),
  size,
  description: 'my archive description,1"2',
  creationDate: '2013-03-20T17:03:43.221Z',
  treeHash: '',
  read: (start: number, end: number) => contentPieces('glacier-test', 0, start, Math.min(end, size)),
};
const bytesOf = (start: number, endExclusive: number): Buffer => Buffer.concat([...archive.read(start, endExclusive)]);

beforeAll(async () => {
  archive.treeHash = treeHashOf(bytesOf(0, size));
  clock = new Clock(1);
  glacier = await startGlacierFake({ clock, stats, publish: async (topic, message) => published.push({ topic, message }) });
  glacier.createVault('v1');
  glacier.addArchive('v1', archive);
  client = new GlacierClient({ region: 'us-east-1', endpoint: glacier.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  clock.stop();
  await glacier.stop();
});

async function body(out: { body?: { transformToByteArray(): Promise<Uint8Array> } }): Promise<Buffer> {
  return Buffer.from(await out.body!.transformToByteArray());
}

test('tree-hash alignment rule', () => {
  expect(isTreeHashAligned(2 * MiB, 4 * MiB - 1, size)).toBe(true);
  expect(isTreeHashAligned(MiB, 3 * MiB - 1, size)).toBe(false);
  expect(isTreeHashAligned(4 * MiB, size - 1, size)).toBe(true);
  expect(isTreeHashAligned(5 * MiB, size - 1, size)).toBe(false);
  expect(isTreeHashAligned(6 * MiB, size - 1, size)).toBe(true);
  expect(isTreeHashAligned(0, size - 1, size)).toBe(true);
});

test('archive job: completes on the clock, notifies SNS, serves ranges with the aligned-only checksum, then expires', async () => {
  const started = await client.send(new InitiateJobCommand({
    accountId: '-', vaultName: 'v1', jobParameters: { Type: 'archive-retrieval', ArchiveId: archive.archiveId, Tier: 'Bulk', SNSTopic: TOPIC },
  }));
  const jobId = started.jobId!;
  expect(started.location).toContain(`/vaults/v1/jobs/${jobId}`);
  expect((await client.send(new DescribeJobCommand({ accountId: '-', vaultName: 'v1', jobId }))).StatusCode).toBe('InProgress');
  await expect(client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });

  clock.advance(13 * 3_600_000);
  const described = await client.send(new DescribeJobCommand({ accountId: '-', vaultName: 'v1', jobId }));
  expect(described).toMatchObject({ Completed: true, StatusCode: 'Succeeded', SHA256TreeHash: archive.treeHash, ArchiveSizeInBytes: size });
  await new Promise((r) => setTimeout(r, 10));
  expect(published).toHaveLength(1);
  const note = JSON.parse(published[0].message);
  expect(note).toMatchObject({ JobId: jobId, Action: 'ArchiveRetrieval', ArchiveSHA256TreeHash: archive.treeHash, StatusCode: 'Succeeded', SNSTopic: TOPIC });
  expect(Object.keys(note).sort()).toEqual(expect.arrayContaining(['ArchiveId', 'CompletionDate', 'CreationDate', 'RetrievalByteRange', 'Tier', 'VaultARN']));

  const aligned = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId, range: `bytes=${2 * MiB}-${4 * MiB - 1}` }));
  expect(aligned.status).toBe(206);
  expect(aligned.contentRange).toBe(`bytes ${2 * MiB}-${4 * MiB - 1}/${size}`);
  const alignedBytes = await body(aligned);
  expect(alignedBytes.equals(bytesOf(2 * MiB, 4 * MiB))).toBe(true);
  expect(aligned.checksum).toBe(treeHashOf(alignedBytes));

  const unaligned = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId, range: `bytes=${MiB}-${3 * MiB - 1}` }));
  expect(unaligned.checksum).toBeUndefined();
  await body(unaligned);
  const tail = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId, range: `bytes=${4 * MiB}-${size - 1}` }));
  expect(tail.checksum).toBe(treeHashOf(await body(tail)));
  const whole = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId }));
  expect(whole.checksum).toBe(archive.treeHash);
  expect((await body(whole)).length).toBe(size);

  clock.advance(24 * 3_600_000);
  await expect(client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});

test('inventory job in CSV escapes quotes with a backslash; ListJobs pages; throttling maps to ThrottlingException', async () => {
  const inv = await client.send(new InitiateJobCommand({ accountId: '-', vaultName: 'v1', jobParameters: { Type: 'inventory-retrieval', Format: 'CSV' } }));
  for (let i = 0; i < 3; i++) {
    await client.send(new InitiateJobCommand({ accountId: '-', vaultName: 'v1', jobParameters: { Type: 'archive-retrieval', ArchiveId: archive.archiveId, Tier: 'Expedited' } }));
  }
  clock.advance(5 * 3_600_000);
  const out = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v1', jobId: inv.jobId! }));
  expect(out.checksum).toBeUndefined();
  const csv = (await body(out)).toString('utf8');
  expect(csv.split('\n')[0]).toBe('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
  expect(csv).toContain('"my archive description,1\\"2"');

  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(new ListJobsCommand({ accountId: '-', vaultName: 'v1', limit: 2, marker, completed: 'true' }));
    ids.push(...page.JobList!.map((j) => j.JobId!));
    marker = page.Marker ?? undefined;
  } while (marker);
  expect(ids).toHaveLength(4);

  const throttled = await startGlacierFake({ clock, publish: async () => undefined, hooks: { fault: () => ({ kind: 'throttle' }) } });
  throttled.createVault('v1');
  const c2 = new GlacierClient({ region: 'us-east-1', endpoint: throttled.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  await expect(c2.send(new InitiateJobCommand({ accountId: '-', vaultName: 'v1', jobParameters: { Type: 'inventory-retrieval' } }))).rejects.toMatchObject({ name: 'ThrottlingException' });
  c2.destroy();
  await throttled.stop();
});

test('the vault generator is deterministic, content is random-access, and sizes hit chunk edges', () => {
  const a = generateVault({ seed: 7, count: 12, sizeProfile: 'mixed', chunkSize: 8 * MiB, maxTotalBytes: 64 * MiB });
  const b = generateVault({ seed: 7, count: 12, sizeProfile: 'mixed', chunkSize: 8 * MiB, maxTotalBytes: 64 * MiB });
  expect(a.archives.map((x) => x.treeHash)).toEqual(b.archives.map((x) => x.treeHash));
  const big = a.archives.find((x) => x.size > 3 * MiB)!;
  const whole = Buffer.concat([...big.read(0, big.size)]);
  const piece = Buffer.concat([...big.read(MiB + 5, 2 * MiB + 77)]);
  expect(piece.equals(whole.subarray(MiB + 5, 2 * MiB + 77))).toBe(true);
  expect(treeHashOf(whole)).toBe(big.treeHash);
  expect(a.archives.map((x) => x.size)).toEqual(expect.arrayContaining([1, MiB + 1, 8 * MiB + 1, 16 * MiB + 12_345]));
  expect(a.archives.every((x) => /^[\x20-\x7e]*$/.test(x.description))).toBe(true);
});
