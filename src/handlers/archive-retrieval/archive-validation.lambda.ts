import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_QUEUE_MAX_RECEIVES } from './config';
import { maxReceivesFromEnv } from './last-receive';
import { parseValidationMessage } from './messages';
import { stagingDeps } from './staging-deps';
import { processValidationDelivery } from './validation';
import { Env } from '../../contract/environment';
import { createDocumentClient, createGlacierClient, createS3Client, createSqsClient } from '../shared/clients';
import { createLogger } from '../shared/logger';
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
  const deps = stagingDeps(ddb, clients, sqs, logger);
  const maxReceives = maxReceivesFromEnv(Env.VALIDATION_MAX_RECEIVES, DEFAULT_QUEUE_MAX_RECEIVES);
  return processSqsBatch(event, context, logger, async (record) => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
    const outcome = await processValidationDelivery(deps, parseValidationMessage(record.body), receiveCount, maxReceives);
    logger.debug('validation message processed', { messageId: record.messageId, outcome });
  });
}
