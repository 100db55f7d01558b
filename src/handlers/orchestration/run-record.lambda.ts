import { FinishRunEvent, finishRun, RunRecordDeps, runStatus, startRun, StartRunEvent } from './run-record';
import { Env, OrchestrationEnv } from '../../contract/environment';
import { createDocumentClient, createS3Client, createSfnClient } from '../shared/clients';
import { optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * RunRecord: the orchestrator's bookkeeping task. `start` validates and records the run (and takes
 * the one-run-per-vault lock), `get` reports a pending stop request, `finish` closes the run.
 */

const logger = createLogger('RunRecord');
const ddb = createDocumentClient();
const s3 = createS3Client();
const sfn = createSfnClient();

function deps(): RunRecordDeps {
  return {
    ddb,
    s3,
    sfn,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    asyncFacilitatorTable: requireEnv(Env.ASYNC_FACILITATOR_TABLE),
    destinationBucket: requireEnv(Env.DESTINATION_BUCKET),
    destinationBucketOwner: requireEnv(Env.DESTINATION_BUCKET_OWNER),
    destinationPrefix: optionalEnv(OrchestrationEnv.DESTINATION_PREFIX) ?? '',
    region: requireEnv('AWS_REGION'),
    initiateStateMachineArn: requireEnv(OrchestrationEnv.INITIATE_STATE_MACHINE_ARN),
    defaultStorageClass: requireEnv(OrchestrationEnv.STORAGE_CLASS),
    defaultTier: requireEnv(OrchestrationEnv.RETRIEVAL_TIER),
    allowedTiers: (optionalEnv(OrchestrationEnv.ALLOWED_RETRIEVAL_TIERS) ?? requireEnv(OrchestrationEnv.RETRIEVAL_TIER)).split(','),
    dailyQuotaBytes: Number(requireEnv(Env.DAILY_QUOTA_BYTES)),
    inventoryBucket: optionalEnv(Env.INVENTORY_BUCKET),
  };
}

export type RunRecordEvent = StartRunEvent | FinishRunEvent | { action: 'get'; runId: string };

export async function handler(event: RunRecordEvent): Promise<unknown> {
  switch (event.action) {
    case 'start': return startRun(deps(), event);
    case 'get': return runStatus(deps(), event.runId);
    case 'finish': return finishRun(deps(), event);
    default: throw new Error(`unknown action ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}
