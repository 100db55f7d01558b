import { ExecutionEndedResult, ExecutionStatusChangeEvent, handleExecutionEnded } from './execution-ended';
import { Env, OrchestrationEnv } from '../../contract/environment';
import { createDocumentClient, createEventBridgeClient, createSfnClient } from '../shared/clients';
import { optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * OrchestratorExecutionEnded: target of the EventBridge rule on the orchestrator's "Step Functions
 * Execution Status Change" events (ABORTED, FAILED, TIMED_OUT). Closes a run whose execution ended
 * without its own cleanup: run record, schedule targets, vault lock, InitiateRetrieval execution.
 */

const logger = createLogger('OrchestratorExecutionEnded');
const ddb = createDocumentClient();
const events = createEventBridgeClient();
const sfn = createSfnClient();

export async function handler(event: ExecutionStatusChangeEvent): Promise<ExecutionEndedResult> {
  return handleExecutionEnded({
    ddb,
    events,
    sfn,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    asyncFacilitatorTable: requireEnv(Env.ASYNC_FACILITATOR_TABLE),
    scheduleRules: requireEnv(OrchestrationEnv.SCHEDULE_RULES).split(',').filter((r) => r !== ''),
    eventSource: optionalEnv(OrchestrationEnv.RUN_EVENT_SOURCE),
    inventoryBucket: optionalEnv(Env.INVENTORY_BUCKET),
  }, event);
}
