import type { Context } from 'aws-lambda';
import { decommissionBatch, DecommissionBatchEvent, DecommissionBatchResult } from './batch';
import { deleteMaxAttempts, deletesPerSecond, deletionEnabled } from './config';
import { Env } from '../../contract/environment';
import { createDocumentClient, createGlacierClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * DecommissionBatch: for one batch of a run's archives, proves each S3 copy right now and, in a
 * real run, deletes the proven archives from the vault at a bounded rate (see batch.ts).
 */

const logger = createLogger('DecommissionBatch');
const ddb = createDocumentClient();
const s3 = createS3Client();
const glacier = createGlacierClient();

export async function handler(event: DecommissionBatchEvent, context?: Context): Promise<DecommissionBatchResult> {
  return decommissionBatch({
    ddb,
    s3,
    glacier,
    tableName: requireEnv(Env.TRANSFER_TABLE),
    inventoryBucket: requireEnv(Env.INVENTORY_BUCKET),
    destinationBucket: requireEnv(Env.DESTINATION_BUCKET),
    expectedBucketOwner: requireEnv(Env.DESTINATION_BUCKET_OWNER),
    deletionEnabled: deletionEnabled(),
    deletesPerSecond: deletesPerSecond(),
    maxAttempts: deleteMaxAttempts(),
    log: logger,
    remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
  }, event);
}
