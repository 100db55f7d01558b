import { GB } from '../../src/core/cost';
import {
  ArchiveFacts,
  decideArchive,
  earlyDeletionCharge,
  emptyTotals,
  KeepReason,
  mergeTotals,
  ObjectFacts,
  REWRITE_TOLERANCE_MS,
  vaultStoragePrice,
} from '../../src/core/decommission-plan';

const ARCHIVE_ID = 'A'.repeat(138);
const TREE = 'ab'.repeat(32);
const archive: ArchiveFacts = {
  archiveId: ARCHIVE_ID,
  size: 5_000_000,
  treeHash: TREE,
  creationDate: '2015-01-01T00:00:00.000Z',
  objectKey: 'photos/a.jpg',
  status: 'downloaded',
  downloadedAt: '2026-01-10T12:00:00.000Z',
};
const object: Extract<ObjectFacts, { kind: 'found' }> = {
  kind: 'found',
  size: 5_000_000,
  metadata: { 'archive-id': ARCHIVE_ID, 'glacier-tree-hash': TREE },
  lastModified: new Date('2026-01-10T11:59:00.000Z'),
};
const keepReason = (a: ArchiveFacts | undefined, o: ObjectFacts | undefined) => {
  const d = decideArchive(a, o);
  return d.action === 'keep' ? d.reason : 'delete';
};

describe('decideArchive', () => {
  test('deletes only when every fact is proven', () => {
    expect(decideArchive(archive, object)).toEqual({ action: 'delete' });
    // Upper-case hex in the metadata is the same hash.
    expect(keepReason(archive, { ...object, metadata: { ...object.metadata, 'glacier-tree-hash': TREE.toUpperCase() } })).toBe('delete');
  });

  test('missing object (404, delete marker)', () => {
    expect(keepReason(archive, { kind: 'missing' })).toBe(KeepReason.OBJECT_MISSING);
    expect(keepReason({ ...archive, objectKey: undefined }, undefined)).toBe(KeepReason.OBJECT_MISSING);
  });

  test('size mismatch', () => {
    expect(keepReason(archive, { ...object, size: 4_999_999 })).toBe(KeepReason.SIZE_MISMATCH);
  });

  test('tree hash mismatch or missing', () => {
    expect(keepReason(archive, { ...object, metadata: { ...object.metadata, 'glacier-tree-hash': 'cd'.repeat(32) } })).toBe(KeepReason.TREE_HASH_MISMATCH);
    expect(keepReason(archive, { ...object, metadata: { 'archive-id': ARCHIVE_ID } })).toBe(KeepReason.TREE_HASH_MISMATCH);
  });

  test('wrong bucket owner (ExpectedBucketOwner denied)', () => {
    expect(keepReason(archive, { kind: 'access-denied' })).toBe(KeepReason.WRONG_BUCKET_OWNER);
  });

  test('status not downloaded (failed, skipped, pending, no verification time), record missing', () => {
    for (const status of ['failed', 'skipped', 'pending', 'requested', 'staged']) {
      expect(keepReason({ ...archive, status, failureReason: 'tree hash mismatch after 3 attempts' }, object)).toBe(KeepReason.STATUS_NOT_DOWNLOADED);
    }
    expect(keepReason({ ...archive, downloadedAt: undefined }, object)).toBe(KeepReason.STATUS_NOT_DOWNLOADED);
    expect(keepReason(undefined, undefined)).toBe(KeepReason.RECORD_MISSING);
    const failed = decideArchive({ ...archive, status: 'failed', failureReason: 'expired' }, undefined);
    expect(failed).toEqual({ action: 'keep', reason: KeepReason.STATUS_NOT_DOWNLOADED, detail: 'status is failed (expired)' });
  });

  test('object replaced after the transfer: other version id', () => {
    const versioned = { ...archive, objectVersionId: 'v1' };
    expect(keepReason(versioned, { ...object, versionId: 'v1' })).toBe('delete');
    expect(keepReason(versioned, { ...object, versionId: 'v2' })).toBe(KeepReason.OBJECT_REPLACED);
    expect(keepReason(versioned, { ...object, versionId: undefined })).toBe(KeepReason.OBJECT_REPLACED);
    // No version recorded (unversioned at transfer) but the current object has a real version: written later.
    expect(keepReason(archive, { ...object, versionId: 'v9' })).toBe(KeepReason.OBJECT_REPLACED);
    expect(keepReason(archive, { ...object, versionId: 'null' })).toBe('delete');
  });

  test('object replaced after the transfer: archive-id metadata differs or is missing, or modified later', () => {
    expect(keepReason(archive, { ...object, metadata: { ...object.metadata, 'archive-id': 'B'.repeat(138) } })).toBe(KeepReason.OBJECT_REPLACED);
    expect(keepReason(archive, { ...object, metadata: { 'glacier-tree-hash': TREE } })).toBe(KeepReason.OBJECT_REPLACED);
    const later = new Date(Date.parse(archive.downloadedAt!) + REWRITE_TOLERANCE_MS + 1000);
    expect(keepReason(archive, { ...object, lastModified: later })).toBe(KeepReason.OBJECT_REPLACED);
    const withinSkew = new Date(Date.parse(archive.downloadedAt!) + 60_000);
    expect(keepReason(archive, { ...object, lastModified: withinSkew })).toBe('delete');
  });

  test('other HeadObject failures keep the archive', () => {
    expect(keepReason(archive, { kind: 'error', detail: 'HeadObject failed: BadRequest 400' })).toBe(KeepReason.OBJECT_UNREADABLE);
  });

  test('the status check comes first: a failed archive is kept even if an object exists', () => {
    expect(keepReason({ ...archive, status: 'failed' }, object)).toBe(KeepReason.STATUS_NOT_DOWNLOADED);
  });
});

describe('earlyDeletionCharge', () => {
  const price = vaultStoragePrice().usd;

  test('nothing for archives 90 days or older', () => {
    const c = earlyDeletionCharge(10 * GB, '2020-01-01T00:00:00Z', new Date('2026-01-01T00:00:00Z'));
    expect(c.chargeableDays).toBe(0);
    expect(c.usd).toBe(0);
  });

  test('prorated remaining days at the vault storage price', () => {
    const now = new Date('2026-03-31T00:00:00Z');
    const c = earlyDeletionCharge(100 * GB, '2026-03-01T00:00:00Z', now); // 30 days old → 60 days left
    expect(c.ageDays).toBeCloseTo(30);
    expect(c.chargeableDays).toBeCloseTo(60);
    expect(c.usd).toBeCloseTo(100 * price * 2);
  });

  test('an unreadable creation date is charged the full 90 days', () => {
    expect(earlyDeletionCharge(GB, 'not a date', new Date()).usd).toBeCloseTo(price * 3);
  });
});

test('totals merge counts, bytes and reasons', () => {
  const t = emptyTotals();
  mergeTotals(t, { ...emptyTotals(), kept: 1, keptBytes: 10, keptByReason: { 'size-mismatch': 1 } });
  mergeTotals(t, { ...emptyTotals(), kept: 2, toDelete: 3, keptByReason: { 'size-mismatch': 1, 'object-missing': 1 }, earlyDeletionUsd: 0.5 });
  expect(t).toMatchObject({ kept: 3, keptBytes: 10, toDelete: 3, earlyDeletionUsd: 0.5, keptByReason: { 'size-mismatch': 2, 'object-missing': 1 } });
});
