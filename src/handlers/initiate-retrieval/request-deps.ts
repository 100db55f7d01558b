import type { GlacierClient } from '@aws-sdk/client-glacier';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requestConfig } from './config';
import { QuotaLedgerStore } from './quota-ledger';
import { RequestStore } from './request-store';
import { maxRetrievalJobsFromEnv } from '../shared/archive-transition';
import type { Log } from '../shared/logger';

/**
 * What every Glacier-requesting handler (InitiateArchiveRetrieval, ExtendDownloadWindow) works
 * with: the archive store, the shared quota ledger and the request limits, from the environment.
 */
export function requestDeps(ddb: DynamoDBDocumentClient, glacier: GlacierClient, log: Log) {
  const config = requestConfig();
  return {
    store: new RequestStore(ddb, config.transferTable),
    ledger: new QuotaLedgerStore(ddb, {
      tableName: config.ledgerTable,
      dailyQuotaBytes: config.dailyQuotaBytes,
      bucketSeconds: config.bucketSeconds,
      log,
    }),
    glacier,
    requestsPerSecond: config.requestsPerSecond,
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    maxRetrievalJobs: maxRetrievalJobsFromEnv(),
    log,
  };
}
