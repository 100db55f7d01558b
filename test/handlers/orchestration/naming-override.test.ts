import { CopyObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { NamingOverrideError, stageNamingOverride } from '../../../src/handlers/orchestration/naming-override';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'eu-west-1' });
const BUCKET = 'transfer-inventory-bucket';
const TARGET = 'run-1/naming_override/staged/exec-1.csv';

beforeEach(() => s3.reset());

function fetchReturning(status: number, body: string): typeof fetch {
  return (async () => new Response(body, { status })) as typeof fetch;
}

test('a presigned URL is downloaded, parsed and staged where the inventory stage reads it', async () => {
  s3.on(PutObjectCommand).resolves({});
  const csv = 'GlacierArchiveID,FileName\narchive-1,photos/a.jpg\narchive-2,docs/b.pdf\n';
  const count = await stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(200, csv) }, TARGET, 'https://b.s3.amazonaws.com/n.csv?X-Amz-Signature=abc');
  expect(count).toBe(2);
  const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
  expect(put).toMatchObject({ Bucket: BUCKET, Key: TARGET });
  expect(Buffer.from(put.Body as Uint8Array).toString()).toBe(csv);
});

test('an expired presigned URL refuses the run with the HTTP status', async () => {
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(403, 'AccessDenied') }, TARGET, 'https://x/y'))
    .rejects.toThrow(new NamingOverrideError('naming override download failed: HTTP 403 (is the presigned URL expired?)'));
  expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
});

test('an s3:// URI in the inventory bucket is copied; one elsewhere is refused with what to do', async () => {
  s3.on(CopyObjectCommand).resolves({});
  await stageNamingOverride({ s3: client, inventoryBucket: BUCKET }, TARGET, `s3://${BUCKET}/uploads/names v2.csv`);
  expect(s3.commandCalls(CopyObjectCommand)[0].args[0].input).toMatchObject({
    Bucket: BUCKET, Key: TARGET, CopySource: `${BUCKET}/uploads/names%20v2.csv`,
  });
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET }, TARGET, 's3://someone-else/names.csv'))
    .rejects.toThrow(/outside this transfer's inventory bucket; upload it to s3:\/\/transfer-inventory-bucket\//);
});
