import { CloudWatchClient, MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { readRunCounts, RunCounts, STATUSES } from './run-counts';
import { getRun } from './run-record';
import { RUN_SK, runPk } from '../../contract/keys';
import { DEFAULT_NAMESPACE, statusMetricName } from '../../contract/metrics';
import { isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

export { DEFAULT_NAMESPACE, statusMetricName };

/*
 * CloudWatchDashboardUpdate: publishes a run's counters (archives and bytes per status, plus the
 * total) as CloudWatch metrics with the run id as the `RunId` dimension, and a stall indicator
 * (`MinutesSinceProgress`, also without dimension for the account-wide alarm). Called by the
 * per-run 5-minute schedule, once by the orchestrator right after the run is recorded (so the
 * dashboard's run selector lists it within minutes) and once more by cleanup.
 */

export interface DashboardUpdateDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly cloudwatch: CloudWatchClient;
  readonly transferTable: string;
  readonly metricsTable: string;
  readonly namespace?: string;
  readonly log: Log;
  readonly now?: () => Date;
}

export interface DashboardUpdateResult {
  readonly runId: string;
  readonly published: number;
  readonly minutesSinceProgress: number;
  readonly counts: RunCounts['count'];
  readonly bytes: RunCounts['bytes'];
}

export async function updateDashboard(deps: DashboardUpdateDeps, event: { runId: string }): Promise<DashboardUpdateResult> {
  const { runId } = event;
  const now = deps.now?.() ?? new Date();
  const [counts, run] = await Promise.all([readRunCounts(deps.ddb, deps.metricsTable, runId), getRun(deps, runId)]);

  // Stall detector: the terminal count last seen growing. No archive in flight = not stalled.
  let minutesSinceProgress = 0;
  const inFlight = counts.count.pending + counts.count.requested + counts.count.staged;
  if (run) {
    const last = run.lastProgressTerminal ?? -1;
    if (counts.terminalCount > last || inFlight === 0 || !run.lastProgressAt) {
      try {
        await deps.ddb.send(new UpdateCommand({
          TableName: deps.transferTable,
          Key: { pk: runPk(runId), sk: RUN_SK },
          UpdateExpression: 'SET lastProgressTerminal = :t, lastProgressAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':t': counts.terminalCount, ':now': now.toISOString() },
        }));
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    } else {
      minutesSinceProgress = Math.max(0, Math.floor((now.getTime() - Date.parse(run.lastProgressAt)) / 60_000));
    }
  }

  const dims = [{ Name: 'RunId', Value: runId }];
  const data: MetricDatum[] = [];
  for (const status of ['total', ...STATUSES] as const) {
    data.push({ MetricName: statusMetricName(status, 'Count'), Dimensions: dims, Timestamp: now, Value: counts.count[status], Unit: 'Count' });
    data.push({ MetricName: statusMetricName(status, 'Bytes'), Dimensions: dims, Timestamp: now, Value: counts.bytes[status], Unit: 'Bytes' });
  }
  data.push({ MetricName: 'MinutesSinceProgress', Dimensions: dims, Timestamp: now, Value: minutesSinceProgress, Unit: 'None' });
  data.push({ MetricName: 'MinutesSinceProgress', Timestamp: now, Value: minutesSinceProgress, Unit: 'None' });
  // PutMetricData takes up to 1000 datums per call; 16 fit in one.
  await deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: deps.namespace ?? DEFAULT_NAMESPACE, MetricData: data }));
  deps.log.info('published run metrics', { runId, terminal: counts.terminalCount, total: counts.count.total, minutesSinceProgress });
  return { runId, published: data.length, minutesSinceProgress, counts: counts.count, bytes: counts.bytes };
}
