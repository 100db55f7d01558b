import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { batch, GiB, hashOf, METRICS, row, RUN, START, TOPIC, VAULT, World } from './world';
import { QUOTA_LEDGER_PK, runSpendPk } from '../../../src/contract/keys';
import { parseRetrievalJobDescription, retrievalJobDescription } from '../../../src/contract/messages';
import { retrievalMicroUsd } from '../../../src/core/run-spend';
import { RetrievalCapacityUnavailableError, RetrievalPolicyEnforcedError } from '../../../src/handlers/initiate-retrieval/glacier-request';
import { initiateBatch, InvalidBatchInputError } from '../../../src/handlers/initiate-retrieval/initiate-batch';
import { SPEND_CAP_RECHECK_SECONDS } from '../../../src/handlers/initiate-retrieval/run-spend-ledger';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeS3 } from '../../doubles/s3';
import { awsError } from '../../doubles/service';

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(() => world.reset());

const rows = (from: number, count: number, size = GiB) => Array.from({ length: count }, (_, i) => row(from + i, size));

describe('InitiateArchiveRetrieval batch', () => {
  test('writes every archive item, requests it with tier, topic and a matchable description, and records the job id', async () => {
    const result = await initiateBatch(world.deps(), batch(rows(1, 5)));

    expect(result).toEqual({
      waitSeconds: 0,
      requested: 5,
      requestedBytes: 5 * GiB,
      alreadyHandled: 0,
      failed: 0,
      invalid: 0,
      deferred: 0,
      alreadyAtDestination: 0,
      retargeted: 0,
    });
    expect(world.glacier.calls).toHaveLength(5);
    for (const call of world.glacier.calls) {
      expect(call).toMatchObject({ vaultName: VAULT, tier: 'Bulk', topic: TOPIC });
      expect(parseRetrievalJobDescription(call.description)).toEqual({ runId: RUN, archiveId: call.archiveId });
    }
    const item = world.archive(1)!;
    expect(item).toMatchObject({
      status: ArchiveStatus.REQUESTED,
      runStatus: `${RUN}#requested`,
      jobId: world.glacier.calls.find((c) => c.archiveId === item.archiveId)!.jobId,
      objectKey: 'photos/1.jpg',
      storageClass: 'DEEP_ARCHIVE',
      size: GiB,
      treeHash: row(1).SHA256TreeHash,
      creationDate: row(1).CreationDate,
      description: 'photo 1',
      vaultName: VAULT,
      runId: RUN,
    });
    expect(item.jobExpiresAt).toBeUndefined();
    expect(world.ledgerBytes()).toBe(5 * GiB);
  });

  test('the archive item exists (pending) before InitiateJob is called', async () => {
    const seenAtRequest: Array<string | undefined> = [];
    world.glacier.intercept('InitiateJob', (input, real) => {
      seenAtRequest.push(world.archive(Number(input.jobParameters.ArchiveId.slice(8)))?.status);
      return real(input);
    }, { times: Infinity });
    await initiateBatch(world.deps(), batch(rows(1, 3)));
    expect(seenAtRequest).toEqual([ArchiveStatus.PENDING, ArchiveStatus.PENDING, ArchiveStatus.PENDING]);
  });

  test('a redelivered batch requests nothing twice and costs no quota', async () => {
    await initiateBatch(world.deps(), batch(rows(1, 10)));
    const bytes = world.ledgerBytes();
    const again = await initiateBatch(world.deps(), batch(rows(1, 10)));

    expect(again).toMatchObject({ requested: 0, alreadyHandled: 10, waitSeconds: 0 });
    expect(world.glacier.calls).toHaveLength(10);
    expect(world.ledgerBytes()).toBe(bytes);
  });

  test('a pending item left by a crash is requested; requested, staged, downloaded, failed and skipped ones are not', async () => {
    world.seedArchive(1, ArchiveStatus.PENDING);
    world.seedArchive(2, ArchiveStatus.REQUESTED, { jobId: 'old-2' });
    world.seedArchive(3, ArchiveStatus.STAGED, { jobId: 'old-3' });
    world.seedArchive(4, ArchiveStatus.DOWNLOADED, { jobId: 'old-4' });
    world.seedArchive(5, ArchiveStatus.FAILED, { failureReason: 'x' });
    world.seedArchive(6, ArchiveStatus.SKIPPED);

    const result = await initiateBatch(world.deps(), batch(rows(1, 7)));

    expect(world.glacier.requestedArchives().sort()).toEqual([row(1).ArchiveId, row(7).ArchiveId]);
    expect(result).toMatchObject({ requested: 2, alreadyHandled: 5, requestedBytes: 2 * GiB });
    expect(world.archive(1)!.status).toBe(ArchiveStatus.REQUESTED);
    expect(world.archive(3)).toMatchObject({ status: ArchiveStatus.STAGED, jobId: 'old-3' });
    // Only the bytes actually requested count toward the quota.
    expect(world.ledgerBytes()).toBe(2 * GiB);
  });

  test('throttling is retried with backoff and the archive is then requested', async () => {
    world.glacier.failures.set(row(1).ArchiveId, [awsError('ThrottlingException', 400), awsError('ServiceUnavailableException', 500)]);
    const result = await initiateBatch(world.deps(), batch(rows(1, 1)));

    expect(result.requested).toBe(1);
    expect(world.glacier.calls.map((c) => c.error ?? 'ok')).toEqual(['ThrottlingException', 'ServiceUnavailableException', 'ok']);
    expect(world.sleeps.length).toBeGreaterThanOrEqual(2);
    expect(world.archive(1)!.status).toBe(ArchiveStatus.REQUESTED);
  });

  test('persistent throttling is recorded as failed with the reason, never silently skipped, and its bytes are released', async () => {
    world.glacier.failures.set(row(2).ArchiveId, Array.from({ length: 3 }, () => awsError('ThrottlingException', 400, 'Rate exceeded')));
    const result = await initiateBatch(world.deps(), batch(rows(1, 3)));

    expect(result).toMatchObject({ requested: 2, failed: 1 });
    const failed = world.archive(2)!;
    expect(failed.status).toBe(ArchiveStatus.FAILED);
    expect(failed.runStatus).toBe(`${RUN}#failed`);
    expect(failed.failureReason).toMatch(/after 3 attempts: ThrottlingException: Rate exceeded/);
    expect(world.ledgerBytes()).toBe(2 * GiB);
  });

  test('an archive deleted since the inventory is recorded failed at once', async () => {
    world.glacier.failures.set(row(1).ArchiveId, [awsError('ResourceNotFoundException', 404, 'Archive not found')]);
    await initiateBatch(world.deps(), batch(rows(1, 1)));
    expect(world.glacier.calls).toHaveLength(1);
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.FAILED, failureReason: expect.stringMatching(/deleted after the inventory/) });
  });

  test('each request counts one retrieval job; a pending archive at the bound is FAILED with the reason, never requested again', async () => {
    world.seedArchive(2, ArchiveStatus.PENDING, { retrievalJobs: 3 });
    const result = await initiateBatch(world.deps({ maxRetrievalJobs: 3 }), batch(rows(1, 2)));
    expect(result).toMatchObject({ requested: 1, failed: 1 });
    expect(world.glacier.requestedArchives()).toEqual([row(1).ArchiveId]);
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.REQUESTED, retrievalJobs: 1 });
    expect(world.archive(2)).toMatchObject({ status: ArchiveStatus.FAILED, failureReason: expect.stringMatching(/^retrieval job bound reached: 3/) });
  });

  test('PolicyEnforcedException stops the batch with a clear error; unrequested archives stay pending and their bytes are released', async () => {
    world.glacier.failures.set(row(2).ArchiveId, [awsError('PolicyEnforcedException', 400, 'retrieval rate exceeds the policy')]);
    const error = await initiateBatch(world.deps({ concurrency: 1 }), batch(rows(1, 3))).catch((e) => e);

    expect(error).toBeInstanceOf(RetrievalPolicyEnforcedError);
    expect(error.name).toBe('RetrievalPolicyEnforcedError');
    expect(error.message).toMatch(/No Retrieval Limit/);
    expect(world.archive(1)!.status).toBe(ArchiveStatus.REQUESTED);
    expect(world.archive(2)!.status).toBe(ArchiveStatus.PENDING);
    expect(world.archive(3)!.status).toBe(ArchiveStatus.PENDING);
    expect(world.ledgerBytes()).toBe(GiB);

    // After the policy is fixed, the same batch requests exactly the two that are left.
    await initiateBatch(world.deps(), batch(rows(1, 3)));
    expect(world.glacier.requestedArchives().sort()).toEqual(rows(1, 3).map((r) => r.ArchiveId));
  });

  test('InsufficientCapacityException (Expedited) stops the batch with its own error', async () => {
    world.glacier.failures.set(row(1).ArchiveId, [awsError('InsufficientCapacityException', 503)]);
    await expect(initiateBatch(world.deps(), batch(rows(1, 1)))).rejects.toBeInstanceOf(RetrievalCapacityUnavailableError);
    expect(world.archive(1)!.status).toBe(ArchiveStatus.PENDING);
  });

  test('access errors are not recorded as archive failures: the batch fails and the archives stay pending', async () => {
    world.glacier.failures.set(row(1).ArchiveId, [awsError('AccessDeniedException', 403)]);
    await expect(initiateBatch(world.deps({ concurrency: 1 }), batch(rows(1, 1)))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(world.archive(1)!.status).toBe(ArchiveStatus.PENDING);
    expect(world.ledgerBytes()).toBe(0);
  });

  test('unusable rows: no archive id is counted invalid; a bad size is recorded failed with the reason', async () => {
    const result = await initiateBatch(world.deps(), batch([row(1, GiB, { ArchiveId: '' }), row(2, GiB, { Size: '12x' }), row(3)]));
    expect(result).toMatchObject({ invalid: 1, failed: 1, requested: 1 });
    expect(world.archive(2)).toMatchObject({ status: ArchiveStatus.FAILED, failureReason: expect.stringMatching(/Size "12x"/) });
    expect(world.glacier.requestedArchives()).toEqual([row(3).ArchiveId]);
  });

  test('invalid batch input is a typed error', async () => {
    await expect(initiateBatch(world.deps(), { ...batch(rows(1, 1)), BatchInput: { ...batch([]).BatchInput, tier: 'Fast' } })).rejects.toBeInstanceOf(InvalidBatchInputError);
  });
});

