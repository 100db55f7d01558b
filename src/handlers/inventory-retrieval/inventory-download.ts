import { DescribeJobCommand, DescribeVaultCommand, GetJobOutputCommand, GlacierClient } from '@aws-sdk/client-glacier';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  Part,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { InventoryStore } from './inventory-store';
import { originalInventoryKey } from '../../contract/keys';
import { detectInventoryFormat, InventoryFormat, parseInventory } from '../../core/inventory';
import { providedInventoryMismatch } from '../../core/vault-totals';
import { errorName } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

/**
 * Download of the inventory job output into `<runId>/original_inventory/inventory.csv` of the
 * inventory bucket: `prepareDownload` plans ranges and opens a multipart upload, the Distributed
 * Map runs `downloadChunk` per range (GetJobOutput Range → UploadPart), `completeDownload` checks
 * every part is there and the size matches, completes the upload and checks the file parses.
 * `checkProvidedInventory` applies the same checks to an inventory the user put in the bucket, and
 * `checkProvidedAgainstVault`, once an engine has counted it, compares its totals with the vault's.
 */

const MiB = 1024 * 1024;
/** Smallest range (S3 parts other than the last must be ≥ 5 MiB). */
export const MIN_INVENTORY_CHUNK = 64 * MiB;
/** Most ranges, so the Map's item list stays far below the 256 KiB payload limit. */
export const MAX_INVENTORY_CHUNKS = 1000;
/** Bytes read from the start of a large inventory to check that it parses. */
export const PARSE_CHECK_BYTES = MiB;

export class InventoryValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryValidationError';
  }
}

export interface DownloadDeps {
  readonly glacier: GlacierClient;
  readonly s3: S3Client;
  readonly store: InventoryStore;
  readonly bucket: string;
  readonly log: Log;
}

export interface InventoryChunk {
  readonly partNumber: number;
  /** Inclusive byte range of the job output. */
  readonly start: number;
  readonly end: number;
}

export interface DownloadPlan {
  readonly uploadId: string;
  readonly key: string;
  readonly size: number;
  readonly chunks: InventoryChunk[];
}

export interface ValidatedInventory {
  readonly key: string;
  readonly size: number;
  readonly format: InventoryFormat;
}

/** Ranges of at least 64 MiB (whole MiB), at most {@link MAX_INVENTORY_CHUNKS} of them. */
export function planInventoryChunks(size: number): InventoryChunk[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`invalid inventory size ${size}`);
  const chunk = Math.max(MIN_INVENTORY_CHUNK, Math.ceil(size / MAX_INVENTORY_CHUNKS / MiB) * MiB);
  const chunks: InventoryChunk[] = [];
  for (let start = 0, part = 1; start < size; start += chunk, part++) {
    chunks.push({ partNumber: part, start, end: Math.min(size, start + chunk) - 1 });
  }
  return chunks;
}

export async function prepareDownload(deps: DownloadDeps, event: { runId: string; vaultName: string; jobId: string }): Promise<DownloadPlan> {
  const { runId, vaultName, jobId } = event;
  const job = await deps.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId }));
  if (job.StatusCode !== 'Succeeded' || job.Action !== 'InventoryRetrieval') {
    throw new InventoryValidationError(`job ${jobId} is not a succeeded inventory retrieval (Action ${job.Action}, StatusCode ${job.StatusCode})`);
  }
  const size = job.InventorySizeInBytes ?? 0;
  const key = originalInventoryKey(runId);
  const previous = await deps.store.get(runId);
  if (previous?.uploadId) {
    await deps.s3.send(new AbortMultipartUploadCommand({ Bucket: deps.bucket, Key: key, UploadId: previous.uploadId })).catch(() => undefined);
  }
  const upload = await deps.s3.send(new CreateMultipartUploadCommand({ Bucket: deps.bucket, Key: key, ContentType: 'text/csv' }));
  if (!upload.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  await deps.store.update(runId, { uploadId: upload.UploadId, inventorySize: size, inventoryKey: key });
  const chunks = planInventoryChunks(size);
  deps.log.info('inventory download planned', { runId, jobId, size, chunks: chunks.length });
  return { uploadId: upload.UploadId, key, size, chunks };
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for await (const piece of body as AsyncIterable<Uint8Array | string>) parts.push(typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece));
  return Buffer.concat(parts);
}

