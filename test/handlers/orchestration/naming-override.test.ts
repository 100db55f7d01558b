import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { CompleteMultipartUploadCommand, GetObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { checkNamingOverrideSource, NamingOverrideError, stageNamingOverride } from '../../../src/handlers/orchestration/naming-override';
import { FakeS3 } from '../../doubles/s3';

let s3: FakeS3;
const client = new S3Client({ region: 'eu-west-1' });
const BUCKET = 'transfer-inventory-bucket';
const TARGET = 'run-1/naming_override/staged/exec-1.csv';
const PRESIGNED = 'https://names.s3.eu-west-1.amazonaws.com/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240301&X-Amz-Date=20240301T000000Z&X-Amz-Expires=3600&X-Amz-Signature=abc';
const CSV = 'GlacierArchiveID,FileName\narchive-1,photos/a.jpg\narchive-2,docs/b.pdf\n';
const MiB = 1024 * 1024;

beforeEach(() => {
  s3 = new FakeS3({ bucket: BUCKET });
});
afterEach(() => s3.reset());

const fetchReturning = (status: number, body: string, headers: Record<string, string> = {}): typeof fetch =>
  (async () => new Response(body, { status, headers })) as typeof fetch;
/** Objects in the bucket; an aborted upload leaves none and no open upload. */
const written = () => [...s3.objects.keys()];
const abortedAll = () => expect([s3.aborted.length, s3.uploads.size]).toEqual([1, 0]);

test('a presigned S3 URL is streamed, its rows checked and staged at the execution\'s key', async () => {
  const bytes = await stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(200, CSV) }, TARGET, PRESIGNED);
  expect(bytes).toBe(CSV.length);
  expect(written()).toEqual([TARGET]);
  expect(s3.text(TARGET)).toBe(CSV);
});

test('an s3:// URI in the inventory bucket is streamed the same way', async () => {
  s3.seed('uploads/names v2.csv', CSV);
  expect(await stageNamingOverride({ s3: client, inventoryBucket: BUCKET }, TARGET, `s3://${BUCKET}/uploads/names v2.csv`)).toBe(CSV.length);
  expect(s3.mock.commandCalls(GetObjectCommand)[0].args[0].input).toEqual({ Bucket: BUCKET, Key: 'uploads/names v2.csv' });
  expect(s3.text(TARGET)).toBe(CSV);
});

describe('URLs that are refused before anything is fetched', () => {
  const refused: Array<[string, RegExp]> = [
    ['https://169.254.169.254/latest/meta-data/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /host 169\.254\.169\.254 is not an S3 endpoint/],
    ['https://example.com/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /host example\.com is not an S3 endpoint/],
    ['https://names.s3.amazonaws.com.evil.example/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /is not an S3 endpoint/],
    ['https://names.s3-website-eu-west-1.amazonaws.com/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /is not an S3 endpoint/],
    ['https://names.s3.amazonaws.com:8443/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /default https port, not 8443/],
    ['https://u:p@names.s3.amazonaws.com/n.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b', /user name or password/],
    ['https://names.s3.amazonaws.com/n.csv', /not a presigned S3 URL/],
    ['http://names.s3.amazonaws.com/n.csv', /https:\/\/ presigned S3 URL or an s3:\/\/ URI/],
    ['s3://someone-else/names.csv', /outside this transfer's inventory bucket; upload it to s3:\/\/transfer-inventory-bucket\//],
  ];
  test.each(refused)('%s', async (url, message) => {
    let fetched = 0;
    const spy = (async () => { fetched++; return new Response(CSV); }) as typeof fetch;
    expect(() => checkNamingOverrideSource(url, BUCKET)).toThrow(message);
    await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: spy }, TARGET, url)).rejects.toThrow(NamingOverrideError);
    expect(fetched).toBe(0);
    expect(s3.mock.calls()).toHaveLength(0);
  });

  test('S3 endpoint forms that are accepted', () => {
    const q = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b';
    for (const host of ['b.s3.amazonaws.com', 's3.eu-west-1.amazonaws.com', 'b.s3.dualstack.eu-west-1.amazonaws.com', 'b.s3-eu-west-1.amazonaws.com', 'b.s3.cn-north-1.amazonaws.com.cn']) {
      expect(checkNamingOverrideSource(`https://${host}/k.csv${q}`, BUCKET).kind).toBe('https');
    }
  });
});

test('an expired presigned URL refuses the run with the HTTP status and writes nothing', async () => {
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(403, 'AccessDenied') }, TARGET, PRESIGNED))
    .rejects.toThrow(new NamingOverrideError('naming override download failed: HTTP 403 (is the presigned URL expired?)'));
  expect(written()).toHaveLength(0);
});

