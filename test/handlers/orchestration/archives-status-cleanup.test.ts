import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { archive, awsError, BUCKET, OrchestrationDynamo, OWNER, silentLogger, TRANSFER } from './fakes';
import { archivePk, runStatusKey } from '../../../src/contract/keys';
import { cleanupArchivesStatus, StatusCleanupDeps } from '../../../src/handlers/orchestration/archives-status-cleanup';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeS3 } from '../../doubles/s3';

const RUN = 'run-1';
let dynamo: OrchestrationDynamo;
let s3: FakeS3;
let deps: StatusCleanupDeps;

beforeEach(() => {
  dynamo = new OrchestrationDynamo();
  dynamo.pageSize = 2;
  s3 = new FakeS3({ bucket: BUCKET, owner: OWNER, requireExpectedOwner: true });
  deps = {
    ddb: dynamo.client,
    s3: s3.client,
    transferTable: TRANSFER,
    destinationBucket: BUCKET,
    destinationBucketOwner: OWNER,
    log: silentLogger(),
    now: () => new Date('2024-03-01T12:00:00Z'),
    remainingMs: () => 600_000,
  };
});
afterEach(() => {
  dynamo.mock.restore();
  s3.reset();
});

const seed = (...items: Array<Record<string, any>>) => items.forEach((i) => dynamo.seed(TRANSFER, i));

test('requested and staged archives go back to pending, page by page; other statuses and runs are untouched', async () => {
  seed(
    archive(RUN, ArchiveStatus.REQUESTED, { archiveId: 'r1', jobId: 'j1', jobExpiresAt: 1 }),
    archive(RUN, ArchiveStatus.REQUESTED, { archiveId: 'r2', jobId: 'j2' }),
    archive(RUN, ArchiveStatus.REQUESTED, { archiveId: 'r3', jobId: 'j3' }),
    archive(RUN, ArchiveStatus.STAGED, { archiveId: 's1', jobId: 'j4', uploadId: 'u4', partsDone: new Set([1]), chunksQueuedFor: 'j4' }),
    archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd1' }),
    archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f1' }),
    archive('other-run', ArchiveStatus.REQUESTED, { archiveId: 'o1' }),
  );
  s3.openUpload('backup/s1.bin', 'u4');
  const result = await cleanupArchivesStatus(deps, { runId: RUN });
  expect(result).toEqual({ runId: RUN, done: true, reset: 4, cursor: null, retryFailed: 'NO' });
  const byId = Object.fromEntries(dynamo.archives(RUN).map((a) => [a.archiveId, a]));
  for (const id of ['r1', 'r2', 'r3', 's1']) {
    expect(byId[id]).toMatchObject({ status: 'pending', runStatus: runStatusKey(RUN, ArchiveStatus.PENDING), statusTime: '2024-03-01T12:00:00.000Z' });
    for (const gone of ['jobId', 'jobExpiresAt', 'uploadId', 'partsDone', 'chunksQueuedFor']) expect(byId[id][gone]).toBeUndefined();
  }
  expect(byId.d1.status).toBe('downloaded');
  expect(byId.f1.status).toBe('failed');
  expect(dynamo.archives('other-run')[0].status).toBe('requested');
  // Paged: 3 requested archives at 2 per page, then staged.
  const partitions = dynamo.queries.map((q) => q.ExpressionAttributeValues[':p']);
  expect(partitions).toEqual([`${RUN}#requested`, `${RUN}#requested`, `${RUN}#staged`]);
  expect(dynamo.queries[1].ExclusiveStartKey).toBeDefined();
  // The staged archive's multipart upload is aborted in the destination bucket.
  expect(s3.mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input))
    .toEqual([{ Bucket: BUCKET, Key: 'backup/s1.bin', UploadId: 'u4', ExpectedBucketOwner: OWNER }]);
  expect([s3.aborted, s3.uploads.size]).toEqual([['u4'], 0]);
});