describe('per-run spend cap (issue 22)', () => {
  test('at maxRequests the run pauses: the rest stays pending (nothing failed), the batch waits; a raised cap continues', async () => {
    const capped = world.deps({ runSpend: world.runSpend({ maxRequests: 3 }) });
    const first = await initiateBatch(capped, batch(rows(1, 5)));
    expect(first).toMatchObject({ requested: 3, deferred: 2, failed: 0, spendCapReached: true, waitSeconds: SPEND_CAP_RECHECK_SECONDS });
    expect(world.glacier.requestedArchives()).toEqual(rows(1, 3).map((r) => r.ArchiveId));
    expect([world.archive(4)!.status, world.archive(5)!.status]).toEqual([ArchiveStatus.PENDING, ArchiveStatus.PENDING]);
    expect(world.spent().requests).toBe(3);
    // Only what was requested counts toward the shared quota too.
    expect(world.ledgerBytes()).toBe(3 * GiB);

    const again = await initiateBatch(capped, batch(rows(1, 5)));
    expect(again).toMatchObject({ requested: 0, deferred: 2, spendCapReached: true });
    expect(world.glacier.calls).toHaveLength(3);

    const raised = await initiateBatch(world.deps({ runSpend: world.runSpend({ maxRequests: 10 }) }), batch(rows(1, 5)));
    expect(raised).toMatchObject({ requested: 2, deferred: 0, waitSeconds: 0 });
    expect(raised.spendCapReached).toBeUndefined();
    expect(world.spent().requests).toBe(5);
  });

  test('estimated dollars: Bulk 1 GiB = $0.000025 request + $0.0025 retrieval; a $0.01 cap admits three', async () => {
    expect(retrievalMicroUsd('Bulk', GiB)).toBe(2525);
    const result = await initiateBatch(world.deps({ runSpend: world.runSpend({ maxMicroUsd: 10_000 }) }), batch(rows(1, 5)));
    expect(result).toMatchObject({ requested: 3, deferred: 2, spendCapReached: true });
    expect(world.spent()).toEqual({ requests: 3, microUsd: 3 * 2525 });
  });

  test('requests that fail are given back to the run (only sent requests count)', async () => {
    world.glacier.failures.set(row(2).ArchiveId, [awsError('ResourceNotFoundException', 404, 'Archive not found')]);
    const result = await initiateBatch(world.deps({ runSpend: world.runSpend({ maxRequests: 3 }) }), batch(rows(1, 3)));
    expect(result).toMatchObject({ requested: 2, failed: 1 });
    expect(result.spendCapReached).toBeUndefined();
    expect(world.spent()).toEqual({ requests: 2, microUsd: 2 * 2525 });
  });

  test('two request stages of one run at once never pass the cap together (conditional reservation, retried)', async () => {
    let raced = false;
    world.dynamo.beforeCommand = (command, input) => {
      if (!raced && command === 'Update' && String(input.Key.pk).startsWith('run-spend#')) {
        raced = true;
        // Another stage of the run reserves 2 requests between this one's read and write.
        world.dynamo.seed(METRICS, { pk: input.Key.pk, spentRequests: 2, spentMicroUsd: 5050 });
      }
    };
    const result = await initiateBatch(world.deps({ runSpend: world.runSpend({ maxRequests: 3 }) }), batch(rows(1, 3)));
    expect(raced).toBe(true);
    expect(result).toMatchObject({ requested: 1, deferred: 2, spendCapReached: true });
    expect(world.spent().requests).toBe(3);
  });

  test('without a cap no spend item is kept', async () => {
    await initiateBatch(world.deps(), batch(rows(1, 3)));
    expect(world.dynamo.get(METRICS, runSpendPk(RUN))).toBeUndefined();
  });
});

