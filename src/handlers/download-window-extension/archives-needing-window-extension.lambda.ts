import type { Context } from 'aws-lambda';
import { findArchivesNeedingExtension, WindowScanEvent, WindowScanResult } from './window-scan';
import { Env } from '../../contract/environment';
import { createDocumentClient, createS3Client } from '../shared/clients';
import { numberEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * ArchivesNeedingWindowExtension: pages through the run's staged (and completed-but-requested)
 * archives whose download window closes within the margin and streams them as a JSON list to
 * `tmp/<runId>/window-extension/<timestamp>.json` in the inventory bucket.
 */

const logger = createLogger('ArchivesNeedingWindowExtension');
const ddb = createDocumentClient();
const s3 = createS3Client();

export async function handler(event: WindowScanEvent, context?: Context): Promise<WindowScanResult> {
  return findArchivesNeedingExtension({
    ddb,
    s3,
    tableName: requireEnv(Env.TRANSFER_TABLE),
    bucket: requireEnv(Env.INVENTORY_BUCKET),
    marginSeconds: numberEnv(Env.WINDOW_EXTENSION_MARGIN_SECONDS, 5 * 3600, (v) => v >= 0 && v < 86_400, 'seconds from 0 to 86399'),
    log: logger,
    remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
  }, event);
}