export interface ChunkEvent extends InventoryChunk {
  readonly vaultName: string;
  readonly jobId: string;
  readonly uploadId: string;
  readonly key: string;
}

/** One range: GetJobOutput → UploadPart. Retried by the state machine on any error. */
export async function downloadChunk(deps: Pick<DownloadDeps, 'glacier' | 's3' | 'bucket'>, event: ChunkEvent): Promise<{ partNumber: number; size: number }> {
  const out = await deps.glacier.send(new GetJobOutputCommand({
    accountId: '-', vaultName: event.vaultName, jobId: event.jobId, range: `bytes=${event.start}-${event.end}`,
  }));
  const data = await bodyBytes(out.body);
  const expected = event.end - event.start + 1;
  if (data.length !== expected) throw new InventoryValidationError(`range ${event.start}-${event.end}: got ${data.length} bytes, expected ${expected}`);
  await deps.s3.send(new UploadPartCommand({
    Bucket: deps.bucket, Key: event.key, UploadId: event.uploadId, PartNumber: event.partNumber, Body: data, ContentLength: data.length,
  }));
  return { partNumber: event.partNumber, size: data.length };
}

/** Checks that an inventory object starts like a Glacier CSV or JSON inventory. */
export async function checkParses(s3: S3Client, bucket: string, key: string, size: number): Promise<InventoryFormat> {
  const whole = size <= PARSE_CHECK_BYTES;
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(whole ? {} : { Range: `bytes=0-${PARSE_CHECK_BYTES - 1}` }) }));
  let head = (await bodyBytes(out.Body)).toString('utf8');
  if (!whole && detectInventoryFormat(head) !== 'json') head = head.slice(0, head.lastIndexOf('\n') + 1);
  const format = detectInventoryFormat(head);
  if (format === undefined && head.trim() !== '') throw new InventoryValidationError(`${key} is neither a Glacier CSV nor a JSON inventory`);
  let archives = 0;
  let firstError: { row: number; message: string } | undefined;
  for await (const record of parseInventory([head])) {
    if (record.kind === 'error' && record.row === 0 && !(whole && /empty inventory/.test(record.message))) {
      throw new InventoryValidationError(`${key} does not parse: ${record.message}`);
    }
    if (record.kind === 'error' && record.row > 0) firstError ??= record;
    if (record.kind === 'archive') archives++;
    if (!whole && archives > 0) break;
  }
  if (!whole && archives === 0) throw new InventoryValidationError(`${key}: no readable archive in its first ${PARSE_CHECK_BYTES} bytes`);
  // A whole file with rows but not one readable archive (no Glacier header, another CSV) is not an
  // inventory: a header-only file (empty vault) has no error and passes.
  if (archives === 0 && firstError) {
    throw new InventoryValidationError(`${key} has no readable archive (row ${firstError.row}: ${firstError.message})`);
  }
  return format ?? 'csv';
}

