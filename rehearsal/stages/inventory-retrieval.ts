import { functionArn, runStage, stageLambda, StageMachine, StageRun } from './sfn-stage';
import { loadDefinition } from '../../src/asl/definitions';
import type { ProcessResult } from '../../src/handlers/inventory-retrieval/process-inventory';
import { Environment, MACHINES, NAMES } from '../environment';
import { withRehearsalEngine } from '../services/glue-local';

/*
 * The REAL InventoryRetrieval stage: src/asl/inventory-retrieval.asl.json (substitutions as in
 * src/constructs/inventory-retrieval.ts) with its five real handlers in process. It starts the
 * vault's inventory-retrieval job in the Glacier fake, waits for the task token the real
 * NotificationsProcessor unlocks (completeInventoryJob → SendTaskSuccess through the SFN API fake)
 * or for its DescribeJob poller, copies the job output into `<runId>/original_inventory/`, then the
 * Lambda engine names, sorts and partitions it into `<runId>/sorted_inventory/`. With `--engine
 * glue` every inventory takes the Glue branch instead, run on local Spark (services/glue-local.ts).
 */

export interface InventoryRetrievalInput {
  readonly runId: string;
  readonly vaultName: string;
  readonly storageClass: string;
  /** Staged naming override the run record names; '' (default) for none. */
  readonly namingOverrideKey?: string;
}

/** What the handlers returned (every invocation). */
export interface InventoryTotals {
  jobsInitiated: number;
  chunks: number;
  polls: number;
  summary?: ProcessResult;
}

export interface InventoryRetrievalRun extends StageRun {
  readonly totals: InventoryTotals;
}

const FN = {
  initiate: functionArn('InitiateInventoryRetrieval'),
  poller: functionArn('InventoryJobPoller'),
  chunk: functionArn('InventoryChunkDownload'),
  validation: functionArn('InventoryValidation'),
  process: functionArn('ProcessInventory'),
};

export function newInventoryTotals(): InventoryTotals {
  return { jobsInitiated: 0, chunks: 0, polls: 0 };
}

export function inventoryRetrievalMachine(env: Environment, totals?: InventoryTotals): StageMachine {
  const h = env.stageHandlers;
  return {
    name: MACHINES.inventory,
    definition: withRehearsalEngine(loadDefinition('inventory-retrieval')),
    substitutions: {
      TransferTableName: NAMES.transferTable,
      AsyncFacilitatorTableName: NAMES.asyncTable,
      GlueJobName: 'rehearsal-inventory-glue-job',
      InitiateInventoryRetrievalFunctionArn: FN.initiate,
      InventoryJobPollerFunctionArn: FN.poller,
      InventoryChunkDownloadFunctionArn: FN.chunk,
      InventoryValidationFunctionArn: FN.validation,
      ProcessInventoryFunctionArn: FN.process,
    },
    lambdaHandlers: {
      [FN.initiate]: stageLambda<{ reused?: boolean }>(env, h.initiateInventoryRetrieval, (r) => {
        if (totals && !r.reused) totals.jobsInitiated++;
      }),
      [FN.poller]: stageLambda(env, h.inventoryJobPoller, () => {
        if (totals) totals.polls++;
      }),
      [FN.chunk]: stageLambda(env, h.inventoryChunkDownload, () => {
        if (totals) totals.chunks++;
      }),
      [FN.validation]: stageLambda(env, h.inventoryValidation),
      [FN.process]: stageLambda<ProcessResult>(env, h.processInventory, (r) => {
        if (totals) totals.summary = r;
      }),
    },
  };
}

/** Runs InventoryRetrieval alone for one run (the orchestrator normally starts it). */
export async function runInventoryRetrieval(env: Environment, input: InventoryRetrievalInput): Promise<InventoryRetrievalRun> {
  const totals = newInventoryTotals();
  const run = await runStage(env, inventoryRetrievalMachine(env, totals), { namingOverrideKey: '', ...input }, `${input.runId}-inventory`);
  return { ...run, totals };
}
