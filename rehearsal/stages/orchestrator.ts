import { randomUUID } from 'crypto';
import { ExtensionTotals, windowExtensionMachine } from './download-window-extension';
import { initiateRetrievalMachine, InitiateTotals } from './initiate-retrieval';
import { inventoryRetrievalMachine, InventoryTotals, newInventoryTotals } from './inventory-retrieval';
import { functionArn, loadAsl, stageLambda, StageMachine, stageRuntime } from './sfn-stage';
import { KEEP_CURRENT } from '../../src/handlers/orchestration/storage-classes';
import { ACCOUNT_ID, Environment, MACHINES, NAMES, stateMachineArn } from '../environment';
import type { Json } from '../sfn/lower';
import { ExecutionRecord, LambdaContextLike, LambdaHandler, SfnRuntime } from '../sfn/runner';

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

/** What the Resume runbook passes (vault from the run record; KEEP_CURRENT storage class and tier). */
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
    definition: loadAsl('orchestrator.asl.json'),
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

  /** StartExecution of the orchestrator (as the Launch/Resume runbook does). */
  public async start(input: Record<string, string>): Promise<ExecutionRecord> {
    const record = await this.runtime.startExecution(MACHINES.orchestrator, input as Json, { name: `${input.runId}-${input.mode.toLowerCase()}-${this.executions.length + 1}` });
    this.executions.push(record);
    return record;
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
