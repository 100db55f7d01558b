import { finalizeVault, FinalizerEvent, InventoryChecked, InventoryRequested, VaultDeletion } from './vault-finalizer';
import { Env } from '../../contract/environment';
import { createGlacierClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * VaultFinalizer: final inventory request / check, then DeleteVault when it lists no archive.
 */

const logger = createLogger('DecommissionVaultFinalizer');
const glacier = createGlacierClient();
const s3 = createS3Client();

export async function handler(event: FinalizerEvent): Promise<InventoryRequested | InventoryChecked | VaultDeletion> {
  return finalizeVault({ glacier, s3, inventoryBucket: requireEnv(Env.INVENTORY_BUCKET), log: logger }, event);
}
