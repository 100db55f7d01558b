import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ArchiveStore } from './archive-store';
import { chunkSizeConfig, destinationConfig, maxDownloadAttemptsConfig } from './config';
import type { TransferClients } from './transfer';
import { Env } from '../../contract/environment';
import { maxRetrievalJobsFromEnv } from '../shared/archive-transition';
import { requireEnv } from '../shared/env';

/**
 * What the handlers that (re)stage archives work with — NotificationsProcessor and
 * ArchiveValidation's re-download — read from the environment on each invocation.
 */
export function stagingDeps(ddb: DynamoDBDocumentClient, clients: TransferClients, sqs: SQSClient, logger: Logger) {
  const destination = destinationConfig();
  return {
    store: new ArchiveStore(ddb, destination.tableName),
    clients,
    sqs,
    destination,
    chunkQueueUrl: requireEnv(Env.CHUNK_QUEUE_URL),
    chunkSize: chunkSizeConfig(),
    maxDownloadAttempts: maxDownloadAttemptsConfig(),
    maxRetrievalJobs: maxRetrievalJobsFromEnv(),
    validationQueueUrl: requireEnv(Env.VALIDATION_QUEUE_URL),
    logger,
  };
}
