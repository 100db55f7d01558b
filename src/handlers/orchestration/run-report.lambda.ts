import { writeRunReport, RunReportEvent, RunReportResult } from './run-report';
import { Env } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* RunReport: manifest and failed-archives CSVs of a run, written by the orchestrator's cleanup. */

const logger = createLogger('RunReport');
const ddb = createDocumentClient();
const s3 = createS3Client();

export async function handler(event: RunReportEvent): Promise<RunReportResult> {
  return writeRunReport({
    ddb,
    s3,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    inventoryBucket: requireEnv(Env.INVENTORY_BUCKET),
  }, event);
}
