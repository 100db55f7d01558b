import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { processStatusStream } from './metrics';
import { Env } from '../../contract/environment';
import { createDocumentClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * MetricsProcessor: turns archive status transitions from the transfer table's stream
 * (NEW_AND_OLD_IMAGES) into per-run count/byte counters, exactly once per stream record.
 */

const logger = createLogger('MetricsProcessor');
const ddb = createDocumentClient();

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  return processStatusStream({ ddb, tableName: requireEnv(Env.METRICS_TABLE), log: logger }, event.Records ?? []);
}
