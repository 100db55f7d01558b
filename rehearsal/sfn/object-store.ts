/**
 * The slice of S3 that Distributed Map ItemReader / ResultWriter need, behind an interface so the
 * runner can read from the local S3 fake through the real @aws-sdk/client-s3 ({@link s3ObjectStore})
 * or, in unit tests, from memory ({@link MemoryObjectStore}).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface ListedObject {
  readonly Key: string;
  readonly Size: number;
  readonly ETag: string;
  readonly LastModified: Date;
  readonly StorageClass: string;
}

export interface ObjectStore {
  getObject(bucket: string, key: string): Promise<Buffer>;
  putObject(bucket: string, key: string, body: Buffer | string): Promise<void>;
  /** Every object under `prefix`, in key order (pagination handled by the store). */
  listObjects(bucket: string, prefix?: string): Promise<ListedObject[]>;
}

/** Error shaped like the SDK's S3 errors (`name` = S3 error code). */
export class ObjectStoreError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

export class MemoryObjectStore implements ObjectStore {
  public readonly objects = new Map<string, { body: Buffer; lastModified: Date }>();

  public async getObject(bucket: string, key: string): Promise<Buffer> {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw new ObjectStoreError('NoSuchKey', `The specified key does not exist: s3://${bucket}/${key}`);
    return object.body;
  }

  public async putObject(bucket: string, key: string, body: Buffer | string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, { body: Buffer.from(body), lastModified: new Date() });
  }

  public async listObjects(bucket: string, prefix = ''): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    for (const [id, object] of this.objects) {
      if (!id.startsWith(`${bucket}/${prefix}`)) continue;
      out.push({ Key: id.slice(bucket.length + 1), Size: object.body.length, ETag: '"local"', LastModified: object.lastModified, StorageClass: 'STANDARD' });
    }
    return out.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  }

  /** Convenience for tests: the object as UTF-8 text (undefined when absent). */
  public text(bucket: string, key: string): string | undefined {
    return this.objects.get(`${bucket}/${key}`)?.body.toString('utf8');
  }
}

/** ObjectStore over a real S3Client (pointed at the local S3 fake by the harness). */
export function s3ObjectStore(client: S3Client): ObjectStore {
  return {
    async getObject(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async putObject(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body, ContentType: 'application/json' }));
    },
    async listObjects(bucket, prefix) {
      const out: ListedObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          out.push({ Key: o.Key!, Size: o.Size ?? 0, ETag: o.ETag ?? '', LastModified: o.LastModified ?? new Date(0), StorageClass: o.StorageClass ?? 'STANDARD' });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
  };
}
