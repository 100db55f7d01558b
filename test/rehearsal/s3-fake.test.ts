import { createHash } from 'crypto';
import { Readable } from 'stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ApiStats } from '../../rehearsal/services/common';
import { S3Fake, startS3Fake } from '../../rehearsal/services/s3-fake';

const ACCOUNT = '111122223333';
const MiB = 1024 * 1024;
let s3fake: S3Fake;
let client: S3Client;
const stats = new ApiStats();

function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) % 251;
  return out;
}
const sha256b64 = (b: Buffer): string => createHash('sha256').update(b).digest('base64');

beforeAll(async () => {
  s3fake = await startS3Fake({ accountId: ACCOUNT, stats });
  // Default checksum settings on purpose: WHEN_SUPPORTED → CRC32 on every upload, aws-chunked for streams.
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3fake.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'dest-bucket' }));
});

afterAll(async () => {
  client.destroy();
  await s3fake.stop();
});

test('streamed PutObject with the default aws-chunked CRC32 trailer is decoded and stored byte-exact', async () => {
  const body = bytes(200_000, 1);
  const out = await client.send(new PutObjectCommand({
    Bucket: 'dest-bucket',
    Key: 'a/stream.bin',
    Body: Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]),
    ContentLength: body.length,
    Metadata: { 'glacier-archive-id': 'abc' },
    StorageClass: 'DEEP_ARCHIVE',
  }));
  expect(out.ChecksumCRC32).toBeDefined();
  expect(s3fake.objectBytes('dest-bucket', 'a/stream.bin')!.equals(body)).toBe(true);
  const head = await client.send(new HeadObjectCommand({ Bucket: 'dest-bucket', Key: 'a/stream.bin' }));
  expect(head.ContentLength).toBe(body.length);
  expect(head.Metadata).toEqual({ 'glacier-archive-id': 'abc' });
  expect(head.StorageClass).toBe('DEEP_ARCHIVE');
  // Like S3 (and moto): an object in DEEP_ARCHIVE cannot be read before a restore.
  await expect(client.send(new GetObjectCommand({ Bucket: 'dest-bucket', Key: 'a/stream.bin', Range: 'bytes=10-19' })))
    .rejects.toMatchObject({ name: 'InvalidObjectState', $metadata: { httpStatusCode: 403 } });
  await client.send(new PutObjectCommand({ Bucket: 'dest-bucket', Key: 'a/standard.bin', Body: body }));
  const get = await client.send(new GetObjectCommand({ Bucket: 'dest-bucket', Key: 'a/standard.bin', Range: 'bytes=10-19' }));
  expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body.subarray(10, 20))).toBe(true);
});

test('a wrong SHA-256 is rejected with BadDigest and a wrong expected owner with AccessDenied', async () => {
  await expect(client.send(new PutObjectCommand({
    Bucket: 'dest-bucket', Key: 'bad', Body: Buffer.from('hello'), ChecksumSHA256: sha256b64(Buffer.from('other')),
  }))).rejects.toMatchObject({ name: 'BadDigest' });
  await expect(client.send(new PutObjectCommand({
    Bucket: 'dest-bucket', Key: 'bad', Body: Buffer.from('hello'), ExpectedBucketOwner: '999999999999',
  }))).rejects.toMatchObject({ name: 'AccessDenied' });
  const ok = await client.send(new PutObjectCommand({
    Bucket: 'dest-bucket', Key: 'good', Body: Buffer.from('hello'), ChecksumSHA256: sha256b64(Buffer.from('hello')), ExpectedBucketOwner: ACCOUNT,
  }));
  expect(ok.ChecksumSHA256).toBe(sha256b64(Buffer.from('hello')));
});

test('multipart upload with SHA-256 part checksums: composite checksum, md5-of-md5s ETag, list and abort', async () => {
  const parts = [bytes(5 * MiB, 2), bytes(123_457, 3)];
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: 'dest-bucket', Key: 'mpu.bin', ChecksumAlgorithm: 'SHA256' }));
  const uploaded = [];
  for (const [i, part] of parts.entries()) {
    const out = await client.send(new UploadPartCommand({
      Bucket: 'dest-bucket',
      Key: 'mpu.bin',
      UploadId: created.UploadId,
      PartNumber: i + 1,
      Body: Readable.from([part]),
      ContentLength: part.length,
      ChecksumAlgorithm: 'SHA256',
    }));
    expect(out.ChecksumSHA256).toBe(sha256b64(part));
    uploaded.push({ PartNumber: i + 1, ETag: out.ETag, ChecksumSHA256: out.ChecksumSHA256 });
  }
  const listed = await client.send(new ListPartsCommand({ Bucket: 'dest-bucket', Key: 'mpu.bin', UploadId: created.UploadId }));
  expect(listed.Parts?.map((p) => p.Size)).toEqual([5 * MiB, 123_457]);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: 'dest-bucket' }));
  expect(uploads.Uploads?.map((u) => u.UploadId)).toContain(created.UploadId);

  // A wrong part checksum on Complete is refused.
  await expect(client.send(new CompleteMultipartUploadCommand({
    Bucket: 'dest-bucket',
    Key: 'mpu.bin',
    UploadId: created.UploadId,
    MultipartUpload: { Parts: [uploaded[0], { ...uploaded[1], ChecksumSHA256: uploaded[0].ChecksumSHA256 }] },
  }))).rejects.toMatchObject({ name: 'InvalidPart' });

  const done = await client.send(new CompleteMultipartUploadCommand({
    Bucket: 'dest-bucket', Key: 'mpu.bin', UploadId: created.UploadId, MultipartUpload: { Parts: uploaded },
  }));
  const md5s = Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()));
  expect(done.ETag).toBe(`"${createHash('md5').update(md5s).digest('hex')}-2"`);
  const composite = createHash('sha256').update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest()))).digest('base64');
  expect(done.ChecksumSHA256).toBe(`${composite}-2`);
  expect(s3fake.objectBytes('dest-bucket', 'mpu.bin')!.equals(Buffer.concat(parts))).toBe(true);

  const second = await client.send(new CreateMultipartUploadCommand({ Bucket: 'dest-bucket', Key: 'aborted.bin' }));
  await client.send(new AbortMultipartUploadCommand({ Bucket: 'dest-bucket', Key: 'aborted.bin', UploadId: second.UploadId }));
  const after = await client.send(new ListMultipartUploadsCommand({ Bucket: 'dest-bucket' }));
  expect(after.Uploads ?? []).toHaveLength(0);
  await expect(client.send(new UploadPartCommand({
    Bucket: 'dest-bucket', Key: 'aborted.bin', UploadId: second.UploadId, PartNumber: 1, Body: Buffer.from('x'),
  }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
});

test('ListObjectsV2 pages with continuation tokens and counts requests per operation', async () => {
  for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: 'dest-bucket', Key: `list/k${i}`, Body: `v${i}` }));
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'dest-bucket', Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }));
    seen.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  expect(seen).toEqual(['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4']);
  expect(stats.get('S3', 'ListObjectsV2')).toBe(3);
});

describe('no Date header (handlers run on the virtual clock)', () => {
  test('error and success responses carry no Date, so the SDK never sees clock skew and never retries a NoSuchKey', async () => {
    const res = await fetch(`${s3fake.endpoint}/no-such-bucket-here/key`);
    expect(res.status).toBe(404);
    expect(res.headers.get('date')).toBeNull();
    const ok = await fetch(`${s3fake.endpoint}/`);
    expect(ok.headers.get('date')).toBeNull();
  });
});
