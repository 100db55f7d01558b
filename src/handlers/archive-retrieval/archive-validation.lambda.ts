import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseValidationMessage } from './messages';
import { stagingDeps } from './staging-deps';
import { processValidation } from './validation';
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
  return processSqsBatch(event, context, logger, async (record) => {
    const outcome = await processValidation(deps, parseValidationMessage(record.body));
    logger.debug('validation message processed', { messageId: record.messageId, outcome });
  });
}