test('each reset is conditional on the status it was read with: an archive that moved on is left alone', async () => {
  seed(archive(RUN, ArchiveStatus.STAGED, { archiveId: 's1' }), archive(RUN, ArchiveStatus.STAGED, { archiveId: 's2' }));
  dynamo.beforeCommand = (name, input) => {
    // s1 finished downloading between the index read and the update.
    if (name === 'Update' && input.Key.pk.endsWith('#s1')) {
      dynamo.seed(TRANSFER, { ...dynamo.get(TRANSFER, input.Key.pk, 'archive'), status: 'downloaded', runStatus: `${RUN}#downloaded` });
    }
  };
  const result = await cleanupArchivesStatus(deps, { runId: RUN });
  expect(result.reset).toBe(1);
  const byId = Object.fromEntries(dynamo.archives(RUN).map((a) => [a.archiveId, a]));
  expect(byId.s1.status).toBe('downloaded');
  expect(byId.s2.status).toBe('pending');
  for (const call of dynamo.mock.commandCalls(UpdateCommand)) {
    expect(call.args[0].input.ConditionExpression).toContain('#status = :old');
    expect(call.args[0].input.ExpressionAttributeValues![':old']).toBe('staged');
  }
});

test('throttled updates and aborts are retried; a missing upload is fine', async () => {
  seed(archive(RUN, ArchiveStatus.STAGED, { archiveId: 's1', uploadId: 'u1' }), archive(RUN, ArchiveStatus.STAGED, { archiveId: 's2', uploadId: 'u2' }));
  let throttled = 0;
  dynamo.beforeCommand = (name) => {
    if (name === 'Update' && throttled < 2) {
      throttled++;
      throw awsError('ProvisionedThroughputExceededException', 500);
    }
  };
  s3.openUpload('backup/s1.bin', 'u1'); // u2 is gone already: S3 answers NoSuchUpload
  s3.fail('AbortMultipartUpload', awsError('SlowDown', 503), { when: (input) => input.UploadId === 'u1' });
  const result = await cleanupArchivesStatus(deps, { runId: RUN });
  expect(result.reset).toBe(2);
  expect(dynamo.archives(RUN).map((a) => a.status)).toEqual(['pending', 'pending']);
  expect(dynamo.mock.commandCalls(UpdateCommand)).toHaveLength(4);
  expect(s3.mock.commandCalls(AbortMultipartUploadCommand, { UploadId: 'u1' })).toHaveLength(2);
  expect(s3.aborted).toEqual(['u1']);
});

test('a non-retryable error fails the invocation', async () => {
  seed(archive(RUN, ArchiveStatus.REQUESTED, { archiveId: 'r1' }));
  dynamo.beforeCommand = (name) => {
    if (name === 'Update') throw awsError('AccessDeniedException', 400);
  };
  await expect(cleanupArchivesStatus(deps, { runId: RUN })).rejects.toThrow('AccessDeniedException');
  expect(dynamo.mock.commandCalls(UpdateCommand)).toHaveLength(1);
});

test('returns a cursor when its time is spent and carries on from it', async () => {
  seed(...['r1', 'r2', 'r3'].map((id) => archive(RUN, ArchiveStatus.REQUESTED, { archiveId: id })), archive(RUN, ArchiveStatus.STAGED, { archiveId: 's1' }));
  let budget = 1; // pages this invocation may still start
  const timed = { ...deps, remainingMs: () => (budget-- > 0 ? 600_000 : 1_000) };
  const first = await cleanupArchivesStatus(timed, { runId: RUN });
  expect(first).toMatchObject({ done: false, reset: 2, cursor: { status: 'requested', startKey: expect.any(Object) } });
  const second = await cleanupArchivesStatus(deps, { runId: RUN, cursor: first.cursor, reset: first.reset });
  expect(second).toEqual({ runId: RUN, done: true, reset: 4, cursor: null, retryFailed: 'NO' });
  expect(dynamo.archives(RUN).every((a) => a.status === 'pending')).toBe(true);
});

test('a fresh launch (nothing requested or staged) is a no-op', async () => {
  seed(archive(RUN, ArchiveStatus.PENDING));
  expect(await cleanupArchivesStatus(deps, { runId: RUN, cursor: null })).toEqual({ runId: RUN, done: true, reset: 0, cursor: null, retryFailed: 'NO' });
  expect(dynamo.mock.commandCalls(UpdateCommand)).toHaveLength(0);
});

