import { CloudWatchClient, MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { DecisionLine, DecommissionBatchResult } from './batch';
import { parseDryRun } from './list-archives';
import { decommissionPrefix, deletionLogKey, RUN_ID_PATTERN, runStatusKey, TransferTable } from '../../contract/keys';
import { emptyTotals, mergeTotals, PlanTotals, vaultStoragePrice } from '../../core/decommission-plan';
import { PRICES_AS_OF, PRICES_REGION } from '../../core/prices';
import { JsonArrayUpload } from '../download-window-extension/json-array-upload';
import { describeError } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';

export interface ReportEvent {
  readonly runId: string;
  readonly vaultName: string;
  readonly dryRun: string;
  readonly decommissionId: string;
  /** Archives listed by the first step. */
  readonly listed: number;
  /** `ResultWriterDetails` of the Distributed Map (absent when nothing was listed or the Map failed early). */
  readonly resultWriterDetails?: { readonly Bucket?: string; readonly Key?: string } | null;
  /** The Map failed: the report is written from what is recorded, then the execution fails. */
  readonly mapFailed?: boolean;
}

/** One entry of the cumulative deletion log. */
export interface DeletionLogEntry {
  readonly deletedAt: string;
  readonly archiveId: string;
  readonly objectKey: string;
  readonly objectVersionId: string;
  readonly vaultDeletion: string;
  readonly size: number;
}

export interface ReportResult extends PlanTotals {
  readonly runId: string;
  readonly vaultName: string;
  readonly dryRun: 'YES' | 'NO';
  readonly summaryKey: string;
  readonly keptKey: string;
  readonly toDeleteKey: string;
  readonly deletionLogKey?: string;
  /** Archives of the run deleted from the vault so far (all executions). */
  readonly deletedTotal: number;
  /** ISO time after which a vault inventory must have been taken to reflect these deletions. */
  readonly finishedAt: string;
  /** True when nothing of the run stays in the vault (the vault may still hold archives the run never saw). */
  readonly runFullyDeleted: boolean;
}

export interface ReportDeps {
  readonly s3: S3Client;
  readonly ddb: DynamoDBDocumentClient;
  readonly cloudwatch?: CloudWatchClient;
  readonly tableName: string;
  readonly inventoryBucket: string;
  /** '' = no metrics. */
  readonly metricsNamespace: string;
  readonly log: Log;
  readonly now?: () => number;
}

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body ? out.Body.transformToString('utf-8') : '';
}

/** Batch results from a Distributed Map ResultWriter manifest (SUCCEEDED files; each entry's Output is a JSON string). */
async function batchResults(deps: ReportDeps, details: ReportEvent['resultWriterDetails']): Promise<DecommissionBatchResult[]> {
  if (!details?.Key) return [];
  const bucket = details.Bucket ?? deps.inventoryBucket;
  const manifest = JSON.parse(await readText(deps.s3, bucket, details.Key)) as { ResultFiles?: { SUCCEEDED?: Array<{ Key: string }> } };
  const results: DecommissionBatchResult[] = [];
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    const entries = JSON.parse(await readText(deps.s3, bucket, file.Key)) as Array<{ Output?: string }>;
    for (const entry of entries) {
      if (!entry.Output) continue;
      const output = JSON.parse(entry.Output) as DecommissionBatchResult | { result?: DecommissionBatchResult };
      const result = 'partKey' in output ? output : output.result;
      if (result?.partKey) results.push(result as DecommissionBatchResult);
    }
  }
  return results;
}

/**
 * Sums the batches into the execution's summary, writes the plan lists (archives to delete,
 * archives kept with reasons) and, for a real run, the run's cumulative deletion log (from the
 * archive items, the source of truth, so a crashed or partial execution's deletions are in it),
 * and publishes the totals to CloudWatch for the dashboard.
 */
