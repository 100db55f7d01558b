import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeJobCommand } from '@aws-sdk/client-glacier';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { pseudoRandomBytes, silentLogger } from './fakes';
import { archiveBytes, MiB, notificationBody, World } from './world';
import { ARCHIVE_SK, archivePk, runStatusKey } from '../../../src/contract/keys';
import { treeHashOf } from '../../../src/core/tree-hash';
import { parseGlacierNotification } from '../../../src/handlers/archive-retrieval/glacier-notification';
import {
  DEFAULT_OVERDUE_SECONDS,
  InvalidRecoveryInputError,
  notificationFromJob,
  RecoveryDeps,
  RecoveryIncompleteError,
  recoverLostNotifications,
  validateRecoveryConfig,
} from '../../../src/handlers/archive-retrieval/lost-notification-recovery';
import { processNotification } from '../../../src/handlers/archive-retrieval/notifications';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { evaluate, FakeDynamo } from '../../doubles/dynamodb';
import { FakeGlacier, GlacierJob } from '../../doubles/glacier';
import { awsError } from '../../doubles/service';
import { FakeSqs } from '../../doubles/sqs';

const RUN = 'run-2026-11-25';
const VAULT = 'photos-2012';
const TABLE = 'transfer';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/111122223333/notifications';
const HOUR = 3600_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');

type Item = Record<string, any>;
/** A document client: the mocks stub every instance's send. */
const documentClient = () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:glacier-jobs';
const bytesOf = (n: number) => pseudoRandomBytes(1024, n);

/** Glacier's retrieval job `job-<n>` of archive n (1 KiB), finished unless `extra` says otherwise. */
function job(n: number, extra: Partial<GlacierJob> = {}): GlacierJob {
  const archiveId = `archive-${String(n).padStart(4, '0')}`;
  return glacier.seedArchiveJob(VAULT, `job-${n}`, bytesOf(n), archiveId, {
    tier: 'Bulk', snsTopic: TOPIC, description: `glacier-vault-to-s3:v1:${RUN}/${archiveId}`, ...extra,
  });
}
/** Job ids of the DescribeJob calls, in order. */
const described = () => glacier.mock.commandCalls(DescribeJobCommand).map((c) => c.args[0].input.jobId);

let dynamo: FakeDynamo;
let glacier: FakeGlacier;
let sqs: FakeSqs;
let sent: string[];
let queries: Item[];
let now: number;

beforeEach(() => {
  dynamo = new FakeDynamo();
  queries = dynamo.queries;
  glacier = new FakeGlacier();
  sqs = new FakeSqs();
  sent = [];
  sqs.sent.set(QUEUE, sent); // what reaches another queue is not in `sent`
  now = NOW;
});
afterEach(() => {
  dynamo.mock.restore();
  glacier.reset();
  sqs.reset();
});

function deps(overrides: Partial<RecoveryDeps> = {}): RecoveryDeps {
  return {
    ddb: dynamo.client,
    glacier: glacier.client,
    sqs: new SQSClient({ region: 'eu-west-1' }),
    tableName: TABLE,
    notificationsQueueUrl: QUEUE,
    config: { overdueSeconds: DEFAULT_OVERDUE_SECONDS, repollSeconds: 3600, maxPolls: 500 },
    log: silentLogger(),
    now: () => now,
    ...overrides,
  };
}

/** An archive item of the run, `hoursAgo` in its status under `jobId`. */
function seed(n: number, status: ArchiveStatus, hoursAgo: number, extra: Item = {}): Item {
  const archiveId = `archive-${String(n).padStart(4, '0')}`;
  const item = {
    pk: archivePk(RUN, archiveId),
    sk: ARCHIVE_SK,
    runId: RUN,
    vaultName: VAULT,
    archiveId,
    size: 1024,
    status,
    runStatus: runStatusKey(RUN, status),
    statusTime: new Date(NOW - hoursAgo * HOUR).toISOString(),
    jobId: `job-${n}`,
    ...extra,
  };
  dynamo.seed(TABLE, item);
  return item;
}
const archive = (n: number): Item => dynamo.get(TABLE, archivePk(RUN, `archive-${String(n).padStart(4, '0')}`), ARCHIVE_SK)!;

