import type { Context } from 'aws-lambda';
import { cleanupArchivesStatus, StatusCleanupEvent, StatusCleanupResult } from './archives-status-cleanup';
import { Env } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* ArchivesStatusCleanup: resets a run's requested/staged archives to pending (called in a loop by the orchestrator). */

const logger = createLogger('ArchivesStatusCleanup');
const ddb = createDocumentClient();
const s3 = createS3Client();

export async function handler(event: StatusCleanupEvent, context: Context): Promise<StatusCleanupResult> {
  return cleanupArchivesStatus({
    ddb,
    s3,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    destinationBucket: requireEnv(Env.DESTINATION_BUCKET),
    destinationBucketOwner: requireEnv(Env.DESTINATION_BUCKET_OWNER),
    remainingMs: () => context?.getRemainingTimeInMillis?.() ?? 600_000,
  }, event);
}
