/*
 * Names of the per-run CloudWatch metrics, shared by the DashboardUpdate handler (which publishes
 * them) and the constructs (which chart and alarm on them). No SDK imports: constructs load this
 * module at synth time in the consumer's app.
 */

/** Default CloudWatch namespace of the run metrics. */
export const DEFAULT_NAMESPACE = 'GlacierVaultToS3';

/** Metric names of one status: `<Status>Count` / `<Status>Bytes`, e.g. `DownloadedBytes`. */
export function statusMetricName(status: string, unit: 'Count' | 'Bytes'): string {
  return `${status.charAt(0).toUpperCase()}${status.slice(1)}${unit}`;
}
