import { cleanupUploads, CleanupUploadsResult } from './cleanup-uploads';
import { Env, OrchestrationEnv } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* CleanupIncompleteUploads: aborts this run's open multipart uploads in the destination bucket. */

const logger = createLogger('CleanupIncompleteUploads');
const ddb = createDocumentClient();
const s3 = createS3Client();

export async function handler(event: { runId: string }): Promise<CleanupUploadsResult> {
  return cleanupUploads({
    ddb,
    s3,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    destinationBucket: requireEnv(Env.DESTINATION_BUCKET),
    destinationBucketOwner: requireEnv(Env.DESTINATION_BUCKET_OWNER),
    destinationPrefix: optionalEnv(OrchestrationEnv.DESTINATION_PREFIX) ?? '',
  }, event);
}
