import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ArchiveStore } from './archive-store';
import { chunkSizeConfig, destinationConfig, maxDownloadAttemptsConfig } from './config';
import { parseValidationMessage } from './messages';
import { processValidation } from './validation';
import { createDocumentClient, createGlacierClient, createS3Client, createSqsClient, requireEnv } from '../shared/clients';
import { createLogger } from '../shared/logger';
import { Env } from '../shared/schema';
import { processSqsBatch } from '../shared/sqs-batch';

/*
 * ArchiveValidation: checks the combined chunk tree hashes against the inventory, completes the
 * multipart upload and marks the archive downloaded, or re-downloads it (bounded) on a mismatch.
 */

const logger = createLogger('ArchiveValidation');
const ddb = createDocumentClient();
const clients = { glacier: createGlacierClient(), s3: createS3Client() };
const sqs = createSqsClient();

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const destination = destinationConfig();
  const deps = {
    store: new ArchiveStore(ddb, destination.tableName),
    clients,
    sqs,
    destination,
    chunkQueueUrl: requireEnv(Env.CHUNK_QUEUE_URL),
    chunkSize: chunkSizeConfig(),
    maxDownloadAttempts: maxDownloadAttemptsConfig(),
    logger,
  };
  return processSqsBatch(event, context, logger, async (record) => {
    const outcome = await processValidation(deps, parseValidationMessage(record.body));
    logger.debug('validation message processed', { messageId: record.messageId, outcome });
  });
}
