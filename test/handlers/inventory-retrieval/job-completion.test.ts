import { DescribeJobCommand } from '@aws-sdk/client-glacier';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ASYNC, FakeDynamo, FakeGlacier, FakeSfn, recordingLog, RUN, VAULT } from './world';
import { inventoryJobWaitPk } from '../../../src/contract/keys';
import { CompletionDeps, completeInventoryJobWith, InventoryJobFacts } from '../../../src/handlers/inventory-retrieval/inventory-job-completion';
import { pollInventoryJob } from '../../../src/handlers/inventory-retrieval/inventory-job-poller';

let ddb: FakeDynamo;
let sfn: FakeSfn;
let glacier: FakeGlacier;

beforeEach(() => {
  ddb = new FakeDynamo();
  sfn = new FakeSfn();
  glacier = new FakeGlacier();
});
afterEach(() => {
  ddb.reset();
  sfn.reset();
  glacier.reset();
});

const deps = (): CompletionDeps => ({ ddb: ddb.client, sfn: sfn.client, tableName: ASYNC, log: recordingLog() });

/** What the state machine's AwaitInventoryJobToken PutItem writes. */
function waiter(jobId: string, token = `token-${jobId}`): string {
  ddb.seed(ASYNC, { pk: inventoryJobWaitPk(jobId), taskToken: token, runId: RUN, vaultName: VAULT, jobId, executionId: 'arn:exec' });
  sfn.live.add(token);
  return token;
}

const succeeded = (jobId: string): InventoryJobFacts => ({
  jobId, completed: true, statusCode: 'Succeeded', statusMessage: 'Succeeded', inventorySizeInBytes: 1234, completionDate: '2026-11-24T10:00:00.000Z',
});

