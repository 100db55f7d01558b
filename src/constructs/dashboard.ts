import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { ArchiveRetrieval } from './archive-retrieval';
import { Orchestrator, RUN_EVENT_SOURCE } from './orchestrator';
import type { TransferStorage } from './transfer-storage';
import { statusMetricName } from '../contract/metrics';

/** Properties of {@link TransferDashboard}. */
export interface TransferDashboardProps {
  readonly archiveRetrieval: ArchiveRetrieval;
  readonly storage: TransferStorage;
  /** Namespace the CloudWatchDashboardUpdate function publishes to. */
  readonly metricsNamespace: string;
  /**
   * Functions whose errors and throttles are shown, besides the archive-retrieval ones
   * (the L3 passes the orchestration and request-stage functions: InitiateRetrieval,
   * InventoryRetrieval, DownloadWindowExtension; VaultDecommission adds its own row).
   *
   * @default - only the archive-retrieval functions
   */
  readonly functions?: lambda.IFunction[];
  /**
   * The orchestrator whose ExecutionEnded function's errors are shown (that function is run by an
   * EventBridge rule, not by the state machine, so it is not among `functions`).
   *
   * @default - ExecutionEnded errors are not shown
   */
  readonly orchestrator?: Orchestrator;
  /** Email addresses notified of run completion/failure and alarms. @default - no emails */
  readonly notificationEmails?: string[];
  /** Alarm when no archive of an active run finished for this long. @default Duration.hours(36) */
  readonly stallThreshold?: Duration;
  /** @default - derived from the construct path */
  readonly dashboardName?: string;
}

const STATUSES = ['total', 'pending', 'requested', 'staged', 'downloaded', 'failed', 'skipped'] as const;
const DEFAULT_RUN = 'select-a-run';

/**
 * CloudWatch dashboard of the transfer with a run selector (dashboard variable on the `RunId`
 * dimension, populated by a metric search, so a run appears as soon as its first datapoint is
 * published — the orchestrator publishes one right after recording the run), alarms on DLQ depth
 * and stalled progress, and the run-completed / failed / stopped EventBridge rule with an optional
 * SNS email topic.
 */
