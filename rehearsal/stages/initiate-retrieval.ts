import { functionArn, runStage, stageLambda, StageMachine, StageRun } from './sfn-stage';
import { loadDefinition } from '../../src/asl/definitions';
import type { InitiateBatchResult } from '../../src/handlers/initiate-retrieval/initiate-batch';
import { Environment, NAMES } from '../environment';

/*
 * The REAL InitiateRetrieval stage: src/asl/initiate-retrieval.asl.json (substitutions as in
 * src/constructs/initiate-retrieval.ts) with the real InitiateArchiveRetrieval handler in process.
 * It lists `<runId>/sorted_inventory/` in the inventory bucket (local S3), reads each partition
 * CSV, and requests its archives batch by batch, paced by the shared quota ledger; WaitForQuota
 * waits on the rehearsal clock.
 */

export interface InitiateRetrievalInput {
  readonly runId: string;
  readonly vaultName: string;
  readonly tier: 'Expedited' | 'Standard' | 'Bulk';
  readonly storageClass: string;
}

/** Sums of the batch results the handler returned (every invocation, re-invocations included). */
export interface InitiateTotals {
  invocations: number;
  requested: number;
  requestedBytes: number;
  alreadyHandled: number;
  failed: number;
  invalid: number;
  deferred: number;
}

export interface InitiateRetrievalRun extends StageRun {
  readonly totals: InitiateTotals;
}

export const INITIATE_FUNCTION_ARN = functionArn('InitiateArchiveRetrieval');

/** The state machine as deployed, with its handler wired to `env`; `totals` is filled as it runs. */
export function initiateRetrievalMachine(env: Environment, totals?: InitiateTotals): StageMachine {
  const definition = loadDefinition('initiate-retrieval');
  return {
    name: 'InitiateRetrieval',
    definition,
    substitutions: {
      InventoryBucket: NAMES.inventoryBucket,
      NotificationTopicArn: NAMES.topicArn,
      InitiateArchiveRetrievalFunctionArn: INITIATE_FUNCTION_ARN,
    },
    lambdaHandlers: {
      [INITIATE_FUNCTION_ARN]: stageLambda<InitiateBatchResult>(env, env.stageHandlers.initiateArchiveRetrieval, (r) => {
        if (!totals) return;
        totals.invocations++;
        totals.requested += r.requested;
        totals.requestedBytes += r.requestedBytes;
        totals.alreadyHandled += r.alreadyHandled;
        totals.failed += r.failed;
        totals.invalid += r.invalid;
        totals.deferred += r.deferred;
      }),
    },
  };
}

/** Runs InitiateRetrieval for one run to the end (Wait states on the rehearsal clock). */
export async function runInitiateRetrieval(env: Environment, input: InitiateRetrievalInput): Promise<InitiateRetrievalRun> {
  const totals: InitiateTotals = { invocations: 0, requested: 0, requestedBytes: 0, alreadyHandled: 0, failed: 0, invalid: 0, deferred: 0 };
  const run = await runStage(env, initiateRetrievalMachine(env, totals), { ...input }, `${input.runId}-initiate`);
  return { ...run, totals };
}
