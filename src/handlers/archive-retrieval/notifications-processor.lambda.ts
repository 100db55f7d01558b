import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_QUEUE_MAX_RECEIVES } from './config';
import { maxReceivesFromEnv } from './last-receive';
import { createLeafHashPool } from './leaf-hash-workers';
import { processNotificationDelivery } from './notifications';
import { stagingDeps } from './staging-deps';
import { Env } from '../../contract/environment';
import { completeInventoryJob } from '../inventory-retrieval/inventory-job-completion';
import { createDocumentClient, createGlacierClient, createS3Client, createSqsClient } from '../shared/clients';
import { createLogger } from '../shared/logger';
import { processSqsBatch } from '../shared/sqs-batch';

/*
 * NotificationsProcessor: Glacier job-completion notifications (SNS → SQS). Stages the archive
 * and either copies it in one verified PutObject or starts a multipart upload and enqueues one
 * chunk message per part. Inventory-job notifications unlock the inventory stage's wait.
 */

const logger = createLogger('NotificationsProcessor');
const ddb = createDocumentClient();
// Small archives are copied here; their tree hashing uses worker threads as ChunkRetrieval's does.
const clients = { glacier: createGlacierClient(), s3: createS3Client(), hashPool: createLeafHashPool() };
const sqs = createSqsClient();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const deps = {
    ...stagingDeps(ddb, clients, sqs, logger),
    // An inventory job's notification unlocks the InventoryRetrieval state machine waiting on it.
    onInventoryNotification: async (notification: Parameters<typeof completeInventoryJob>[0], log: Parameters<typeof completeInventoryJob>[1]) => {
      const outcome = await completeInventoryJob(notification, log);
      log?.info('inventory job notification handled', { jobId: notification.jobId, outcome });
    },
  };
  const maxReceives = maxReceivesFromEnv(Env.NOTIFICATIONS_MAX_RECEIVES, DEFAULT_QUEUE_MAX_RECEIVES);
  return processSqsBatch(event, context, logger, async (record) => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
    const outcome = await processNotificationDelivery(deps, record.body, receiveCount, maxReceives);
    logger.debug('notification processed', { messageId: record.messageId, outcome });
  });
}
