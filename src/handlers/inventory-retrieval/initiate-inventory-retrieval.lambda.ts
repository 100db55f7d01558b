import { InitiateInventoryEvent, initiateInventoryRetrieval, InitiateInventoryResult } from './initiate-inventory';
import { InventoryStore } from './inventory-store';
import { Env } from '../../contract/environment';
import { createDocumentClient, createGlacierClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* InitiateInventoryRetrieval: starts (or reuses) the run's Glacier inventory-retrieval job. */

const logger = createLogger('InitiateInventoryRetrieval');
const ddb = createDocumentClient();
const glacier = createGlacierClient();

export async function handler(event: InitiateInventoryEvent): Promise<InitiateInventoryResult> {
  return initiateInventoryRetrieval({
    glacier,
    store: new InventoryStore(ddb, requireEnv(Env.TRANSFER_TABLE)),
    topicArn: requireEnv(Env.TOPIC_ARN),
    log: logger,
  }, event);
}
