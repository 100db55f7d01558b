import { finishGlueInventory, ProcessConfig, ProcessEvent, processRunInventory, ProcessResult, writeKeptKeys } from './process-inventory';
import { Env, InventoryEnv } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { isPositiveInteger, numberEnv, optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * ProcessInventory: the Lambda engine (name, skip, de-duplicate, sort, partition), or, with
 * `finishGlue: true`, recording the results the Glue engine wrote; with `writeKeptKeys: true` (before
 * the Glue engine), the keys of the archives an earlier execution downloaded.
 */

const logger = createLogger('ProcessInventory');
const ddb = createDocumentClient();
const s3 = createS3Client();

const positive = (name: string): number => numberEnv(name, NaN, isPositiveInteger, 'a positive whole number');

export function processConfig(): ProcessConfig {
  return {
    inventoryBucket: requireEnv(Env.INVENTORY_BUCKET),
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    metricsTable: requireEnv(Env.METRICS_TABLE),
    prefix: optionalEnv(InventoryEnv.DESTINATION_PREFIX) ?? '',
    partitionSizeBytes: positive(InventoryEnv.PARTITION_SIZE),
    maxArchiveSizeBytes: positive(InventoryEnv.MAX_ARCHIVE_SIZE),
    rowsPerFile: optionalEnv(InventoryEnv.ROWS_PER_FILE) ? positive(InventoryEnv.ROWS_PER_FILE) : undefined,
  };
}

type ProcessInventoryEvent = ProcessEvent & { finishGlue?: boolean; writeKeptKeys?: boolean };

export async function handler(event: ProcessInventoryEvent): Promise<ProcessResult | { key: string; count: number }> {
  const deps = { s3, ddb, config: processConfig(), log: logger };
  if (event.writeKeptKeys) return writeKeptKeys(deps, event.runId);
  return event.finishGlue ? finishGlueInventory(deps, event) : processRunInventory(deps, event);
}
