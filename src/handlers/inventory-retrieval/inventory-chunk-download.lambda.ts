import { ChunkEvent, downloadChunk } from './inventory-download';
import { Env } from '../../contract/environment';
import { createGlacierClient, createS3Client } from '../shared/clients';
import { requireEnv } from '../shared/env';

/* InventoryChunkDownload: one range of the inventory job output → one part of the upload. */

const glacier = createGlacierClient();
const s3 = createS3Client();

export async function handler(event: ChunkEvent): Promise<{ partNumber: number; size: number }> {
  return downloadChunk({ glacier, s3, bucket: requireEnv(Env.INVENTORY_BUCKET) }, event);
}
