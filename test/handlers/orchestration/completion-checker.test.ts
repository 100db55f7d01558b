import { SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { awsError, FACILITATOR, METRICS, OrchestrationDynamo, silentLogger, TRANSFER } from './fakes';
import { completionWaitPk, metricsPk, RUN_SK, runPk } from '../../../src/contract/keys';
import { checkCompletion, CompletionDeps } from '../../../src/handlers/orchestration/completion-checker';
import { countsFromItem, isComplete } from '../../../src/handlers/orchestration/run-counts';
import { RunState } from '../../../src/handlers/shared/schema';
import { FakeSfn } from '../../doubles/sfn';

const RUN = 'run-1';
const TOKEN = 'token-abc';
let dynamo: OrchestrationDynamo;
let sfn: FakeSfn;
let deps: CompletionDeps;

function counts(c: Partial<Record<'total' | 'pending' | 'requested' | 'staged' | 'downloaded' | 'failed' | 'skipped', number>>) {
  const item: Record<string, unknown> = { pk: metricsPk(RUN) };
  for (const [k, v] of Object.entries(c)) {
    item[`${k}Count`] = v;
    item[`${k}Bytes`] = v * 100;
  }
  dynamo.seed(METRICS, item);
}

function run(extra: Record<string, unknown> = {}) {
  dynamo.seed(TRANSFER, { pk: runPk(RUN), sk: RUN_SK, runId: RUN, vaultName: 'photos', state: RunState.ACTIVE, ...extra });
}

const successCalls = () => sfn.mock.commandCalls(SendTaskSuccessCommand);
const heartbeatCalls = () => sfn.mock.commandCalls(SendTaskHeartbeatCommand);

beforeEach(() => {
  dynamo = new OrchestrationDynamo();
  sfn = new FakeSfn();
  for (const token of [TOKEN, 'token-2']) sfn.live.add(token); // the orchestrator executions waiting
  deps = {
    ddb: dynamo.client,
    sfn: sfn.client,
    transferTable: TRANSFER,
    metricsTable: METRICS,
    asyncFacilitatorTable: FACILITATOR,
    log: silentLogger(),
    now: () => new Date('2024-03-01T12:00:00Z'),
  };
  run();
});
afterEach(() => {
  dynamo.reset();
  sfn.reset();
});

describe('run counts', () => {
  test('complete exactly when downloaded + failed + skipped reaches the total', () => {
    expect(isComplete(countsFromItem({ totalCount: 10, downloadedCount: 7, failedCount: 2, skippedCount: 1 }))).toBe(true);
    expect(isComplete(countsFromItem({ totalCount: 10, downloadedCount: 7, failedCount: 2, pendingCount: 1 }))).toBe(false);
    expect(isComplete(countsFromItem({ totalCount: 10, downloadedCount: 7, failedCount: 2, stagedCount: 1 }))).toBe(false);
  });

  test('a total lower than the per-status items is raised, so it cannot end a run early', () => {
    const c = countsFromItem({ totalCount: 3, downloadedCount: 3, pendingCount: 2 });
    expect(c.count.total).toBe(5);
    expect(isComplete(c)).toBe(false);
  });
});

describe('checkCompletion from the schedule (token stored by the orchestrator)', () => {
  beforeEach(() => dynamo.seed(FACILITATOR, { pk: completionWaitPk(RUN), runId: RUN, taskToken: TOKEN }));

  test('complete with failures and skips: sends task success to the stored token and drops it', async () => {
    counts({ total: 10, downloaded: 7, failed: 2, skipped: 1 });
    const result = await checkCompletion(deps, { runId: RUN });
    expect(result.status).toBe('COMPLETE');
    expect(result.counts).toMatchObject({ total: 10, downloaded: 7, failed: 2, skipped: 1 });
    expect(successCalls()).toHaveLength(1);
    const input = successCalls()[0].args[0].input;
    expect(input.taskToken).toBe(TOKEN);
    expect(JSON.parse(input.output!)).toMatchObject({ outcome: 'COMPLETE', runId: RUN, counts: { failed: 2, downloaded: 7 } });
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toBeUndefined();
    expect(heartbeatCalls()).toHaveLength(0);
  });

  test('task success is sent once: later checks find no token', async () => {
    counts({ total: 4, downloaded: 4 });
    await checkCompletion(deps, { runId: RUN });
    const second = await checkCompletion(deps, { runId: RUN });
    await checkCompletion(deps, { runId: RUN });
    expect(successCalls()).toHaveLength(1);
    expect(second.status).toBe('COMPLETE');
  });

  test('not complete: heartbeats the waiting task, keeps the token, no success', async () => {
    counts({ total: 10, downloaded: 7, failed: 1, skipped: 1, requested: 1 });
    const result = await checkCompletion(deps, { runId: RUN });
    expect(result.status).toBe('IN_PROGRESS');
    expect(successCalls()).toHaveLength(0);
    expect(heartbeatCalls().map((c) => c.args[0].input.taskToken)).toEqual([TOKEN]);
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toBeDefined();
  });

  test('a stop request ends the wait: RESET at once, FINISH once nothing is requested or staged', async () => {
    counts({ total: 10, downloaded: 2, pending: 6, staged: 2 });
    run({ stopRequested: 'FINISH' });
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('IN_PROGRESS');
    counts({ total: 10, downloaded: 4, pending: 6 });
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('STOPPED');
    expect(JSON.parse(successCalls()[0].args[0].input.output!).outcome).toBe('STOPPED');

    dynamo.seed(FACILITATOR, { pk: completionWaitPk(RUN), runId: RUN, taskToken: 'token-2' });
    run({ stopRequested: 'RESET' });
    counts({ total: 10, pending: 8, staged: 2 });
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('STOPPED');
    expect(successCalls().map((c) => c.args[0].input.taskToken)).toEqual([TOKEN, 'token-2']);
  });

  test('a timed-out waiting task only drops the token; other errors propagate and keep it', async () => {
    counts({ total: 1, downloaded: 1 });
    sfn.fail('SendTaskSuccess', awsError('ThrottlingException', 400));
    await expect(checkCompletion(deps, { runId: RUN })).rejects.toThrow('ThrottlingException');
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toBeDefined();
    sfn.live.delete(TOKEN); // the waiting task timed out
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('COMPLETE');
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toBeUndefined();
  });

  test('a token replaced by a newer execution is not deleted', async () => {
    counts({ total: 1, downloaded: 1 });
    dynamo.beforeCommand = (name) => {
      if (name === 'Delete') dynamo.seed(FACILITATOR, { pk: completionWaitPk(RUN), runId: RUN, taskToken: 'newer' });
    };
    await checkCompletion(deps, { runId: RUN });
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))?.taskToken).toBe('newer');
  });
});