test('a CSV without the header columns, or broken in its first rows, is refused and its upload aborted', async () => {
  const body = `ArchiveId,Name\n${'x,y\n'.repeat(3_000_000)}`; // > one 8 MiB part, so an upload is open
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(200, body) }, TARGET, PRESIGNED))
    .rejects.toThrow(/not a GlacierArchiveID,FileName CSV: Naming override CSV: the header needs GlacierArchiveID and FileName columns/);
  abortedAll();
  expect(written()).toHaveLength(0);
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(200, 'GlacierArchiveID,FileName\na,"unclosed\n') }, TARGET, PRESIGNED))
    .rejects.toThrow(/not a GlacierArchiveID,FileName CSV: .*[Qq]uote/);
  expect(written()).toHaveLength(0);
});

test('past the checked rows the file is streamed without parsing (the engines parse it all)', async () => {
  const body = `GlacierArchiveID,FileName\n${'id,name\n'.repeat(2_000_000)}`;
  expect(await stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: fetchReturning(200, body) }, TARGET, PRESIGNED)).toBe(body.length);
  expect(s3.text(TARGET)).toBe(body);
  expect(s3.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
});

test('a declared Content-Length above the cap is refused before the body is read', async () => {
  let pulled = 0;
  const body = new ReadableStream({ pull(c) { pulled++; c.enqueue(new Uint8Array(1024)); } });
  const huge = (async () => new Response(body, { headers: { 'content-length': String(600 * MiB) } })) as typeof fetch;
  await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: huge }, TARGET, PRESIGNED))
    .rejects.toThrow(`naming override is ${600 * MiB} bytes; at most ${512 * MiB} are accepted`);
  expect(pulled).toBeLessThanOrEqual(1); // the stream's initial pull, nothing read by the stager
  expect(s3.mock.calls()).toHaveLength(0);
});

describe('against a real HTTP server (the URL is rerouted to it, the fetch options are the stager\'s)', () => {
  let server: Server;
  let port: number;
  const requested: string[] = [];
  let endlessSent = 0;
  let endlessClosed: Promise<void>;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requested.push(req.url!);
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` }).end();
      } else if (req.url === '/secret') {
        res.end(CSV);
      } else if (req.url === '/endless') {
        endlessClosed = new Promise((resolve) => res.on('close', resolve));
        res.writeHead(200, { 'content-type': 'text/csv' }); // no Content-Length: the cap must hold on the bytes
        res.write('GlacierArchiveID,FileName\n');
        const row = Buffer.from(`${'a'.repeat(138)},${'n'.repeat(200)}\n`.repeat(2000));
        const pump = () => {
          while (!res.destroyed && res.write(row)) endlessSent += row.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const via = (path: string): typeof fetch => ((_url: unknown, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init)) as typeof fetch;

  test('a redirect (here to loopback) is refused, never followed', async () => {
    await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: via('/redirect') }, TARGET, PRESIGNED))
      .rejects.toThrow('naming override URL answered with a redirect (HTTP 302); redirects are not followed: pass the presigned URL of the object itself');
    expect(requested).toContain('/redirect');
    expect(requested).not.toContain('/secret');
    expect(s3.mock.calls()).toHaveLength(0);
  });

  test('an endless body is stopped at the cap, streamed in parts (never buffered whole), and its upload aborted', async () => {
    const cap = 40 * MiB;
    await expect(stageNamingOverride({ s3: client, inventoryBucket: BUCKET, fetch: via('/endless'), maxBytes: cap }, TARGET, PRESIGNED))
      .rejects.toThrow(new RegExp(`naming override is larger than ${cap} bytes \\(stopped reading at \\d+\\); at most ${cap} are accepted`));
    await endlessClosed; // the connection was closed by the stager
    const parts = s3.mock.commandCalls(UploadPartCommand).map((c) => (c.args[0].input.Body as Buffer).length);
    expect(parts.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...parts)).toBeLessThan(9 * MiB); // one 8 MiB part (plus one network chunk) at a time
    expect(parts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(cap);
    abortedAll();
    expect(written()).toHaveLength(0);
    // What the server managed to send is bounded by the cap plus socket buffers, not endless.
    expect(endlessSent).toBeLessThan(cap + 64 * MiB);
  });
});
