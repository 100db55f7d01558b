/* eslint-disable @stylistic/max-len */
import { createHash, randomUUID } from 'crypto';
import { createServer, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'http';
import { crc32 } from 'zlib';
import { ApiStats, closeServer, listenLocal, readBody, requestId, RunningService } from './common';

/*
 * A small in-memory, path-style S3 for the rehearsal.
 *
 * Why not s3rver: it stores aws-chunked uploads (the SDK's default for streamed bodies) with the
 * chunk framing inside the object, ignores checksums and lacks ListMultipartUploads and
 * AbortMultipartUpload (see rehearsal/README.md). This fake decodes aws-chunked bodies, verifies
 * every checksum it is sent (header or trailer) and answers with S3-shaped XML, so the handlers
 * run with the SDK's DEFAULT checksum settings.
 */

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const MAX_KEY_BYTES = 1024;
const MAX_METADATA_BYTES = 2048;
const STORAGE_CLASSES = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING',
  'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE',
]);

type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'CRC64NVME';
const CHECKSUM_HEADERS: Record<string, ChecksumAlgorithm> = {
  'x-amz-checksum-crc32': 'CRC32',
  'x-amz-checksum-crc32c': 'CRC32C',
  'x-amz-checksum-sha1': 'SHA1',
  'x-amz-checksum-sha256': 'SHA256',
  'x-amz-checksum-crc64nvme': 'CRC64NVME',
};