describe('quota', () => {
  test('exhausted quota returns waitSeconds, requests nothing, and the retried batch requests once the window has room', async () => {
    world = (world.reset(), new World(10 * GiB));
    await initiateBatch(world.deps(), batch(rows(1, 10)));
    expect(world.ledgerBytes()).toBe(10 * GiB);

    world.now += 3600 * 1000;
    const blocked = await initiateBatch(world.deps(), batch(rows(11, 5)));
    expect(blocked).toMatchObject({ requested: 0, deferred: 5 });
    // The first 5 GiB leave the window 24 h (+ one ledger bucket + lead) after the first batch.
    expect(blocked.waitSeconds).toBeGreaterThan(23 * 3600);
    expect(blocked.waitSeconds).toBeLessThanOrEqual(23 * 3600 + 60 + 120 + 60);
    expect(world.archive(11)!.status).toBe(ArchiveStatus.PENDING);

    world.now += blocked.waitSeconds * 1000;
    const retried = await initiateBatch(world.deps(), batch(rows(11, 5)));
    expect(retried).toMatchObject({ requested: 5, waitSeconds: 0 });
  });

  test('a partly fitting batch requests the prefix that fits and waits for the rest', async () => {
    world = (world.reset(), new World(3 * GiB));
    const result = await initiateBatch(world.deps(), batch(rows(1, 5)));
    expect(result).toMatchObject({ requested: 3, deferred: 2 });
    expect(result.waitSeconds).toBeGreaterThan(86_000);
    expect(world.glacier.requestedArchives()).toEqual(rows(1, 3).map((r) => r.ArchiveId));
  });

  test('an archive larger than the whole quota is requested alone once the window is empty', async () => {
    world = (world.reset(), new World(2 * GiB));
    const result = await initiateBatch(world.deps(), batch([row(1, 5 * GiB), row(2, GiB)]));
    expect(result).toMatchObject({ requested: 1, deferred: 1 });
    expect(world.glacier.requestedArchives()).toEqual([row(1).ArchiveId]);
  });

  test('a resume of an almost finished vault requests at once: handled archives cost nothing', async () => {
    world = (world.reset(), new World(10 * GiB));
    for (let n = 1; n <= 90; n++) world.seedArchive(n, ArchiveStatus.DOWNLOADED);
    const result = await initiateBatch(world.deps(), batch(rows(1, 100, 100 * 1024 * 1024)));
    expect(result).toMatchObject({ requested: 10, alreadyHandled: 90, waitSeconds: 0 });
  });

  test('a reservation survives a concurrent ledger update (optimistic concurrency, retried)', async () => {
    world = (world.reset(), new World(100 * GiB));
    let injected = false;
    world.dynamo.beforeCommand = (command, input) => {
      if (command === 'Put' && input.TableName === METRICS && !injected) {
        injected = true;
        // Another run's invocation reserves 7 GiB between our read and our write.
        const current = world.dynamo.get(METRICS, QUOTA_LEDGER_PK);
        world.dynamo.seed(METRICS, {
          pk: QUOTA_LEDGER_PK,
          version: (current?.version ?? 0) + 1,
          bucketSeconds: 60,
          buckets: JSON.stringify([[Math.floor(START / 60000) * 60, 7 * GiB]]),
        });
      }
    };
    const result = await initiateBatch(world.deps(), batch(rows(1, 3)));
    expect(injected).toBe(true);
    expect(result.requested).toBe(3);
    expect(world.ledgerBytes()).toBe(10 * GiB);
    expect(world.dynamo.get(METRICS, QUOTA_LEDGER_PK)!.version).toBe(2);
  });

  test('the concurrent update can take the room: the batch then waits instead of overrunning the quota', async () => {
    world = (world.reset(), new World(4 * GiB));
    let injected = false;
    world.dynamo.beforeCommand = (command, input) => {
      if (command === 'Put' && input.TableName === METRICS && !injected) {
        injected = true;
        const buckets = JSON.stringify([[Math.floor(START / 60000) * 60, 3 * GiB]]);
        world.dynamo.seed(METRICS, { pk: QUOTA_LEDGER_PK, version: 5, bucketSeconds: 60, buckets });
      }
    };
    const result = await initiateBatch(world.deps(), batch(rows(1, 3)));
    expect(result).toMatchObject({ requested: 1, deferred: 2 });
    expect(world.ledgerBytes()).toBe(4 * GiB);
  });
});

