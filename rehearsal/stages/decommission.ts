import { functionArn, runStage, stageLambda, StageMachine, StageRun } from './sfn-stage';
import { loadDefinition } from '../../src/asl/definitions';
import { DecommissionEnv } from '../../src/contract/environment';
import type { DecommissionBatchResult } from '../../src/handlers/decommission/batch';
import type { ReportResult } from '../../src/handlers/decommission/report';
import { Environment, NAMES } from '../environment';
import type { LambdaHandler } from '../sfn/runner';

/*
 * The REAL VaultDecommission stage: src/asl/decommission.asl.json (substitutions as in
 * src/constructs/decommission.ts) with the real decommission handlers in process, against the
 * rehearsal's S3 fake, Glacier fake (DeleteArchive / DeleteVault) and DynamoDB. Run it after a
 * rehearsal run finished (the run record must be COMPLETED: the real orchestrator's FinishRun writes
 * it; see decommission-check.ts). Its Wait states (final inventory) wait on the rehearsal clock; this function
 * jumps the clock while the execution sits in one.
 */

export interface DecommissionInput {
  readonly runId: string;
  /** The run's vault, typed again. */
  readonly vaultName: string;
  readonly dryRun: 'YES' | 'NO';
}

export interface DecommissionTotals {
  batches: number;
  toDelete: number;
  alreadyDeleted: number;
  kept: number;
  deferred: number;
  keptByReason: Record<string, number>;
}

export interface DecommissionRun extends StageRun {
  readonly totals: DecommissionTotals;
  readonly report?: ReportResult;
}

export const LIST_FUNCTION_ARN = functionArn('DecommissionListRunArchives');
export const BATCH_FUNCTION_ARN = functionArn('DecommissionBatch');
export const REPORT_FUNCTION_ARN = functionArn('DecommissionReport');
export const FINALIZER_FUNCTION_ARN = functionArn('DecommissionVaultFinalizer');

type HandlerModule = { handler: LambdaHandler };

async function importHandler(name: string): Promise<LambdaHandler> {
  return ((await import(`../../src/handlers/decommission/${name}.lambda`)) as HandlerModule).handler;
}

/** The state machine as deployed (decommissioning enabled), with its handlers wired to `env`. */
export async function decommissionMachine(env: Environment, totals: DecommissionTotals, onReport: (r: ReportResult) => void): Promise<StageMachine> {
  // Read by the handlers at every invocation (the construct's environment with allowDeletion: true).
  Object.assign(process.env, {
    [DecommissionEnv.DELETION_ENABLED]: 'true',
    [DecommissionEnv.DELETES_PER_SECOND]: '200',
    [DecommissionEnv.DELETE_MAX_ATTEMPTS]: '5',
    // METRICS_NAMESPACE is the one the environment set for DashboardUpdate (same variable; the
    // construct gives both functions the same namespace): DecommissionReport publishes to the
    // CloudWatch stand-in, and the dashboard's decommission widgets are checked against it.
  });
  const definition = loadDefinition('decommission');
  return {
    name: 'VaultDecommission',
    definition,
    substitutions: {
      InventoryBucket: NAMES.inventoryBucket,
      ListRunArchivesFunctionArn: LIST_FUNCTION_ARN,
      DecommissionBatchFunctionArn: BATCH_FUNCTION_ARN,
      DecommissionReportFunctionArn: REPORT_FUNCTION_ARN,
      VaultFinalizerFunctionArn: FINALIZER_FUNCTION_ARN,
    },
    lambdaHandlers: {
      [LIST_FUNCTION_ARN]: stageLambda(env, await importHandler('list-run-archives')),
      [BATCH_FUNCTION_ARN]: stageLambda<DecommissionBatchResult>(env, await importHandler('decommission-batch'), (r) => {
        totals.batches++;
        totals.toDelete += r.toDelete;
        totals.alreadyDeleted += r.alreadyDeleted;
        totals.kept += r.kept;
        totals.deferred += r.deferred;
        for (const [reason, n] of Object.entries(r.keptByReason)) totals.keptByReason[reason] = (totals.keptByReason[reason] ?? 0) + n;
      }),
      [REPORT_FUNCTION_ARN]: stageLambda<ReportResult>(env, await importHandler('decommission-report'), onReport),
      [FINALIZER_FUNCTION_ARN]: stageLambda(env, await importHandler('vault-finalizer')),
    },
  };
}

let executions = 0;

/**
 * Runs one decommission execution for a finished run to the end. While the execution waits (final
 * inventory job, inventory refresh) and nothing else is busy, the clock jumps to the next event.
 */
export async function runDecommission(env: Environment, input: DecommissionInput): Promise<DecommissionRun> {
  const totals: DecommissionTotals = { batches: 0, toDelete: 0, alreadyDeleted: 0, kept: 0, deferred: 0, keptByReason: {} };
  let report: ReportResult | undefined;
  const machine = await decommissionMachine(env, totals, (r) => {
    report = r;
  });
  let done = false;
  const running = runStage(env, machine, { ...input }, `${input.runId}-decommission-${++executions}`).finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (!done && env.activity.busy === 0) {
      const next = env.clock.nextEventAt();
      if (next !== undefined) env.clock.advanceTo(next);
    }
  }
  const run = await running;
  return { ...run, totals, report };
}
