import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ArchiveStore } from './archive-store';
import { processChunkDelivery } from './chunk-copy';
import { chunkMaxReceivesConfig, destinationConfig } from './config';
import { createLeafHashPool } from './leaf-hash-workers';
import { parseChunkMessage } from './messages';
import { Env } from '../../contract/environment';
import { createDocumentClient, createGlacierClient, createS3Client, createSqsClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { processSqsBatch } from '../shared/sqs-batch';

/*
 * ChunkRetrieval: streams one byte range of a staged Glacier job into one S3 part, verified
 * against the tree hash Glacier returns, and queues validation after the last part.
 */

const logger = createLogger('ChunkRetrieval');
const ddb = createDocumentClient();
// Tree hashing moves to worker threads when the function has vCPUs to spare (≥ 3,538 MB).
const clients = { glacier: createGlacierClient(), s3: createS3Client(), hashPool: createLeafHashPool() };
const sqs = createSqsClient();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const destination = destinationConfig();
  const deps = {
    store: new ArchiveStore(ddb, destination.tableName),
    clients,
    sqs,
    destination,
    validationQueueUrl: requireEnv(Env.VALIDATION_QUEUE_URL),
    logger,
  };
  const maxReceives = chunkMaxReceivesConfig();
  return processSqsBatch(event, context, logger, async (record) => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
    const outcome = await processChunkDelivery(deps, parseChunkMessage(record.body), receiveCount, maxReceives);
    logger.debug('chunk message processed', { messageId: record.messageId, outcome });
  });
}
