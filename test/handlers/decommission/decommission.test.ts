/* eslint-disable @stylistic/max-len */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEST, LocalWorld, TABLE } from './local-world';
import { activeVaultPk, ARCHIVE_SK, archivePk, deletionLogKey, RUN_SK, runPk, runStatusKey } from '../../../src/contract/keys';
import { KeepReason } from '../../../src/core/decommission-plan';
import { decommissionBatch, DecommissionBatchResult, DecisionLine, partKeyOf } from '../../../src/handlers/decommission/batch';
import { DecommissionInput, listRunArchives, ListedArchive, parseDryRun } from '../../../src/handlers/decommission/list-archives';
import { RateLimiter } from '../../../src/handlers/decommission/rate-limiter';
import { DeletionLogEntry, writeDecommissionReport } from '../../../src/handlers/decommission/report';
import { finalizeVault, InventoryChecked, InventoryRequested, VaultDeletion } from '../../../src/handlers/decommission/vault-finalizer';
import { ArchiveStatus, RunState } from '../../../src/handlers/shared/schema';

let world: LocalWorld;
beforeAll(async () => {
  world = await LocalWorld.start();
});
afterAll(async () => world.stop());

const input = (dryRun: 'YES' | 'NO', id = 'exec-1'): DecommissionInput => ({ runId: world.runId, vaultName: world.vaultName, dryRun, executionName: id });
const batchEvent = (dryRun: 'YES' | 'NO', items: ListedArchive[] = world.archives.map((a) => ({ archiveId: a.archiveId })), id = 'exec-1') => ({
  BatchInput: { runId: world.runId, vaultName: world.vaultName, dryRun, decommissionId: id },
  Items: items,
});
const decisionsOf = (r: DecommissionBatchResult) => world.readLines<DecisionLine>(r.partKey);
const reasonOf = (r: DecommissionBatchResult, index: number) => decisionsOf(r).find((d) => d.archiveId === world.archives[index].archiveId)!;
const itemOf = async (index: number) => (await world.ddb.send(new GetCommand({ TableName: TABLE, Key: { pk: archivePk(world.runId, world.archives[index].archiveId), sk: ARCHIVE_SK } }))).Item!;

describe('ListRunArchives', () => {
  test('lists every archive of a COMPLETED run, all statuses', async () => {
    await world.seed(4);
    await world.putItem({ ...world.archives[3].item, status: ArchiveStatus.FAILED, runStatus: runStatusKey(world.runId, ArchiveStatus.FAILED), failureReason: 'gave up' });
    const r = await listRunArchives(world.listDeps(), input('YES'));
    expect(r).toMatchObject({ count: 4, dryRun: 'YES', decommissionId: 'exec-1', countsByStatus: { downloaded: 3, failed: 1 } });
    const listed = await world.readJson<ListedArchive[]>(r.key);
    expect(listed.map((a) => a.archiveId).sort()).toEqual(world.archives.map((a) => a.archiveId).sort());
  });

  test('refuses a wrong confirmation, an unfinished run, an active vault, and a real run without deletion enabled', async () => {
    await world.seed(1);
    await expect(listRunArchives(world.listDeps(), { ...input('YES'), vaultName: 'other' })).rejects.toThrow(/confirmation/);
    await expect(listRunArchives(world.listDeps({ deletionEnabled: false }), input('NO'))).rejects.toMatchObject({ name: 'DecommissionRefusedError' });
    await expect(listRunArchives(world.listDeps({ deletionEnabled: false }), input('YES'))).resolves.toMatchObject({ count: 1 });
    await world.ddb.send(new PutCommand({ TableName: TABLE, Item: { pk: activeVaultPk(world.vaultName), sk: RUN_SK, runId: 'another' } }));
    await expect(listRunArchives(world.listDeps(), input('YES'))).rejects.toThrow(/active/);
    await world.ddb.send(new DeleteCommand({ TableName: TABLE, Key: { pk: activeVaultPk(world.vaultName), sk: RUN_SK } }));
    await world.ddb.send(new UpdateCommand({ TableName: TABLE, Key: { pk: runPk(world.runId), sk: RUN_SK }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':s': RunState.STOPPED } }));
    await expect(listRunArchives(world.listDeps(), input('YES'))).rejects.toThrow(/COMPLETED/);
  });

  test('dry run is the default for anything but NO', () => {
    expect([undefined, 'YES', 'yes', '', true, 'maybe'].map(parseDryRun)).toEqual(['YES', 'YES', 'YES', 'YES', 'YES', 'YES']);
    expect(['NO', 'no', false].map(parseDryRun)).toEqual(['NO', 'NO', 'NO']);
  });
});

