/**
 * Vault decommissioning: the pure decision whether one archive may be deleted from its vault, and
 * the early-deletion charge of deleting it.
 *
 * An archive may be deleted only when everything below is proven at deletion time; anything else
 * keeps it, with the first failing check as the reason:
 *  1. the run recorded it `downloaded` (after per-chunk and whole-archive verification), with a time;
 *  2. the destination object at its recorded key exists in the bucket owned by this account
 *     (HeadObject with ExpectedBucketOwner);
 *  3. the object's size equals the archive size;
 *  4. the object is the one the transfer wrote: its `archive-id` metadata names this archive, its
 *     version id is the recorded one (or, when none was recorded, the object has no real version
 *     id), and it was not modified after the transfer recorded it;
 *  5. its `glacier-tree-hash` metadata equals the inventory's SHA256TreeHash.
 */
import { GB } from './cost';
import { DestinationStorageClass, PriceFigure, PriceTable, US_EAST_1_PRICES } from './prices';

/** Why an archive stays in the vault. */
export enum KeepReason {
  /** The run did not record the archive as downloaded and verified (pending, failed, skipped, …). */
  STATUS_NOT_DOWNLOADED = 'status-not-downloaded',
  /** The archive has no item in the run (expired by TTL, or listed by mistake). */
  RECORD_MISSING = 'record-missing',
  /** No object (or a delete marker) at the recorded key. */
  OBJECT_MISSING = 'object-missing',
  /** HeadObject with ExpectedBucketOwner was denied: the bucket is not this account's, or access is missing. */
  WRONG_BUCKET_OWNER = 'wrong-bucket-owner',
  /** HeadObject failed otherwise (bad request, KMS, …). */
  OBJECT_UNREADABLE = 'object-unreadable',
  SIZE_MISMATCH = 'size-mismatch',
  /** The object at the key is not the one the transfer wrote (other archive id, version or later write). */
  OBJECT_REPLACED = 'object-replaced',
  /** The object's stored Glacier tree hash is missing or differs from the inventory's. */
  TREE_HASH_MISMATCH = 'tree-hash-mismatch',
}

/** The archive-item facts the decision reads (a subset of the transfer table's archive item). */
export interface ArchiveFacts {
  readonly archiveId: string;
  readonly size: number;
  /** Inventory SHA256TreeHash. */
  readonly treeHash: string;
  /** Inventory CreationDate (ISO-8601). */
  readonly creationDate: string;
  readonly objectKey?: string;
  readonly status: string;
  readonly downloadedAt?: string;
  readonly objectVersionId?: string;
  readonly failureReason?: string;
}

/** What HeadObject (current version, ExpectedBucketOwner set) said about the recorded key. */
export type ObjectFacts =
  | {
    readonly kind: 'found';
    readonly size: number;
    /** `x-amz-version-id`; absent or 'null' for an unversioned object. */
    readonly versionId?: string;
    /** User metadata as S3 returns it (lowercase keys without `x-amz-meta-`). */
    readonly metadata: Readonly<Record<string, string>>;
    readonly lastModified?: Date;
  }
  | { readonly kind: 'missing'; readonly detail?: string }
  | { readonly kind: 'access-denied'; readonly detail?: string }
  | { readonly kind: 'error'; readonly detail: string };

export type Decision =
  | { readonly action: 'delete' }
  | { readonly action: 'keep'; readonly reason: KeepReason; readonly detail: string };

/** Object metadata keys the transfer writes (see handlers/archive-retrieval/object-metadata.ts). */
export const ARCHIVE_ID_METADATA = 'archive-id';
export const TREE_HASH_METADATA = 'glacier-tree-hash';

/**
 * Tolerance for clock differences between the Lambda that recorded `downloadedAt` and S3's
 * LastModified: an object last modified later than this after the transfer recorded it was written again.
 */
export const REWRITE_TOLERANCE_MS = 5 * 60_000;

const keep = (reason: KeepReason, detail: string): Decision => ({ action: 'keep', reason, detail });

/** Status checks only: `undefined` when the object must be examined next. */
export function recordedDecision(archive: ArchiveFacts | undefined): Decision | undefined {
  if (!archive) return keep(KeepReason.RECORD_MISSING, 'no archive item in this run');
  if (archive.status !== 'downloaded') {
    return keep(KeepReason.STATUS_NOT_DOWNLOADED, `status is ${archive.status}${archive.failureReason ? ` (${archive.failureReason})` : ''}`);
  }
  if (!archive.downloadedAt) return keep(KeepReason.STATUS_NOT_DOWNLOADED, 'status is downloaded but no verification time was recorded');
  if (!archive.objectKey) return keep(KeepReason.OBJECT_MISSING, 'no object key recorded');
  return undefined;
}