describe('completeInventoryJobWith', () => {
  test('a succeeded job sends task success once with the job facts; the second call finds it already completed', async () => {
    const token = waiter('JOB1');
    expect(await completeInventoryJobWith(deps(), succeeded('JOB1'))).toBe('unlocked');
    expect(sfn.results).toEqual([{ token, success: { jobId: 'JOB1', statusCode: 'Succeeded', inventorySizeInBytes: 1234, completionDate: '2026-11-24T10:00:00.000Z' } }]);
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB1'))).toMatchObject({ statusCode: 'Succeeded', completedAt: expect.any(String) });

    expect(await completeInventoryJobWith(deps(), succeeded('JOB1'))).toBe('already-completed');
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  test('a failed job sends task failure carrying Glacier\'s status message', async () => {
    const token = waiter('JOB2');
    const outcome = await completeInventoryJobWith(deps(), {
      jobId: 'JOB2', completed: true, statusCode: 'Failed', statusMessage: 'Inventory retrieval failed: vault was modified',
    });
    expect(outcome).toBe('failed-job-reported');
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(sfn.results).toEqual([{
      token,
      error: 'Glacier.InventoryJobFailed',
      cause: 'Glacier inventory job JOB2 failed: Inventory retrieval failed: vault was modified',
    }]);
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB2'))).toMatchObject({ statusCode: 'Failed', completedAt: expect.any(String) });
  });

  test('a failed job without a status message still fails the task with a readable cause', async () => {
    waiter('JOB2b');
    await completeInventoryJobWith(deps(), { jobId: 'JOB2b', completed: true, statusCode: 'Failed' });
    expect(sfn.results[0].cause).toBe('Glacier inventory job JOB2b failed: no status message');
  });

  test('no waiter yet (notification before the state machine stored its token) → no-waiter, nothing sent, nothing written', async () => {
    expect(await completeInventoryJobWith(deps(), succeeded('JOB3'))).toBe('no-waiter');
    expect(sfn.mock.calls()).toHaveLength(0);
    expect(ddb.mock.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB3'))).toBeUndefined();
    // Once the waiter exists, the next attempt (poller) unlocks it.
    waiter('JOB3');
    expect(await completeInventoryJobWith(deps(), succeeded('JOB3'))).toBe('unlocked');
  });

  test('an unfinished job is not-complete and reads nothing', async () => {
    waiter('JOB4');
    expect(await completeInventoryJobWith(deps(), { jobId: 'JOB4', completed: false, statusCode: 'InProgress' })).toBe('not-complete');
    expect(ddb.mock.calls()).toHaveLength(0);
    expect(sfn.mock.calls()).toHaveLength(0);
  });

  test.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('a stale token (%s) is reported as stale-token and the waiter marked done', async (name) => {
    waiter('JOB5');
    sfn.fail('SendTaskSuccess', Object.assign(new Error(name), { name }));
    expect(await completeInventoryJobWith(deps(), succeeded('JOB5'))).toBe('stale-token');
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB5'))!.completedAt).toEqual(expect.any(String));
    expect(await completeInventoryJobWith(deps(), succeeded('JOB5'))).toBe('already-completed');
  });

  test('a token already used by a concurrent caller (real SFN answers TaskTimedOut) is stale-token, not an error', async () => {
    const token = waiter('JOB6');
    sfn.live.delete(token); // the other caller won the race before marking the item
    expect(await completeInventoryJobWith(deps(), succeeded('JOB6'))).toBe('stale-token');
  });

  test('other Step Functions errors are thrown and leave the waiter open for a retry', async () => {
    waiter('JOB7');
    sfn.fail('SendTaskSuccess', Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(completeInventoryJobWith(deps(), succeeded('JOB7'))).rejects.toThrow('throttled');
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB7'))!.completedAt).toBeUndefined();
    expect(await completeInventoryJobWith(deps(), succeeded('JOB7'))).toBe('unlocked');
  });

  test('the waiter item removed between read and mark (TTL, cleanup) is not an error', async () => {
    waiter('JOB8');
    sfn.intercept('SendTaskSuccess', (input, real) => {
      ddb.table(ASYNC).delete(inventoryJobWaitPk('JOB8'));
      return real(input);
    });
    expect(await completeInventoryJobWith(deps(), succeeded('JOB8'))).toBe('unlocked');
    expect(ddb.get(ASYNC, inventoryJobWaitPk('JOB8'))).toBeUndefined();
  });
});

describe('pollInventoryJob', () => {
  const pollDeps = () => ({ glacier: glacier.client, completion: deps(), log: recordingLog() });

  test('a finished job whose notification never arrived is unlocked by DescribeJob, with the job facts', async () => {
    const job = glacier.seedInventoryJob(VAULT, 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n', { jobId: 'JOBP1' });
    const token = waiter(job.jobId);
    const log = recordingLog();
    const result = await pollInventoryJob({ ...pollDeps(), log }, { jobId: job.jobId, vaultName: VAULT });

    expect(result).toEqual({ jobId: job.jobId, statusCode: 'Succeeded', outcome: 'unlocked' });
    expect(glacier.mock.commandCalls(DescribeJobCommand)[0].args[0].input).toEqual({ accountId: '-', vaultName: VAULT, jobId: job.jobId });
    expect(sfn.results).toEqual([{
      token,
      success: { jobId: job.jobId, statusCode: 'Succeeded', inventorySizeInBytes: job.output!.length, completionDate: '2026-11-24T10:00:00.000Z' },
    }]);
    expect(log.lines.some((l) => l.level === 'warn' && /notification had not arrived/.test(l.message))).toBe(true);
  });

  test('a job still in progress: not-complete, no token touched', async () => {
    glacier.seedInventoryJob(VAULT, '', { jobId: 'JOBP2', statusCode: 'InProgress' });
    waiter('JOBP2');
    expect(await pollInventoryJob(pollDeps(), { jobId: 'JOBP2', vaultName: VAULT })).toEqual({ jobId: 'JOBP2', statusCode: 'InProgress', outcome: 'not-complete' });
    expect(sfn.mock.calls()).toHaveLength(0);
  });

  test('a failed job is reported through SendTaskFailure with the status message', async () => {
    glacier.seedInventoryJob(VAULT, '', { jobId: 'JOBP3', statusCode: 'Failed', statusMessage: 'Access denied to SNS topic' });
    waiter('JOBP3');
    expect((await pollInventoryJob(pollDeps(), { jobId: 'JOBP3', vaultName: VAULT })).outcome).toBe('failed-job-reported');
    expect(sfn.results[0]).toMatchObject({ error: 'Glacier.InventoryJobFailed', cause: expect.stringContaining('Access denied to SNS topic') });
  });

  test('after the notification path unlocked the task, the poller finds it already completed', async () => {
    const job = glacier.seedInventoryJob(VAULT, 'x', { jobId: 'JOBP4' });
    waiter(job.jobId);
    expect(await completeInventoryJobWith(deps(), succeeded(job.jobId))).toBe('unlocked');
    expect((await pollInventoryJob(pollDeps(), { jobId: job.jobId, vaultName: VAULT })).outcome).toBe('already-completed');
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(sfn.mock.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  test('an unknown job id surfaces Glacier\'s error', async () => {
    await expect(pollInventoryJob(pollDeps(), { jobId: 'nope', vaultName: VAULT })).rejects.toThrow(/job ID was not found/);
  });
});

describe('completeInventoryJob (the notifications processor entry point)', () => {
  test('uses ASYNC_FACILITATOR_TABLE_NAME and unlocks once; a repeated notification is already-completed', async () => {
    process.env.ASYNC_FACILITATOR_TABLE_NAME = ASYNC;
    process.env.AWS_REGION ??= 'us-east-1';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { completeInventoryJob } = require('../../../src/handlers/inventory-retrieval/inventory-job-completion') as
      typeof import('../../../src/handlers/inventory-retrieval/inventory-job-completion');
    const token = waiter('JOBN1');
    expect(await completeInventoryJob(succeeded('JOBN1'))).toBe('unlocked');
    expect(await completeInventoryJob(succeeded('JOBN1'))).toBe('already-completed');
    expect(sfn.results.map((r) => r.token)).toEqual([token]);
    expect(ddb.mock.commandCalls(UpdateCommand)[0].args[0].input).toMatchObject({
      TableName: ASYNC,
      Key: { pk: 'inventory-job#JOBN1' },
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(completedAt)',
    });
  });
});