describe('recoverLostNotifications', () => {
  test('polls only archives overdue for the tier, re-announces finished jobs exactly as Glacier would, records every poll', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13); // Bulk, overdue, finished
    seed(2, ArchiveStatus.REQUESTED, 11); // Bulk, not overdue yet (12 h)
    seed(3, ArchiveStatus.REQUESTED, 20); // overdue, still running
    seed(4, ArchiveStatus.REQUESTED, 14); // overdue, Glacier reports the job failed
    seed(5, ArchiveStatus.STAGED, 30, { jobExpiresAt: NOW + 5 * HOUR }); // staged normally: its job is known complete
    seed(6, ArchiveStatus.STAGED, 13, { windowExtendedAt: 'x', previousJobId: 'old-6' }); // re-requested, new job's notification lost
    seed(7, ArchiveStatus.DOWNLOADED, 40);
    job(1);
    job(3, { statusCode: 'InProgress' });
    job(4, { statusCode: 'Failed', statusMessage: 'Archive could not be retrieved' });
    job(6);

    const result = await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' });

    expect(result).toEqual({
      runId: RUN, overdue: 4, described: 4, recovered: 3, inProgress: 1, unknownJobs: 0, deferred: 0, truncated: false, movedOn: 0,
    });
    // The staged, re-requested archive is polled first (its old window is the one closing).
    expect(described()[0]).toBe('job-6');
    expect(described().sort()).toEqual(['job-1', 'job-3', 'job-4', 'job-6']);
    expect(sent).toHaveLength(3);
    const first = JSON.parse(sent.find((b) => b.includes('"job-1"'))!);
    // Same fields, same order as the recorded Glacier notification.
    expect(Object.keys(first)).toEqual(Object.keys(JSON.parse(JSON.parse(notificationBody({})).Message)));
    const hash = treeHashOf(bytesOf(1));
    expect(first).toEqual({
      Action: 'ArchiveRetrieval',
      ArchiveId: 'archive-0001',
      ArchiveSHA256TreeHash: hash,
      ArchiveSizeInBytes: 1024,
      Completed: true,
      CompletionDate: '2026-11-24T10:00:00.000Z',
      CreationDate: '2026-11-24T06:00:00.000Z',
      InventoryRetrievalParameters: null,
      InventorySizeInBytes: null,
      JobDescription: `glacier-vault-to-s3:v1:${RUN}/archive-0001`,
      JobId: 'job-1',
      RetrievalByteRange: '0-1023',
      SHA256TreeHash: hash,
      SNSTopic: TOPIC,
      StatusCode: 'Succeeded',
      StatusMessage: 'Succeeded',
      Tier: 'Bulk',
      VaultARN: `arn:aws:glacier:us-east-1:111122223333:vaults/${VAULT}`,
    });
    const failed = parseGlacierNotification(sent.find((b) => b.includes('"job-4"'))!);
    expect(failed).toMatchObject({ jobId: 'job-4', completed: true, statusCode: 'Failed', statusMessage: 'Archive could not be retrieved' });

    expect(archive(1)).toMatchObject({ jobPolledFor: 'job-1', jobPolledAt: NOW, jobPollOutcome: 'Succeeded', jobPolls: 1, status: ArchiveStatus.REQUESTED });
    expect(archive(3)).toMatchObject({ jobPolledFor: 'job-3', jobPollOutcome: 'InProgress' });
    expect(archive(4)).toMatchObject({ jobPollOutcome: 'Failed' });
    expect(archive(6)).toMatchObject({ jobPollOutcome: 'Succeeded', status: ArchiveStatus.STAGED });
    expect(archive(1).jobExpiresAt).toBeUndefined(); // only the notification's processing sets it
    expect(archive(2).jobPolledFor).toBeUndefined();
  });

  test('thresholds follow the tier: a 2-hour-old Expedited job is overdue, a 2-hour-old Standard job is not', async () => {
    seed(1, ArchiveStatus.REQUESTED, 2);
    job(1, { tier: 'Expedited' });
    expect((await recoverLostNotifications(deps(), { runId: RUN, tier: 'Standard' })).overdue).toBe(0);
    expect((await recoverLostNotifications(deps(), { runId: RUN, tier: 'Expedited' })).recovered).toBe(1);
    const custom = deps({ config: { overdueSeconds: { ...DEFAULT_OVERDUE_SECONDS, Standard: 3600 }, repollSeconds: 3600, maxPolls: 10 } });
    now += 2 * HOUR; // past the re-poll interval
    expect((await recoverLostNotifications(custom, { runId: RUN, tier: 'Standard' })).recovered).toBe(1);
  });

  test('an archive is not asked about again within the re-poll interval, unless its job changed', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13);
    const running = job(1, { statusCode: 'InProgress' });
    await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' });
    now += 30 * 60_000;
    expect((await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).overdue).toBe(0);
    expect(described()).toEqual(['job-1']);

    now += 31 * 60_000;
    running.statusCode = 'Succeeded'; // Glacier finished the job meanwhile
    expect(await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).toMatchObject({ overdue: 1, recovered: 1 });
    expect(archive(1)).toMatchObject({ jobPolls: 2, jobPollOutcome: 'Succeeded' });

    // The archive was re-requested meanwhile (window extension / resume): the new job is due at once.
    dynamo.seed(TABLE, { ...archive(1), jobId: 'job-1b', statusTime: new Date(now - 13 * HOUR).toISOString() });
    glacier.seedArchiveJob(VAULT, 'job-1b', bytesOf(1), 'archive-0001', { statusCode: 'InProgress', tier: 'Bulk' });
    now += 60_000;
    expect(await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).toMatchObject({ overdue: 1, inProgress: 1 });
    expect(described()).toEqual(['job-1', 'job-1', 'job-1b']);
  });

  test('a job Glacier no longer knows is handed to the download-window extension (jobExpiresAt = now), never dropped', async () => {
    seed(1, ArchiveStatus.REQUESTED, 30);
    job(1, { expired: true }); // past its download window
    const errors: unknown[][] = [];
    const quiet = () => undefined;
    const log = { debug: quiet, info: quiet, warn: quiet, error: (...args: unknown[]) => errors.push(args) };

    const result = await recoverLostNotifications(deps({ log: log as never }), { runId: RUN, tier: 'Bulk' });

    expect(result).toMatchObject({ overdue: 1, unknownJobs: 1, recovered: 0 });
    expect(sent).toHaveLength(0);
    expect(archive(1)).toMatchObject({ status: ArchiveStatus.REQUESTED, jobId: 'job-1', jobExpiresAt: NOW, jobPollOutcome: 'not-found' });
    expect(String(errors[0][0])).toMatch(/no longer knows.*download-window extension/);
    // The window scan lists requested archives with jobExpiresAt inside its margin: the archive is requested again.
    expect(evaluate('attribute_exists(jobExpiresAt) AND jobExpiresAt < :deadline', archive(1), {}, { ':deadline': NOW + 5 * HOUR })).toBe(true);
    // ...and it is not polled again meanwhile.
    now += 2 * HOUR;
    expect((await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).overdue).toBe(0);
  });

  test('bounded: at most maxPolls DescribeJob calls per invocation, oldest first; the next invocation continues', async () => {
    for (let n = 0; n < 7; n++) seed(n, ArchiveStatus.REQUESTED, 20 - n);
    for (let n = 0; n < 7; n++) job(n);
    const bounded = deps({ config: { overdueSeconds: DEFAULT_OVERDUE_SECONDS, repollSeconds: 3600, maxPolls: 3 } });

    expect(await recoverLostNotifications(bounded, { runId: RUN, tier: 'Bulk' })).toMatchObject({ overdue: 3, recovered: 3, truncated: true });
    expect(described().sort()).toEqual(['job-0', 'job-1', 'job-2']);
    expect(await recoverLostNotifications(bounded, { runId: RUN, tier: 'Bulk' })).toMatchObject({ overdue: 3, truncated: true });
    expect(await recoverLostNotifications(bounded, { runId: RUN, tier: 'Bulk' })).toMatchObject({ overdue: 1, truncated: false });
    expect(new Set(described()).size).toBe(7);
    expect(sent).toHaveLength(7);
  });

  test('reads the StatusIndex only (key condition on statusTime), never the whole table', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13);
    job(1);
    await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' });
    expect(dynamo.mock.commandCalls(QueryCommand).length).toBe(2); // staged, then requested
    expect(queries.map((q) => [q.IndexName, q.KeyConditionExpression])).toEqual(Array(2).fill(['StatusIndex', '#partition = :runStatus AND #time < :cutoff']));
    expect(queries.map((q) => q.ExpressionAttributeValues[':runStatus']))
      .toEqual([runStatusKey(RUN, ArchiveStatus.STAGED), runStatusKey(RUN, ArchiveStatus.REQUESTED)]);
    expect(queries[0].ExpressionAttributeValues[':cutoff']).toBe(new Date(NOW - 12 * HOUR).toISOString());
  });

  test('an archive that moved on between the query and the poll is left alone', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13);
    job(1, { statusCode: 'InProgress' });
    glacier.intercept('DescribeJob', (input, real) => {
      // The real notification arrives meanwhile: the archive is staged.
      const staged = { status: ArchiveStatus.STAGED, runStatus: runStatusKey(RUN, ArchiveStatus.STAGED), jobExpiresAt: NOW + HOUR };
      dynamo.seed(TABLE, { ...archive(1), ...staged });
      return real(input);
    });
    expect(await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).toMatchObject({ movedOn: 1, inProgress: 0 });
    expect(archive(1).jobPolledFor).toBeUndefined();
  });

  test('a failed poll (after the SDK retries) does not stop the others, is not recorded, and fails the invocation at the end', async () => {
    seed(1, ArchiveStatus.REQUESTED, 14);
    seed(2, ArchiveStatus.REQUESTED, 13);
    job(1);
    job(2);
    glacier.fail('DescribeJob', awsError('ThrottlingException', 400, 'Rate exceeded'), { times: Infinity, when: (input) => input.jobId === 'job-1' });

    const err = await recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' }).catch((e) => e);

    expect(err).toBeInstanceOf(RecoveryIncompleteError);
    expect(err.message).toMatch(/1 overdue job\(s\).*archive-0001: ThrottlingException/);
    expect(err.result).toMatchObject({ overdue: 2, recovered: 1 });
    expect(sent).toHaveLength(1);
    expect(archive(1).jobPolledFor).toBeUndefined(); // retried by the next check
    expect(archive(2).jobPolledFor).toBe('job-2');
  });

  test('when the send fails nothing is recorded, so the next check sends again', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13);
    job(1);
    sqs.fail('SendMessage', Object.assign(new Error('Access denied to KMS key'), { name: 'KmsAccessDenied' }));
    await expect(recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).rejects.toThrow(/KmsAccessDenied/);
    expect(archive(1).jobPolledFor).toBeUndefined();
  });

  test('a DescribeJob answer for another job or action is an error, not a notification', async () => {
    seed(1, ArchiveStatus.REQUESTED, 13);
    job(1);
    job(9);
    glacier.intercept('DescribeJob', (input, real) => real({ ...input, jobId: 'job-9' })); // a mixed-up answer
    await expect(recoverLostNotifications(deps(), { runId: RUN, tier: 'Bulk' })).rejects.toThrow(/answered job "job-9"/);
    expect(sent).toHaveLength(0);
  });

  test.each([
    [{ tier: 'Bulk' }, /runId must be a non-empty string/],
    [{ runId: RUN, tier: 'Glacial' }, /tier must be one of Expedited, Standard, Bulk, got "Glacial"/],
    [undefined, /runId/],
  ])('bad input %j is rejected with a clear error before anything is read', async (event, message) => {
    const err = await recoverLostNotifications(deps(), event as never).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidRecoveryInputError);
    expect(err.message).toMatch(message);
    expect(queries).toHaveLength(0);
  });

  test('config is validated with clear errors', () => {
    const ok = { overdueSeconds: DEFAULT_OVERDUE_SECONDS, repollSeconds: 3600, maxPolls: 10 };
    expect(validateRecoveryConfig(ok).concurrency).toBeGreaterThan(0);
    expect(() => validateRecoveryConfig({ ...ok, overdueSeconds: { ...DEFAULT_OVERDUE_SECONDS, Bulk: 86_400 } })).toThrow(/Bulk tier must be from 60 to 86399/);
    expect(() => validateRecoveryConfig({ ...ok, repollSeconds: 5 })).toThrow(/re-poll interval/);
    expect(() => validateRecoveryConfig({ ...ok, maxPolls: 0 })).toThrow(/maxPolls/);
  });
});

