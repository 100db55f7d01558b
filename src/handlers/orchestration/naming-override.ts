import { once } from 'events';
import { PassThrough } from 'stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TextObjectWriter } from './csv-object-writer';
import { namingOverrideRows } from '../../core/archive-naming';

/** Largest naming-override CSV accepted (a line per archive; millions of archives fit). */
export const MAX_NAMING_OVERRIDE_BYTES = 512 * 1024 * 1024;

/** How long a naming-override download may take in all (RunRecord's timeout is 5 minutes). */
const DOWNLOAD_TIMEOUT_MS = 180_000;

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
  /** Injectable for tests. @default MAX_NAMING_OVERRIDE_BYTES */
  readonly maxBytes?: number;
}

/** Where a naming override comes from, once its URL has been checked. */
export type NamingOverrideSource = { readonly kind: 'https'; readonly url: URL } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

/**
 * Hosts of S3's own endpoints (virtual-hosted and path style, regional, dual-stack, legacy
 * `s3-<region>`, access points, China partition); website endpoints (which redirect) excluded.
 * RunRecord runs with the account's network access: any other host would make it fetch whatever
 * the caller names, so only S3 itself is contacted.
 */
const S3_HOST = /^(?:[a-z0-9][a-z0-9.-]{0,250}\.)?s3(?:[.-](?!website)[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/;

/**
 * Checks a naming-override URL without fetching anything; RunRecord calls this before it records
 * the run. Allowed: an s3:// URI into this transfer's inventory bucket, or an https:// presigned
 * URL (SigV4 query: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature) of an S3 endpoint on the
 * default port, without user info.
 */
export function checkNamingOverrideSource(source: string, inventoryBucket: string): NamingOverrideSource {
  if (source.startsWith('https://')) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new NamingOverrideError('naming override URL is not a valid https:// URL');
    }
    if (url.username || url.password) throw new NamingOverrideError('naming override URL must not carry a user name or password');
    if (url.port !== '') throw new NamingOverrideError(`naming override URL must use the default https port, not ${url.port}`);
    if (!S3_HOST.test(url.hostname)) {
      throw new NamingOverrideError(`naming override URL host ${url.hostname} is not an S3 endpoint (*.amazonaws.com); pass a presigned S3 URL or an s3:// URI`);
    }
    const q = url.searchParams;
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !q.get('X-Amz-Credential') || !q.get('X-Amz-Signature')) {
      throw new NamingOverrideError('naming override URL is not a presigned S3 URL (X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential and X-Amz-Signature expected)');
    }
    return { kind: 'https', url };
  }
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  if (!match) throw new NamingOverrideError('naming override must be an https:// presigned S3 URL or an s3:// URI');
  const [, bucket, key] = match;
  if (bucket !== inventoryBucket) {
    throw new NamingOverrideError(
      `naming override s3://${bucket}/… is outside this transfer's inventory bucket; upload it to s3://${inventoryBucket}/ or pass a presigned https:// URL`,
    );
  }
  return { kind: 's3', bucket, key };
}

/** The body of the override, refused early when its declared length is above the cap. */
async function openSource(
  deps: NamingOverrideDeps, source: NamingOverrideSource, cap: number, signal: AbortSignal,
): Promise<AsyncIterable<Uint8Array>> {
  const tooLarge = (n: number) => new NamingOverrideError(`naming override is ${n} bytes; at most ${cap} are accepted`);
  if (source.kind === 's3') {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }), { abortSignal: signal }).catch((err) => {
      throw new NamingOverrideError(`naming override s3://${source.bucket}/${source.key} cannot be read: ${(err as Error).name}`);
    });
    if ((out.ContentLength ?? 0) > cap) throw tooLarge(out.ContentLength!);
    return out.Body as AsyncIterable<Uint8Array>;
  }
  // Never follow a redirect: its target could be anything the Lambda can reach.
  const response = await (deps.fetch ?? fetch)(source.url, { redirect: 'manual', signal }).catch((err) => {
    throw new NamingOverrideError(`naming override download failed: ${(err as Error).name}`);
  });
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
    throw new NamingOverrideError(
      `naming override URL answered with a redirect (HTTP ${response.status}); redirects are not followed: pass the presigned URL of the object itself`,
    );
  }
  if (!response.ok) throw new NamingOverrideError(`naming override download failed: HTTP ${response.status} (is the presigned URL expired?)`);
  const declared = Number(response.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > cap) throw tooLarge(declared);
  if (!response.body) throw new NamingOverrideError('naming override download returned no body');
  return response.body as unknown as AsyncIterable<Uint8Array>;
}

/**
 * Rows checked while staging: enough to refuse a wrong file (no header, not CSV) at once. The
 * inventory engines parse every row (and find duplicates) with the line number of any error;
 * parsing it all here would make RunRecord's time grow with the file.
 */
const CHECKED_ROWS = 1000;
const CHECK_SLICE_BYTES = 16 * 1024;

/**
 * Streams the user's naming-override CSV to `target` in the inventory bucket (a key of this
 * execution, see stagedNamingOverrideKey), where the inventory stage reads it. A presigned
 * https:// S3 URL is downloaded (no IAM needed on the user's bucket); an s3:// URI must point into
 * the inventory bucket. At most one 8 MiB part is held in memory: the byte cap is checked against
 * the declared length and again on the bytes actually received. The header and the first rows are
 * checked as they stream, so a wrong file refuses the run. On any refusal the upload is aborted.
 * Returns the number of bytes staged.
 */
export async function stageNamingOverride(deps: NamingOverrideDeps, target: string, source: string): Promise<number> {
  const checked = checkNamingOverrideSource(source, deps.inventoryBucket);
  const cap = deps.maxBytes ?? MAX_NAMING_OVERRIDE_BYTES;
  const abort = new AbortController();
  const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]);
  const writer = new TextObjectWriter(deps.s3, deps.inventoryBucket, target);
  const head = new PassThrough();
  head.on('error', () => undefined); // destroyed once enough rows are checked
  let checking = true;
  const rowsChecked = (async () => {
    try {
      let n = 0;
      for await (const _ of namingOverrideRows(head)) {
        if (++n >= CHECKED_ROWS) break;
      }
    } catch (err) {
      throw new NamingOverrideError(`naming override is not a GlacierArchiveID,FileName CSV: ${(err as Error).message}`);
    } finally {
      checking = false;
    }
  })();
  rowsChecked.catch(() => undefined); // awaited below; a parse error must not be an unhandled rejection meanwhile
  try {
    const body = await openSource(deps, checked, cap, signal);
    let received = 0;
    for await (const chunk of body) {
      received += chunk.byteLength;
      if (received > cap) throw new NamingOverrideError(`naming override is larger than ${cap} bytes (stopped reading at ${received}); at most ${cap} are accepted`);
      await writer.writeBytes(chunk);
      // Small slices: the CSV parser works through a whole chunk before the check can stop it.
      for (let at = 0; checking && at < chunk.byteLength; at += CHECK_SLICE_BYTES) {
        if (!head.write(chunk.subarray(at, at + CHECK_SLICE_BYTES))) await Promise.race([once(head, 'drain'), rowsChecked]);
      }
    }
    head.end();
    await rowsChecked;
    await writer.close();
    return received;
  } catch (err) {
    const timedOut = signal.aborted && !(err instanceof NamingOverrideError);
    abort.abort();
    head.destroy();
    await writer.abort();
    if (timedOut) throw new NamingOverrideError(`naming override download took longer than ${DOWNLOAD_TIMEOUT_MS / 1000} s`);
    throw err;
  }
}
