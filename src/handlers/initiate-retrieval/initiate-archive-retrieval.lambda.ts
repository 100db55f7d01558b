import { InitiateBatchEvent, InitiateBatchResult, initiateBatch } from './initiate-batch';
import { requestDeps } from './request-deps';
import { createDocumentClient, createGlacierClient, createS3Client } from '../shared/clients';
import { createLogger } from '../shared/logger';

/*
 * InitiateArchiveRetrieval: one ItemBatcher batch of a sorted-inventory partition CSV. Writes each
 * archive item (pending) before requesting it, reserves the batch's bytes in the shared quota
 * ledger, starts the Glacier jobs (tier and SNS topic from BatchInput) and records each archive
 * requested or failed. Returns `waitSeconds` > 0 when archives are left for a later call.
 */

const logger = createLogger('InitiateArchiveRetrieval');
const ddb = createDocumentClient();
const glacier = createGlacierClient();
// HeadObject on each archive's destination key before it is requested (existing objects).
const s3 = createS3Client();

export async function handler(event: InitiateBatchEvent): Promise<InitiateBatchResult> {
  return initiateBatch(requestDeps(ddb, glacier, logger, s3), event);
}
