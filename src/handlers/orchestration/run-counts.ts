import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { bytesAttribute, countAttribute, metricsPk } from '../../contract/keys';
import { ArchiveStatus } from '../shared/schema';

export type CountKey = ArchiveStatus | 'total';
export const STATUSES: readonly ArchiveStatus[] = [
  ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED,
  ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED,
];

/** Archives (count and bytes) of a run per status, from the metrics table. */
export interface RunCounts {
  readonly count: Record<CountKey, number>;
  readonly bytes: Record<CountKey, number>;
  /** downloaded + failed + skipped */
  readonly terminalCount: number;
  readonly terminalBytes: number;
  /** Whether the inventory stage recorded a total (`totalCount`). */
  readonly totalKnown: boolean;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v ?? 0) || 0);

/**
 * Counts from the metrics item. `total` is the inventory's `totalCount` when recorded, raised to
 * the sum of the per-status counts if items already outnumber it (a stale or missing total must
 * never make a run look complete too early, nor hold it open forever).
 */
export function countsFromItem(item: Record<string, unknown> | undefined): RunCounts {
  const count = {} as Record<CountKey, number>;
  const bytes = {} as Record<CountKey, number>;
  let sumCount = 0;
  let sumBytes = 0;
  for (const s of STATUSES) {
    count[s] = Math.max(0, num(item?.[countAttribute(s)]));
    bytes[s] = Math.max(0, num(item?.[bytesAttribute(s)]));
    sumCount += count[s];
    sumBytes += bytes[s];
  }
  const totalKnown = item?.[countAttribute('total')] !== undefined;
  count.total = Math.max(num(item?.[countAttribute('total')]), sumCount);
  bytes.total = Math.max(num(item?.[bytesAttribute('total')]), sumBytes);
  const terminalCount = count.downloaded + count.failed + count.skipped;
  const terminalBytes = bytes.downloaded + bytes.failed + bytes.skipped;
  return { count, bytes, terminalCount, terminalBytes, totalKnown };
}

export async function readRunCounts(ddb: DynamoDBDocumentClient, metricsTable: string, runId: string): Promise<RunCounts> {
  const out = await ddb.send(new GetCommand({ TableName: metricsTable, Key: { pk: metricsPk(runId) }, ConsistentRead: true }));
  return countsFromItem(out.Item);
}

/** The run is complete when downloaded + failed + skipped = total (failures count: they never hold a run open). */
export function isComplete(c: RunCounts): boolean {
  return c.terminalCount >= c.count.total;
}
