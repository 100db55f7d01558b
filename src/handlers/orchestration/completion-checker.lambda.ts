import { checkCompletion, CompletionEvent, CompletionResult } from './completion-checker';
import { Env } from '../../contract/environment';
import { createDocumentClient, createSfnClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* CompletionChecker: per-run schedule target and the orchestrator's completion wait. */

const logger = createLogger('CompletionChecker');
const ddb = createDocumentClient();
const sfn = createSfnClient();

export async function handler(event: CompletionEvent): Promise<CompletionResult> {
  return checkCompletion({
    ddb,
    sfn,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    metricsTable: requireEnv(Env.METRICS_TABLE),
    asyncFacilitatorTable: requireEnv(Env.ASYNC_FACILITATOR_TABLE),
  }, event);
}