describe('notificationFromJob', () => {
  test('absent fields become null, as in Glacier notifications, and the NotificationsProcessor parser reads it', () => {
    const body = notificationFromJob({ Action: 'ArchiveRetrieval', JobId: 'j', Completed: true, StatusCode: 'Succeeded' });
    const json = JSON.parse(body);
    expect(json.ArchiveId).toBeNull();
    expect(json.CompletionDate).toBeNull();
    expect(parseGlacierNotification(body)).toMatchObject({ jobId: 'j', action: 'ArchiveRetrieval', completed: true, statusCode: 'Succeeded' });
  });
});

describe('recovered notification and the late real one', () => {
  test('NotificationsProcessor stages the archive once: one upload, one set of chunk messages, then downloaded', async () => {
    // This suite's doubles would shadow the World's: restore them first.
    dynamo.mock.restore();
    glacier.reset();
    sqs.reset();
    const world = new World();
    try {
      const data = archiveBytes(20 * MiB + 5);
      const item = world.seedArchive(data, { statusTime: new Date(NOW - 13 * HOUR).toISOString() });
      const real = world.succeeded(item); // the SNS envelope Glacier sent (and that got lost)
      const realJob = JSON.parse(JSON.parse(real).Message);
      // The job Glacier ran is the one its (lost) notification describes.
      Object.assign(world.glacier.jobs.get(item.jobId!)!, {
        tier: realJob.Tier, snsTopic: realJob.SNSTopic, creationDate: realJob.CreationDate, completionDate: realJob.CompletionDate,
      });
      const NOTIFICATIONS = 'https://sqs.us-east-1.amazonaws.com/111122223333/notifications';

      const recoveryDeps = (at: number, repollSeconds: number): RecoveryDeps => ({
        ddb: documentClient(),
        glacier: world.clients.glacier,
        sqs: world.sqsClient,
        tableName: 'transfer',
        notificationsQueueUrl: NOTIFICATIONS,
        config: { overdueSeconds: DEFAULT_OVERDUE_SECONDS, repollSeconds, maxPolls: 10 },
        log: silentLogger(),
        now: () => at,
      });
      const result = await recoverLostNotifications(recoveryDeps(NOW, 3600), { runId: item.runId, tier: 'Bulk' });
      expect(result.recovered).toBe(1);
      const [recovered] = world.sqs.take<Item>(NOTIFICATIONS);
      expect(recovered).toEqual(realJob);

      // The recovered notification stages the archive...
      await expect(processNotification(world.notificationDeps(), JSON.stringify(recovered))).resolves.toBe('chunks-queued');
      // ...and the real one, arriving late (or redelivered), changes nothing.
      await expect(processNotification(world.notificationDeps(), real)).resolves.toBe('duplicate');
      // A second recovery (poll recorded) sends nothing more: the archive is staged now.
      expect((await recoverLostNotifications(recoveryDeps(NOW + HOUR, 60), { runId: item.runId, tier: 'Bulk' })).overdue).toBe(0);

      expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
      const { chunks } = await world.drain();
      expect(chunks).toBe(3);
      expect(world.archive(item).status).toBe(ArchiveStatus.DOWNLOADED);
      expect(world.s3.objects.get(item.objectKey)!.body.equals(data)).toBe(true);
      // Late copies after the download change nothing either.
      await expect(processNotification(world.notificationDeps(), JSON.stringify(recovered))).resolves.toBe('duplicate');
      await expect(processNotification(world.notificationDeps(), real)).resolves.toBe('duplicate');
      expect(world.s3.mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
    } finally {
      world.reset();
    }
  });
});
