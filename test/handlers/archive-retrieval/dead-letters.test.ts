/*
 * Issue #16: a message that dead-letters in any archive stage is reconciled. The archive of a
 * dead-lettered message of its current job/upload ends FAILED with the DLQ reason; a stale message
 * or a finished archive changes nothing; a redelivery is harmless; nothing is requested again.
 */
import { archiveBytes, MiB, RUN, World } from './world';
import { Env } from '../../../src/contract/environment';
import { runStatusKey } from '../../../src/contract/keys';
import { ChunkMessage, ValidationMessage } from '../../../src/contract/messages';
import {
  DeadLetter,
  DeadLetterEvidence,
  deadLetterEvidenceKey,
  deadLetterSourceOf,
  reconcileDeadLetter,
  ReconcileDeps,
} from '../../../src/handlers/archive-retrieval/dead-letters';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { verifiedCopyAt } from '../../../src/handlers/archive-retrieval/staging';
import { ArchiveItem, ArchiveStatus } from '../../../src/handlers/shared/schema';

const UNRECONCILED = 'https://sqs.us-east-1.amazonaws.com/111122223333/unreconciled';

let world: World;
let evidence: Map<string, DeadLetterEvidence>;
beforeEach(() => {
  world = new World();
  evidence = new Map();
});
afterEach(() => world.reset());

function deps(): ReconcileDeps {
  return {
    store: world.store,
    sqs: world.sqsClient,
    unreconciledQueueUrl: UNRECONCILED,
    maxReceives: { notifications: 10, chunk: 40, validation: 10 },
    keepEvidence: async (key, record) => {
      evidence.set(key, record);
    },
    verifiedCopy: (item) => verifiedCopyAt(world.notificationDeps(), item),
    log: world.logger,
    clock: () => new Date('2026-11-24T05:00:00Z'),
  };
}

/** A split archive staged on its job, upload `upload-1` of 3 parts, part 1 done. */
function stagedSplitArchive(overrides: Partial<ArchiveItem> = {}): ArchiveItem {
  return world.seedArchive(archiveBytes(20 * MiB + 5, 3), {
    status: ArchiveStatus.STAGED,
    runStatus: runStatusKey(RUN, ArchiveStatus.STAGED),
    uploadId: 'upload-1',
    chunkSize: 8 * MiB,
    chunkCount: 3,
    partsDone: new Set([1]),
    ...overrides,
  });
}

const chunkLetter = (item: ArchiveItem, partNumber: number, changes: Partial<ChunkMessage> = {}, messageId = `chunk-msg-${partNumber}`): DeadLetter => {
  const message: ChunkMessage = {
    runId: item.runId,
    archiveId: item.archiveId,
    jobId: item.jobId!,
    uploadId: item.uploadId!,
    partNumber,
    rangeStart: (partNumber - 1) * 8 * MiB,
    rangeEnd: Math.min(partNumber * 8 * MiB, item.size) - 1,
    chunkCount: 3,
    ...changes,
  };
  return { source: 'chunk', messageId, body: JSON.stringify(message), sentTimestamp: '1795000000000' };
};

const validationLetter = (item: ArchiveItem, uploadId = item.uploadId!): DeadLetter => {
  const message: ValidationMessage = { runId: item.runId, archiveId: item.archiveId, uploadId };
  return { source: 'validation', messageId: 'validation-msg', body: JSON.stringify(message) };
};

