import { EventBridgeClient, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { awsError, FACILITATOR, OrchestrationDynamo, silentLogger, TRANSFER } from './fakes';
import { activeVaultPk, completionWaitPk, RUN_SK, runPk } from '../../../src/contract/keys';
import { endReason, ExecutionEndedDeps, ExecutionStatusChangeEvent, handleExecutionEnded } from '../../../src/handlers/orchestration/execution-ended';
import { RunState } from '../../../src/handlers/shared/schema';
import { FakeEventBridge } from '../../doubles/events';
import { FakeSfn } from '../../doubles/sfn';

const exec = (n: number) => `arn:aws:states:eu-west-1:111122223333:execution:Orchestrator:e${n}`;
const INITIATE = 'arn:aws:states:eu-west-1:111122223333:execution:Initiate:r1-abc-initiate';
const RULES = ['window-rule', 'completion-rule', 'dashboard-rule'];
let events: FakeEventBridge;
let sfn: FakeSfn;
let dynamo: OrchestrationDynamo;
let deps: ExecutionEndedDeps;

function statusChange(status: string, n = 1, extra: Record<string, unknown> = {}): ExecutionStatusChangeEvent {
  return {
    'source': 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    'detail': {
      executionArn: exec(n),
      stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Orchestrator',
      status,
      input: JSON.stringify({ runId: 'r1', mode: 'LAUNCH', vaultName: 'photos' }),
      error: status === 'ABORTED' ? null : 'States.Runtime',
      cause: status === 'ABORTED' ? null : 'boom',
      ...extra,
    },
  };
}

function seedActiveRun(executionArn = exec(1), state = RunState.ACTIVE): void {
  dynamo.seed(TRANSFER, {
    pk: runPk('r1'),
    sk: RUN_SK,
    runId: 'r1',
    vaultName: 'photos',
    state,
    executionArn,
    initiateExecutionArn: INITIATE,
    initiateExecutionName: 'r1-abc-initiate',
    startedAt: '2024-03-01T10:00:00Z',
  });
  dynamo.seed(TRANSFER, { pk: activeVaultPk('photos'), sk: RUN_SK, vaultName: 'photos', runId: 'r1', executionArn });
  dynamo.seed(FACILITATOR, { pk: completionWaitPk('r1'), taskToken: 'token', executionArn, createdAt: '2024-03-01T11:00:00Z' });
  for (const rule of RULES) events.rules.set(rule, new Set(['r1', 'r2'])); // the runs' EnableXSchedule states put these
  sfn.executions.set(INITIATE, { status: 'RUNNING' });
}

const record = () => dynamo.get(TRANSFER, runPk('r1'), RUN_SK);
const removed = () => events.mock.commandCalls(RemoveTargetsCommand).map((c) => `${c.args[0].input.Rule}:${c.args[0].input.Ids?.join(',')}`);

beforeEach(() => {
  dynamo = new OrchestrationDynamo();
  events = new FakeEventBridge();
  sfn = new FakeSfn();
  deps = {
    ddb: dynamo.client,
    events: new EventBridgeClient({ region: 'eu-west-1' }),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    transferTable: TRANSFER,
    asyncFacilitatorTable: FACILITATOR,
    scheduleRules: RULES,
    eventSource: 'glacier-vault-to-s3',
    inventoryBucket: 'inventory-bucket',
    log: silentLogger(),
    now: () => new Date('2024-03-01T12:00:00Z'),
  };
});
afterEach(() => {
  dynamo.mock.restore();
  events.reset();
  sfn.reset();
});

describe('an execution that ended without its cleanup', () => {
  test('ABORTED (console stop): the run becomes STOPPED with the reason; schedules, lock, wait and requests are cleaned up', async () => {
    seedActiveRun();
    const result = await handleExecutionEnded(deps, statusChange('ABORTED'));
    expect(result).toEqual({ outcome: 'closed', runId: 'r1', state: RunState.STOPPED });
    expect(record()).toMatchObject({ state: RunState.STOPPED, endedAt: '2024-03-01T12:00:00.000Z', executionArn: exec(1) });
    expect(record()!.error).toMatch(/^ABORTED: orchestrator execution was stopped outside the Stop runbook.*Resume continues the run$/);
    expect(removed()).toEqual(RULES.map((r) => `${r}:r1`));
    expect(RULES.map((r) => [...events.rules.get(r)!])).toEqual(RULES.map(() => ['r2']));
    expect(sfn.mock.commandCalls(StopExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([INITIATE]);
    expect(sfn.executions.get(INITIATE)!.status).toBe('ABORTED');
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();
    expect(dynamo.get(FACILITATOR, completionWaitPk('r1'))).toBeUndefined();
    const [published] = events.events;
    expect(published).toMatchObject({ Source: 'glacier-vault-to-s3', DetailType: 'Transfer Run Stopped' });
    expect(JSON.parse(published.Detail!)).toMatchObject({ runId: 'r1', vaultName: 'photos', state: 'STOPPED', executionArn: exec(1), reportBucket: 'inventory-bucket' });
  });

  test.each([['FAILED', 'failed without running its cleanup'], ['TIMED_OUT', 'timed out']])('%s: the run becomes FAILED with the error and cause', async (status, text) => {
    seedActiveRun();
    const result = await handleExecutionEnded(deps, statusChange(status));
    expect(result.state).toBe(RunState.FAILED);
    expect(record()!.state).toBe(RunState.FAILED);
    expect(record()!.error).toContain(text);
    expect(record()!.error).toContain('(States.Runtime: boom)');
    expect(events.events.map((e) => e.DetailType)).toEqual(['Transfer Run Failed']);
  });

  test('the input is read from the execution when the event left it out', async () => {
    seedActiveRun();
    sfn.executions.set(exec(1), { status: 'ABORTED', input: JSON.stringify({ runId: 'r1' }) });
    const result = await handleExecutionEnded(deps, statusChange('ABORTED', 1, { input: null }));
    expect(result.outcome).toBe('closed');
    expect(sfn.mock.commandCalls(DescribeExecutionCommand)[0].args[0].input).toEqual({ executionArn: exec(1) });
  });

  test('an InitiateRetrieval execution Step Functions does not know (never started: ExecutionDoesNotExist) is fine', async () => {
    seedActiveRun();
    sfn.executions.delete(INITIATE);
    await expect(handleExecutionEnded(deps, statusChange('ABORTED'))).resolves.toMatchObject({ outcome: 'closed' });
  });
});

describe('what must not be touched', () => {
  test('a Resume already started a newer execution: record, targets, lock and wait stay as they are', async () => {
    seedActiveRun(exec(2));
    const result = await handleExecutionEnded(deps, statusChange('ABORTED', 1));
    expect(result.outcome).toBe('superseded');
    expect(record()).toMatchObject({ state: RunState.ACTIVE, executionArn: exec(2) });
    expect(record()!.error).toBeUndefined();
    expect(events.mock.commandCalls(RemoveTargetsCommand)).toHaveLength(0);
    expect(sfn.mock.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toMatchObject({ executionArn: exec(2) });
    expect(dynamo.get(FACILITATOR, completionWaitPk('r1'))).toMatchObject({ executionArn: exec(2) });
  });

  test('the newer execution takes the record between the read and the update: nothing is removed', async () => {
    seedActiveRun();
    let once = false;
    dynamo.beforeCommand = (op) => {
      if (op === 'Update' && !once) {
        once = true;
        dynamo.seed(TRANSFER, { ...record(), executionArn: exec(2) });
      }
    };
    const result = await handleExecutionEnded(deps, statusChange('FAILED'));
    expect(result.outcome).toBe('superseded');
    expect(record()).toMatchObject({ state: RunState.ACTIVE, executionArn: exec(2) });
    expect(events.mock.commandCalls(RemoveTargetsCommand)).toHaveLength(0);
  });

  test('a run its own FinishRun closed (FAILED then RunFailed): state and error kept, idempotent cleanup repeated, no second event', async () => {
    seedActiveRun(exec(1), RunState.FAILED);
    dynamo.seed(TRANSFER, { ...record(), error: 'StageFailed: original reason' });
    const result = await handleExecutionEnded(deps, statusChange('FAILED'));
    expect(result).toEqual({ outcome: 'already-closed', runId: 'r1', state: RunState.FAILED });
    expect(record()!.error).toBe('StageFailed: original reason');
    expect(removed()).toHaveLength(3);
    expect(events.events).toHaveLength(0);
    expect(sfn.mock.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  test('a vault lock held by another run is kept', async () => {
    seedActiveRun();
    dynamo.seed(TRANSFER, { pk: activeVaultPk('photos'), sk: RUN_SK, vaultName: 'photos', runId: 'other', executionArn: exec(9) });
    await handleExecutionEnded(deps, statusChange('ABORTED'));
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toMatchObject({ runId: 'other' });
  });

  test.each([
    ['a SUCCEEDED execution', statusChange('SUCCEEDED')],
    ['an execution rejected before it recorded the run', statusChange('FAILED')],
    ['an input without a valid run id', statusChange('ABORTED', 1, { input: '{"runId":"../x"}' })],
  ])('ignores %s', async (_label, event) => {
    const result = await handleExecutionEnded(deps, event);
    expect(result.outcome).toBe('ignored');
    expect(events.mock.calls()).toHaveLength(0);
  });
});

describe('failures', () => {
  test('a failed cleanup step does not stop the others, and the invocation fails so it is retried', async () => {
    seedActiveRun();
    events.fail('RemoveTargets', awsError('ThrottlingException', 400), { when: (input) => input.Rule === 'completion-rule' });
    await expect(handleExecutionEnded(deps, statusChange('ABORTED'))).rejects.toThrow(/remove schedule target from completion-rule: ThrottlingException/);
    expect(removed()).toEqual(['window-rule:r1', 'completion-rule:r1', 'dashboard-rule:r1']);
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();

    // The retry finds the run closed by this execution and repeats only the idempotent steps.
    events.mock.resetHistory();
    await expect(handleExecutionEnded(deps, statusChange('ABORTED'))).resolves.toMatchObject({ outcome: 'already-closed', state: RunState.STOPPED });
    expect(removed()).toHaveLength(3);
  });

  test('failed RemoveTargets entries count as a failure; a target already gone does not', async () => {
    seedActiveRun();
    events.contended = 1;
    await expect(handleExecutionEnded(deps, statusChange('ABORTED'))).rejects.toThrow(/window-rule: RemoveTargetsFailed: ConcurrentModificationException/);
    expect(events.rules.get('window-rule')!.has('r1')).toBe(true);
    // The retry removes it; the targets of the other rules are gone already.
    await expect(handleExecutionEnded(deps, statusChange('ABORTED'))).resolves.toMatchObject({ outcome: 'already-closed' });
    expect(RULES.map((r) => events.rules.get(r)!.has('r1'))).toEqual([false, false, false]);
  });
});

test('the reason names the status, what happened and the way back', () => {
  expect(endReason({ executionArn: exec(1), status: 'ABORTED' })).toBe(
    'ABORTED: orchestrator execution was stopped outside the Stop runbook (StopExecution); Resume continues the run');
  expect(endReason({ executionArn: exec(1), status: 'TIMED_OUT', error: 'States.Timeout', cause: '' })).toBe(
    'TIMED_OUT: orchestrator execution timed out (States.Timeout); Resume continues the run');
});