describe('retryFailed (Resume RetryFailed)', () => {
  const failedRun = () => seed(
    archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f1', failureReason: 'retrieval job bound reached', retrievalJobs: 3, downloadAttempts: 2, validationAttempts: 1, lastVerificationFailure: 'tree hash' }),
    archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f2', failureReason: 'destination key holds another object', retrievalJobs: 1 }),
    // An unreadable inventory row: a FAILED item that is no archive Glacier could return.
    { ...archive(RUN, ArchiveStatus.FAILED, { archiveId: 'row 7', failureReason: 'unreadable inventory row 7: bad size' }), pk: archivePk(RUN, 'inventory-row-7'), inventoryRow: 7 },
    archive(RUN, ArchiveStatus.STAGED, { archiveId: 's1', retrievalJobs: 2 }),
    archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd1' }),
  );
  const byId = () => Object.fromEntries(dynamo.archives(RUN).map((a) => [a.archiveId, a]));

  test('YES: real failed archives go back to pending with counters and reason reset; unreadable rows stay failed', async () => {
    failedRun();
    const result = await cleanupArchivesStatus(deps, { runId: RUN, retryFailed: 'YES' });
    expect(result).toEqual({ runId: RUN, done: true, reset: 3, cursor: null, retryFailed: 'YES' });
    const items = byId();
    for (const id of ['f1', 'f2', 's1']) {
      expect(items[id]).toMatchObject({ status: 'pending', runStatus: runStatusKey(RUN, ArchiveStatus.PENDING) });
      for (const gone of ['retrievalJobs', 'downloadAttempts', 'validationAttempts', 'failureReason', 'lastVerificationFailure']) expect(items[id][gone]).toBeUndefined();
    }
    expect(items['row 7']).toMatchObject({ status: 'failed', inventoryRow: 7, failureReason: 'unreadable inventory row 7: bad size' });
    expect(items.d1.status).toBe('downloaded');
    const partitions = dynamo.queries.map((q) => q.ExpressionAttributeValues[':p']);
    expect(partitions).toEqual([`${RUN}#requested`, `${RUN}#staged`, `${RUN}#failed`, `${RUN}#failed`]);
    // The retry is the RETRY_FAILED transition: conditional on the archive still being failed.
    const retries = dynamo.mock.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((u) => u.ExpressionAttributeValues![':old'] === 'failed');
    expect(retries).toHaveLength(2);
    for (const u of retries) expect(u.ConditionExpression).toContain('#status = :from0');
  });

  test('a cursor in the failed pages carries retryFailed on to the next invocation', async () => {
    failedRun();
    let budget = 3; // requested, staged, first failed page
    const timed = { ...deps, remainingMs: () => (budget-- > 0 ? 600_000 : 1_000) };
    const first = await cleanupArchivesStatus(timed, { runId: RUN, retryFailed: 'YES' });
    expect(first).toMatchObject({ done: false, cursor: { status: 'failed', startKey: expect.any(Object) }, retryFailed: 'YES' });
    const second = await cleanupArchivesStatus(deps, { runId: RUN, cursor: first.cursor, reset: first.reset, retryFailed: first.retryFailed });
    expect(second).toMatchObject({ done: true, reset: 3 });
    expect(byId().f1.status).toBe('pending');
    expect(byId().f2.status).toBe('pending');
  });

  test('NO: failed archives stay failed with their reason and counters', async () => {
    failedRun();
    const result = await cleanupArchivesStatus(deps, { runId: RUN, retryFailed: 'NO' });
    expect(result).toMatchObject({ reset: 1, retryFailed: 'NO' });
    const items = byId();
    expect(items.f1).toMatchObject({ status: 'failed', retrievalJobs: 3, failureReason: 'retrieval job bound reached' });
    expect(items.f2.status).toBe('failed');
    expect(items.s1.status).toBe('pending');
    expect(dynamo.queries.map((q) => q.ExpressionAttributeValues[':p'])).not.toContain(`${RUN}#failed`);
  });
});
