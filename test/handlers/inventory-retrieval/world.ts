/*
 * The InventoryRetrieval handler tests' data; the AWS services are the shared doubles of
 * test/doubles/ (re-exported here).
 */
import type { Log } from '../../../src/handlers/shared/logger';

export { FakeDynamo } from '../../doubles/dynamodb';
export { FakeGlacier } from '../../doubles/glacier';
export { FakeS3 } from '../../doubles/s3';
export { FakeSfn } from '../../doubles/sfn';

export type Item = Record<string, any>;

/** A logger that keeps what was logged (for assertions) and prints nothing. */
export function recordingLog(): Log & { lines: Array<{ level: string; message: string; extra?: unknown }> } {
  const lines: Array<{ level: string; message: string; extra?: unknown }> = [];
  const at = (level: string) => (message: unknown, extra?: unknown) => {
    lines.push({ level, message: String(message), extra });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as any;
}


// ----------------------------------------------------------------------------- Inventory data

export const VAULT = 'photos-2012';
export const RUN = 'run-2026-11-24';
export const TOPIC = 'arn:aws:sns:us-east-1:111122223333:glacier-jobs';
export const INVENTORY_BUCKET = 'inventory-bucket';
export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const ASYNC = 'async-facilitator';

export const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n';

export interface Row {
  readonly id: string;
  readonly description?: string;
  readonly date?: string;
  readonly size?: number;
  readonly hash?: string;
}

/** A Glacier-style tree hash for tests: 64 hex digits derived from `n`. */
export const treeHash = (n: number): string => n.toString(16).padStart(64, '0');

/** Glacier's CSV dialect: a description holding `,` or `"` is quoted, `"` escaped as `\"`. */
export function csvDescription(d: string): string {
  return /[,"]/.test(d) ? `"${d.replace(/"/g, '\\"')}"` : d;
}

export function inventoryCsv(rows: readonly Row[]): string {
  return HEADER + rows.map((r, i) =>
    `${r.id},${csvDescription(r.description ?? `file-${r.id}.bin`)},${r.date ?? '2015-03-01T12:00:00Z'},${r.size ?? 100},${r.hash ?? treeHash(i + 1)}\n`).join('');
}
