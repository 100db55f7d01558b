import { GiB, METRICS, row, RUN, TOPIC, TRANSFER, VAULT, World } from './world';
import { runSpendPk, windowExtensionListKey } from '../../../src/contract/keys';
import { parseRetrievalJobDescription } from '../../../src/contract/messages';
import { COPY_SETTLE_MS } from '../../../src/core/archive-lifecycle';
import { extendBatch, ExtendBatchEvent } from '../../../src/handlers/download-window-extension/extend-window';
import { findArchivesNeedingExtension, WindowExtensionItem } from '../../../src/handlers/download-window-extension/window-scan';
import { RetrievalPolicyEnforcedError } from '../../../src/handlers/initiate-retrieval/glacier-request';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeS3 } from '../../doubles/s3';
import { awsError } from '../../doubles/service';

const HOUR = 3600 * 1000;
const BUCKET = 'inventory-bucket';

let world: World;
let s3: FakeS3;
beforeEach(() => {
  world = new World();
  s3 = new FakeS3();
});
afterEach(() => {
  world.reset();
  s3.mock.restore();
});

function scanDeps(overrides: Record<string, unknown> = {}) {
  return {
    ddb: world.dynamo.client,
    s3: s3.client,
    tableName: TRANSFER,
    bucket: BUCKET,
    marginSeconds: 5 * 3600,
    log: world.logger,
    now: world.clock,
    ...overrides,
  };
}

const listed = (key: string): WindowExtensionItem[] => JSON.parse(s3.objects.get(key)!.body.toString('utf8'));

describe('ArchivesNeedingWindowExtension', () => {
  test('lists staged (and completed requested) archives whose window closes within the margin, nothing else', async () => {
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'j1', jobExpiresAt: world.now + 1 * HOUR });
    world.seedArchive(2, ArchiveStatus.STAGED, { jobId: 'j2', jobExpiresAt: world.now + 6 * HOUR }); // outside the margin
    world.seedArchive(3, ArchiveStatus.STAGED, { jobId: 'j3' }); // re-requested, new job not completed yet
    world.seedArchive(4, ArchiveStatus.STAGED, { jobId: 'j4', jobExpiresAt: world.now - HOUR }); // already expired
    world.seedArchive(5, ArchiveStatus.REQUESTED, { jobId: 'j5', jobExpiresAt: world.now + 2 * HOUR }); // completed, not staged
    world.seedArchive(6, ArchiveStatus.REQUESTED, { jobId: 'j6' }); // job still running
    world.seedArchive(7, ArchiveStatus.DOWNLOADED, { jobId: 'j7', jobExpiresAt: world.now + HOUR });

    const result = await findArchivesNeedingExtension(scanDeps(), { runId: RUN });

    const key = windowExtensionListKey(RUN, new Date(world.now));
    expect(result).toMatchObject({ bucket: BUCKET, key, count: 3, bytes: 3 * GiB, truncated: false });
    expect(result.key).toMatch(new RegExp(`^tmp/${RUN}/window-extension/.+\\.json$`));
    expect(listed(result.key).map((i) => i.jobId).sort()).toEqual(['j1', 'j4', 'j5']);
    expect(listed(result.key)[0]).toEqual({
      archiveId: expect.any(String), vaultName: VAULT, jobId: expect.any(String), size: GiB, jobExpiresAt: expect.any(Number),
    });
  });

  test('nothing to extend writes no object', async () => {
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'j1', jobExpiresAt: world.now + 20 * HOUR });
    const result = await findArchivesNeedingExtension(scanDeps(), { runId: RUN });
    expect(result.count).toBe(0);
    expect(s3.objects.size).toBe(0);
  });

  test('pages through 60,000 staged archives, streaming the list in parts: memory stays at one page and one part', async () => {
    const total = 60_000;
    for (let n = 0; n < total; n++) {
      // Glacier job ids are 92 characters.
      const jobId = `${'J'.repeat(80)}${String(n).padStart(12, '0')}`;
      world.seedArchive(n, ArchiveStatus.STAGED, { jobId, jobExpiresAt: world.now + (n % 3 === 0 ? 10 : 1) * HOUR });
    }
    world.dynamo.pageSize = 2000;
    const partSize = 5 * 1024 * 1024;
    const result = await findArchivesNeedingExtension(scanDeps({ partSize }), { runId: RUN });

    const expected = Math.floor((total * 2) / 3);
    expect(result.count).toBe(expected);
    expect(world.dynamo.queries.length).toBeGreaterThanOrEqual(total / 2000);
    const items = listed(result.key);
    expect(items).toHaveLength(expected);
    expect(new Set(items.map((i) => i.jobId)).size).toBe(expected);
    // Written as a multipart upload whose parts never exceed one part plus one element.
    expect(s3.uploads.size).toBe(0);
    expect(s3.largestBody).toBeGreaterThanOrEqual(partSize);
    expect(s3.largestBody).toBeLessThan(partSize + 1024);
    expect(s3.objects.get(result.key)!.body.length).toBeGreaterThan(s3.largestBody); // more than one part
  });

  test('stops early near the Lambda timeout and says so; the next scan continues', async () => {
    world.dynamo.pageSize = 3;
    for (let n = 0; n < 10; n++) world.seedArchive(n, ArchiveStatus.STAGED, { jobId: `job-${n}`, jobExpiresAt: world.now + HOUR });
    let calls = 0;
    const result = await findArchivesNeedingExtension(scanDeps({ remainingMs: () => (calls++ < 2 ? 600_000 : 1000) }), { runId: RUN });
    expect(result.truncated).toBe(true);
    expect(result.count).toBe(6); // two pages of three
  });

  test('a failed scan aborts its multipart upload (no orphaned parts)', async () => {
    for (let n = 0; n < 30; n++) world.seedArchive(n, ArchiveStatus.STAGED, { jobId: `job-${n}`, jobExpiresAt: world.now + HOUR, objectKey: 'x'.repeat(10) });
    let queries = 0;
    world.dynamo.beforeCommand = (command) => {
      if (command === 'Query' && ++queries === 5) throw new Error('network');
    };
    // Tiny part size is not allowed; force a multipart upload with large elements instead.
    const big = 'y'.repeat(400_000);
    for (let n = 100; n < 130; n++) world.seedArchive(n, ArchiveStatus.STAGED, { jobId: `${big}-${n}`, jobExpiresAt: world.now + HOUR });
    await expect(findArchivesNeedingExtension(scanDeps({ partSize: 5 * 1024 * 1024 }), { runId: RUN })).rejects.toThrow('network');
    expect(s3.uploads.size).toBe(0);
  });
});

