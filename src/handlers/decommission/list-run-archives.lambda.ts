import { deletionEnabled } from './config';
import { DecommissionInput, listRunArchives, ListResult } from './list-archives';
import { Env } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * ListRunArchives (decommission, first step): checks the request (finished run, vault name typed
 * again, no active run, deletion enabled for a real run) and lists every archive of the run to
 * `tmp/<runId>/decommission/<execution>/archives.json` in the inventory bucket.
 */

const logger = createLogger('DecommissionListRunArchives');
const ddb = createDocumentClient();
const s3 = createS3Client();

export async function handler(event: DecommissionInput): Promise<ListResult> {
  return listRunArchives({
    ddb,
    s3,
    tableName: requireEnv(Env.TRANSFER_TABLE),
    inventoryBucket: requireEnv(Env.INVENTORY_BUCKET),
    destinationBucket: requireEnv(Env.DESTINATION_BUCKET),
    deletionEnabled: deletionEnabled(),
    log: logger,
  }, event);
}