export class TransferDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly stalledAlarm: cloudwatch.Alarm;
  /**
   * Fires when the orchestrator's ExecutionEnded function fails: a run whose execution was stopped,
   * failed or timed out may still be recorded ACTIVE with its vault locked (Resume refuses it).
   * Undefined without `orchestrator`.
   */
  public readonly executionEndedAlarm?: cloudwatch.Alarm;
  /** Matches the orchestrator's run-ended events. */
  public readonly runEventsRule: events.Rule;
  /** Present when `notificationEmails` is given. */
  public readonly notificationTopic?: sns.Topic;
  /** Customer managed key of {@link notificationTopic} (EventBridge and CloudWatch may use it). */
  public readonly notificationKey?: kms.Key;

  constructor(scope: Construct, id: string, props: TransferDashboardProps) {
    super(scope, id);
    const ns = props.metricsNamespace;
    const runMetric = (status: string, unit: 'Count' | 'Bytes', stat = 'Maximum') => new cloudwatch.Metric({
      namespace: ns,
      metricName: statusMetricName(status, unit),
      dimensionsMap: { RunId: DEFAULT_RUN },
      statistic: stat,
      period: Duration.minutes(5),
      label: `${status} ${unit === 'Count' ? 'archives' : 'bytes'}`,
    });
    const ar = props.archiveRetrieval;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
      variables: [new cloudwatch.DashboardVariable({
        id: 'RunId',
        type: cloudwatch.VariableType.PROPERTY,
        label: 'Run',
        inputType: cloudwatch.VariableInputType.SELECT,
        value: 'RunId',
        defaultValue: cloudwatch.DefaultValue.FIRST,
        visible: true,
        // Quoted: a per-deployment namespace carries the stack name and a construct name.
        values: cloudwatch.Values.fromSearch(`{"${ns}",RunId} MetricName="TotalCount"`, 'RunId'),
      })],
    });
    const downloadedBytes = runMetric('downloaded', 'Bytes');
    const throughput = new cloudwatch.MathExpression({
      expression: 'RATE(d) * 3600',
      usingMetrics: { d: downloadedBytes },
      label: 'Downloaded bytes per hour',
      period: Duration.minutes(5),
    });
    // Hours left at the current download rate. While nothing downloads (archives staging for hours,
    // quota waits) there is no rate to divide by: no point rather than a false "0 hours left".
    // The gauges it subtracts are FILLed with their latest value, so a period one of them lacks
    // does not drop the estimate.
    const eta = new cloudwatch.MathExpression({
      expression: 'IF(RATE(d) > 0, (FILL(t, REPEAT) - d - FILL(f, REPEAT) - FILL(s, REPEAT)) / RATE(d) / 3600)',
      usingMetrics: { d: downloadedBytes, t: runMetric('total', 'Bytes'), f: runMetric('failed', 'Bytes'), s: runMetric('skipped', 'Bytes') },
      label: 'Estimated hours left (while downloading)',
      period: Duration.minutes(5),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '# Glacier vault transfer\nPick a run in **Run** above. Counts are refreshed every 5 minutes while a run is active.', width: 24, height: 2 }),
      new cloudwatch.SingleValueWidget({ title: 'Archives', metrics: STATUSES.map((s) => runMetric(s, 'Count')), width: 24, height: 4, fullPrecision: true }),
      new cloudwatch.SingleValueWidget({ title: 'Bytes', metrics: STATUSES.map((s) => runMetric(s, 'Bytes')), width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Progress (archives)', left: ['downloaded', 'failed', 'requested', 'staged'].map((s) => runMetric(s, 'Count')), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Throughput', left: [throughput], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Estimated time left (hours)', left: [eta], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue age (oldest message, s)',
        left: [
          props.storage.notificationsQueue.metricApproximateAgeOfOldestMessage({ label: 'notifications' }),
          ar.metricChunkQueueAge({ label: 'chunks' }),
          props.storage.validationQueue.metricApproximateAgeOfOldestMessage({ label: 'validation' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter messages',
        left: [ar.metricDeadLetterMessages({ label: 'waiting in DLQs' }), ar.metricUnreconciledMessages({ label: 'unreconciled (alarm)' })],
        right: [ar.metricReconciledDeadLetters({ label: 'reconciled', period: Duration.minutes(5) })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda errors and throttles',
        left: [
          ar.metricErrors(),
          ...(props.functions ?? []).map((f) => f.metricErrors({ label: `${f.node.id} errors` })),
          ...(props.orchestrator ? [props.orchestrator.metricExecutionEndedErrors({ label: 'ExecutionEnded errors' })] : []),
        ],
        right: [ar.metricChunkThrottles({ label: 'chunk throttles' }), ...(props.functions ?? []).map((f) => f.metricThrottles({ label: `${f.node.id} throttles` }))],
        width: 8,
      }),
    );

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      metric: ar.metricUnreconciledMessages({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Dead-lettered messages need an operator: the unreconciled queue holds messages naming no archive or whose reconciling kept failing, or the metrics stream queue holds lost counter updates. Archives of reconciled messages are FAILED with the DLQ reason in the run report.',
    });
    const stall = props.stallThreshold ?? Duration.hours(36);
    this.stalledAlarm = new cloudwatch.Alarm(this, 'StalledAlarm', {
      metric: new cloudwatch.Metric({ namespace: ns, metricName: 'MinutesSinceProgress', statistic: 'Maximum', period: Duration.minutes(15) }),
      threshold: stall.toMinutes(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `An active run has had archives in flight but none finished for more than ${stall.toHumanString()}.`,
    });

    if (props.orchestrator) {
      this.executionEndedAlarm = new cloudwatch.Alarm(this, 'ExecutionEndedAlarm', {
        metric: props.orchestrator.metricExecutionEndedErrors({ period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'Closing a stopped, failed or timed-out orchestrator execution failed: its run may still be ACTIVE with the vault locked (see the ExecutionEnded logs).',
      });
    }

    this.runEventsRule = new events.Rule(this, 'RunEvents', {
      description: 'Transfer run completed, failed or stopped',
      eventPattern: { source: [RUN_EVENT_SOURCE], detailType: ['Transfer Run Completed', 'Transfer Run Failed', 'Transfer Run Stopped'] },
    });
    if (props.notificationEmails && props.notificationEmails.length > 0) {
      // A customer managed key: the AWS managed SNS key cannot be granted to EventBridge and
      // CloudWatch alarms, which both publish to this topic (the SnsTopic target grants EventBridge).
      this.notificationKey = new kms.Key(this, 'NotificationsKey', {
        description: 'Encrypts the Glacier transfer run notification topic',
        enableKeyRotation: true,
      });
      this.notificationKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AlarmNotifications',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }));
      this.notificationTopic = new sns.Topic(this, 'Notifications', { enforceSSL: true, masterKey: this.notificationKey });
      for (const email of props.notificationEmails) this.notificationTopic.addSubscription(new subscriptions.EmailSubscription(email));
      this.runEventsRule.addTarget(new targets.SnsTopic(this.notificationTopic, {
        message: events.RuleTargetInput.fromText(
          `Glacier transfer run ${events.EventField.fromPath('$.detail.runId')} of vault ${events.EventField.fromPath('$.detail.vaultName')}: ${events.EventField.fromPath('$.detail.state')}. Report: s3://${events.EventField.fromPath('$.detail.reportBucket')}/${events.EventField.fromPath('$.detail.reportPrefix')}`,
        ),
      }));
      for (const alarm of [this.deadLetterAlarm, this.stalledAlarm, this.executionEndedAlarm]) {
        alarm?.addAlarmAction(new actions.SnsAction(this.notificationTopic));
      }
    }
  }
}
