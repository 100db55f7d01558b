import { ExtendBatchEvent, ExtendBatchResult, extendBatch } from './extend-window';
import { Env } from '../../contract/environment';
import { requestDeps } from '../initiate-retrieval/request-deps';
import { createDocumentClient, createGlacierClient } from '../shared/clients';
import { numberEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * ExtendDownloadWindow: one batch of archives whose download window is closing. Starts a new
 * retrieval job for each (quota ledger counts the bytes) and switches the archive item to it while
 * it is still staged under the old job.
 */

const logger = createLogger('ExtendDownloadWindow');
const ddb = createDocumentClient();
const glacier = createGlacierClient();

export async function handler(event: ExtendBatchEvent): Promise<ExtendBatchResult> {
  return extendBatch({
    ...requestDeps(ddb, glacier, logger),
    maxWaitSeconds: numberEnv(Env.WINDOW_EXTENSION_MAX_WAIT_SECONDS, 1200, (v) => v >= 0, 'a non-negative number of seconds'),
  }, event);
}