describe('each queue\'s message kind, for the archive\'s current work, ends the archive FAILED with the DLQ reason', () => {
  test('a Glacier job notification (archive staged on that job)', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 5), { status: ArchiveStatus.STAGED, runStatus: runStatusKey(RUN, ArchiveStatus.STAGED) });
    const letter: DeadLetter = { source: 'notifications', messageId: 'notification-msg', body: world.succeeded(item) };
    await expect(reconcileDeadLetter(deps(), letter)).resolves.toBe('archive-failed');
    const key = deadLetterEvidenceKey(RUN, 'notifications', 'notification-msg');
    expect(world.archive(item)).toMatchObject({
      status: ArchiveStatus.FAILED,
      runStatus: `${RUN}#failed`,
      deadLetterMessageId: 'notification-msg',
      failureReason: `Glacier job notification of job ${item.jobId} dead-lettered after 10 receives on the notifications queue without its last receive being handled (message notification-msg, kept at ${key})`,
    });
    expect(evidence.get(key)).toMatchObject({ outcome: 'archive-failed', archiveStatus: ArchiveStatus.FAILED, archiveId: item.archiveId, body: letter.body, queue: 'notifications queue' });
    // Nothing is requested again, nothing is handed on.
    expect(world.glacier.mock.calls()).toHaveLength(0);
    expect(world.sqs.sent.get(UNRECONCILED)).toBeUndefined();
  });

  test('a Glacier job notification of a requested archive (the job completed, its notification never handled)', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 6));
    await expect(reconcileDeadLetter(deps(), { source: 'notifications', messageId: 'n-2', body: world.succeeded(item) })).resolves.toBe('archive-failed');
    expect(world.archive(item).status).toBe(ArchiveStatus.FAILED);
  });

  test('a chunk message of a part still missing on the current job and upload', async () => {
    const item = stagedSplitArchive();
    await expect(reconcileDeadLetter(deps(), chunkLetter(item, 2))).resolves.toBe('archive-failed');
    expect(world.archive(item)).toMatchObject({
      status: ArchiveStatus.FAILED,
      failureReason: expect.stringMatching(new RegExp(`^chunk message for part 2 of 3 \\(upload upload-1, job ${item.jobId}\\) dead-lettered after 40 receives on the chunk-retrieval queue`)),
    });
  });

  test('a validation message of the current upload, with the last verification failure in the reason', async () => {
    const item = stagedSplitArchive({ partsDone: new Set([1, 2, 3]), lastVerificationFailure: 'combined tree hash ab != inventory tree hash cd' });
    await expect(reconcileDeadLetter(deps(), validationLetter(item))).resolves.toBe('archive-failed');
    expect(world.archive(item).failureReason).toMatch(/^validation message for upload upload-1 dead-lettered after 10 receives on the validation queue .*; last verification failure: combined tree hash ab != inventory tree hash cd$/);
  });
});

describe('a stale message changes nothing', () => {
  test('a notification of a superseded job (the archive was re-requested)', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 7), { status: ArchiveStatus.STAGED, runStatus: runStatusKey(RUN, ArchiveStatus.STAGED) });
    const oldBody = world.succeeded(item);
    world.table.seed({ ...world.archive(item), jobId: 'newer-job' } as unknown as Record<string, unknown>);
    world.table.dynamo.staleJobIndex.set(item.jobId!, { pk: item.pk, sk: 'archive', jobId: item.jobId });
    await expect(reconcileDeadLetter(deps(), { source: 'notifications', messageId: 'old', body: oldBody })).resolves.toBe('stale');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.STAGED, jobId: 'newer-job' });
    expect(world.archive(item).failureReason).toBeUndefined();
    // The message is still kept, with what was decided.
    expect(evidence.get(deadLetterEvidenceKey(RUN, 'notifications', 'old'))).toMatchObject({ outcome: 'stale', archiveStatus: ArchiveStatus.STAGED });
  });

  test('a chunk message of a replaced upload, of an older job, or of a part already done', async () => {
    const item = stagedSplitArchive();
    await expect(reconcileDeadLetter(deps(), chunkLetter(item, 2, { uploadId: 'upload-0' }, 'a'))).resolves.toBe('stale');
    await expect(reconcileDeadLetter(deps(), chunkLetter(item, 2, { jobId: 'older-job' }, 'b'))).resolves.toBe('stale');
    await expect(reconcileDeadLetter(deps(), chunkLetter(item, 1, {}, 'c'))).resolves.toBe('stale');
    expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
  });

  test('a validation message of a replaced upload', async () => {
    const item = stagedSplitArchive({ uploadId: 'upload-2' });
    await expect(reconcileDeadLetter(deps(), validationLetter(item, 'upload-1'))).resolves.toBe('stale');
    expect(world.archive(item).status).toBe(ArchiveStatus.STAGED);
  });

  test('a message of an archive reset to pending by a Resume', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 8), { status: ArchiveStatus.PENDING, runStatus: runStatusKey(RUN, ArchiveStatus.PENDING) });
    await expect(reconcileDeadLetter(deps(), { source: 'notifications', messageId: 'p', body: world.succeeded(item) })).resolves.toBe('stale');
    expect(world.archive(item).status).toBe(ArchiveStatus.PENDING);
  });
});

test.each([ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED])('an archive already %s keeps its status and reason', async (status) => {
  const item = stagedSplitArchive({ status, runStatus: runStatusKey(RUN, status), failureReason: status === ArchiveStatus.DOWNLOADED ? undefined : 'earlier reason' });
  await expect(reconcileDeadLetter(deps(), chunkLetter(item, 2))).resolves.toBe('archive-finished');
  await expect(reconcileDeadLetter(deps(), validationLetter(item))).resolves.toBe('archive-finished');
  expect(world.archive(item).status).toBe(status);
  expect(world.archive(item).failureReason).toBe(item.failureReason);
  expect(world.archive(item).deadLetterMessageId).toBeUndefined();
});

