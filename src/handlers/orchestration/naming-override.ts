import { CopyObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseNamingOverrides } from '../../core/archive-naming';
import { namingOverrideKey } from '../shared/schema';

/** Largest naming-override CSV accepted (a line per archive; millions of archives fit). */
export const MAX_NAMING_OVERRIDE_BYTES = 512 * 1024 * 1024;

/** A naming override that cannot be used; the run is refused with this message. */
export class NamingOverrideError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamingOverrideError';
  }
}

export interface NamingOverrideDeps {
  readonly s3: S3Client;
  /** The construct's inventory bucket, where the inventory stage reads the override. */
  readonly inventoryBucket: string;
  /** Injectable for tests; the Lambda runtime's global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

/**
 * Puts the user's naming-override CSV where the inventory stage reads it
 * (`<runId>/naming_override/naming_override.csv` in the inventory bucket), so a resumed run keeps
 * using the same names. A presigned https:// URL is downloaded (no IAM needed on the user's
 * bucket); an s3:// URI must point into the inventory bucket (copied). The CSV is parsed first so
 * a malformed file refuses the run instead of silently naming nothing. Returns the override count.
 */
export async function stageNamingOverride(deps: NamingOverrideDeps, runId: string, source: string): Promise<number> {
  const target = namingOverrideKey(runId);
  if (source.startsWith('https://')) {
    const response = await (deps.fetch ?? fetch)(source, { signal: AbortSignal.timeout(120_000) });
    if (!response.ok) throw new NamingOverrideError(`naming override download failed: HTTP ${response.status} (is the presigned URL expired?)`);
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_NAMING_OVERRIDE_BYTES) {
      throw new NamingOverrideError(`naming override is ${body.length} bytes; at most ${MAX_NAMING_OVERRIDE_BYTES} are accepted`);
    }
    const count = await countOverrides(body);
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.inventoryBucket, Key: target, Body: body, ContentType: 'text/csv; charset=utf-8' }));
    return count;
  }
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (!match) throw new NamingOverrideError('naming override must be an https:// presigned URL or an s3:// URI');
  const [, bucket, key] = match;
  if (bucket !== deps.inventoryBucket) {
    throw new NamingOverrideError(
      `naming override s3://${bucket}/… is outside this transfer's inventory bucket; upload it to s3://${deps.inventoryBucket}/${target} or pass a presigned https:// URL`,
    );
  }
  if (key !== target) {
    await deps.s3.send(new CopyObjectCommand({ Bucket: deps.inventoryBucket, Key: target, CopySource: `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}` }));
  }
  return -1;
}

async function countOverrides(body: Buffer): Promise<number> {
  try {
    return (await parseNamingOverrides(body)).size;
  } catch (err) {
    throw new NamingOverrideError(`naming override is not a GlacierArchiveID,FileName CSV: ${(err as Error).message}`);
  }
}
