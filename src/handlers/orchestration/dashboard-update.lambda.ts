import { DashboardUpdateResult, updateDashboard } from './dashboard-update';
import { Env, OrchestrationEnv } from '../../contract/environment';
import { createCloudWatchClient, createDocumentClient } from '../shared/clients';
import { optionalEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/* CloudWatchDashboardUpdate: per-run metrics for the dashboard (5-minute schedule target). */

const logger = createLogger('CloudWatchDashboardUpdate');
const ddb = createDocumentClient();
const cloudwatch = createCloudWatchClient();

export async function handler(event: { runId: string }): Promise<DashboardUpdateResult> {
  return updateDashboard({
    ddb,
    cloudwatch,
    log: logger,
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    metricsTable: requireEnv(Env.METRICS_TABLE),
    namespace: optionalEnv(OrchestrationEnv.METRICS_NAMESPACE),
  }, event);
}