export async function writeDecommissionReport(deps: ReportDeps, event: ReportEvent): Promise<ReportResult> {
  if (typeof event?.runId !== 'string' || !RUN_ID_PATTERN.test(event.runId) || typeof event.decommissionId !== 'string' || !event.decommissionId) {
    throw new Error('the report needs { runId, vaultName, dryRun, decommissionId, listed }');
  }
  const { runId, vaultName, decommissionId } = event;
  const dryRun = parseDryRun(event.dryRun);
  const now = new Date((deps.now ?? Date.now)());
  const prefix = decommissionPrefix(runId, decommissionId);
  const results = await batchResults(deps, event.resultWriterDetails);
  const totals = emptyTotals();
  for (const r of results) mergeTotals(totals, r);

  // Plan lists: one pass over the decision parts.
  const toDeleteKey = `${prefix}to-delete.json`;
  const keptKey = `${prefix}kept.json`;
  const toDelete = new JsonArrayUpload(deps.s3, deps.inventoryBucket, toDeleteKey);
  const kept = new JsonArrayUpload(deps.s3, deps.inventoryBucket, keptKey);
  try {
    for (const r of results) {
      for (const text of (await readText(deps.s3, deps.inventoryBucket, r.partKey)).split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as DecisionLine;
        if (line.outcome === 'keep') await kept.add(line);
        else if (line.outcome === 'delete') await toDelete.add(line);
      }
    }
    await toDelete.finish();
    await kept.finish();
  } catch (err) {
    await toDelete.abort();
    await kept.abort();
    throw err;
  }

  let logKey: string | undefined;
  let deletedTotal = 0;
  if (dryRun === 'NO') {
    logKey = deletionLogKey(runId);
    deletedTotal = await writeDeletionLog(deps, runId, logKey);
  }

  const runFullyDeleted = dryRun === 'NO' && !event.mapFailed && totals.kept === 0 && totals.deferred === 0 && totals.archives === event.listed;
  const summary = {
    runId,
    vaultName,
    decommissionId,
    dryRun,
    generatedAt: now.toISOString(),
    mapFailed: event.mapFailed === true,
    archivesListed: event.listed,
    archivesExamined: totals.archives,
    toDelete: { archives: totals.toDelete, bytes: totals.toDeleteBytes, meaning: dryRun === 'YES' ? 'would be deleted' : 'deleted by this execution' },
    alreadyDeleted: { archives: totals.alreadyDeleted, bytes: totals.alreadyDeletedBytes },
    kept: { archives: totals.kept, bytes: totals.keptBytes, byReason: totals.keptByReason },
    deferred: totals.deferred,
    earlyDeletion: {
      archives: totals.earlyDeletionArchives,
      usd: Math.round(totals.earlyDeletionUsd * 100) / 100,
      usdExact: totals.earlyDeletionUsd,
      minimumDays: 90,
      pricePerGBMonth: vaultStoragePrice().usd,
      priceVerified: vaultStoragePrice().verified,
      prices: `${PRICES_REGION} as of ${PRICES_AS_OF} (vault storage priced as the S3 GLACIER class)`,
    },
    deletedFromVaultTotal: dryRun === 'NO' ? deletedTotal : undefined,
    keys: { toDelete: toDeleteKey, kept: keptKey, deletionLog: logKey, decisions: `${prefix}decisions/` },
  };
  const summaryKey = `${prefix}summary.json`;
  await deps.s3.send(new PutObjectCommand({
    Bucket: deps.inventoryBucket,
    Key: summaryKey,
    Body: JSON.stringify(summary, null, 2),
    ContentType: 'application/json',
  }));
  await publishMetrics(deps, runId, dryRun, totals, now);
  deps.log.info('decommission report written', { runId, decommissionId, dryRun, summaryKey, toDelete: totals.toDelete, kept: totals.kept, deferred: totals.deferred });
  return {
    ...totals,
    runId,
    vaultName,
    dryRun,
    summaryKey,
    keptKey,
    toDeleteKey,
    deletionLogKey: logKey,
    deletedTotal,
    finishedAt: now.toISOString(),
    runFullyDeleted,
  };
}

/** Rewrites the run's deletion log from the archive items; returns the number of entries. */
async function writeDeletionLog(deps: ReportDeps, runId: string, key: string): Promise<number> {
  const upload = new JsonArrayUpload(deps.s3, deps.inventoryBucket, key);
  try {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await deps.ddb.send(new QueryCommand({
        TableName: deps.tableName,
        IndexName: TransferTable.statusIndex,
        KeyConditionExpression: '#partition = :runStatus',
        FilterExpression: 'attribute_exists(vaultDeletedAt)',
        ExpressionAttributeNames: { '#partition': TransferTable.statusIndexPartition },
        ExpressionAttributeValues: { ':runStatus': runStatusKey(runId, ArchiveStatus.DOWNLOADED) },
        ExclusiveStartKey: startKey,
      }));
      for (const raw of page.Items ?? []) {
        const entry: DeletionLogEntry = {
          deletedAt: String(raw.vaultDeletedAt),
          archiveId: String(raw.archiveId),
          objectKey: String(raw.objectKey ?? ''),
          objectVersionId: String(raw.vaultDeletionObjectVersionId ?? ''),
          vaultDeletion: String(raw.vaultDeletion ?? 'deleted'),
          size: Number(raw.size) || 0,
        };
        await upload.add(entry);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await upload.finish();
    return upload.length;
  } catch (err) {
    await upload.abort();
    throw err;
  }
}

/** Metric names on the dashboard (dimensions RunId and Mode = DryRun | Delete). */
export const DecommissionMetric = {
  TO_DELETE: 'DecommissionToDeleteCount',
  TO_DELETE_BYTES: 'DecommissionToDeleteBytes',
  KEPT: 'DecommissionKeptCount',
  KEPT_BYTES: 'DecommissionKeptBytes',
  EARLY_DELETION_USD: 'DecommissionEarlyDeletionUsd',
} as const;

async function publishMetrics(deps: ReportDeps, runId: string, dryRun: 'YES' | 'NO', totals: PlanTotals, now: Date): Promise<void> {
  if (!deps.metricsNamespace || !deps.cloudwatch) return;
  const dims = [{ Name: 'RunId', Value: runId }, { Name: 'Mode', Value: dryRun === 'YES' ? 'DryRun' : 'Delete' }];
  const datum = (name: string, value: number, unit: MetricDatum['Unit']): MetricDatum => ({ MetricName: name, Dimensions: dims, Timestamp: now, Value: value, Unit: unit });
  try {
    await deps.cloudwatch.send(new PutMetricDataCommand({
      Namespace: deps.metricsNamespace,
      MetricData: [
        datum(DecommissionMetric.TO_DELETE, totals.toDelete + (dryRun === 'NO' ? totals.alreadyDeleted : 0), 'Count'),
        datum(DecommissionMetric.TO_DELETE_BYTES, totals.toDeleteBytes + (dryRun === 'NO' ? totals.alreadyDeletedBytes : 0), 'Bytes'),
        datum(DecommissionMetric.KEPT, totals.kept, 'Count'),
        datum(DecommissionMetric.KEPT_BYTES, totals.keptBytes, 'Bytes'),
        datum(DecommissionMetric.EARLY_DELETION_USD, totals.earlyDeletionUsd, 'None'),
      ],
    }));
  } catch (err) {
    // The dashboard is a view; the summary in the inventory bucket is the record.
    deps.log.warn('could not publish decommission metrics', describeError(err));
  }
}