function headerOf(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

let crc32cTable: number[] | undefined;
/* eslint-disable no-bitwise */
function crc32c(data: Buffer): number {
  if (!crc32cTable) {
    crc32cTable = [];
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable.push(c >>> 0);
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crc32cTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
/* eslint-enable no-bitwise */

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** Raw (binary) checksum of `data`; undefined for algorithms this fake does not compute. */
function rawChecksum(algorithm: ChecksumAlgorithm, data: Buffer): Buffer | undefined {
  switch (algorithm) {
    case 'CRC32': return uint32(crc32(data));
    case 'CRC32C': return uint32(crc32c(data));
    case 'SHA1': return createHash('sha1').update(data).digest();
    case 'SHA256': return createHash('sha256').update(data).digest();
    default: return undefined;
  }
}

/** Storage classes whose objects GetObject refuses until restored (this fake implements no RestoreObject). */
const ARCHIVE_STORAGE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export class S3Error extends Error {
  constructor(public readonly status: number, public readonly code: string, message: string) {
    super(message);
  }
}

interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  /** base64, `<base64>-<parts>` for composite multipart checksums. */
  readonly value: string;
  readonly type: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface StoredObject {
  readonly key: string;
  readonly data: Buffer[];
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  readonly metadata: Record<string, string>;
  readonly storageClass: string;
  readonly contentType: string;
  readonly checksum?: Checksum;
  readonly versionId?: string;
  readonly partsCount?: number;
}

interface Part {
  readonly partNumber: number;
  readonly data: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

interface Upload {
  readonly uploadId: string;
  readonly key: string;
  readonly initiated: Date;
  readonly metadata: Record<string, string>;
  readonly storageClass: string;
  readonly contentType: string;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
  readonly checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  readonly parts: Map<number, Part>;
}

/** A multipart upload's lifecycle step (rehearsal diagnostics: who left an upload open). */
export interface UploadEvent {
  readonly at: Date;
  readonly op: 'CreateMultipartUpload' | 'AbortMultipartUpload' | 'CompleteMultipartUpload';
  readonly key: string;
  readonly uploadId: string;
}

interface Bucket {
  readonly name: string;
  /** Create/Abort/Complete of every multipart upload, in order. */
  readonly uploadLog: UploadEvent[];
  readonly objects: Map<string, StoredObject>;
  /** Older versions, newest last, when versioning is enabled. */
  readonly history: Map<string, StoredObject[]>;
  readonly uploads: Map<string, Upload>;
  versioning: boolean;
}

export interface S3FakeHooks {
  /** Called before a request is served; throw an S3Error to inject a failure. */
  before?(operation: string, bucket: string, key: string | undefined): void;
  /** Called after a part (UploadPart) or a whole object (PutObject) has been stored. */
  afterWrite?(operation: 'UploadPart' | 'PutObject' | 'CompleteMultipartUpload', bucket: string, key: string): void;
  /**
   * Called after CompleteMultipartUpload has been APPLIED (the object exists, the upload is gone)
   * but before the answer is sent; throw an S3Error to answer with it instead (the caller died).
   */
  afterApplied?(operation: 'CompleteMultipartUpload', bucket: string, key: string): void;
}

export interface S3FakeOptions {
  /** Account id that owns every bucket (checked against x-amz-expected-bucket-owner). */
  readonly accountId: string;
  readonly stats?: ApiStats;
  readonly hooks?: S3FakeHooks;
  /**
   * Clock of a multipart upload's `Initiated` (epoch ms; default wall time). The rehearsal passes its
   * virtual clock: CleanupIncompleteUploads compares `Initiated` with the run's `firstStartedAt`,
   * which it writes on that clock, as S3 and Lambda share one clock in AWS.
   */
  readonly now?: () => number;
}

/** What the harness reads from S3 besides the SDK: the report's view of objects and uploads. */
interface S3View extends RunningService {
  /** The object as stored (undefined when absent). */
  getObject(bucket: string, key: string): StoredObject | undefined;
  /** Object bytes concatenated. */
  objectBytes(bucket: string, key: string): Buffer | undefined;
  listKeys(bucket: string): string[];
  /** In-progress multipart uploads of a bucket. */
  openUploads(bucket: string): { key: string; uploadId: string; parts: number; initiated: Date }[];
  /** Create/Abort/Complete of the multipart uploads of a bucket (optionally one key), in order. */
  uploadEvents(bucket: string, key?: string): UploadEvent[];
}

/** The view either backend (own fake or moto behind its proxy) gives the harness. */
export interface LocalS3 extends S3View {
  /** Buckets by name (the values are backend-specific). */
  readonly buckets: ReadonlyMap<string, unknown>;
  /** Brings the views up to date for these buckets (a no-op when they read the store itself). */
  refresh(buckets: string[]): Promise<void>;
  /** Removes every object and upload (between rehearsal runs). */
  clear(): Promise<void>;
}

/** The project's own S3: the view, plus direct access to its buckets. */
export interface S3Fake extends S3View {
  readonly buckets: Map<string, Bucket>;
  /** Removes every object and upload (between rehearsal runs). */
  clear(): void;
}

/** The S3 operation a path-style request stands for (shared by the own fake and the proxy in front of moto). */
export function s3OperationOf(method: string, key: string | undefined, q: URLSearchParams, headers: IncomingHttpHeaders): string {
  if (key === undefined) {
    if (method === 'PUT') return q.has('versioning') ? 'PutBucketVersioning' : 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    if (method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
    if (method === 'GET' && q.has('versioning')) return 'GetBucketVersioning';
    if (method === 'GET' && q.has('location')) return 'GetBucketLocation';
    if (method === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
  } else {
    if (method === 'PUT' && q.has('uploadId')) return headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
    if (method === 'PUT') return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
    if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
    if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
    if (method === 'DELETE') return 'DeleteObject';
    if (method === 'GET' && q.has('uploadId')) return 'ListParts';
    if (method === 'GET') return 'GetObject';
    if (method === 'HEAD') return 'HeadObject';
  }
  return `Unsupported${method}`;
}

/** An S3 error document (what S3 answers, and what both backends answer for an injected fault). */
export function s3ErrorXml(err: S3Error): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${tag('Code', err.code)}${tag('Message', err.message)}${tag('RequestId', requestId())}</Error>`;
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`)
    // XML 1.0 cannot carry most control characters; S3 emits them as character references.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function xml(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`;
}

function tag(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

function xmlValues(body: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  for (let m = re.exec(body); m; m = re.exec(body)) out.push(decodeXml(m[1]));
  return out;
}

function decodeXml(text: string): string {
  return text.replace(/&(#x?[0-9a-fA-F]+|amp|lt|gt|quot|apos);/g, (_, ent: string) => {
    if (ent.startsWith('#x')) return String.fromCharCode(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCharCode(parseInt(ent.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ent];
  });
}

/** Decodes an `aws-chunked` body (signed or unsigned, with or without trailer). */
export function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const pieces: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  const readLine = (): string => {
    const end = body.indexOf('\r\n', pos);
    if (end < 0) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ended inside a chunk header');
    const line = body.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return line;
  };
  for (;;) {
    const header = readLine();
    const size = parseInt(header.split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) throw new S3Error(400, 'InvalidChunkSizeError', `bad aws-chunked chunk header ${JSON.stringify(header)}`);
    if (size === 0) break;
    if (pos + size + 2 > body.length) throw new S3Error(400, 'IncompleteBody', 'aws-chunked chunk shorter than announced');
    pieces.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.toString('latin1', pos, pos + 2) !== '\r\n') throw new S3Error(400, 'InvalidChunkSizeError', 'aws-chunked chunk not followed by CRLF');
    pos += 2;
  }
  while (pos < body.length) {
    const line = readLine();
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(pieces), trailers };
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable');
  return { start, end };
}

function slice(data: Buffer[], start: number, endInclusive: number): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (const piece of data) {
    const pieceEnd = offset + piece.length;
    if (pieceEnd > start && offset <= endInclusive) {
      out.push(piece.subarray(Math.max(0, start - offset), Math.min(piece.length, endInclusive + 1 - offset)));
    }
    offset = pieceEnd;
  }
  return Buffer.concat(out);
}

function quoted(etag: string): string {
  return `"${etag}"`;
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, '');
}

/** Starts the fake on 127.0.0.1:<ephemeral>. */
export async function startS3Fake(options: S3FakeOptions): Promise<S3Fake> {
  const buckets = new Map<string, Bucket>();
  const stats = options.stats;

  const bucketOf = (name: string): Bucket => {
    const bucket = buckets.get(name);
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    return bucket;
  };

  const userMetadata = (req: IncomingMessage): Record<string, string> => {
    const metadata: Record<string, string> = {};
    let bytes = 0;
    for (const [name, value] of Object.entries(req.headers)) {
      if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
      const key = name.slice('x-amz-meta-'.length);
      const text = Array.isArray(value) ? value.join(',') : value;
      metadata[key] = text;
      bytes += Buffer.byteLength(key) + Buffer.byteLength(text);
    }
    if (bytes > MAX_METADATA_BYTES) {
      throw new S3Error(400, 'MetadataTooLarge', `Your metadata headers exceed the maximum allowed metadata size (${bytes} > ${MAX_METADATA_BYTES})`);
    }
    return metadata;
  };

  const storageClassOf = (req: IncomingMessage): string => {
    const value = (req.headers['x-amz-storage-class'] as string | undefined) ?? 'STANDARD';
    if (!STORAGE_CLASSES.has(value)) throw new S3Error(400, 'InvalidStorageClass', `The storage class you specified is not valid: ${value}`);
    return value;
  };

  /**
   * Reads and verifies a request payload: aws-chunked decoding, x-amz-decoded-content-length,
   * x-amz-content-sha256, Content-MD5 and the flexible checksum (header or trailer).
   */
  const payload = async (req: IncomingMessage): Promise<{ data: Buffer; checksum?: { algorithm: ChecksumAlgorithm; value: string } }> => {
    let data = await readBody(req);
    let trailers: Record<string, string> = {};
    const encoding = String(req.headers['content-encoding'] ?? '');
    const contentSha = String(req.headers['x-amz-content-sha256'] ?? '');
    if (encoding.split(',').map((s) => s.trim()).includes('aws-chunked') || contentSha.startsWith('STREAMING-')) {
      ({ data, trailers } = decodeAwsChunked(data));
      const decodedLength = req.headers['x-amz-decoded-content-length'];
      if (decodedLength !== undefined && Number(decodedLength) !== data.length) {
        throw new S3Error(400, 'IncompleteBody', `x-amz-decoded-content-length ${decodedLength} but ${data.length} bytes decoded`);
      }
      const announced = String(req.headers['x-amz-trailer'] ?? '').toLowerCase();
      if (announced && trailers[announced] === undefined) throw new S3Error(400, 'MalformedTrailerError', `announced trailer ${announced} missing`);
    } else if (/^[0-9a-f]{64}$/.test(contentSha)) {
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== contentSha) throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    const md5 = req.headers['content-md5'];
    if (typeof md5 === 'string' && createHash('md5').update(data).digest('base64') !== md5) {
      throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    let checksum: { algorithm: ChecksumAlgorithm; value: string } | undefined;
    for (const [header, algorithm] of Object.entries(CHECKSUM_HEADERS)) {
      const value = (req.headers[header] as string | undefined) ?? trailers[header];
      if (value === undefined) continue;
      const raw = rawChecksum(algorithm, data);
      if (!raw) throw new S3Error(501, 'NotImplemented', `the rehearsal S3 fake cannot verify ${algorithm} checksums`);
      if (raw.toString('base64') !== value) {
        throw new S3Error(400, 'BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
      }
      checksum = { algorithm, value };
    }
    return { data, checksum };
  };

  const checkCondition = (req: IncomingMessage, existing: StoredObject | undefined): void => {
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch === '*' && existing) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string' && (!existing || unquote(ifMatch) !== existing.etag)) {
      throw new S3Error(existing ? 412 : 404, existing ? 'PreconditionFailed' : 'NoSuchKey', 'At least one of the pre-conditions you specified did not hold');
    }
  };

  const store = (bucket: Bucket, object: Omit<StoredObject, 'versionId'>): StoredObject => {
    const previous = bucket.objects.get(object.key);
    const stored: StoredObject = { ...object, versionId: bucket.versioning ? randomUUID().replace(/-/g, '') : undefined };
    if (previous && bucket.versioning) {
      const history = bucket.history.get(object.key) ?? [];
      history.push(previous);
      bucket.history.set(object.key, history);
    }
    bucket.objects.set(object.key, stored);
    return stored;
  };

  const objectHeaders = (res: ServerResponse, object: StoredObject, withChecksum: boolean): void => {
    res.setHeader('etag', quoted(object.etag));
    res.setHeader('last-modified', object.lastModified.toUTCString());
    res.setHeader('content-type', object.contentType);
    res.setHeader('accept-ranges', 'bytes');
    if (object.storageClass !== 'STANDARD') res.setHeader('x-amz-storage-class', object.storageClass);
    if (object.versionId) res.setHeader('x-amz-version-id', object.versionId);
    if (object.partsCount) res.setHeader('x-amz-mp-parts-count', String(object.partsCount));
    for (const [key, value] of Object.entries(object.metadata)) res.setHeader(`x-amz-meta-${key}`, value);
    if (withChecksum && object.checksum) {
      res.setHeader(headerOf(object.checksum.algorithm), object.checksum.value);
      res.setHeader('x-amz-checksum-type', object.checksum.type);
    }
  };

  const findObject = (bucket: Bucket, key: string, versionId: string | null): StoredObject => {
    const current = bucket.objects.get(key);
    if (versionId === null || versionId === 'null' || current?.versionId === versionId) {
      if (!current) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      return current;
    }
    const old = bucket.history.get(key)?.find((o) => o.versionId === versionId);
    if (!old) throw new S3Error(404, 'NoSuchVersion', 'The specified version does not exist.');
    return old;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    // Path style: /bucket/key… ; the key keeps every byte after the first slash (even "//" and "..").
    const rawPath = (req.url ?? '/').split('?')[0];
    const slash = rawPath.indexOf('/', 1);
    const bucketName = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash < 0 || slash === rawPath.length - 1 ? undefined : decodeURIComponent(rawPath.slice(slash + 1));
    const op = s3OperationOf(method, key, q, req.headers);
    stats?.count('S3', op);
    res.setHeader('x-amz-request-id', requestId());

    const owner = req.headers['x-amz-expected-bucket-owner'];
    if (owner !== undefined && owner !== options.accountId) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    if (key !== undefined && Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
    options.hooks?.before?.(op, bucketName, key);

    switch (op) {
      case 'CreateBucket': {
        await readBody(req);
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.');
        if (buckets.has(bucketName)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
        buckets.set(bucketName, { name: bucketName, uploadLog: [], objects: new Map(), history: new Map(), uploads: new Map(), versioning: false });
        res.setHeader('location', `/${bucketName}`);
        res.end();
        return;
      }
      case 'HeadBucket':
        bucketOf(bucketName);
        res.end();
        return;
      case 'GetBucketLocation':
        // Every bucket lives in us-east-1, which S3 reports as an empty LocationConstraint.
        bucketOf(bucketName);
        sendXml(res, 200, xml('LocationConstraint', ''));
        return;
      case 'PutBucketVersioning': {
        const bucket = bucketOf(bucketName);
        bucket.versioning = xmlValues((await readBody(req)).toString('utf8'), 'Status')[0] === 'Enabled';
        res.end();
        return;
      }
      case 'GetBucketVersioning': {
        const bucket = bucketOf(bucketName);
        sendXml(res, 200, xml('VersioningConfiguration', bucket.versioning ? tag('Status', 'Enabled') : ''));
        return;
      }
      case 'ListObjectsV2': {
        const bucket = bucketOf(bucketName);
        const prefix = q.get('prefix') ?? '';
        const maxKeys = Math.min(Number(q.get('max-keys') ?? '1000'), 1000);
        const token = q.get('continuation-token');
        const after = token ? Buffer.from(token, 'base64').toString('utf8') : q.get('start-after') ?? '';
        const delimiter = q.get('delimiter') ?? '';
        const urlEncode = q.get('encoding-type') === 'url';
        const enc = (k: string): string => (urlEncode ? encodeURIComponent(k).replace(/%2F/g, '/') : k);
        const keys = [...bucket.objects.keys()]
          .filter((k) => k.startsWith(prefix) && Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        const contents: string[] = [];
        const prefixes = new Set<string>();
        let last: string | undefined;
        let truncated = false;
        for (const k of keys) {
          if (contents.length + prefixes.size >= maxKeys) {
            truncated = true;
            break;
          }
          last = k;
          const rest = k.slice(prefix.length);
          const cut = delimiter ? rest.indexOf(delimiter) : -1;
          if (cut >= 0) {
            prefixes.add(prefix + rest.slice(0, cut + delimiter.length));
            continue;
          }
          const o = bucket.objects.get(k)!;
          contents.push(`<Contents>${tag('Key', enc(k))}${tag('LastModified', o.lastModified.toISOString())}${tag('ETag', quoted(o.etag))}`
            + `${tag('Size', o.size)}${tag('StorageClass', o.storageClass)}</Contents>`);
        }
        sendXml(res, 200, xml('ListBucketResult', tag('Name', bucketName) + tag('Prefix', prefix) + tag('KeyCount', contents.length + prefixes.size)
          + tag('MaxKeys', maxKeys) + (delimiter ? tag('Delimiter', delimiter) : '') + tag('IsTruncated', truncated)
          + (urlEncode ? tag('EncodingType', 'url') : '') + (token ? tag('ContinuationToken', token) : '')
          + (truncated && last ? tag('NextContinuationToken', Buffer.from(last).toString('base64')) : '')
          + contents.join('') + [...prefixes].map((p) => `<CommonPrefixes>${tag('Prefix', enc(p))}</CommonPrefixes>`).join('')));
        return;
      }
      case 'ListMultipartUploads': {
        const bucket = bucketOf(bucketName);
        const prefix = q.get('prefix') ?? '';
        const uploads = [...bucket.uploads.values()].filter((u) => u.key.startsWith(prefix))
          .sort((a, b) => a.key.localeCompare(b.key) || a.initiated.getTime() - b.initiated.getTime());
        sendXml(res, 200, xml('ListMultipartUploadsResult', tag('Bucket', bucketName) + tag('KeyMarker', '') + tag('UploadIdMarker', '')
          + tag('Prefix', prefix) + tag('MaxUploads', 1000) + tag('IsTruncated', false)
          + uploads.map((u) => `<Upload>${tag('Key', u.key)}${tag('UploadId', u.uploadId)}${tag('Initiated', u.initiated.toISOString())}`
            + `${tag('StorageClass', u.storageClass)}${u.checksumAlgorithm ? tag('ChecksumAlgorithm', u.checksumAlgorithm) : ''}</Upload>`).join('')));
        return;
      }
      case 'DeleteObjects': {
        const bucket = bucketOf(bucketName);
        const body = (await readBody(req)).toString('utf8');
        const keys = xmlValues(body, 'Key');
        for (const k of keys) bucket.objects.delete(k);
        sendXml(res, 200, xml('DeleteResult', keys.map((k) => `<Deleted>${tag('Key', k)}</Deleted>`).join('')));
        return;
      }
      case 'PutObject': {
        const bucket = bucketOf(bucketName);
        const metadata = userMetadata(req);
        const storageClass = storageClassOf(req);
        const { data, checksum } = await payload(req);
        checkCondition(req, bucket.objects.get(key!));
        const stored = store(bucket, {
          key: key!,
          data: [data],
          size: data.length,
          etag: createHash('md5').update(data).digest('hex'),
          lastModified: new Date(),
          metadata,
          storageClass,
          contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
          checksum: checksum ? { ...checksum, type: 'FULL_OBJECT' } : undefined,
        });
        res.setHeader('etag', quoted(stored.etag));
        if (stored.versionId) res.setHeader('x-amz-version-id', stored.versionId);
        if (checksum) {
          res.setHeader(headerOf(checksum.algorithm), checksum.value);
          res.setHeader('x-amz-checksum-type', 'FULL_OBJECT');
        }
        res.end();
        options.hooks?.afterWrite?.('PutObject', bucketName, key!);
        return;
      }
      case 'CopyObject': {
        const bucket = bucketOf(bucketName);
        await readBody(req);
        const source = decodeURIComponent(String(req.headers['x-amz-copy-source']).split('?')[0]).replace(/^\//, '');
        const sourceSlash = source.indexOf('/');
        const from = findObject(bucketOf(source.slice(0, sourceSlash)), source.slice(sourceSlash + 1), null);
        const replace = req.headers['x-amz-metadata-directive'] === 'REPLACE';
        const stored = store(bucket, {
          ...from,
          key: key!,
          lastModified: new Date(),
          metadata: replace ? userMetadata(req) : from.metadata,
          storageClass: req.headers['x-amz-storage-class'] ? storageClassOf(req) : from.storageClass,
        });
        if (stored.versionId) res.setHeader('x-amz-version-id', stored.versionId);
        sendXml(res, 200, xml('CopyObjectResult', tag('ETag', quoted(stored.etag)) + tag('LastModified', stored.lastModified.toISOString())));
        return;
      }
      case 'GetObject':
      case 'HeadObject': {
        const bucket = bucketOf(bucketName);
        let object: StoredObject;
        try {
          object = findObject(bucket, key!, q.get('versionId'));
        } catch (e) {
          if (op === 'HeadObject' && e instanceof S3Error) {
            res.statusCode = e.status;
            res.end();
            return;
          }
          throw e;
        }
        // An object in an archive storage class has to be restored before it can be read (HeadObject works).
        if (op === 'GetObject' && ARCHIVE_STORAGE_CLASSES.has(object.storageClass)) {
          throw new S3Error(403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class');
        }
        const range = parseRange(req.headers.range, object.size);
        objectHeaders(res, object, !range && req.headers['x-amz-checksum-mode'] === 'ENABLED');
        if (range) {
          res.statusCode = 206;
          res.setHeader('content-range', `bytes ${range.start}-${range.end}/${object.size}`);
        }
        const length = range ? range.end - range.start + 1 : object.size;
        res.setHeader('content-length', String(length));
        if (op === 'HeadObject') {
          res.end();
          return;
        }
        res.end(range ? slice(object.data, range.start, range.end) : Buffer.concat(object.data));
        return;
      }
      case 'DeleteObject': {
        const bucket = bucketOf(bucketName);
        bucket.objects.delete(key!);
        res.statusCode = 204;
        res.end();
        return;
      }
      case 'CreateMultipartUpload': {
        const bucket = bucketOf(bucketName);
        await readBody(req);
        const algorithm = req.headers['x-amz-checksum-algorithm'] as ChecksumAlgorithm | undefined;
        if (algorithm && !Object.values(CHECKSUM_HEADERS).includes(algorithm)) throw new S3Error(400, 'InvalidRequest', `unknown checksum algorithm ${algorithm}`);
        const upload: Upload = {
          uploadId: randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''),
          key: key!,
          initiated: new Date(options.now?.() ?? Date.now()),
          metadata: userMetadata(req),
          storageClass: storageClassOf(req),
          contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
          checksumAlgorithm: algorithm,
          checksumType: algorithm ? ((req.headers['x-amz-checksum-type'] as 'FULL_OBJECT' | 'COMPOSITE' | undefined) ?? (algorithm.startsWith('SHA') ? 'COMPOSITE' : 'COMPOSITE')) : undefined,
          parts: new Map(),
        };
        bucket.uploads.set(upload.uploadId, upload);
        bucket.uploadLog.push({ at: new Date(), op: 'CreateMultipartUpload', key: upload.key, uploadId: upload.uploadId });
        if (algorithm) res.setHeader('x-amz-checksum-algorithm', algorithm);
        if (upload.checksumType) res.setHeader('x-amz-checksum-type', upload.checksumType);
        sendXml(res, 200, xml('InitiateMultipartUploadResult', tag('Bucket', bucketName) + tag('Key', key) + tag('UploadId', upload.uploadId)));
        return;
      }
      case 'UploadPart': {
        const bucket = bucketOf(bucketName);
        const upload = uploadOf(bucket, q.get('uploadId'), key!);
        const partNumber = Number(q.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
        const { data, checksum } = await payload(req);
        if (upload.checksumAlgorithm && checksum && checksum.algorithm !== upload.checksumAlgorithm) {
          throw new S3Error(400, 'InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${checksum.algorithm.toLowerCase()}`);
        }
        if (upload.checksumAlgorithm && !checksum) {
          throw new S3Error(400, 'InvalidRequest', `The upload was created using a ${upload.checksumAlgorithm.toLowerCase()} checksum. The part must carry one too.`);
        }
        const part: Part = { partNumber, data, etag: createHash('md5').update(data).digest('hex'), lastModified: new Date(), checksum };
        upload.parts.set(partNumber, part);
        res.setHeader('etag', quoted(part.etag));
        if (checksum) res.setHeader(headerOf(checksum.algorithm), checksum.value);
        res.end();
        options.hooks?.afterWrite?.('UploadPart', bucketName, key!);
        return;
      }
      case 'ListParts': {
        const bucket = bucketOf(bucketName);
        const upload = uploadOf(bucket, q.get('uploadId'), key!);
        const marker = Number(q.get('part-number-marker') ?? '0');
        const maxParts = Math.min(Number(q.get('max-parts') ?? '1000'), 1000);
        const all = [...upload.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
        const page = all.slice(0, maxParts);
        const truncated = all.length > page.length;
        sendXml(res, 200, xml('ListPartsResult', tag('Bucket', bucketName) + tag('Key', key) + tag('UploadId', upload.uploadId)
          + tag('PartNumberMarker', marker) + (truncated ? tag('NextPartNumberMarker', page[page.length - 1].partNumber) : '')
          + tag('MaxParts', maxParts) + tag('IsTruncated', truncated) + tag('StorageClass', upload.storageClass)
          + (upload.checksumAlgorithm ? tag('ChecksumAlgorithm', upload.checksumAlgorithm) : '')
          + page.map((p) => `<Part>${tag('PartNumber', p.partNumber)}${tag('LastModified', p.lastModified.toISOString())}${tag('ETag', quoted(p.etag))}`
            + `${tag('Size', p.data.length)}${p.checksum ? tag(`Checksum${p.checksum.algorithm}`, p.checksum.value) : ''}</Part>`).join('')));
        return;
      }
      case 'AbortMultipartUpload': {
        const bucket = bucketOf(bucketName);
        uploadOf(bucket, q.get('uploadId'), key!);
        bucket.uploads.delete(q.get('uploadId')!);
        bucket.uploadLog.push({ at: new Date(), op: 'AbortMultipartUpload', key: key!, uploadId: q.get('uploadId')! });
        res.statusCode = 204;
        res.end();
        return;
      }
      case 'CompleteMultipartUpload': {
        const bucket = bucketOf(bucketName);
        const uploadId = q.get('uploadId');
        const body = (await readBody(req)).toString('utf8');
        const upload = bucket.uploads.get(uploadId ?? '');
        if (!upload || upload.key !== key) {
          // Completing twice with the same parts is answered like S3 does for a retried Complete.
          const existing = bucket.objects.get(key!);
          if (existing && (existing as StoredObject & { uploadId?: string }).uploadId === uploadId) {
            sendXml(res, 200, completeXml(bucketName, key!, existing));
            return;
          }
          throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
        }
        const requested = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
          partNumber: Number(xmlValues(m[1], 'PartNumber')[0]),
          etag: unquote(xmlValues(m[1], 'ETag')[0] ?? ''),
          checksums: Object.fromEntries(Object.values(CHECKSUM_HEADERS).map((a) => [a, xmlValues(m[1], `Checksum${a}`)[0]])) as Record<ChecksumAlgorithm, string | undefined>,
        }));
        if (requested.length === 0) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        const parts: Part[] = [];
        for (const [i, r] of requested.entries()) {
          if (i > 0 && r.partNumber <= requested[i - 1].partNumber) throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
          const part = upload.parts.get(r.partNumber);
          if (!part || part.etag !== r.etag) throw new S3Error(400, 'InvalidPart', `One or more of the specified parts could not be found (part ${r.partNumber}).`);
          if (upload.checksumAlgorithm) {
            const given = r.checksums[upload.checksumAlgorithm];
            if (given === undefined || given !== part.checksum?.value) {
              throw new S3Error(400, 'InvalidPart', `The ${upload.checksumAlgorithm} checksum of part ${r.partNumber} is missing or does not match the uploaded part.`);
            }
          }
          if (i < requested.length - 1 && part.data.length < MIN_PART_SIZE) throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
          parts.push(part);
        }
        const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex')}-${parts.length}`;
        let checksum: Checksum | undefined;
        if (upload.checksumAlgorithm) {
          if (upload.checksumType === 'FULL_OBJECT') {
            const raw = rawChecksum(upload.checksumAlgorithm, Buffer.concat(parts.map((p) => p.data)));
            if (!raw) throw new S3Error(501, 'NotImplemented', `the rehearsal S3 fake cannot compute ${upload.checksumAlgorithm}`);
            checksum = { algorithm: upload.checksumAlgorithm, value: raw.toString('base64'), type: 'FULL_OBJECT' };
          } else {
            const raw = rawChecksum(upload.checksumAlgorithm, Buffer.concat(parts.map((p) => Buffer.from(p.checksum!.value, 'base64'))));
            if (!raw) throw new S3Error(501, 'NotImplemented', `the rehearsal S3 fake cannot compute ${upload.checksumAlgorithm}`);
            checksum = { algorithm: upload.checksumAlgorithm, value: `${raw.toString('base64')}-${parts.length}`, type: 'COMPOSITE' };
          }
          const expected = req.headers[headerOf(upload.checksumAlgorithm)];
          if (typeof expected === 'string' && expected !== checksum.value && `${expected}-${parts.length}` !== checksum.value) {
            throw new S3Error(400, 'BadDigest', `The ${upload.checksumAlgorithm} you specified for the object did not match the calculated checksum.`);
          }
        }
        checkCondition(req, bucket.objects.get(key!));
        const stored = store(bucket, {
          key: key!,
          data: parts.map((p) => p.data),
          size: parts.reduce((n, p) => n + p.data.length, 0),
          etag,
          lastModified: new Date(),
          metadata: upload.metadata,
          storageClass: upload.storageClass,
          contentType: upload.contentType,
          checksum,
          partsCount: parts.length,
        });
        (stored as StoredObject & { uploadId?: string }).uploadId = upload.uploadId;
        bucket.uploads.delete(upload.uploadId);
        bucket.uploadLog.push({ at: new Date(), op: 'CompleteMultipartUpload', key: upload.key, uploadId: upload.uploadId });
        try {
          options.hooks?.afterApplied?.('CompleteMultipartUpload', bucketName, key!);
        } catch (e) {
          // The object was written all the same: it counts as a write.
          options.hooks?.afterWrite?.('CompleteMultipartUpload', bucketName, key!);
          throw e;
        }
        if (stored.versionId) res.setHeader('x-amz-version-id', stored.versionId);
        sendXml(res, 200, completeXml(bucketName, key!, stored));
        options.hooks?.afterWrite?.('CompleteMultipartUpload', bucketName, key!);
        return;
      }
      default:
        await readBody(req);
        throw new S3Error(501, 'NotImplemented', `${op} is not implemented by the rehearsal S3 fake`);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof S3Error ? e : new S3Error(500, 'InternalError', String((e as Error)?.stack ?? e));
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain whatever is left of the request so the connection stays usable.
      req.resume();
      for (const header of res.getHeaderNames()) if (header !== 'x-amz-request-id') res.removeHeader(header);
      sendXml(res, err.status, s3ErrorXml(err));
    });
  });
  const { endpoint } = await listenLocal(server);

  return {
    endpoint,
    buckets,
    getObject: (bucket, key) => buckets.get(bucket)?.objects.get(key),
    objectBytes: (bucket, key) => {
      const o = buckets.get(bucket)?.objects.get(key);
      return o ? Buffer.concat(o.data) : undefined;
    },
    listKeys: (bucket) => [...(buckets.get(bucket)?.objects.keys() ?? [])].sort(),
    openUploads: (bucket) => [...(buckets.get(bucket)?.uploads.values() ?? [])]
      .map((u) => ({ key: u.key, uploadId: u.uploadId, parts: u.parts.size, initiated: u.initiated })),
    uploadEvents: (bucket, key) => (buckets.get(bucket)?.uploadLog ?? []).filter((e) => key === undefined || e.key === key),
    clear: () => {
      for (const bucket of buckets.values()) {
        bucket.objects.clear();
        bucket.history.clear();
        bucket.uploads.clear();
        bucket.uploadLog.length = 0;
      }
    },
    stop: async () => closeServer(server),
  };
}

function uploadOf(bucket: Bucket, uploadId: string | null, key: string): Upload {
  const upload = bucket.uploads.get(uploadId ?? '');
  if (!upload || upload.key !== key) {
    throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
  }
  return upload;
}

function completeXml(bucket: string, key: string, object: StoredObject): string {
  return xml('CompleteMultipartUploadResult', tag('Location', `/${bucket}/${key}`) + tag('Bucket', bucket) + tag('Key', key)
    + tag('ETag', quoted(object.etag))
    + (object.checksum ? tag(`Checksum${object.checksum.algorithm}`, object.checksum.value) + tag('ChecksumType', object.checksum.type) : ''));
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/xml');
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.end(body);
}
