import { SQSClient } from '@aws-sdk/client-sqs';
import { MemoryObjectStore } from '../../rehearsal/sfn/object-store';
import { runStateMachine } from '../../rehearsal/sfn/runner';
import { loadDefinition } from '../../src/asl/definitions';
import { PARTITION_CSV_COLUMNS, PartitionRow } from '../../src/contract/messages';
import { DEFAULT_OVERDUE_SECONDS, recoverLostNotifications } from '../../src/handlers/archive-retrieval/lost-notification-recovery';
import { extendBatch } from '../../src/handlers/download-window-extension/extend-window';
import { findArchivesNeedingExtension } from '../../src/handlers/download-window-extension/window-scan';
import { initiateBatch, InitiateBatchResult, RequestDeps } from '../../src/handlers/initiate-retrieval/initiate-batch';
import { ArchiveStatus } from '../../src/handlers/shared/schema';
import { FakeS3 } from '../doubles/s3';
import { awsError } from '../doubles/service';
import { FakeSqs } from '../doubles/sqs';
import { GiB, row, RUN, TOPIC, TRANSFER, VAULT, World } from '../handlers/initiate-retrieval/world';

/*
 * The real InitiateRetrieval and DownloadWindowExtension definitions, run by the local ASL runner
 * (rehearsal/sfn) with the real batch handlers behind it (DynamoDB and Glacier faked in memory).
 */

const BUCKET = 'inventory-bucket';
const INITIATE_FN = 'arn:aws:lambda:eu-west-1:111122223333:function:InitiateArchiveRetrieval';
const SCAN_FN = 'arn:aws:lambda:eu-west-1:111122223333:function:ArchivesNeedingWindowExtension';
const EXTEND_FN = 'arn:aws:lambda:eu-west-1:111122223333:function:ExtendDownloadWindow';
const RECOVER_FN = 'arn:aws:lambda:eu-west-1:111122223333:function:RecoverLostNotifications';
/** State names entered at every nesting level (Distributed Map children included). */
const nested = (r: { runtime: any; executionArn: string }): string[] => r.runtime.transitions(r.executionArn, { nested: true });
const INPUT = { runId: RUN, vaultName: VAULT, tier: 'Bulk', storageClass: 'DEEP_ARCHIVE' };

function csv(rows: PartitionRow[]): string {
  const lines = [PARTITION_CSV_COLUMNS.join(',')];
  for (const r of rows) lines.push(PARTITION_CSV_COLUMNS.map((c) => r[c]).join(','));
  return `${lines.join('\n')}\n`;
}

let world: World;
let store: MemoryObjectStore;
/** Request time (virtual ms) and size of every InitiateJob that went through. */
let requests: Array<{ at: number; bytes: number }>;

beforeEach(() => {
  store = new MemoryObjectStore();
  requests = [];
});
afterEach(() => world.reset());

/** Seeds `files` partition CSVs: [partition, file, first row, row count]. */
async function seedInventory(files: Array<[string, string, number, number]>, size = GiB): Promise<void> {
  for (const [partition, file, from, count] of files) {
    const rows = Array.from({ length: count }, (_, i) => row(from + i, size));
    await store.putObject(BUCKET, `${RUN}/sorted_inventory/${partition}/${file}`, csv(rows));
  }
  await store.putObject(BUCKET, `${RUN}/sorted_inventory/_SUCCESS`, '');
}

/** The batch Lambda as deployed, plus the virtual time a Wait state would have let pass. */
function initiateHandler(overrides: () => Partial<RequestDeps> = () => ({})) {
  let pendingWait = 0;
  return async (event: any): Promise<InitiateBatchResult> => {
    world.now += pendingWait * 1000;
    const result = await initiateBatch(world.deps({ concurrency: 1, ...overrides() }), event);
    pendingWait = result.waitSeconds;
    return result;
  };
}

