import { functionArn, runStage, stageLambda, StageMachine, StageRun } from './sfn-stage';
import { loadDefinition } from '../../src/asl/definitions';
import type { RecoveryResult } from '../../src/handlers/archive-retrieval/lost-notification-recovery';
import type { ExtendBatchResult } from '../../src/handlers/download-window-extension/extend-window';
import type { WindowScanResult } from '../../src/handlers/download-window-extension/window-scan';
import { Environment, NAMES } from '../environment';

/*
 * The REAL DownloadWindowExtension stage: src/asl/download-window-extension.asl.json
 * (substitutions as in src/constructs/download-window-extension.ts) with the real
 * RecoverLostNotifications, ArchivesNeedingWindowExtension and ExtendDownloadWindow handlers in process. In AWS an
 * EventBridge schedule starts it every 30 minutes per active run; the harness does the same on
 * the rehearsal clock.
 */

export interface WindowExtensionInput {
  readonly runId: string;
  readonly tier: 'Expedited' | 'Standard' | 'Bulk';
}

export interface ExtensionTotals {
  listed: number;
  extended: number;
  alreadyMoved: number;
  failed: number;
  deferred: number;
  /** RecoverLostNotifications: overdue jobs found, finished ones re-announced, jobs Glacier no longer knew. */
  overdue?: number;
  recovered?: number;
  unknownJobs?: number;
}

export interface WindowExtensionRun extends StageRun {
  readonly totals: ExtensionTotals;
}

export const SCAN_FUNCTION_ARN = functionArn('ArchivesNeedingWindowExtension');
export const EXTEND_FUNCTION_ARN = functionArn('ExtendDownloadWindow');
export const RECOVER_FUNCTION_ARN = functionArn('RecoverLostNotifications');

export function windowExtensionMachine(env: Environment, totals?: ExtensionTotals): StageMachine {
  const definition = loadDefinition('download-window-extension');
  return {
    name: 'DownloadWindowExtension',
    definition,
    substitutions: {
      InventoryBucket: NAMES.inventoryBucket,
      NotificationTopicArn: NAMES.topicArn,
      ArchivesNeedingWindowExtensionFunctionArn: SCAN_FUNCTION_ARN,
      ExtendDownloadWindowFunctionArn: EXTEND_FUNCTION_ARN,
      RecoverLostNotificationsFunctionArn: RECOVER_FUNCTION_ARN,
    },
    lambdaHandlers: {
      [RECOVER_FUNCTION_ARN]: stageLambda<RecoveryResult>(env, env.stageHandlers.recoverLostNotifications, (r) => {
        if (!totals) return;
        totals.overdue = (totals.overdue ?? 0) + r.overdue;
        totals.recovered = (totals.recovered ?? 0) + r.recovered;
        totals.unknownJobs = (totals.unknownJobs ?? 0) + r.unknownJobs;
      }),
      [SCAN_FUNCTION_ARN]: stageLambda<WindowScanResult>(env, env.stageHandlers.archivesNeedingWindowExtension, (r) => {
        if (totals) totals.listed += r.count;
      }),
      [EXTEND_FUNCTION_ARN]: stageLambda<ExtendBatchResult>(env, env.stageHandlers.extendDownloadWindow, (r) => {
        if (!totals) return;
        totals.extended += r.extended;
        totals.alreadyMoved += r.alreadyMoved;
        totals.failed += r.failed;
        totals.deferred += r.deferred;
      }),
    },
  };
}

let executions = 0;

/** One scheduled window-extension execution for a run, to the end. */
export async function runWindowExtension(env: Environment, input: WindowExtensionInput): Promise<WindowExtensionRun> {
  const totals: ExtensionTotals = { listed: 0, extended: 0, alreadyMoved: 0, failed: 0, deferred: 0 };
  const run = await runStage(env, windowExtensionMachine(env, totals), { ...input }, `${input.runId}-extension-${++executions}`);
  return { ...run, totals };
}
