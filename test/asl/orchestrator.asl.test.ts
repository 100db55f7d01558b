import { SfnRuntime } from '../../rehearsal/sfn/runner';
import { loadDefinition } from '../../src/asl/definitions';
import { resolveStorageClass } from '../../src/contract/storage-classes';
import { countsFromItem, isComplete } from '../../src/handlers/orchestration/run-counts';

/*
 * The real orchestrator definition on the local ASL runner (rehearsal/sfn), with stub child state
 * machines (InventoryRetrieval, InitiateRetrieval) and in-memory stand-ins for its Lambdas. The
 * completion stand-in uses the real completion rule (run-counts.ts).
 */

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const asl = loadDefinition('orchestrator');

const FN = {
  RunRecordFunctionArn: fn('RunRecord'),
  ArchivesStatusCleanupFunctionArn: fn('ArchivesStatusCleanup'),
  CompletionCheckerFunctionArn: fn('CompletionChecker'),
  DashboardUpdateFunctionArn: fn('DashboardUpdate'),
  CleanupUploadsFunctionArn: fn('CleanupUploads'),
  RunReportFunctionArn: fn('RunReport'),
};
const RULES = { DownloadWindowRuleName: 'window-rule', CompletionRuleName: 'completion-rule', DashboardRuleName: 'dashboard-rule' };

/** Everything the stubs share: run records, metrics counters, calls. */
class World {
  public runs = new Map<string, any>();
  public metrics = new Map<string, Record<string, number>>();
  public calls: Array<{ fn: string; event: any }> = [];
  public statusCleanupPages = 1;
  public failReport = false;
  /** The final dashboard update (not the first one) throws. */
  public failFinalDashboardUpdate = false;
  public onInventory?: () => void;
  public runtime!: SfnRuntime;

  public called(name: string): any[] {
    return this.calls.filter((c) => c.fn === name).map((c) => c.event);
  }

  public handlers(): Record<string, (event: any) => unknown> {
    const record = (name: string, f: (e: any) => unknown) => async (e: any) => {
      this.calls.push({ fn: name, event: e });
      return f(e);
    };
    return {
      [FN.RunRecordFunctionArn]: record('RunRecord', (e) => {
        if (e.action === 'start') {
          const r = e.request;
          const existing = this.runs.get(r.runId);
          if (r.mode === 'LAUNCH' && existing) throw Object.assign(new Error('exists'), { name: 'RunAlreadyExists' });
          if (r.mode === 'RESUME' && !existing) throw Object.assign(new Error('missing'), { name: 'RunNotFound' });
          const run = {
            runId: r.runId,
            vaultName: existing?.vaultName ?? r.vaultName,
            mode: r.mode,
            providedInventory: r.providedInventory ?? 'NO',
            storageClass: resolveStorageClass(r.storageClass) ?? existing?.storageClass ?? 'DEEP_ARCHIVE',
            tier: r.tier || 'Bulk',
            namingOverride: r.namingOverride ?? '',
            description: r.description ?? '',
            retryFailed: r.mode === 'RESUME' && r.retryFailed === 'YES' ? 'YES' : 'NO',
            destinationBucket: 'dest',
            destinationPrefix: 'vault/',
            initiateExecutionName: `${r.runId}-${this.calls.length}-initiate`,
            startedAt: '2025-01-01T00:00:00Z',
          } as any;
          run.inventoryInput = {
            runId: run.runId,
            vaultName: run.vaultName,
            storageClass: run.storageClass,
            tier: run.tier,
            mode: run.mode,
            providedInventory: run.providedInventory,
            namingOverride: run.namingOverride,
            destinationPrefix: run.destinationPrefix,
            ...(run.providedInventory === 'YES' ? { providedInventoryKey: `${run.runId}/original_inventory/inventory.csv` } : {}),
          };
          this.runs.set(r.runId, { ...run, state: 'ACTIVE', stopRequested: undefined, executionArn: e.executionArn });
          return run;
        }
        const run = this.runs.get(e.runId);
        if (e.action === 'get') return { state: run.state, stopRequested: run.stopRequested ?? 'NONE' };
        const failed = e.error && Object.keys(e.error).length > 0;
        run.state = failed ? 'FAILED' : e.outcome === 'COMPLETE' ? 'COMPLETED' : 'STOPPED';
        run.error = e.error;
        run.reportPrefix = e.reportPrefix;
        return { state: run.state, detailType: `Transfer Run ${run.state}`, owner: true };
      }),
      [FN.ArchivesStatusCleanupFunctionArn]: record('ArchivesStatusCleanup', (e) => {
        const page = e.cursor ? e.cursor.page + 1 : 1;
        const done = page >= this.statusCleanupPages;
        return { runId: e.runId, done, reset: (e.reset ?? 0) + 10, cursor: done ? null : { page } };
      }),
      [FN.CompletionCheckerFunctionArn]: record('CompletionChecker', (e) => {
        const run = this.runs.get(e.runId);
        if (e.taskToken) run.token = e.taskToken;
        return this.checkCompletion(e.runId);
      }),
      [FN.DashboardUpdateFunctionArn]: record('DashboardUpdate', (e) => {
        if (this.failFinalDashboardUpdate && this.called('DashboardUpdate').length > 1) throw Object.assign(new Error('metrics down'), { name: 'MetricsUnavailable' });
        const c = countsFromItem(this.metrics.get(e.runId));
        return { runId: e.runId, published: 16, counts: c.count, bytes: c.bytes };
      }),
      [FN.CleanupUploadsFunctionArn]: record('CleanupUploads', (e) => ({ runId: e.runId, aborted: 2, listed: 3, leftAlone: 1 })),
      [FN.RunReportFunctionArn]: record('RunReport', (e) => {
        if (this.failReport) throw Object.assign(new Error('bucket gone'), { name: 'NoSuchBucket' });
        const prefix = `${e.runId}/reports/t/`;
        return { runId: e.runId, bucket: 'inventory', prefix, manifestKey: `${prefix}manifest.csv`, failedArchivesKey: `${prefix}failed_archives.csv` };
      }),
    };
  }

