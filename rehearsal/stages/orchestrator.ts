import { randomUUID } from 'crypto';
import { EventBridgeClient, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ExtensionTotals, windowExtensionMachine } from './download-window-extension';
import { initiateRetrievalMachine, InitiateTotals } from './initiate-retrieval';
import { inventoryRetrievalMachine, InventoryTotals, newInventoryTotals } from './inventory-retrieval';
import { functionArn, stageLambda, StageMachine, stageRuntime } from './sfn-stage';
import { loadDefinition } from '../../src/asl/definitions';
import { Env } from '../../src/contract/environment';
import { activeVaultPk, RUN_SK, runPk } from '../../src/contract/keys';
import { KEEP_CURRENT } from '../../src/contract/storage-classes';
import { ENDED_STATUSES, ExecutionEndedOutcome, handleExecutionEnded } from '../../src/handlers/orchestration/execution-ended';
import { createDocumentClient } from '../../src/handlers/shared/clients';
import { createLogger } from '../../src/handlers/shared/logger';
import { ACCOUNT_ID, Environment, MACHINES, NAMES, stateMachineArn } from '../environment';
import type { Json } from '../sfn/lower';
import { ExecutionRecord, LambdaContextLike, LambdaHandler, SfnRuntime } from '../sfn/runner';
import { withVirtualTime } from '../virtual-time';

/*
 * The REAL orchestrator: src/asl/orchestrator.asl.json (substitutions and handler environment as in
 * src/constructs/orchestrator.ts) with its six real handlers in process, and the REAL
 * InventoryRetrieval, InitiateRetrieval and DownloadWindowExtension machines registered in the same
 * runtime as the children it starts (`startExecution.sync:2`) or schedules.
 *
 * The per-run schedules are EventBridge targets the orchestrator adds to three shared rules (the
 * runner's EventBridge fake keeps them). The harness fires those rules on the rehearsal clock like
 * EventBridge would: CompletionChecker every 15 virtual minutes, CloudWatchDashboardUpdate every 5,
 * DownloadWindowExtension every 30 (the constructs' defaults), for every target present at that
 * moment, with the target's Input.
 */

export const SCHEDULE_INTERVALS_MS = {
  completion: 15 * 60_000,
  dashboard: 5 * 60_000,
  window: 30 * 60_000,
};

/** What the Launch runbook passes to StartExecution (src/constructs/runbooks.ts, runInput). */
export function launchInput(runId: string, vaultName: string, options: { tier?: string; description?: string } = {}): Record<string, string> {
  return {
    runId,
    mode: 'LAUNCH',
    vaultName,
    providedInventory: 'NO',
    description: options.description ?? 'rehearsal',
    storageClass: 'S3 Glacier Deep Archive',
    tier: options.tier ?? 'Bulk',
    namingOverride: '',
    acknowledgeCrossRegion: 'NO',
  };
}

/**
 * What the Resume runbook passes (vault from the run record; KEEP_CURRENT storage class and tier),
 * except `retryFailed`: left out (= NO), so a resume midway does not re-request archives the run
 * failed on purpose (poison archives) and the rehearsal's counts stay comparable.
 */
export function resumeInput(runId: string, vaultName: string): Record<string, string> {
  return {
    runId,
    mode: 'RESUME',
    vaultName,
    providedInventory: '',
    description: '',
    storageClass: KEEP_CURRENT,
    tier: KEEP_CURRENT,
    namingOverride: '',
    acknowledgeCrossRegion: 'NO',
  };
}

const FN = {
  RunRecordFunctionArn: functionArn('RunRecord'),
  ArchivesStatusCleanupFunctionArn: functionArn('ArchivesStatusCleanup'),
  CompletionCheckerFunctionArn: functionArn('CompletionChecker'),
  DashboardUpdateFunctionArn: functionArn('CloudWatchDashboardUpdate'),
  CleanupUploadsFunctionArn: functionArn('CleanupIncompleteUploads'),
  RunReportFunctionArn: functionArn('RunReport'),
};

