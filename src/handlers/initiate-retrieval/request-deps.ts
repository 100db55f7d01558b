import type { GlacierClient } from '@aws-sdk/client-glacier';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { requestConfig } from './config';
import { DestinationCheck, EXISTING_OBJECT_POLICIES, ExistingObjectPolicy } from './existing-objects';
import { QuotaLedgerStore } from './quota-ledger';
import { RequestStore } from './request-store';
import { RunSpendLedger } from './run-spend-ledger';
import { Env } from '../../contract/environment';
import { hasSpendCap, RunSpendCaps } from '../../core/run-spend';
import { maxRetrievalJobsFromEnv } from '../shared/archive-transition';
import { numberEnv, optionalEnv } from '../shared/env';
import type { Log } from '../shared/logger';

/**
 * What every Glacier-requesting handler (InitiateArchiveRetrieval, ExtendDownloadWindow) works
 * with: the archive store, the shared quota ledger and the request limits, from the environment.
 */
export function requestDeps(ddb: DynamoDBDocumentClient, glacier: GlacierClient, log: Log, s3?: S3Client) {
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
    destinationCheck: s3 ? destinationCheck(s3) : undefined,
    runSpend: runSpendLedger(ddb, config.ledgerTable, log),
    log,
  };
}

/** The per-run spend ledger, when the construct set a cap (MAX_RETRIEVAL_*_PER_RUN). */
function runSpendLedger(ddb: DynamoDBDocumentClient, tableName: string, log: Log): RunSpendLedger | undefined {
  const read = (name: string): number | undefined => {
    if (optionalEnv(name) === undefined) return undefined;
    return numberEnv(name, NaN, (v) => Number.isSafeInteger(v) && v > 0, 'a positive whole number');
  };
  const caps: RunSpendCaps = { maxRequests: read(Env.MAX_RUN_REQUESTS), maxMicroUsd: read(Env.MAX_RUN_MICRO_USD) };
  return hasSpendCap(caps) ? new RunSpendLedger(ddb, { tableName, caps, log }) : undefined;
}

/** The destination look-up, when the construct named the destination bucket (DESTINATION_BUCKET_NAME). */
function destinationCheck(s3: S3Client): DestinationCheck | undefined {
  const bucket = optionalEnv(Env.DESTINATION_BUCKET);
  const bucketOwner = optionalEnv(Env.DESTINATION_BUCKET_OWNER);
  if (!bucket || !bucketOwner) return undefined;
  const policy = (optionalEnv(Env.EXISTING_OBJECT_POLICY) ?? 'FAIL') as ExistingObjectPolicy;
  if (!EXISTING_OBJECT_POLICIES.includes(policy)) {
    throw new Error(`environment variable ${Env.EXISTING_OBJECT_POLICY} must be one of ${EXISTING_OBJECT_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  return {
    s3,
    destination: { bucket, bucketOwner },
    policy,
    headsPerSecond: numberEnv(Env.INITIATE_REQUESTS_PER_SECOND, 100, (v) => v > 0 && v <= 1000, 'a number from 0 (exclusive) to 1000'),
    headConcurrency: 10,
  };
}