function extendEvent(items: WindowExtensionItem[]): ExtendBatchEvent {
  return { BatchInput: { runId: RUN, tier: 'Standard', topicArn: TOPIC }, Items: items };
}

function stagedItem(n: number, jobId: string, expiresAt: number): WindowExtensionItem {
  return { archiveId: row(n).ArchiveId, vaultName: VAULT, jobId, size: GiB, jobExpiresAt: expiresAt };
}

describe('ExtendDownloadWindow', () => {
  const deps = (overrides = {}) => ({ ...world.deps(), maxWaitSeconds: 1200, ...overrides });

  test('re-requests the archive and switches it to the new job while it is still staged under the old one', async () => {
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires, uploadId: 'up-1', partsDone: new Set([1, 2]) });
    const result = await extendBatch(deps(), extendEvent([stagedItem(1, 'old-1', expires)]));

    expect(result).toMatchObject({ extended: 1, alreadyMoved: 0, waitSeconds: 0 });
    const call = world.glacier.calls[0];
    expect(call).toMatchObject({ vaultName: VAULT, tier: 'Standard', topic: TOPIC });
    expect(parseRetrievalJobDescription(call.description)).toEqual({ runId: RUN, archiveId: row(1).ArchiveId });
    const item = world.archive(1)!;
    expect(item).toMatchObject({
      status: ArchiveStatus.STAGED,
      runStatus: `${RUN}#staged`,
      jobId: call.jobId,
      previousJobId: 'old-1',
      previousJobExpiresAt: expires,
      windowExtensions: 1,
      uploadId: 'up-1', // the upload and its done parts are kept for the new job
      statusTime: new Date(world.now).toISOString(),
    });
    expect(item.partsDone).toEqual(new Set([1, 2]));
    expect(item.jobExpiresAt).toBeUndefined();
    expect(world.ledgerBytes()).toBe(GiB);
  });

  test('issue 22: re-requests count toward the per-run spend cap and stop at it (the rest is left for a later scan)', async () => {
    const expires = world.now + HOUR;
    for (const n of [1, 2, 3]) world.seedArchive(n, ArchiveStatus.STAGED, { jobId: `old-${n}`, jobExpiresAt: expires });
    // The run has already sent 8 of its 10 requests.
    world.dynamo.seed(METRICS, { pk: runSpendPk(RUN), spentRequests: 8, spentMicroUsd: 0 });
    const items = [1, 2, 3].map((n) => stagedItem(n, `old-${n}`, expires));
    const result = await extendBatch(deps({ runSpend: world.runSpend({ maxRequests: 10 }) }), extendEvent(items));
    expect(result).toMatchObject({ extended: 2, deferred: 1 });
    expect(world.glacier.calls).toHaveLength(2);
    expect(world.spent().requests).toBe(10);
    expect(world.archive(3)).toMatchObject({ status: ArchiveStatus.STAGED, jobId: 'old-3' });
  });

  test('issue #16: a poison archive is re-requested up to the retrieval-job bound, then FAILED with the reason once its last window has closed', async () => {
    // The archive was requested once (retrievalJobs 1); its copy never completes, so its window keeps closing.
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'job-1', jobExpiresAt: world.now + HOUR, retrievalJobs: 1, lastVerificationFailure: 'AccessDenied' });
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const current = world.archive(1)!;
      const result = await extendBatch(deps({ maxRetrievalJobs: 3 }), extendEvent([stagedItem(1, current.jobId, world.now + HOUR)]));
      rounds.push(result);
      // The new job completes and its window starts closing again.
      if (world.archive(1)!.status === ArchiveStatus.STAGED) world.dynamo.seed(TRANSFER, { ...world.archive(1)!, jobExpiresAt: world.now + HOUR });
    }
    // Third round: at the bound, but the last job's output is readable for another hour: a copy may still land.
    expect(rounds.map((r) => [r.extended, r.boundReached, r.boundWaiting])).toEqual([[1, 0, 0], [1, 0, 0], [0, 0, 1]]);
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.STAGED, retrievalJobs: 3 });
    const lastJob = world.archive(1)!.jobId;
    const expires = world.archive(1)!.jobExpiresAt as number;

    // Just after the window closed, a copy started before may still be running (function timeout): still waiting.
    world.now = expires + 60_000;
    const scan = () => extendBatch(deps({ maxRetrievalJobs: 3 }), extendEvent([stagedItem(1, lastJob, expires)]));
    expect(await scan()).toMatchObject({ boundReached: 0, boundWaiting: 1 });
    // Once no copy of the last job can be running any more: FAILED with the reason, never re-requested.
    world.now = expires + COPY_SETTLE_MS + 1;
    expect(await scan()).toMatchObject({ boundReached: 1, boundWaiting: 0, extended: 0 });
    expect(await scan()).toMatchObject({ boundReached: 0, alreadyMoved: 1 });
    expect(world.glacier.calls).toHaveLength(2); // 1 request + 2 re-requests = 3 jobs, the bound
    expect(world.archive(1)).toMatchObject({
      status: ArchiveStatus.FAILED,
      runStatus: `${RUN}#failed`,
      retrievalJobs: 3,
      windowExtensions: 2,
      failureReason: expect.stringMatching(/^retrieval job bound reached: 3 Glacier retrieval job\(s\) .*maximum 3.*last verification failure: AccessDenied/),
    });
  });

  test('issue #16: at the bound, a split archive whose every part is in (validation queued) is left to its validation, even after its window closed', async () => {
    const expires = world.now - 2 * HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'job-1', jobExpiresAt: expires, retrievalJobs: 3, uploadId: 'up-1', validationQueuedBy: 4 });
    world.seedArchive(2, ArchiveStatus.STAGED, { jobId: 'job-2', jobExpiresAt: expires, retrievalJobs: 3, uploadId: 'up-2', partsDone: new Set([1]) });
    const result = await extendBatch(deps({ maxRetrievalJobs: 3 }), extendEvent([stagedItem(1, 'job-1', expires), stagedItem(2, 'job-2', expires)]));
    expect(result).toMatchObject({ boundWaiting: 1, boundReached: 1, extended: 0 });
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.STAGED, jobId: 'job-1' });
    expect(world.archive(2)).toMatchObject({ status: ArchiveStatus.FAILED });
    expect(world.glacier.calls).toHaveLength(0);
  });

  test('a redelivered batch and archives that moved on are not re-requested', async () => {
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires });
    world.seedArchive(2, ArchiveStatus.DOWNLOADED, { jobId: 'old-2', jobExpiresAt: expires });
    world.seedArchive(3, ArchiveStatus.FAILED, { jobId: 'old-3', jobExpiresAt: expires });
    const event = extendEvent([stagedItem(1, 'old-1', expires), stagedItem(2, 'old-2', expires), stagedItem(3, 'old-3', expires)]);

    const first = await extendBatch(deps(), event);
    const second = await extendBatch(deps(), event);

    expect(first).toMatchObject({ extended: 1, alreadyMoved: 2 });
    expect(second).toMatchObject({ extended: 0, alreadyMoved: 3 });
    expect(world.glacier.calls).toHaveLength(1);
    expect(world.ledgerBytes()).toBe(GiB);
  });

  test('the switch is conditional: an archive downloaded while it was re-requested keeps its status and job', async () => {
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires });
    world.dynamo.beforeCommand = (command, input) => {
      if (command === 'Update' && input.UpdateExpression.includes('previousJobId')) {
        world.seedArchive(1, ArchiveStatus.DOWNLOADED, { jobId: 'old-1', jobExpiresAt: expires });
      }
    };
    const result = await extendBatch(deps(), extendEvent([stagedItem(1, 'old-1', expires)]));

    expect(result.extended).toBe(1); // the job was started (and paid for) …
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.DOWNLOADED, jobId: 'old-1' }); // … but not used
    expect(world.archive(1)!.previousJobId).toBeUndefined();
  });

  test('a failed re-request is left for the next scan, not marked failed', async () => {
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires });
    world.glacier.failures.set(row(1).ArchiveId, Array.from({ length: 3 }, () => awsError('ThrottlingException', 400)));
    const result = await extendBatch(deps(), extendEvent([stagedItem(1, 'old-1', expires)]));
    expect(result).toMatchObject({ extended: 0, failed: 1 });
    expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.STAGED, jobId: 'old-1', jobExpiresAt: expires });
    expect(world.ledgerBytes()).toBe(0);
  });

  test('PolicyEnforcedException surfaces as the typed error', async () => {
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires });
    world.glacier.failures.set(row(1).ArchiveId, [awsError('PolicyEnforcedException', 400)]);
    await expect(extendBatch(deps(), extendEvent([stagedItem(1, 'old-1', expires)]))).rejects.toBeInstanceOf(RetrievalPolicyEnforcedError);
  });

  test('quota: a short wait is returned for the state machine to sit out, a long one is left to the next scan', async () => {
    world.reset();
    world = new World(GiB);
    const expires = world.now + HOUR;
    world.seedArchive(1, ArchiveStatus.STAGED, { jobId: 'old-1', jobExpiresAt: expires });
    world.seedArchive(2, ArchiveStatus.STAGED, { jobId: 'old-2', jobExpiresAt: expires });
    const event = extendEvent([stagedItem(1, 'old-1', expires), stagedItem(2, 'old-2', expires)]);

    const longWait = await extendBatch(deps(), event);
    expect(longWait).toMatchObject({ extended: 1, deferred: 1, waitSeconds: 0 });

    world.now += 24 * HOUR - 10 * 60 * 1000;
    const shortWait = await extendBatch(deps({ maxWaitSeconds: 3600 }), event);
    expect(shortWait.extended).toBe(0);
    expect(shortWait.waitSeconds).toBeGreaterThan(0);
    expect(shortWait.waitSeconds).toBeLessThanOrEqual(3600);
  });
});
