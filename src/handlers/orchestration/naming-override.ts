import { CopyObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseNamingOverrides } from '../../core/archive-naming';

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

/** Where a naming override comes from, once its URL has been checked. */
export type NamingOverrideSource = { readonly kind: 'https'; readonly url: URL } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

/**
 * Checks a naming-override URL without fetching anything: an s3:// URI into the inventory bucket,
 * or an https:// URL. RunRecord calls this before it records the run.
 */
export function checkNamingOverrideSource(source: string, inventoryBucket: string): NamingOverrideSource {
  if (source.startsWith('https://')) return { kind: 'https', url: new URL(source) };
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (!match) throw new NamingOverrideError('naming override must be an https:// presigned URL or an s3:// URI');
  const [, bucket, key] = match;
  if (bucket !== inventoryBucket) {
    throw new NamingOverrideError(
      `naming override s3://${bucket}/… is outside this transfer's inventory bucket; upload it to s3://${inventoryBucket}/ or pass a presigned https:// URL`,
    );
  }
  return { kind: 's3', bucket, key };
}

/**
 * Puts the user's naming-override CSV at `target` in the inventory bucket (a key of this
 * execution, see stagedNamingOverrideKey), where the inventory stage reads it, so a resumed run
 * keeps using the same names. A presigned https:// URL is downloaded (no IAM needed on the user's
 * bucket); an s3:// URI must point into the inventory bucket (copied). The CSV is parsed first so
 * a malformed file refuses the run instead of silently naming nothing. Returns the override count.
 */
export async function stageNamingOverride(deps: NamingOverrideDeps, target: string, source: string): Promise<number> {
  const checked = checkNamingOverrideSource(source, deps.inventoryBucket);
  if (checked.kind === 'https') {
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
  await deps.s3.send(new CopyObjectCommand({
    Bucket: deps.inventoryBucket, Key: target, CopySource: `${checked.bucket}/${encodeURIComponent(checked.key).replace(/%2F/g, '/')}`,
  }));
  return -1;
}

async function countOverrides(body: Buffer): Promise<number> {
  try {
    return (await parseNamingOverrides(body)).size;
  } catch (err) {
    throw new NamingOverrideError(`naming override is not a GlacierArchiveID,FileName CSV: ${(err as Error).message}`);
  }
}