describe('checkCompletion from the orchestrator (token in the event)', () => {
  test('registers the token; an already finished run completes at once and the token is removed', async () => {
    counts({ total: 0 });
    const result = await checkCompletion(deps, { runId: RUN, taskToken: TOKEN, executionArn: 'arn:exec' });
    expect(result.status).toBe('COMPLETE');
    expect(successCalls()).toHaveLength(1);
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toBeUndefined();
  });

  test('an unfinished run: the token is stored for the schedule, which later completes it', async () => {
    counts({ total: 2, downloaded: 1, staged: 1 });
    expect((await checkCompletion(deps, { runId: RUN, taskToken: TOKEN, executionArn: 'arn:exec' })).status).toBe('IN_PROGRESS');
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))).toMatchObject({ taskToken: TOKEN, executionArn: 'arn:exec', runId: RUN });
    expect(dynamo.get(FACILITATOR, completionWaitPk(RUN))!.expiresAt).toBe(Math.floor(Date.parse('2024-03-01T12:00:00Z') / 1000) + 400 * 86400);
    expect(successCalls()).toHaveLength(0);
    counts({ total: 2, downloaded: 1, failed: 1 });
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('COMPLETE');
    expect(successCalls().map((c) => c.args[0].input.taskToken)).toEqual([TOKEN]);
  });

  test('without a registered wait a scheduled check sends nothing', async () => {
    counts({ total: 2, downloaded: 1 });
    expect((await checkCompletion(deps, { runId: RUN })).status).toBe('NOT_WAITING');
    expect(sfn.mock.calls()).toHaveLength(0);
  });
});