describe('DecommissionBatch: every keep reason, against the local S3 and Glacier', () => {
  test('missing object, size mismatch, tree hash mismatch, status not downloaded, object replaced (version / archive-id), wrong owner', async () => {
    await world.seed(8);
    const [, missing, resized, rehashed, failed, newVersion, otherId] = world.archives;
    world.s3.buckets.get(DEST)!.objects.delete(missing.key);
    await world.s3Client.send(new PutObjectCommand({ Bucket: DEST, Key: resized.key, Body: Buffer.alloc(10), Metadata: { 'archive-id': resized.archiveId, 'glacier-tree-hash': resized.treeHash } }));
    // A versioned bucket: rewrite with the transfer's metadata but other bytes. Recorded version id no longer current.
    await world.s3Client.send(new PutObjectCommand({ Bucket: DEST, Key: newVersion.key, Body: newVersion.data, Metadata: { 'archive-id': newVersion.archiveId, 'glacier-tree-hash': newVersion.treeHash } }));
    await world.putItem({ ...failed.item, status: ArchiveStatus.FAILED, runStatus: runStatusKey(world.runId, ArchiveStatus.FAILED) });
    // Tree hash / archive-id checks: change the stored metadata while keeping the recorded version current.
    const obj = (k: string) => world.s3.buckets.get(DEST)!.objects.get(k)! as { metadata: Record<string, string> };
    (obj(rehashed.key).metadata as Record<string, string>)['glacier-tree-hash'] = '0'.repeat(64);
    (obj(otherId.key).metadata as Record<string, string>)['archive-id'] = 'Z'.repeat(138);

    const r = await decommissionBatch(world.batchDeps(), batchEvent('YES'));
    expect(reasonOf(r, 0).outcome).toBe('delete');
    expect(reasonOf(r, 7).outcome).toBe('delete');
    expect(reasonOf(r, 1).reason).toBe(KeepReason.OBJECT_MISSING);
    expect(reasonOf(r, 2).reason).toBe(KeepReason.SIZE_MISMATCH);
    expect(reasonOf(r, 3).reason).toBe(KeepReason.TREE_HASH_MISMATCH);
    expect(reasonOf(r, 4).reason).toBe(KeepReason.STATUS_NOT_DOWNLOADED);
    expect(reasonOf(r, 5).reason).toBe(KeepReason.OBJECT_REPLACED);
    expect(reasonOf(r, 6).reason).toBe(KeepReason.OBJECT_REPLACED);
    expect(r).toMatchObject({ archives: 8, toDelete: 2, kept: 6, deferred: 0, dryRun: 'YES' });
    expect(r.keptByReason).toEqual({ 'object-missing': 1, 'size-mismatch': 1, 'tree-hash-mismatch': 1, 'status-not-downloaded': 1, 'object-replaced': 2 });
    // A dry run deletes nothing and records nothing.
    expect(await world.archiveCount(world.vaultName)).toBe(8);
    expect((await itemOf(0)).vaultDeletedAt).toBeUndefined();

    // Wrong bucket owner: the bucket is not the expected account's.
    const foreign = await decommissionBatch(world.batchDeps({ expectedBucketOwner: '999999999999' }), batchEvent('NO', [{ archiveId: world.archives[0].archiveId }]));
    expect(reasonOf(foreign, 0).reason).toBe(KeepReason.WRONG_BUCKET_OWNER);
    expect(await world.archiveCount(world.vaultName)).toBe(8);
  });

  test('dry run deletes nothing and prices early deletion of young archives', async () => {
    await world.seed(3, { creationDate: new Date(Date.now() - 30 * 86_400_000).toISOString() });
    const r = await decommissionBatch(world.batchDeps(), batchEvent('YES'));
    expect(r).toMatchObject({ toDelete: 3, kept: 0, earlyDeletionArchives: 3 });
    expect(r.earlyDeletionUsd).toBeGreaterThan(0);
    expect(decisionsOf(r).every((d) => d.earlyDeletionUsd! > 0 && d.ageDays === 30)).toBe(true);
    expect(await world.archiveCount(world.vaultName)).toBe(3);
    expect(world.glacier.jobs.size).toBe(0);
  });

  test('a real run deletes the proven archives, records each deletion, and is idempotent', async () => {
    await world.seed(4);
    world.s3.buckets.get(DEST)!.objects.delete(world.archives[2].key);
    const r = await decommissionBatch(world.batchDeps(), batchEvent('NO'));
    expect(r).toMatchObject({ toDelete: 3, kept: 1, alreadyDeleted: 0 });
    expect(await world.archiveCount(world.vaultName)).toBe(1);
    const item = await itemOf(0);
    expect(item).toMatchObject({ vaultDeletion: 'deleted', vaultDeletionObjectVersionId: world.archives[0].item.objectVersionId, status: 'downloaded' });
    expect(Date.parse(item.vaultDeletedAt)).toBeGreaterThan(0);
    const again = await decommissionBatch(world.batchDeps(), batchEvent('NO'));
    expect(again).toMatchObject({ toDelete: 0, alreadyDeleted: 3, kept: 1 });
    expect(again.partKey).toBe(r.partKey);
  });

  test('resume after a crash mid-deletion: the lost record is recovered, nothing fails', async () => {
    await world.seed(5);
    let updates = 0;
    const crashing = {
      send: async (command: unknown) => {
        if (command instanceof UpdateCommand && ++updates === 3) throw Object.assign(new Error('Lambda crashed'), { name: 'Crash' });
        return world.ddb.send(command as never);
      },
    } as unknown as typeof world.ddb;
    await expect(decommissionBatch(world.batchDeps({ ddb: crashing, concurrency: 1 }), batchEvent('NO'))).rejects.toThrow('Lambda crashed');
    // The third archive is gone from the vault, but its deletion was not recorded; the last two were not reached.
    expect(await world.archiveCount(world.vaultName)).toBe(2);
    expect((await itemOf(2)).vaultDeletedAt).toBeUndefined();

    const resumed = await decommissionBatch(world.batchDeps({ concurrency: 1 }), batchEvent('NO'));
    expect(resumed).toMatchObject({ toDelete: 3, alreadyDeleted: 2, kept: 0, deferred: 0 });
    expect(await world.archiveCount(world.vaultName)).toBe(0);
    expect((await itemOf(2)).vaultDeletion).toBe('not-found');
    expect((await itemOf(3)).vaultDeletion).toBe('deleted');

    const report = await writeDecommissionReport(world.reportDeps(), { runId: world.runId, vaultName: world.vaultName, dryRun: 'NO', decommissionId: 'exec-1', listed: 5 });
    const log = await world.readJson<DeletionLogEntry[]>(deletionLogKey(world.runId));
    expect(log.map((e) => e.archiveId).sort()).toEqual(world.archives.map((a) => a.archiveId).sort());
    expect(log.every((e) => e.deletedAt && e.objectKey && e.objectVersionId)).toBe(true);
    expect(report.deletedTotal).toBe(5);
  });

  test('throttling: backs off, slows down, and defers (retryable error) what stays throttled', async () => {
    await world.seed(3);
    const attempts = new Map<string, number>();
    world.fault = (info) => {
      if (info.operation !== 'DeleteArchive' || !info.archiveId) return undefined;
      const n = (attempts.get(info.archiveId) ?? 0) + 1;
      attempts.set(info.archiveId, n);
      if (info.archiveId === world.archives[2].archiveId) return { kind: 'throttle' };
      return n <= 2 ? { kind: 'throttle' } : undefined;
    };
    const sleeps: number[] = [];
    const deps = world.batchDeps({ sleep: async (ms) => { sleeps.push(ms); }, random: () => 0.5, concurrency: 1, maxAttempts: 4 });
    await expect(decommissionBatch(deps, batchEvent('NO'))).rejects.toMatchObject({ name: 'DeletionDeferredError' });
    expect(await world.archiveCount(world.vaultName)).toBe(1);
    expect(attempts.get(world.archives[2].archiveId)).toBe(4);
    expect(sleeps.filter((ms) => ms > 0).length).toBeGreaterThan(0);
    world.fault = undefined;
    const retried = await decommissionBatch(world.batchDeps(), batchEvent('NO'));
    expect(retried).toMatchObject({ toDelete: 1, alreadyDeleted: 2, deferred: 0 });
    expect(await world.archiveCount(world.vaultName)).toBe(0);
  });

  test('the decisions part is named by the batch content', () => {
    expect(partKeyOf('r', 'e', [{ archiveId: 'a' }, { archiveId: 'b' }])).toBe(partKeyOf('r', 'e', [{ archiveId: 'a' }, { archiveId: 'b' }]));
    expect(partKeyOf('r', 'e', [{ archiveId: 'a' }])).not.toBe(partKeyOf('r', 'e', [{ archiveId: 'b' }]));
    expect(partKeyOf('r', 'e', [{ archiveId: 'a' }])).toMatch(/^r\/decommission\/e\/decisions\/[0-9a-f]{32}\.jsonl$/);
  });
});

