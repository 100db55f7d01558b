import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ArchiveStore } from './archive-store';
import { chunkMaxReceivesConfig, DEFAULT_QUEUE_MAX_RECEIVES, destinationConfig } from './config';
import { deadLetterSourceOf, reconcileDeadLetter, ReconcileDeps } from './dead-letters';
import { maxReceivesFromEnv } from './last-receive';
import { verifiedCopyAt } from './staging';
import { Env } from '../../contract/environment';
import { createDocumentClient, createS3Client, createSqsClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { processSqsBatch } from '../shared/sqs-batch';

/*
 * DeadLetterReconciler: reads the notifications, chunk-retrieval and validation dead-letter queues
 * and ends the archive of each dead-lettered message FAILED with the DLQ reason when the message
 * is its current work, or downloaded when its verified copy is already at its key (see
 * dead-letters.ts). Never requests anything from Glacier.
 */

const logger = createLogger('DeadLetterReconciler');
const ddb = createDocumentClient();
const s3 = createS3Client();
const sqs = createSqsClient();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const inventoryBucket = requireEnv(Env.INVENTORY_BUCKET);
  const destination = destinationConfig();
  const deps: ReconcileDeps = {
    store: new ArchiveStore(ddb, destination.tableName),
    sqs,
    unreconciledQueueUrl: requireEnv(Env.UNRECONCILED_QUEUE_URL),
    maxReceives: {
      notifications: maxReceivesFromEnv(Env.NOTIFICATIONS_MAX_RECEIVES, DEFAULT_QUEUE_MAX_RECEIVES),
      chunk: chunkMaxReceivesConfig(),
      validation: maxReceivesFromEnv(Env.VALIDATION_MAX_RECEIVES, DEFAULT_QUEUE_MAX_RECEIVES),
    },
    keepEvidence: async (key, evidence) => {
      await s3.send(new PutObjectCommand({
        Bucket: inventoryBucket,
        Key: key,
        Body: JSON.stringify(evidence, null, 2),
        ContentType: 'application/json',
      }));
    },
    verifiedCopy: (item) => verifiedCopyAt({ clients: { s3 }, destination }, item),
    log: logger,
  };
  return processSqsBatch(event, context, logger, async (record) => {
    await reconcileDeadLetter(deps, {
      source: deadLetterSourceOf(record.eventSourceARN),
      messageId: record.messageId,
      body: record.body,
      sentTimestamp: record.attributes?.SentTimestamp,
    });
  });
}