export function orchestratorMachine(env: Environment): StageMachine {
  const h = env.stageHandlers;
  return {
    name: MACHINES.orchestrator,
    definition: loadDefinition('orchestrator'),
    substitutions: {
      ...FN,
      DownloadWindowRuleName: NAMES.downloadWindowRule,
      CompletionRuleName: NAMES.completionRule,
      DashboardRuleName: NAMES.dashboardRule,
      DownloadWindowStateMachineArn: stateMachineArn(MACHINES.window),
      DownloadWindowScheduleRoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/rehearsal-download-window-schedule`,
      InitiateRetrievalStateMachineArn: stateMachineArn(MACHINES.initiate),
      InventoryRetrievalStateMachineArn: stateMachineArn(MACHINES.inventory),
      InventoryBucketName: NAMES.inventoryBucket,
      EventSource: 'rehearsal.glacier-vault-to-s3',
    },
    lambdaHandlers: {
      [FN.RunRecordFunctionArn]: stageLambda(env, h.runRecord),
      [FN.ArchivesStatusCleanupFunctionArn]: stageLambda(env, h.archivesStatusCleanup),
      [FN.CompletionCheckerFunctionArn]: stageLambda(env, h.completionChecker),
      [FN.DashboardUpdateFunctionArn]: stageLambda(env, h.dashboardUpdate),
      [FN.CleanupUploadsFunctionArn]: stageLambda(env, h.cleanupUploads),
      [FN.RunReportFunctionArn]: stageLambda(env, h.runReport),
    },
  };
}

/** Sums over every child execution of the run (re-invocations and resumed executions included). */
export interface OrchestratedTotals {
  readonly inventory: InventoryTotals;
  readonly initiate: InitiateTotals;
  readonly extension: ExtensionTotals;
  readonly scheduleFirings: { completion: number; dashboard: number; window: number };
}

function lambdaContext(name: string): LambdaContextLike {
  return {
    functionName: `rehearsal-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(name),
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/rehearsal-${name}`,
    logStreamName: 'rehearsal',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
  };
}

/**
 * One transfer run driven by the real orchestrator: one SfnRuntime with the four machines; the
 * SFN API the handlers reach serves it.
 */
export class OrchestratedRun {
  public readonly runtime: SfnRuntime;
  public readonly totals: OrchestratedTotals;
  /** Orchestrator executions of this run, in start order. */
  public readonly executions: ExecutionRecord[] = [];
  /** Errors of scheduled invocations (a schedule target's Lambda that threw). */
  public readonly scheduleErrors: string[] = [];
  /**
   * What OrchestratorExecutionEnded did for each orchestrator execution that ended ABORTED, FAILED
   * or TIMED_OUT (EventBridge's "Execution Status Change" rule, delivered when the execution ends).
   */
  public readonly statusChanges: Array<{ executionArn: string; status: string; outcome?: ExecutionEndedOutcome; error?: string }> = [];
  /** Handling of each started execution's end, by run id (runs of one deployment run at once: `--vaults`). */
  private readonly pendingStatusChanges: { runId: string; handled: Promise<void> }[] = [];
  private readonly resumeRefusals: string[] = [];
  private readonly next: Record<keyof typeof SCHEDULE_INTERVALS_MS, number>;
  private readonly completionCheck: LambdaHandler;
  private readonly dashboardUpdate: LambdaHandler;

  constructor(private readonly env: Environment) {
    this.totals = {
      inventory: newInventoryTotals(),
      initiate: { invocations: 0, requested: 0, requestedBytes: 0, alreadyHandled: 0, failed: 0, invalid: 0, deferred: 0 },
      extension: { listed: 0, extended: 0, alreadyMoved: 0, failed: 0, deferred: 0 },
      scheduleFirings: { completion: 0, dashboard: 0, window: 0 },
    };
    this.runtime = stageRuntime(env, [
      orchestratorMachine(env),
      inventoryRetrievalMachine(env, this.totals.inventory),
      initiateRetrievalMachine(env, this.totals.initiate),
      windowExtensionMachine(env, this.totals.extension),
    ]);
    this.completionCheck = stageLambda(env, env.stageHandlers.completionChecker);
    this.dashboardUpdate = stageLambda(env, env.stageHandlers.dashboardUpdate);
    const now = env.clock.now();
    this.next = {
      completion: now + SCHEDULE_INTERVALS_MS.completion,
      dashboard: now + SCHEDULE_INTERVALS_MS.dashboard,
      window: now + SCHEDULE_INTERVALS_MS.window,
    };
    // Clock events keep the idle jumps from skipping a scheduled firing.
    for (const at of Object.values(this.next)) env.clock.schedule(at, () => undefined);
  }

  /**
   * StartExecution of the orchestrator (as the Launch/Resume runbook does). Status-change events
   * of earlier executions are handled first: EventBridge delivers them in seconds, long before
   * an operator runs Resume. Only the same run's executions are waited for: other runs of the
   * deployment (`--vaults`) keep running.
   */
  public async start(input: Record<string, string>): Promise<ExecutionRecord> {
    await Promise.all(this.pendingStatusChanges.filter((p) => p.runId === input.runId).map((p) => p.handled));
    if (input.mode === 'RESUME') await this.checkResumable(input.runId, input.vaultName);
    const record = await this.runtime.startExecution(MACHINES.orchestrator, input as Json, { name: `${input.runId}-${input.mode.toLowerCase()}-${this.executions.length + 1}` });
    this.executions.push(record);
    // Only the handling counts as harness activity, not the wait for the execution's end.
    const ended = this.runtime.whenDone(record.executionArn);
    this.pendingStatusChanges.push({ runId: input.runId, handled: ended.then((r) => this.env.activity.track(() => this.onExecutionEnded(r))) });
    return record;
  }

  /** The Resume runbook's preconditions: the run is not ACTIVE (CheckRunNotActive) and the vault has no lock (CheckNoActiveRunForVault). */
  private async checkResumable(runId: string, vaultName: string): Promise<void> {
    const ddb = createDocumentClient();
    const table = process.env[Env.TRANSFER_TABLE]!;
    const run = (await ddb.send(new GetCommand({ TableName: table, Key: { pk: runPk(runId), sk: RUN_SK }, ConsistentRead: true }))).Item;
    const lock = (await ddb.send(new GetCommand({ TableName: table, Key: { pk: activeVaultPk(vaultName), sk: RUN_SK }, ConsistentRead: true }))).Item;
    if (!run || run.state === 'ACTIVE' || lock) {
      this.resumeRefusals.push(`the Resume runbook would refuse run ${runId}: state ${run?.state ?? 'missing'}${lock ? `, vault lock held by ${lock.executionArn}` : ''}`);
    }
  }

  /** Problems for the run report: a stopped/failed execution whose run was not closed, or a refused Resume. */
  public statusChangeProblems(): string[] {
    const problems = [...this.resumeRefusals];
    for (const c of this.statusChanges) {
      if (c.error) problems.push(`OrchestratorExecutionEnded (${c.status}) failed: ${c.error}`);
      else if (c.status === 'ABORTED' && c.outcome !== 'closed') problems.push(`OrchestratorExecutionEnded did not close the run of the stopped execution (${c.outcome ?? 'not run'})`);
    }
    return problems;
  }

  /** The EventBridge rule on the orchestrator's status changes → the real handler's logic. */
  private async onExecutionEnded(ended: ExecutionRecord): Promise<void> {
    if (!(ENDED_STATUSES as readonly string[]).includes(ended.status)) return;
    const entry: (typeof this.statusChanges)[number] = { executionArn: ended.executionArn, status: ended.status };
    this.statusChanges.push(entry);
    const eventBridge = this.runtime.eventBridge;
    // The EventBridge fake lives in the runtime (no HTTP endpoint): a client that forwards to it.
    const events = {
      send: async (command: { input: unknown }) => eventBridge.call(command instanceof RemoveTargetsCommand ? 'removeTargets' : 'putEvents', command.input),
    } as unknown as EventBridgeClient;
    try {
      const result = await withVirtualTime(() => this.env.clock.now(), async () => handleExecutionEnded({
        ddb: createDocumentClient(),
        events,
        sfn: new SFNClient({}),
        log: createLogger('OrchestratorExecutionEnded'),
        transferTable: process.env[Env.TRANSFER_TABLE]!,
        asyncFacilitatorTable: process.env[Env.ASYNC_FACILITATOR_TABLE]!,
        scheduleRules: [NAMES.downloadWindowRule, NAMES.completionRule, NAMES.dashboardRule],
        eventSource: 'rehearsal.glacier-vault-to-s3',
        inventoryBucket: NAMES.inventoryBucket,
      }, {
        'source': 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        'detail': {
          executionArn: ended.executionArn,
          status: ended.status,
          input: JSON.stringify(ended.input),
          error: ended.error ?? null,
          cause: ended.cause ?? null,
        },
      }));
      entry.outcome = result.outcome;
    } catch (e) {
      entry.error = `${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 300);
    }
  }

  public get current(): ExecutionRecord | undefined {
    return this.executions[this.executions.length - 1];
  }

  public executionsOf(machine: string): ExecutionRecord[] {
    return this.runtime.listExecutions(machine);
  }

  /** Targets currently on a rule (the orchestrator adds and removes them). */
  public targets(rule: string): { Id: string; Arn: string; Input?: string }[] {
    return this.runtime.eventBridge.targetsOf(rule);
  }

  /** Fires every rule whose time has come (on the rehearsal clock); returns the started work. */
  public fireDueSchedules(): Promise<unknown>[] {
    const now = this.env.clock.now();
    const work: Promise<unknown>[] = [];
    for (const kind of Object.keys(this.next) as (keyof typeof SCHEDULE_INTERVALS_MS)[]) {
      if (now < this.next[kind]) continue;
      while (this.next[kind] <= now) this.next[kind] += SCHEDULE_INTERVALS_MS[kind];
      this.env.clock.schedule(this.next[kind], () => undefined);
      work.push(...this.fire(kind));
    }
    return work;
  }

  /** When the next rule fires (virtual ms). */
  public nextFiringAt(): number {
    return Math.min(...Object.values(this.next));
  }

  /** Fires one rule now for each of its targets. */
  public fire(kind: keyof typeof SCHEDULE_INTERVALS_MS): Promise<unknown>[] {
    const rule = { completion: NAMES.completionRule, dashboard: NAMES.dashboardRule, window: NAMES.downloadWindowRule }[kind];
    return this.targets(rule).map(async (target) => this.fireTarget(kind, target));
  }

  private async fireTarget(kind: keyof typeof SCHEDULE_INTERVALS_MS, target: { Arn: string; Input?: string }): Promise<unknown> {
    this.totals.scheduleFirings[kind]++;
    const input = JSON.parse(target.Input ?? '{}') as Json;
    if (kind === 'window') {
      // EventBridge → states:StartExecution with the target's role and Input.
      const record = await this.runtime.startExecution(target.Arn, input);
      return this.runtime.whenDone(record.executionArn);
    }
    const handler = kind === 'completion' ? this.completionCheck : this.dashboardUpdate;
    const name = kind === 'completion' ? 'CompletionChecker' : 'CloudWatchDashboardUpdate';
    try {
      return await this.env.activity.track(async () => handler(input, lambdaContext(name)));
    } catch (e) {
      this.scheduleErrors.push(`${name} (scheduled): ${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 300));
      return undefined;
    }
  }

  /** DownloadWindowExtension executions started by the schedule. */
  public windowExecutions(): ExecutionRecord[] {
    return this.executionsOf(MACHINES.window);
  }

  public close(): void {
    this.runtime.close();
  }
}