  /** The scheduled check (also what the registering call does). */
  public checkCompletion(runId: string) {
    const run = this.runs.get(runId);
    const counts = countsFromItem(this.metrics.get(runId));
    let status = 'IN_PROGRESS';
    if (run.stopRequested === 'RESET') status = 'STOPPED';
    else if (run.stopRequested === 'FINISH' && counts.count.requested + counts.count.staged === 0) status = 'STOPPED';
    else if (isComplete(counts)) status = 'COMPLETE';
    if (run.token && status !== 'IN_PROGRESS') {
      const token = run.token;
      run.token = undefined;
      setImmediate(() => this.runtime.sendTaskSuccess(token, { outcome: status, runId, counts: counts.count }));
    }
    return { runId, status };
  }
}

let world: World;
let runtime: SfnRuntime;
let childInputs: Record<string, any[]>;

function stubChild(name: string, behaviour: 'succeed' | 'fail' | 'wait') {
  const states: Record<string, any> = {
    succeed: { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } },
    fail: { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: `${name}.Failed`, Cause: 'stub failure' } } },
    wait: {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: fn(`${name}Hold`), Payload: { 'token.$': '$$.Task.Token' } },
          End: true,
        },
      },
    },
  };
  return states[behaviour];
}

function setup(children: { inventory?: 'succeed' | 'fail' | 'wait'; initiate?: 'succeed' | 'fail' | 'wait' } = {}) {
  world = new World();
  childInputs = { Inventory: [], Initiate: [] };
  const handlers: Record<string, any> = world.handlers();
  for (const child of ['Inventory', 'Initiate']) {
    // The stub children record their input through a Lambda task placed in front.
    handlers[fn(`${child}Record`)] = async (e: any) => {
      childInputs[child].push(e);
      if (child === 'Inventory') world.onInventory?.();
      return {};
    };
    handlers[fn(`${child}Hold`)] = async () => ({});
  }
  runtime = new SfnRuntime({ region: REGION, accountId: ACCOUNT, services: { lambdaHandlers: handlers } });
  world.runtime = runtime;
  const withRecorder = (child: string, def: any) => ({
    StartAt: 'Record',
    States: {
      Record: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { 'FunctionName': fn(`${child}Record`), 'Payload.$': '$' }, ResultPath: null, Next: def.StartAt },
      ...def.States,
    },
  });
  const inventoryArn = runtime.registerStateMachine('InventoryRetrieval', withRecorder('Inventory', stubChild('Inventory', children.inventory ?? 'succeed')));
  const initiateArn = runtime.registerStateMachine('InitiateRetrieval', withRecorder('Initiate', stubChild('Initiate', children.initiate ?? 'succeed')));
  const windowArn = runtime.registerStateMachine('DownloadWindowExtension', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
  return runtime.registerStateMachine('Orchestrator', asl, {
    ...FN,
    ...RULES,
    InventoryRetrievalStateMachineArn: inventoryArn,
    InitiateRetrievalStateMachineArn: initiateArn,
    DownloadWindowStateMachineArn: windowArn,
    DownloadWindowScheduleRoleArn: `arn:aws:iam::${ACCOUNT}:role/schedule`,
    EventSource: 'glacier-vault-to-s3',
    InventoryBucketName: 'inventory',
  });
}