export async function completeDownload(
  deps: DownloadDeps,
  event: { runId: string; uploadId: string; key: string; size: number },
): Promise<ValidatedInventory> {
  const { runId, uploadId, key, size } = event;
  const expectedParts = planInventoryChunks(size).length;
  let completed = false;
  if (expectedParts === 0) {
    await deps.s3.send(new AbortMultipartUploadCommand({ Bucket: deps.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: '', ContentType: 'text/csv' }));
    completed = true;
  }
  if (!completed) {
    try {
      const parts: Part[] = [];
      let marker: string | undefined;
      do {
        const page = await deps.s3.send(new ListPartsCommand({ Bucket: deps.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
        parts.push(...(page.Parts ?? []));
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const total = parts.reduce((s, p) => s + (p.Size ?? 0), 0);
      if (parts.length !== expectedParts || parts.some((p, i) => p.PartNumber !== i + 1) || total !== size) {
        throw new InventoryValidationError(`inventory upload incomplete: ${parts.length}/${expectedParts} parts, ${total}/${size} bytes`);
      }
      await deps.s3.send(new CompleteMultipartUploadCommand({
        Bucket: deps.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
      }));
    } catch (err) {
      // Completed by an earlier attempt: the object is checked below.
      if (errorName(err) !== 'NoSuchUpload') throw err;
    }
  }
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
  if (head.ContentLength !== size) throw new InventoryValidationError(`${key} holds ${head.ContentLength} bytes, the inventory job ${size}`);
  const format = await checkParses(deps.s3, deps.bucket, key, size);
  await deps.store.update(runId, { inventoryStatus: 'downloaded', inventoryKey: key, inventorySize: size, inventoryFormat: format });
  deps.log.info('inventory downloaded and validated', { runId, key, size, format });
  return { key, size, format };
}

export async function checkProvidedInventory(
  deps: DownloadDeps,
  event: { runId: string; vaultName: string; key: string },
): Promise<ValidatedInventory> {
  const { runId, vaultName, key } = event;
  let size: number;
  try {
    size = (await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }))).ContentLength ?? 0;
  } catch (err) {
    if (errorName(err) === 'NotFound' || errorName(err) === 'NoSuchKey') throw new InventoryValidationError(`provided inventory s3://${deps.bucket}/${key} does not exist`);
    throw err;
  }
  const format = await checkParses(deps.s3, deps.bucket, key, size);
  await deps.store.update(runId, { vaultName, inventoryStatus: 'downloaded', inventoryKey: key, inventorySize: size, inventoryFormat: format, source: 'provided' });
  deps.log.info('provided inventory validated', { runId, key, size, format });
  return { key, size, format };
}

/** What the inventory engines counted in an inventory (their summary's fields). */
export interface CountedInventory {
  /** Readable archives. */
  readonly totalCount: number;
  readonly totalBytes: number;
  /** Unreadable rows (each one an archive of unknown size). */
  readonly errorCount: number;
}

/** Totals of a provided inventory that passed the vault check, and the vault's. */
export interface VaultCheckResult {
  readonly archives: number;
  readonly bytes: number;
  readonly vaultArchives: number;
  readonly vaultBytes: number;
}

/**
 * A provided inventory, counted by an engine, against DescribeVault: throws
 * InventoryValidationError naming both counts and sizes when they differ by more than
 * `tolerancePercent` (see core/vault-totals.ts). Runs before anything is requested from Glacier,
 * so understated sizes cannot slip past the quota.
 */
export async function checkProvidedAgainstVault(
  deps: Pick<DownloadDeps, 'glacier' | 'log'>,
  event: { runId: string; vaultName: string; key: string; summary: CountedInventory },
  tolerancePercent: number,
): Promise<VaultCheckResult> {
  const { runId, vaultName, key, summary } = event;
  const provided = { archives: summary.totalCount + summary.errorCount, bytes: summary.totalBytes };
  const vault = await deps.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName }));
  const description = {
    vaultName,
    archives: vault.NumberOfArchives ?? undefined,
    bytes: vault.SizeInBytes ?? undefined,
    lastInventoryDate: vault.LastInventoryDate ?? undefined,
  };
  const mismatch = providedInventoryMismatch(provided, description, tolerancePercent);
  if (mismatch) {
    deps.log.error('provided inventory refused', { runId, key, ...provided, vaultArchives: description.archives, vaultBytes: description.bytes });
    throw new InventoryValidationError(`${key}: ${mismatch}`);
  }
  deps.log.info('provided inventory matches the vault', { runId, key, ...provided, vaultArchives: description.archives, vaultBytes: description.bytes });
  return { ...provided, vaultArchives: description.archives!, vaultBytes: description.bytes! };
}