async function runInitiate(overrides?: () => Partial<RequestDeps>) {
  const recordTimes = () => {
    const done = world.glacier.calls.filter((c) => c.jobId).length;
    while (requests.length < done) requests.push({ at: world.now, bytes: GiB });
  };
  const handler = initiateHandler(overrides);
  return runStateMachine(loadDefinition('initiate-retrieval'), INPUT, {
    substitutions: { InventoryBucket: BUCKET, NotificationTopicArn: TOPIC, InitiateArchiveRetrievalFunctionArn: INITIATE_FN },
    services: {
      objectStore: store,
      lambdaHandlers: {
        [INITIATE_FN]: async (event: any) => {
          const result = await handler(event);
          recordTimes();
          return result;
        },
      },
    },
  });
}

describe('InitiateRetrieval ASL (local runner)', () => {
  test('reads every partition file in key order, in batches of 100, and requests each archive once', async () => {
    world = new World();
    await seedInventory([['0000000000', 'part-00000.csv', 0, 150], ['0000000000', 'part-00001.csv', 150, 30], ['0000000001', 'part-00000.csv', 180, 70]]);
    const result = await runInitiate();

    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(world.glacier.requestedArchives()).toEqual(Array.from({ length: 250 }, (_, i) => row(i).ArchiveId));
    const batches = nested(result).filter((t) => t === 'InitiateBatch').length;
    expect(batches).toBe(2 + 1 + 1); // 150 → 100 + 50; 30; 70
    expect(nested(result)).toContain('NotAPartitionFile'); // the _SUCCESS marker
    expect(nested(result)).not.toContain('WaitForQuota');
    expect([...store.objects.keys()].some((k) => k.startsWith(`${BUCKET}/tmp/initiate-retrieval/batches/`))).toBe(true);

    // Starting it again for the same run (resume) requests nothing.
    const again = await runInitiate();
    expect(again.status).toBe('SUCCEEDED');
    expect(world.glacier.calls).toHaveLength(250);
  });

  test('loops InitiateBatch → QuotaExhausted? → WaitForQuota until the quota has room, never exceeding it', async () => {
    world = new World(120 * GiB);
    await seedInventory([['0000000000', 'part-00000.csv', 0, 300]]);
    const result = await runInitiate();

    expect(result.status).toBe('SUCCEEDED');
    expect(world.glacier.requestedArchives()).toHaveLength(300);
    expect(nested(result).filter((t) => t === 'WaitForQuota').length).toBeGreaterThanOrEqual(2);
    for (const r of requests) {
      const window = requests.filter((o) => o.at > r.at - 86_400_000 && o.at <= r.at).reduce((s, o) => s + o.bytes, 0);
      expect(window).toBeLessThanOrEqual(120 * GiB);
    }
    // 300 GiB at 120 GiB per rolling day: the last request lands after two full windows.
    expect(requests[requests.length - 1].at - requests[0].at).toBeGreaterThan(2 * 86_400_000);
  });

  test('at the per-run spend cap the batch loops through PausedAtRunSpendCap, never past the cap, failing nothing; a raised cap continues (issue 22)', async () => {
    world = new World();
    await seedInventory([['0000000000', 'part-00000.csv', 0, 150]]);
    let callsAtCap = 0;
    let requestsWhenRaised: number | undefined;
    const result = await runInitiate(() => {
      if (world.glacier.calls.length >= 120) callsAtCap++;
      // The deploying team raises the cap once the run has looked at it three times while paused.
      const raised = callsAtCap > 3;
      if (raised && requestsWhenRaised === undefined) requestsWhenRaised = world.glacier.calls.length;
      return { runSpend: world.runSpend({ maxRequests: raised ? 1000 : 120 }) };
    });
    const pauses = nested(result).filter((t) => t === 'PausedAtRunSpendCap').length;
    expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
    expect(pauses).toBeGreaterThanOrEqual(3);
    expect(nested(result)).not.toContain('WaitForQuota');
    expect(requestsWhenRaised).toBe(120);
    expect(world.glacier.requestedArchives()).toHaveLength(150);
    expect(world.spent().requests).toBe(150);
  });

  test('PolicyEnforcedException ends the batch in the Glacier.PolicyEnforced Fail state and fails the run', async () => {
    world = new World();
    await seedInventory([['0000000000', 'part-00000.csv', 0, 120]]);
    world.glacier.failures.set(row(110).ArchiveId, [awsError('PolicyEnforcedException', 400, 'policy')]);
    const result = await runInitiate();

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InitiateRetrieval.BatchFailed');
    expect(result.cause).toMatch(/Glacier\.PolicyEnforced/);
    expect(nested(result)).toContain('RetrievalPolicyRejected');
    expect(nested(result).filter((t) => t === 'InitiateBatch')).toHaveLength(2); // never retried
    expect(world.archive(110)!.status).toBe(ArchiveStatus.PENDING);
  });
});

