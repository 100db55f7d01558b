import { ReportEvent, ReportResult, writeDecommissionReport } from './report';
import { DecommissionEnv, Env } from '../../contract/environment';
import { createCloudWatchClient, createDocumentClient, createS3Client } from '../shared/clients';
import { optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * DecommissionReport: sums the batches, writes the plan (to-delete / kept lists, summary with the
 * early-deletion charge) and, for a real run, the run's deletion log; publishes the totals to the
 * dashboard.
 */

const logger = createLogger('DecommissionReport');
const ddb = createDocumentClient();
const s3 = createS3Client();
const cloudwatch = createCloudWatchClient();

export async function handler(event: ReportEvent): Promise<ReportResult> {
  return writeDecommissionReport({
    s3,
    ddb,
    cloudwatch,
    tableName: requireEnv(Env.TRANSFER_TABLE),
    inventoryBucket: requireEnv(Env.INVENTORY_BUCKET),
    metricsNamespace: optionalEnv(DecommissionEnv.METRICS_NAMESPACE) ?? '',
    log: logger,
  }, event);
}