/** The whole decision for one archive, given what HeadObject said about its recorded key. */
export function decideArchive(archive: ArchiveFacts | undefined, object: ObjectFacts | undefined): Decision {
  const recorded = recordedDecision(archive);
  if (recorded) return recorded;
  const a = archive!;
  if (!object) throw new Error(`archive ${a.archiveId}: the object must be examined before deciding`);
  switch (object.kind) {
    case 'missing':
      return keep(KeepReason.OBJECT_MISSING, object.detail ?? `no object at ${a.objectKey}`);
    case 'access-denied':
      return keep(KeepReason.WRONG_BUCKET_OWNER, object.detail ?? 'HeadObject with ExpectedBucketOwner was denied');
    case 'error':
      return keep(KeepReason.OBJECT_UNREADABLE, object.detail);
    case 'found':
      break;
  }
  if (object.size !== a.size) return keep(KeepReason.SIZE_MISMATCH, `object has ${object.size} bytes, archive ${a.size}`);
  const metaArchiveId = object.metadata[ARCHIVE_ID_METADATA];
  if (metaArchiveId !== a.archiveId) {
    return keep(KeepReason.OBJECT_REPLACED, metaArchiveId === undefined ? 'object has no archive-id metadata' : 'object metadata names another archive');
  }
  const version = object.versionId && object.versionId !== 'null' ? object.versionId : undefined;
  if (a.objectVersionId !== undefined && a.objectVersionId !== '' && version !== a.objectVersionId) {
    return keep(KeepReason.OBJECT_REPLACED, `current version ${version ?? 'null'} is not the recorded ${a.objectVersionId}`);
  }
  if ((a.objectVersionId === undefined || a.objectVersionId === '') && version !== undefined) {
    return keep(KeepReason.OBJECT_REPLACED, `current version ${version} was written after the transfer (no version recorded)`);
  }
  const downloadedAt = Date.parse(a.downloadedAt!);
  if (object.lastModified && Number.isFinite(downloadedAt) && object.lastModified.getTime() > downloadedAt + REWRITE_TOLERANCE_MS) {
    return keep(KeepReason.OBJECT_REPLACED, `object last modified ${object.lastModified.toISOString()}, after the transfer recorded it at ${a.downloadedAt}`);
  }
  const stored = object.metadata[TREE_HASH_METADATA];
  if (stored === undefined) return keep(KeepReason.TREE_HASH_MISMATCH, 'object has no glacier-tree-hash metadata');
  if (stored.toLowerCase() !== a.treeHash.toLowerCase()) return keep(KeepReason.TREE_HASH_MISMATCH, 'stored tree hash differs from the inventory');
  return { action: 'delete' };
}

/* ---- Early deletion ---- */

/** Vault archives are billed for at least this many days. */
export const VAULT_MINIMUM_STORAGE_DAYS = 90;
const DAY_MS = 86_400_000;
const DAYS_PER_MONTH = 30;

/**
 * Vault storage price per GB-month. The price table has no vault row; vault storage is priced like
 * the S3 Glacier Flexible Retrieval class (GLACIER), so that figure (and its verified flag) is used.
 */
export function vaultStoragePrice(prices: PriceTable = US_EAST_1_PRICES): PriceFigure {
  return prices.s3[DestinationStorageClass.GLACIER].storagePerGBMonth;
}

export interface EarlyDeletion {
  readonly ageDays: number;
  /** Days short of the 90-day minimum (0 when older). */
  readonly chargeableDays: number;
  readonly usd: number;
}

/** Prorated charge for deleting an archive of `sizeBytes` created at `creationDate`, at `now`. */
export function earlyDeletionCharge(sizeBytes: number, creationDate: string, now: Date, prices: PriceTable = US_EAST_1_PRICES): EarlyDeletion {
  const created = Date.parse(creationDate);
  // An unreadable creation date is charged as if the archive were new (the safe side of an estimate).
  const ageDays = Number.isFinite(created) ? Math.max(0, (now.getTime() - created) / DAY_MS) : 0;
  const chargeableDays = Math.max(0, VAULT_MINIMUM_STORAGE_DAYS - ageDays);
  const usd = (sizeBytes / GB) * vaultStoragePrice(prices).usd * (chargeableDays / DAYS_PER_MONTH);
  return { ageDays, chargeableDays, usd };
}

/* ---- Totals ---- */

/** Counts and bytes of a set of decisions; batch totals are merged into the execution's totals. */
export interface PlanTotals {
  /** Archives examined. */
  archives: number;
  /** Deletable (dry run) or deleted by this execution. */
  toDelete: number;
  toDeleteBytes: number;
  /** Deleted earlier (recorded on the archive item) or already gone from the vault. */
  alreadyDeleted: number;
  alreadyDeletedBytes: number;
  kept: number;
  keptBytes: number;
  keptByReason: Record<string, number>;
  /** Archives younger than 90 days among `toDelete`, and their charge. */
  earlyDeletionArchives: number;
  earlyDeletionUsd: number;
  /** Deletions left for a retry (throttling, time). */
  deferred: number;
}

export function emptyTotals(): PlanTotals {
  return {
    archives: 0,
    toDelete: 0,
    toDeleteBytes: 0,
    alreadyDeleted: 0,
    alreadyDeletedBytes: 0,
    kept: 0,
    keptBytes: 0,
    keptByReason: {},
    earlyDeletionArchives: 0,
    earlyDeletionUsd: 0,
    deferred: 0,
  };
}

export function mergeTotals(into: PlanTotals, add: Partial<PlanTotals>): PlanTotals {
  for (const key of Object.keys(into) as Array<keyof PlanTotals>) {
    if (key === 'keptByReason') continue;
    const value = add[key];
    if (typeof value === 'number' && Number.isFinite(value)) (into[key] as number) += value;
  }
  for (const [reason, count] of Object.entries(add.keptByReason ?? {})) into.keptByReason[reason] = (into.keptByReason[reason] ?? 0) + count;
  return into;
}