const LAUNCH = {
  runId: 'run-1',
  mode: 'LAUNCH',
  vaultName: 'photos',
  providedInventory: 'NO',
  storageClass: 'S3 Glacier Deep Archive',
  tier: 'Bulk',
  namingOverride: '',
  description: 'first run',
  acknowledgeCrossRegion: 'NO',
};

/** Metrics item with these counts (bytes = count × 100). */
function counters(c: Record<string, number>): Record<string, number> {
  const item: Record<string, number> = {};
  for (const [status, n] of Object.entries(c)) {
    item[`${status}Count`] = n;
    item[`${status}Bytes`] = n * 100;
  }
  return item;
}

const cleanupStates = ['CleanupDisableDownloadWindowSchedule', 'CleanupDisableCompletionSchedule', 'CleanupDisableDashboardSchedule', 'CleanupIncompleteUploads', 'CleanupFinalDashboardUpdate', 'CleanupRunReport', 'FinishRun', 'PublishRunEvent'];

afterEach(() => runtime?.close());

describe('Orchestrator ASL (local runner)', () => {
  test('launch: record → status cleanup → inventory → schedules → initiate → wait → cleanup → report', async () => {
    const arn = setup();
    world.metrics.set('run-1', counters({ total: 3, downloaded: 3 }));
    const done = await runtime.run(arn, LAUNCH);

    expect([done.status, done.error, done.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const t = runtime.transitions(done.executionArn);
    // The dashboard refreshes from the start: its schedule is added before the inventory stage (hours on a large vault).
    expect(t.slice(0, 10)).toEqual(['RecordRun', 'PublishFirstMetrics', 'EnableDashboardSchedule', 'StartStatusCleanup', 'ArchivesStatusCleanup', 'StatusCleanupDone?', 'MarkChildExecutions', 'InventoryRetrieval', 'CheckStopAfterInventory', 'StopRequestedAfterInventory?']);
    expect(t.indexOf('SchedulesEnabled?')).toBeGreaterThan(t.indexOf('EnableCompletionSchedule'));
    expect(t.indexOf('WaitForCompletion')).toBeGreaterThan(t.indexOf('InitiateRetrieval'));
    for (const s of cleanupStates) expect(t).toContain(s);
    expect(t).not.toContain('StartCleanupReset'); // complete: nothing to reset
    expect(t[t.length - 1]).toBe('RunEnded');

    // Children got the documented input.
    expect(childInputs.Inventory[0]).toMatchObject({ runId: 'run-1', vaultName: 'photos', mode: 'LAUNCH', providedInventory: 'NO', storageClass: 'DEEP_ARCHIVE', tier: 'Bulk', namingOverride: '', destinationPrefix: 'vault/' });
    expect(childInputs.Inventory[0].AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID).toBe(done.executionArn);
    expect(childInputs.Initiate[0]).toMatchObject({ runId: 'run-1', vaultName: 'photos', tier: 'Bulk', storageClass: 'DEEP_ARCHIVE' });
    const initiateExec = runtime.listExecutions('InitiateRetrieval')[0];
    expect(initiateExec.name).toMatch(/^run-1-\d+-initiate$/);

    // Schedules: three targets with Id = run id were added, then removed.
    const ebCalls = runtime.eventBridge.calls;
    const put = ebCalls.filter((c) => c.action === 'putTargets');
    expect(put.map((c) => c.params.Rule)).toEqual(['dashboard-rule', 'window-rule', 'completion-rule']);
    expect(JSON.parse(put[0].params.Targets[0].Input)).toEqual({ runId: 'run-1' });
    expect(JSON.parse(put[1].params.Targets[0].Input)).toEqual({ runId: 'run-1', tier: 'Bulk' });
    expect(put[1].params.Targets[0]).toMatchObject({ Id: 'run-1', RoleArn: `arn:aws:iam::${ACCOUNT}:role/schedule` });
    expect(JSON.parse(put[2].params.Targets[0].Input)).toEqual({ runId: 'run-1' });
    for (const rule of Object.values(RULES)) expect(runtime.eventBridge.targetsOf(rule)).toEqual([]);

    // Run record closed, event published with the report location and counts.
    expect(world.runs.get('run-1')).toMatchObject({ state: 'COMPLETED', reportPrefix: 'run-1/reports/t/' });
    const events = runtime.eventBridge.events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ Source: 'glacier-vault-to-s3', DetailType: 'Transfer Run COMPLETED' });
    const detail = typeof events[0].Detail === 'string' ? JSON.parse(events[0].Detail) : events[0].Detail;
    expect(detail).toMatchObject({ runId: 'run-1', vaultName: 'photos', reportBucket: 'inventory', reportPrefix: 'run-1/reports/t/', counts: { downloaded: 3, total: 3 } });
    expect(world.called('DashboardUpdate')).toHaveLength(2); // first metrics + final
  });

  test('completion waits while archives are in flight and counts failures and skips as done', async () => {
    const arn = setup();
    world.metrics.set('run-1', counters({ total: 10, downloaded: 5, requested: 3, staged: 2 }));
    const started = await runtime.startExecution(arn, LAUNCH);
    await runtime.tokens.waitForToken((t) => t.stateName === 'WaitForCompletion');
    expect(runtime.describeExecution(started.executionArn).status).toBe('RUNNING');

    // Scheduled checks: still running with 2 in flight…
    world.metrics.set('run-1', counters({ total: 10, downloaded: 6, failed: 2, requested: 0, staged: 2 }));
    expect(world.checkCompletion('run-1').status).toBe('IN_PROGRESS');
    // …complete when downloaded + failed + skipped = total, failures included.
    world.metrics.set('run-1', counters({ total: 10, downloaded: 6, failed: 3, skipped: 1 }));
    expect(world.checkCompletion('run-1').status).toBe('COMPLETE');
    const done = await runtime.whenDone(started.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(world.runs.get('run-1').state).toBe('COMPLETED');
  });

  test('an empty vault (total 0) completes as soon as the wait starts', async () => {
    const arn = setup();
    const done = await runtime.run(arn, LAUNCH);
    expect(done.status).toBe('SUCCEEDED');
    expect(world.called('CompletionChecker')).toHaveLength(1);
  });

  test('resume: loops the status cleanup over every page, then runs the stages for the recorded vault', async () => {
    const arn = setup();
    world.runs.set('run-1', { runId: 'run-1', vaultName: 'photos', storageClass: 'GLACIER', state: 'STOPPED' });
    world.statusCleanupPages = 3;
    world.metrics.set('run-1', counters({ total: 4, downloaded: 4 }));
    const done = await runtime.run(arn, { runId: 'run-1', mode: 'RESUME', providedInventory: '', storageClass: 'Keep current', tier: '', namingOverride: '', description: '', acknowledgeCrossRegion: 'NO' });

    expect(done.status).toBe('SUCCEEDED');
    const cleanups = world.called('ArchivesStatusCleanup');
    expect(cleanups.map((e) => e.cursor)).toEqual([null, { page: 1 }, { page: 2 }]);
    expect(cleanups.map((e) => e.reset)).toEqual([0, 10, 20]);
    expect(cleanups.map((e) => e.retryFailed)).toEqual(['NO', 'NO', 'NO']);
    expect(childInputs.Inventory[0]).toMatchObject({ runId: 'run-1', vaultName: 'photos', mode: 'RESUME', storageClass: 'GLACIER' });
    expect(world.runs.get('run-1').state).toBe('COMPLETED');
  });

  test('resume with retryFailed YES: every status cleanup invocation is told to retry failed archives', async () => {
    const arn = setup();
    world.runs.set('run-1', { runId: 'run-1', vaultName: 'photos', storageClass: 'GLACIER', state: 'STOPPED' });
    world.statusCleanupPages = 2;
    world.metrics.set('run-1', counters({ total: 4, downloaded: 4 }));
    const done = await runtime.run(arn, { runId: 'run-1', mode: 'RESUME', providedInventory: '', storageClass: 'Keep current', tier: '', namingOverride: '', description: '', acknowledgeCrossRegion: 'NO', retryFailed: 'YES' });
    expect(done.status).toBe('SUCCEEDED');
    expect(world.called('ArchivesStatusCleanup').map((e) => e.retryFailed)).toEqual(['YES', 'YES']);
  });

  test('provided inventory: the flag and naming override reach InventoryRetrieval', async () => {
    const arn = setup();
    const done = await runtime.run(arn, { ...LAUNCH, providedInventory: 'YES', namingOverride: 's3://my-bucket/names.csv' });
    expect(done.status).toBe('SUCCEEDED');
    expect(childInputs.Inventory[0]).toMatchObject({ providedInventory: 'YES', providedInventoryKey: 'run-1/original_inventory/inventory.csv', namingOverride: 's3://my-bucket/names.csv' });
  });

  test('a rejected request (e.g. vault busy) fails at RecordRun without touching schedules', async () => {
    const arn = setup();
    world.runs.set('run-1', { runId: 'run-1', vaultName: 'photos', state: 'ACTIVE' });
    const done = await runtime.run(arn, LAUNCH);
    expect([done.status, done.error]).toEqual(['FAILED', 'RunAlreadyExists']);
    expect(runtime.transitions(done.executionArn)).toEqual(['RecordRun']);
    expect(runtime.eventBridge.calls).toEqual([]);
  });

  test.each([
    ['inventory', 'InventoryRetrieval'],
    ['initiate', 'InitiateRetrieval'],
  ] as const)('a %s stage failure goes to cleanup with the error kept, resets statuses and fails the run', async (stage, state) => {
    const arn = setup({ [stage]: 'fail' });
    const done = await runtime.run(arn, LAUNCH);

    expect([done.status, done.error]).toEqual(['FAILED', 'TransferRunFailed']);
    const t = runtime.transitions(done.executionArn);
    expect(t).toContain(state);
    expect(t).not.toContain('WaitForCompletion');
    for (const s of cleanupStates) expect(t).toContain(s);
    expect(t).toContain('CleanupResetStatuses');
    const run = world.runs.get('run-1');
    expect(run.state).toBe('FAILED');
    expect(run.error.Error).toBe('States.TaskFailed');
    expect(run.error.Cause).toContain(stage === 'inventory' ? 'Inventory.Failed' : 'Initiate.Failed');
    for (const rule of Object.values(RULES)) expect(runtime.eventBridge.targetsOf(rule)).toEqual([]);
    expect(runtime.eventBridge.events[0].DetailType).toBe('Transfer Run FAILED');
  });

  test('each cleanup step continues past the failure of the previous one', async () => {
    const arn = setup();
    world.failReport = true;
    const done = await runtime.run(arn, LAUNCH);
    const t = runtime.transitions(done.executionArn);
    expect(t).toEqual(expect.arrayContaining(['CleanupRunReport', 'FinishRun', 'PublishRunEvent']));
    // The run itself completed; the report failure is recorded, not fatal.
    expect(done.status).toBe('SUCCEEDED');
    expect((done.output as any).cleanupErrors.report.Error).toBe('NoSuchBucket');
  });

  test('every cleanup failure is kept: the dashboard schedule and the final dashboard update fail, both errors are in the output', async () => {
    const arn = setup();
    world.metrics.set('run-1', counters({ total: 3, downloaded: 3 }));
    world.failFinalDashboardUpdate = true;
    const call = runtime.eventBridge.call.bind(runtime.eventBridge);
    runtime.eventBridge.call = async (action: string, params: any) => {
      if (action === 'removeTargets' && params.Rule === RULES.DashboardRuleName) throw Object.assign(new Error('rule gone'), { name: 'EventBridge.ResourceNotFoundException' });
      return call(action, params);
    };
    const done = await runtime.run(arn, LAUNCH);
    expect(done.status).toBe('SUCCEEDED');
    const errors = (done.output as any).cleanupErrors;
    expect(Object.keys(errors).sort()).toEqual(['dashboard', 'dashboardUpdate']);
    expect(errors.dashboard.Error).toBe('EventBridge.ResourceNotFoundException');
    expect(errors.dashboardUpdate.Error).toBe('MetricsUnavailable');
  });

  test('no two Catchers of the definition write the same result path under $.cleanupErrors', () => {
    const paths: string[] = [];
    for (const state of Object.values<any>(asl.States)) {
      for (const catcher of state.Catch ?? []) if (String(catcher.ResultPath).startsWith('$.cleanupErrors.')) paths.push(catcher.ResultPath);
    }
    expect(paths.length).toBeGreaterThan(5);
    expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([]);
  });

  test.each(['FINISH', 'RESET'] as const)('stop (%s) during InitiateRetrieval ends the run as STOPPED', async (mode) => {
    const arn = setup({ initiate: 'wait' });
    world.metrics.set('run-1', counters({ total: 10, downloaded: 2, requested: 3, pending: 5 }));
    const started = await runtime.startExecution(arn, LAUNCH);
    await runtime.tokens.waitForToken((t) => t.stateName === 'Hold');
    // The Stop runbook: flag on the run record, then StopExecution of the named child.
    world.runs.get('run-1').stopRequested = mode;
    const child = runtime.listExecutions('InitiateRetrieval').find((e) => e.status === 'RUNNING')!;
    runtime.stopExecution(child.executionArn);

    if (mode === 'FINISH') {
      await runtime.tokens.waitForToken((t) => t.stateName === 'WaitForCompletion');
      expect(runtime.describeExecution(started.executionArn).status).toBe('RUNNING');
      world.metrics.set('run-1', counters({ total: 10, downloaded: 5, pending: 5 }));
      expect(world.checkCompletion('run-1').status).toBe('STOPPED');
    }
    const done = await runtime.whenDone(started.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const t = runtime.transitions(done.executionArn);
    expect(t).toContain(mode === 'FINISH' ? 'FinishStagedArchives' : 'StoppedDuringInitiate');
    expect(t).toContain('CleanupResetStatuses');
    expect(world.runs.get('run-1').state).toBe('STOPPED');
  });

  test('a stop requested while the inventory is prepared skips InitiateRetrieval', async () => {
    const arn = setup();
    world.onInventory = () => { world.runs.get('run-1').stopRequested = 'RESET'; };
    const done = await runtime.run(arn, LAUNCH);
    const t = runtime.transitions(done.executionArn);
    expect(t).toContain('StoppedBeforeInitiate');
    expect(t).not.toContain('InitiateRetrieval');
    expect(world.runs.get('run-1').state).toBe('STOPPED');
  });

  test('a missed heartbeat re-adds the completion target and waits again', async () => {
    const arn = setup();
    world.metrics.set('run-1', counters({ total: 2, requested: 2 }));
    const started = await runtime.startExecution(arn, LAUNCH);
    const first = await runtime.tokens.waitForToken((t) => t.stateName === 'WaitForCompletion');
    runtime.tokens.close(first.token, 'TIMED_OUT');
    await runtime.tokens.waitForToken((t) => t.stateName === 'WaitForCompletion' && t.token !== first.token);
    expect(runtime.transitions(started.executionArn)).toContain('RearmCompletionSchedule');
    world.metrics.set('run-1', counters({ total: 2, downloaded: 1, failed: 1 }));
    world.checkCompletion('run-1');
    expect((await runtime.whenDone(started.executionArn)).status).toBe('SUCCEEDED');
  });
});