describe('job description', () => {
  test('round-trips run id and archive id in printable ASCII', () => {
    const text = retrievalJobDescription('run/2026 ü', 'abc-DEF_123');
    expect(text).toMatch(/^[\x20-\x7e]+$/);
    expect(parseRetrievalJobDescription(text)).toEqual({ runId: 'run/2026 ü', archiveId: 'abc-DEF_123' });
    expect(parseRetrievalJobDescription('my own job')).toBeUndefined();
    expect(parseRetrievalJobDescription(undefined)).toBeUndefined();
  });
});

describe('issue #16: objects already at the destination key are looked at before anything is requested', () => {
  const SIZE = 4096; // archives small enough for the S3 double to hold their copies
  const rowsOf = (from: number, count: number) => rows(from, count, SIZE);
  let s3: FakeS3;
  /** An object at `key` with the metadata a verified copy carries (either may be missing). */
  const object = (key: string, size: number, archiveId?: string, treeHash?: string) => s3.seed(key, Buffer.alloc(size), {
    metadata: { ...(archiveId && { 'archive-id': archiveId }), ...(treeHash && { 'glacier-tree-hash': treeHash }) }, versionId: 'v1',
  });
  beforeEach(() => {
    s3 = new FakeS3({ bucket: 'destination', owner: '111122223333', requireExpectedOwner: true, versioned: true });
  });
  afterEach(() => s3.reset());

  const check = (policy: 'FAIL' | 'OVERWRITE' = 'FAIL') => ({
    s3: s3.client, destination: { bucket: 'destination', bucketOwner: '111122223333' }, policy, headsPerSecond: 50, headConcurrency: 5,
  });

  test('identical object: downloaded without a retrieval or quota; another object: FAILED, never overwritten; absent: requested', async () => {
    object(row(1).ObjectKey, SIZE, row(1).ArchiveId, hashOf(1));
    object(row(2).ObjectKey, 12, 'someone-else', hashOf(99));
    const result = await initiateBatch(world.deps({ destinationCheck: check() }), batch(rowsOf(1, 3)));

    expect(result).toMatchObject({ requested: 1, failed: 1, alreadyAtDestination: 1 });
    expect(world.glacier.requestedArchives()).toEqual([row(3).ArchiveId]);
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, foundAtDestination: true, objectVersionId: 'v1' });
    expect(world.archive(1)!.retrievalJobs).toBeUndefined();
    expect(world.archive(2)).toMatchObject({
      status: ArchiveStatus.FAILED,
      failureReason: expect.stringMatching(/^destination key holds another object \(another archive id, another tree hash, 12 bytes, not \d+\)/),
    });
    expect(world.ledgerBytes()).toBe(SIZE); // only archive 3's bytes
    expect(s3.mock.commandCalls(HeadObjectCommand)).toHaveLength(3);
  });

  test('Resume: a pending archive takes this execution\'s object key and storage class; a downloaded one keeps its own', async () => {
    // Archive 1 was reset to pending by the Resume, 3 only changes class, 2 was downloaded earlier.
    world.seedArchive(1, ArchiveStatus.PENDING, { objectKey: 'old/1.jpg', storageClass: 'GLACIER', retrievalJobs: 0 }, SIZE);
    world.seedArchive(2, ArchiveStatus.DOWNLOADED, { objectKey: 'old/2.jpg', storageClass: 'GLACIER' }, SIZE);
    world.seedArchive(3, ArchiveStatus.PENDING, { storageClass: 'GLACIER' }, SIZE);
    object('old/1.jpg', SIZE, row(1).ArchiveId, hashOf(1)); // the old key is not looked at
    const result = await initiateBatch(world.deps({ destinationCheck: check() }), batch(rowsOf(1, 3)));

    expect(result).toMatchObject({ requested: 2, retargeted: 2, alreadyHandled: 1, alreadyAtDestination: 0 });
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.REQUESTED, objectKey: 'photos/1.jpg', storageClass: 'DEEP_ARCHIVE' });
    expect(world.archive(3)).toMatchObject({ status: ArchiveStatus.REQUESTED, objectKey: 'photos/3.jpg', storageClass: 'DEEP_ARCHIVE' });
    expect(world.archive(2)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, objectKey: 'old/2.jpg', storageClass: 'GLACIER' });
    expect(s3.mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key).sort()).toEqual(['photos/1.jpg', 'photos/3.jpg']);
  });

  test('OVERWRITE: another object at the key does not stop the request', async () => {
    object(row(2).ObjectKey, 12);
    const result = await initiateBatch(world.deps({ destinationCheck: check('OVERWRITE') }), batch(rowsOf(2, 1)));
    expect(result).toMatchObject({ requested: 1, failed: 0 });
    expect(world.archive(2)!.status).toBe(ArchiveStatus.REQUESTED);
  });
});