const EXTENSION_SUBSTITUTIONS = {
  InventoryBucket: BUCKET,
  NotificationTopicArn: TOPIC,
  ArchivesNeedingWindowExtensionFunctionArn: SCAN_FN,
  ExtendDownloadWindowFunctionArn: EXTEND_FN,
  RecoverLostNotificationsFunctionArn: RECOVER_FN,
};
const NOTIFICATIONS_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/111122223333/notifications';
/** The real RecoverLostNotifications over the world's fakes (a FakeSqs started by the caller). */
const recoverHandler = async (event: any) => recoverLostNotifications({
  ddb: world.dynamo.client,
  glacier: world.glacier.client,
  sqs: new SQSClient({ region: 'eu-west-1' }),
  tableName: TRANSFER,
  notificationsQueueUrl: NOTIFICATIONS_QUEUE,
  config: { overdueSeconds: DEFAULT_OVERDUE_SECONDS, repollSeconds: 3600, maxPolls: 100 },
  log: world.logger,
  now: world.clock,
}, event);
const scanDeps = (s3: FakeS3) => ({
  ddb: world.dynamo.client, s3: s3.client, tableName: TRANSFER, bucket: BUCKET, marginSeconds: 5 * 3600, log: world.logger, now: world.clock,
});

describe('DownloadWindowExtension ASL (local runner)', () => {
  test('lists closing windows, re-requests them in batches and switches the items to the new jobs', async () => {
    world = new World();
    const s3 = new FakeS3();
    try {
      for (let n = 0; n < 150; n++) world.seedArchive(n, ArchiveStatus.STAGED, { jobId: `old-${n}`, jobExpiresAt: world.now + (n < 120 ? 1 : 10) * 3600_000 });
      const result = await runStateMachine(loadDefinition('download-window-extension'), { runId: RUN, tier: 'Bulk' }, {
        substitutions: EXTENSION_SUBSTITUTIONS,
        services: {
          objectStore: store,
          lambdaHandlers: {
            [RECOVER_FN]: recoverHandler,
            [SCAN_FN]: async (event: any) => {
              const out = await findArchivesNeedingExtension({
                ...scanDeps(s3),
              }, event);
              for (const [key, { body }] of s3.objects) await store.putObject(BUCKET, key, body);
              return out;
            },
            [EXTEND_FN]: async (event: any) => extendBatch({ ...world.deps(), maxWaitSeconds: 1200 }, event),
          },
        },
      });

      expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
      expect(world.glacier.requestedArchives()).toHaveLength(120);
      expect(nested(result).filter((t) => t === 'ExtendBatch')).toHaveLength(2);
      expect(world.archive(0)).toMatchObject({ status: ArchiveStatus.STAGED, previousJobId: 'old-0', jobId: expect.stringMatching(/^JOB/) });
      expect(world.archive(130)).toMatchObject({ jobId: 'old-130' });

      // A second check finds nothing: the re-requested archives wait for their new jobs.
      const again = await runStateMachine(loadDefinition('download-window-extension'), { runId: RUN, tier: 'Bulk' }, {
        substitutions: EXTENSION_SUBSTITUTIONS,
        services: {
          objectStore: store,
          lambdaHandlers: {
            [RECOVER_FN]: recoverHandler,
            [SCAN_FN]: async (event: any) => findArchivesNeedingExtension({
              ...scanDeps(s3),
            }, event),
            [EXTEND_FN]: async () => {
              throw new Error('must not be called');
            },
          },
        },
      });
      expect(nested(again)).toContain('NothingToExtend');
    } finally {
      s3.mock.restore();
    }
  });

  test('first recovers lost notifications: a finished job is re-announced, a job Glacier forgot is re-requested by the same execution', async () => {
    world = new World();
    const s3 = new FakeS3();
    const sqs = new FakeSqs();
    // Glacier finished lost-0 (its notification was lost) and no longer knows gone-1.
    world.glacier.jobs.set('lost-0', { jobId: 'lost-0', vaultName: VAULT, action: 'ArchiveRetrieval', statusCode: 'Succeeded', archiveId: row(0).ArchiveId, tier: 'Bulk' });
    world.glacier.jobs.set('gone-1', { jobId: 'gone-1', vaultName: VAULT, action: 'ArchiveRetrieval', statusCode: 'Succeeded', archiveId: row(1).ArchiveId, expired: true });
    const at = (hoursAgo: number) => new Date(world.now - hoursAgo * 3600_000).toISOString();
    try {
      world.seedArchive(0, ArchiveStatus.REQUESTED, { jobId: 'lost-0', statusTime: at(13) });
      world.seedArchive(1, ArchiveStatus.REQUESTED, { jobId: 'gone-1', statusTime: at(30) });
      const handlers = (recover: (event: any) => Promise<unknown>) => ({
        [RECOVER_FN]: recover,
        [SCAN_FN]: async (event: any) => {
          const out = await findArchivesNeedingExtension(scanDeps(s3), event);
          for (const [key, { body }] of s3.objects) await store.putObject(BUCKET, key, body);
          return out;
        },
        [EXTEND_FN]: async (event: any) => extendBatch({ ...world.deps(), maxWaitSeconds: 1200 }, event),
      });
      const result = await runStateMachine(loadDefinition('download-window-extension'), { runId: RUN, tier: 'Bulk' }, {
        substitutions: EXTENSION_SUBSTITUTIONS,
        services: { objectStore: store, lambdaHandlers: handlers(recoverHandler) },
      });

      expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
      expect(nested(result).slice(0, 2)).toEqual(['RecoverLostNotifications', 'FindArchivesNeedingExtension']);
      expect(sqs.messages<{ JobId: string }>(NOTIFICATIONS_QUEUE).map((m) => m.JobId)).toEqual(['lost-0']);
      expect(world.glacier.requestedArchives()).toEqual([row(1).ArchiveId]);
      expect(world.archive(1)).toMatchObject({ status: ArchiveStatus.REQUESTED, previousJobId: 'gone-1', jobId: expect.stringMatching(/^JOB/) });
      expect(world.archive(1)!.jobExpiresAt).toBeUndefined();
      expect(world.archive(0)).toMatchObject({ status: ArchiveStatus.REQUESTED, jobId: 'lost-0', jobPolledFor: 'lost-0' });

      // A recovery that keeps failing is caught: the window extension still runs and succeeds.
      world.seedArchive(2, ArchiveStatus.STAGED, { jobId: 'closing-2', jobExpiresAt: world.now + 3600_000 });
      const failing = await runStateMachine(loadDefinition('download-window-extension'), { runId: RUN, tier: 'Bulk' }, {
        substitutions: EXTENSION_SUBSTITUTIONS,
        services: {
          objectStore: store,
          lambdaHandlers: handlers(async () => {
            throw Object.assign(new Error('environment variable NOTIFICATIONS_QUEUE_URL is required'), { name: 'Error' });
          }),
        },
      });
      expect([failing.status, failing.error]).toEqual(['SUCCEEDED', undefined]);
      expect(nested(failing)).toContain('ExtendBatch');
      expect(world.glacier.requestedArchives()).toEqual([row(1).ArchiveId, row(2).ArchiveId]);
    } finally {
      s3.mock.restore();
      sqs.reset();
    }
  });
});
