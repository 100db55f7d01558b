import { pollInventoryJob, PollEvent, PollResult } from './inventory-job-poller';
import { Env } from '../../contract/environment';
import { createDocumentClient, createGlacierClient, createSfnClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * InventoryJobPoller: the safety net of WaitForInventoryJob. Glacier publishes nothing when the
 * topic policy does not let it, so the state machine also polls DescribeJob and unlocks itself.
 */

const logger = createLogger('InventoryJobPoller');
const ddb = createDocumentClient();
const glacier = createGlacierClient();
const sfn = createSfnClient();

export async function handler(event: PollEvent): Promise<PollResult> {
  return pollInventoryJob({ glacier, completion: { ddb, sfn, tableName: requireEnv(Env.ASYNC_FACILITATOR_TABLE), log: logger }, log: logger }, event);
}