describe('RateLimiter', () => {
  test('spaces calls and slows down on throttling', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now, async (ms) => { now += ms; });
    for (let i = 0; i < 5; i++) await limiter.take();
    expect(now).toBe(400);
    limiter.throttled();
    expect(limiter.intervalMs).toBe(200);
    for (let i = 0; i < 10; i++) limiter.throttled();
    expect(limiter.intervalMs).toBe(800);
    for (let i = 0; i < 100; i++) limiter.succeeded();
    expect(limiter.intervalMs).toBe(100);
  });
});

describe('VaultFinalizer', () => {
  test('stale inventory, non-empty inventory, empty inventory then DeleteVault', async () => {
    await world.seed(2);
    const base = { runId: world.runId, vaultName: world.vaultName, decommissionId: 'exec-1' };
    const requested = await finalizeVault(world.finalizerDeps(), { ...base, action: 'request-inventory' }) as InventoryRequested;
    expect(requested.attempt).toBe(1);
    let checked = await finalizeVault(world.finalizerDeps(), { ...base, action: 'check-inventory', jobId: requested.jobId, notBefore: new Date(Date.now() + 3_600_000).toISOString() }) as InventoryChecked;
    for (let i = 0; i < 50 && !checked.completed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      checked = await finalizeVault(world.finalizerDeps(), { ...base, action: 'check-inventory', jobId: requested.jobId, notBefore: new Date(Date.now() + 3_600_000).toISOString() }) as InventoryChecked;
    }
    expect(checked).toMatchObject({ completed: true, stale: true, archiveCount: 2 });
    const fresh = await finalizeVault(world.finalizerDeps(), { ...base, action: 'check-inventory', jobId: requested.jobId, notBefore: '2000-01-01T00:00:00Z' }) as InventoryChecked;
    expect(fresh).toMatchObject({ stale: false, archiveCount: 2 });
    expect((await world.readJson<{ archives: unknown[] }>(fresh.remainingKey)).archives).toHaveLength(2);
    const refused = await finalizeVault(world.finalizerDeps(), { ...base, action: 'delete-vault' }) as VaultDeletion;
    expect(refused.vaultDeleted).toBe(false);

    await decommissionBatch(world.batchDeps(), batchEvent('NO'));
    const deleted = await finalizeVault(world.finalizerDeps(), { ...base, action: 'delete-vault' }) as VaultDeletion;
    expect(deleted).toMatchObject({ vaultDeleted: true, alreadyDeleted: false });
    expect(await world.archiveCount(world.vaultName)).toBe('vault deleted');
    expect(await finalizeVault(world.finalizerDeps(), { ...base, action: 'delete-vault' })).toMatchObject({ vaultDeleted: true, alreadyDeleted: true });
  });
});
