import {
  checkProvidedAgainstVault, checkProvidedInventory, completeDownload, CountedInventory, DownloadPlan, prepareDownload,
  ValidatedInventory, VaultCheckResult,
} from './inventory-download';
import { InventoryStore } from './inventory-store';
import { Env, InventoryEnv } from '../../contract/environment';
import { validateTolerancePercent } from '../../core/vault-totals';
import { createDocumentClient, createGlacierClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * InventoryValidation: the non-parallel steps around the inventory download.
 * - `prepare`: DescribeJob (size), open the multipart upload, plan the ranges;
 * - `complete`: all parts there and sizes match → CompleteMultipartUpload → the file parses;
 * - `provided`: a user-provided inventory exists and parses;
 * - `vault-check`: once counted, a provided inventory's totals match DescribeVault's.
 */

const logger = createLogger('InventoryValidation');
const ddb = createDocumentClient();
const glacier = createGlacierClient();
const s3 = createS3Client();

export type ValidationEvent =
  | { action: 'prepare'; runId: string; vaultName: string; jobId: string }
  | { action: 'complete'; runId: string; uploadId: string; key: string; size: number }
  | { action: 'provided'; runId: string; vaultName: string; key: string }
  | { action: 'vault-check'; runId: string; vaultName: string; key: string; summary: CountedInventory };

export async function handler(event: ValidationEvent): Promise<DownloadPlan | ValidatedInventory | VaultCheckResult> {
  const deps = { glacier, s3, store: new InventoryStore(ddb, requireEnv(Env.TRANSFER_TABLE)), bucket: requireEnv(Env.INVENTORY_BUCKET), log: logger };
  switch (event.action) {
    case 'prepare': return prepareDownload(deps, event);
    case 'complete': return completeDownload(deps, event);
    case 'provided': return checkProvidedInventory(deps, event);
    case 'vault-check': {
      const variable = InventoryEnv.PROVIDED_INVENTORY_TOLERANCE;
      const tolerance = validateTolerancePercent(variable, Number(requireEnv(variable)));
      return checkProvidedAgainstVault(deps, event, tolerance);
    }
    default: throw new Error(`unknown action ${JSON.stringify((event as { action?: unknown }).action)}`);
  }
}