test('a redelivered dead-lettered message finds its own write: same reason, evidence kept again', async () => {
  const item = stagedSplitArchive();
  const letter = chunkLetter(item, 3);
  await expect(reconcileDeadLetter(deps(), letter)).resolves.toBe('archive-failed');
  const failed = world.archive(item);
  evidence.clear();
  await expect(reconcileDeadLetter(deps(), letter)).resolves.toBe('already-reconciled');
  expect(world.archive(item)).toEqual(failed);
  expect(evidence.get(deadLetterEvidenceKey(RUN, 'chunk', letter.messageId))).toMatchObject({ outcome: 'already-reconciled', reason: failed.failureReason });
  // Another dead-lettered message of the same archive finds it finished.
  await expect(reconcileDeadLetter(deps(), chunkLetter(item, 2))).resolves.toBe('archive-finished');
  expect(world.archive(item)).toEqual(failed);
});

test('a message naming no archive is handed on to the unreconciled queue, with its source and why', async () => {
  const item = world.seedArchive(archiveBytes(3 * MiB, 9));
  const body = world.succeeded(item, 'job-nobody-knows');
  await expect(reconcileDeadLetter(deps(), { source: 'notifications', messageId: 'orphan', body })).resolves.toBe('unattributed');
  await expect(reconcileDeadLetter(deps(), { source: 'chunk', messageId: 'garbage', body: 'not json' })).resolves.toBe('unattributed');
  expect(world.sqs.sent.get(UNRECONCILED)).toEqual([body, 'not json']);
  type Sent = { MessageAttributes?: Record<string, { StringValue?: string }> };
  const attributes = world.sqs.mock.calls().map((c) => (c.args[0].input as Sent).MessageAttributes);
  expect(attributes[0]).toMatchObject({ SourceQueue: { StringValue: 'notifications queue' }, SourceMessageId: { StringValue: 'orphan' }, Reason: { StringValue: expect.stringContaining('job-nobody-knows') } });
  expect(world.archive(item).status).toBe(ArchiveStatus.REQUESTED);
  expect(evidence.size).toBe(0);
});

test('the source queue comes from the event source ARN; another ARN is refused by name', () => {
  Object.assign(process.env, { [Env.NOTIFICATIONS_DLQ_ARN]: 'arn:n', [Env.CHUNK_DLQ_ARN]: 'arn:c', [Env.VALIDATION_DLQ_ARN]: 'arn:v' });
  try {
    expect(deadLetterSourceOf('arn:c')).toBe('chunk');
    expect(deadLetterSourceOf('arn:v')).toBe('validation');
    expect(() => deadLetterSourceOf('arn:other')).toThrow(/event source "arn:other" is none of the dead-letter queues/);
  } finally {
    for (const name of [Env.NOTIFICATIONS_DLQ_ARN, Env.CHUNK_DLQ_ARN, Env.VALIDATION_DLQ_ARN]) delete process.env[name];
  }
});

describe('a copy that landed before its function died: the archive is downloaded, not FAILED (issue #16)', () => {
  test('small archive: PutObject written, the downloaded mark never made, the notification dead-lettered', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 43));
    // The function dies between the S3 write and the DynamoDB write on every receive.
    const dying = Object.assign(Object.create(world.store) as typeof world.store, {
      markDownloaded: async () => {
        throw Object.assign(new Error('the function stopped between the S3 write and the DynamoDB write'), { name: 'Crash' });
      },
    });
    await expect(processNotification({ ...world.notificationDeps(), store: dying }, world.succeeded(item))).rejects.toThrow('function stopped');
    expect(world.s3.objects.has(item.objectKey)).toBe(true);
    expect(world.archive(item).status).not.toBe(ArchiveStatus.DOWNLOADED);

    const letter: DeadLetter = { source: 'notifications', messageId: 'notification-msg', body: world.succeeded(item) };
    await expect(reconcileDeadLetter(deps(), letter)).resolves.toBe('archive-downloaded');
    expect(world.archive(item)).toMatchObject({ status: ArchiveStatus.DOWNLOADED });
    expect(world.archive(item).failureReason).toBeUndefined();
    const kept = evidence.get(deadLetterEvidenceKey(item.runId, 'notifications', 'notification-msg'));
    expect(kept).toMatchObject({ outcome: 'archive-downloaded', archiveStatus: ArchiveStatus.DOWNLOADED });
  });

  test('an object at the key that is not the archive (other size or tree hash) does not count: FAILED', async () => {
    const item = world.seedArchive(archiveBytes(3 * MiB, 44), { status: ArchiveStatus.STAGED, runStatus: runStatusKey(RUN, ArchiveStatus.STAGED) });
    world.s3.seed(item.objectKey, 'someone else\'s object');
    const letter: DeadLetter = { source: 'notifications', messageId: 'notification-msg-2', body: world.succeeded(item) };
    await expect(reconcileDeadLetter(deps(), letter)).resolves.toBe('archive-failed');
    expect(world.archive(item).status).toBe(ArchiveStatus.FAILED);
  });
});
