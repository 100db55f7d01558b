/* eslint-disable @stylistic/max-len */
import { createServer } from 'http';
import { AbortMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, RestoreObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApiStats, closeServer, listenLocal, readBody, requestId } from './common';
import { forwardRequest, replayHeaders } from './forward';
import { LocalS3, S3Error, s3ErrorXml, S3FakeHooks, s3OperationOf, StoredObject, UploadEvent } from './s3-fake';

/*
 * S3 served by moto, behind a proxy that counts requests, runs the same fault hooks as the own
 * fake (before / afterWrite / afterApplied) and keeps the multipart-upload timeline the report
 * shows. Two things the proxy changes in moto's answers, both for the rehearsal's virtual clock:
 * ListMultipartUploads' `Initiated` is the rehearsal-clock time the proxy saw the upload created
 * (moto answers a fixed 2010 date for every upload, a finding in rehearsal/README.md; AWS answers
 * the creation time, and CleanupIncompleteUploads compares it with the run's start).
 */

export interface MotoS3Options {
  readonly upstream: string;
  readonly stats?: ApiStats;
  readonly hooks?: S3FakeHooks;
  readonly now: () => number;
  readonly region: string;
}

const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export async function startMotoS3(options: MotoS3Options): Promise<LocalS3> {
  const { upstream } = options;
  // The harness's own view of moto, straight to it (not counted, no faults).
  const direct = new S3Client({ region: options.region, endpoint: upstream, forcePathStyle: true, credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });
  const buckets = new Map<string, true>();
  const uploadLog = new Map<string, UploadEvent[]>();
  const initiated = new Map<string, Date>();
  const snapshot = new Map<string, { objects: Map<string, StoredObject>; uploads: { key: string; uploadId: string; parts: number; initiated: Date }[] }>();
  const log = (bucket: string, event: UploadEvent): void => {
    const list = uploadLog.get(bucket) ?? [];
    list.push(event);
    uploadLog.set(bucket, list);
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      const rawPath = (req.url ?? '/').split('?')[0];
      const slash = rawPath.indexOf('/', 1);
      const bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
      const key = slash < 0 || slash === rawPath.length - 1 ? undefined : decodeURIComponent(rawPath.slice(slash + 1));
      const op = s3OperationOf(method, key, url.searchParams, req.headers);
      options.stats?.count('S3', op);
      const raw = await readBody(req);
      try {
        options.hooks?.before?.(op, bucket, key);
        const out = await forwardRequest(upstream, method, req.url ?? '/', req.headers, raw);
        let body = out.body;
        const ok = out.status < 300;
        if (ok && op === 'CreateBucket') buckets.set(bucket, true);
        if (ok && key !== undefined) {
          if (op === 'UploadPart' || op === 'PutObject' || op === 'CompleteMultipartUpload') options.hooks?.afterWrite?.(op, bucket, key);
          const at = new Date(options.now());
          if (op === 'CreateMultipartUpload') {
            const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString('utf8'))?.[1] ?? '';
            initiated.set(uploadId, at);
            log(bucket, { at, op, key, uploadId });
          } else if (op === 'AbortMultipartUpload' || op === 'CompleteMultipartUpload') {
            log(bucket, { at, op, key, uploadId: url.searchParams.get('uploadId') ?? '' });
          }
          if (op === 'CompleteMultipartUpload') options.hooks?.afterApplied?.(op, bucket, key);
        }
        if (ok && op === 'ListMultipartUploads') {
          body = Buffer.from(body.toString('utf8').replace(/<Upload>([\s\S]*?)<\/Upload>/g, (upload: string) => {
            const id = /<UploadId>([^<]+)<\/UploadId>/.exec(upload)?.[1];
            const at = id ? initiated.get(id) : undefined;
            return at ? upload.replace(/<Initiated>[^<]*<\/Initiated>/, `<Initiated>${at.toISOString()}</Initiated>`) : upload;
          }));
        }
        res.writeHead(out.status, replayHeaders(out.headers, body.length, method));
        res.end(body);
      } catch (e) {
        const err = e instanceof S3Error ? e : new S3Error(500, 'InternalError', String((e as Error)?.stack ?? e));
        const text = s3ErrorXml(err);
        res.writeHead(err.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)), 'x-amz-request-id': requestId() });
        res.end(text);
      }
    })().catch(() => {
      // The caller went away mid-request (an aborted upload): nothing to answer.
      res.destroy();
    });
  });
  const { endpoint } = await listenLocal(server);

  const listAll = async (bucket: string): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await direct.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  };
  const listUploads = async (bucket: string): Promise<{ key: string; uploadId: string }[]> =>
    ((await direct.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));

  const readObject = async (bucket: string, key: string): Promise<StoredObject> => {
    const head = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const storageClass = head.StorageClass ?? 'STANDARD';
    // GetObject of an archived object is refused until restored (moto, like S3): restore it for the check.
    if (ARCHIVE_CLASSES.has(storageClass) && !head.Restore?.includes('ongoing-request="false"')) {
      await direct.send(new RestoreObjectCommand({ Bucket: bucket, Key: key, RestoreRequest: { Days: 1 } }));
    }
    const got = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const data = Buffer.from(await got.Body!.transformToByteArray());
    return {
      key,
      data: [data],
      size: data.length,
      etag: head.ETag ?? '',
      lastModified: head.LastModified ?? new Date(0),
      metadata: head.Metadata ?? {},
      storageClass,
      contentType: head.ContentType ?? '',
      versionId: head.VersionId,
    };
  };

  return {
    endpoint,
    buckets,
    getObject: (bucket, key) => snapshot.get(bucket)?.objects.get(key),
    objectBytes: (bucket, key) => {
      const object = snapshot.get(bucket)?.objects.get(key);
      return object ? Buffer.concat(object.data) : undefined;
    },
    listKeys: (bucket) => [...(snapshot.get(bucket)?.objects.keys() ?? [])].sort(),
    openUploads: (bucket) => snapshot.get(bucket)?.uploads ?? [],
    uploadEvents: (bucket, key) => (uploadLog.get(bucket) ?? []).filter((e) => key === undefined || e.key === key),
    refresh: async (names) => {
      for (const bucket of names) {
        const objects = new Map<string, StoredObject>();
        for (const key of await listAll(bucket)) objects.set(key, await readObject(bucket, key));
        const uploads = (await listUploads(bucket)).map((u) => ({ ...u, parts: 0, initiated: initiated.get(u.uploadId) ?? new Date(0) }));
        snapshot.set(bucket, { objects, uploads });
      }
    },
    clear: async () => {
      for (const { Name } of (await direct.send(new ListBucketsCommand({}))).Buckets ?? []) {
        const keys = await listAll(Name!);
        for (let i = 0; i < keys.length; i += 1000) {
          await direct.send(new DeleteObjectsCommand({ Bucket: Name!, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
        }
        for (const u of await listUploads(Name!)) await direct.send(new AbortMultipartUploadCommand({ Bucket: Name!, Key: u.key, UploadId: u.uploadId }));
      }
      uploadLog.clear();
      initiated.clear();
      snapshot.clear();
    },
    stop: async () => {
      direct.destroy();
      await closeServer(server);
    },
  };
}
