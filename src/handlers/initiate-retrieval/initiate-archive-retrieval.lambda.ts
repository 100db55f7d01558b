import { requestConfig } from './config';
import { InitiateBatchEvent, InitiateBatchResult, initiateBatch } from './initiate-batch';
import { QuotaLedgerStore } from './quota-ledger';
import { RequestStore } from './request-store';
import { createDocumentClient, createGlacierClient } from '../shared/clients';
import { createLogger } from '../shared/logger';

/*
 * InitiateArchiveRetrieval: one ItemBatcher batch of a sorted-inventory partition CSV. Writes each
 * archive item (pending) before requesting it, reserves the batch's bytes in the shared quota
 * ledger, starts the Glacier jobs (tier and SNS topic from BatchInput) and records each archive
 * requested or failed. Returns `waitSeconds` > 0 when archives are left for a later call.
 */

const logger = createLogger('InitiateArchiveRetrieval');
const ddb = createDocumentClient();
const glacier = createGlacierClient();

export async function handler(event: InitiateBatchEvent): Promise<InitiateBatchResult> {
  const config = requestConfig();
  return initiateBatch({
    store: new RequestStore(ddb, config.transferTable),
    ledger: new QuotaLedgerStore(ddb, {
      tableName: config.ledgerTable,
      dailyQuotaBytes: config.dailyQuotaBytes,
      bucketSeconds: config.bucketSeconds,
      log: logger,
    }),
    glacier,
    requestsPerSecond: config.requestsPerSecond,
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    log: logger,
  }, event);
}
