import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { destinationStatement } from './destination-access';
import type { DownloadWindowExtension } from './download-window-extension';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { stageLogRetention } from './internal/stage';
import { definitionStateMachine } from './internal/state-machine';
import { TransferStageProps } from './stage-props';
import { loadDefinition } from '../asl/definitions';
import { Env, OrchestrationEnv } from '../contract/environment';
import { ENDED_STATUSES } from '../contract/messages';
import { DEFAULT_NAMESPACE } from '../contract/metrics';
import { DestinationStorageClass, RetrievalTier } from '../core/transfer-options';
import { ArchivesStatusCleanupFunction } from '../handlers/orchestration/archives-status-cleanup-function';
import { CleanupUploadsFunction } from '../handlers/orchestration/cleanup-uploads-function';
import { CompletionCheckerFunction } from '../handlers/orchestration/completion-checker-function';
import { DashboardUpdateFunction } from '../handlers/orchestration/dashboard-update-function';
import { ExecutionEndedFunction } from '../handlers/orchestration/execution-ended-function';
import { RunRecordFunction } from '../handlers/orchestration/run-record-function';
import { RunReportFunction } from '../handlers/orchestration/run-report-function';

/** EventBridge `source` of the run-completed / run-failed / run-stopped events. */
export const RUN_EVENT_SOURCE = 'glacier-vault-to-s3';

/** Properties of {@link Orchestrator}. */
export interface OrchestratorProps extends TransferStageProps {
  readonly destinationBucket: s3.IBucket;
  /** Normalised destination prefix ('' or ending in '/'). */
  readonly destinationPrefix: string;
  /** @default - the stack's account */
  readonly destinationBucketOwner?: string;
  /** InventoryRetrieval state machine (input: see the orchestrator ASL's InventoryRetrieval state). */
  readonly inventoryRetrieval: sfn.IStateMachine;
  /** InitiateRetrieval state machine. Input `{ runId, vaultName, tier, storageClass }`. */
  readonly initiateRetrieval: sfn.IStateMachine;
  /** Download-window extension: its rule gets one target per active run. */
  readonly downloadWindowExtension: DownloadWindowExtension;
  readonly storageClass: DestinationStorageClass;
  readonly retrievalTier: RetrievalTier;
  /**
   * Tiers a run may use; RunRecord refuses any other.
   *
   * @default - `retrievalTier` only
   */
  readonly allowedRetrievalTiers?: RetrievalTier[];
  readonly dailyQuotaBytes: number;
  /** @default Duration.minutes(15) */
  readonly completionCheckInterval?: Duration;
  /** @default Duration.minutes(5) */
  readonly dashboardUpdateInterval?: Duration;
  /**
   * CloudWatch namespace of the per-run metrics. Each deployment needs its own: the dashboard's run
   * selector lists every run of the namespace, and the StalledAlarm watches it as a whole.
   *
   * @default 'GlacierVaultToS3/<stack name>/<unique name of this construct>'
   */
  readonly metricsNamespace?: string;
}

/**
 * The Orchestrator state machine (src/asl/orchestrator.asl.json) and its functions: RunRecord,
 * ArchivesStatusCleanup, CompletionChecker, CloudWatchDashboardUpdate, CleanupIncompleteUploads
 * and RunReport.
 *
 * Schedules: three EventBridge rules fire on a fixed rate with NO standing target — the
 * download-window check (owned by {@link DownloadWindowExtension}), the completion check and the
 * dashboard refresh. The orchestrator adds a target with `Id` = run id to each when archive
 * requests start (`events:PutTargets`) and cleanup removes them (`events:RemoveTargets`), so idle
 * deployments run nothing and each run is checked independently. EventBridge allows five targets
 * per rule: at most five runs can be active at once (the sixth fails with SchedulesNotEnabled and
 * is cleaned up).
 */
export class Orchestrator extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly runRecord: lambda.Function;
  public readonly archivesStatusCleanup: lambda.Function;
  public readonly completionChecker: lambda.Function;
  public readonly dashboardUpdate: lambda.Function;
  public readonly cleanupUploads: lambda.Function;
  public readonly runReport: lambda.Function;
  /** Completion check schedule (targets per run). */
  public readonly completionSchedule: events.Rule;
  /** Dashboard refresh schedule (targets per run). */
  public readonly dashboardSchedule: events.Rule;
  public readonly logGroup: logs.LogGroup;
  /** CloudWatch namespace of the per-run metrics. */
  public readonly metricsNamespace: string;
  /** Every function the orchestrator state machine invokes (for dashboards and alarms). */
  public readonly functions: lambda.Function[];
  /**
   * Closes a run whose orchestrator execution was stopped (StopExecution), failed outside its
   * own cleanup or timed out: run record, schedule targets, vault lock, InitiateRetrieval.
   */
  public readonly executionEnded: lambda.Function;
  /** Orchestrator "Execution Status Change" events (ABORTED, FAILED, TIMED_OUT) → {@link executionEnded}. */
  public readonly executionEndedRule: events.Rule;

  constructor(scope: Construct, id: string, props: OrchestratorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { storage } = props;
    const logRetention = stageLogRetention(props);
    const owner = props.destinationBucketOwner ?? stack.account;
    // One namespace per deployment: two transfers in one account (two stacks, or two in one stack)
    // must neither list each other's runs nor raise each other's stall alarm.
    this.metricsNamespace = props.metricsNamespace ?? `${DEFAULT_NAMESPACE}/${stack.stackName}/${Names.uniqueResourceName(this, { maxLength: 80 })}`;
    const transfer = storage.transferTable;

    const base = {
      [Env.TRANSFER_TABLE]: transfer.tableName,
      [Env.METRICS_TABLE]: storage.metricsTable.tableName,
      [Env.ASYNC_FACILITATOR_TABLE]: storage.asyncFacilitatorTable.tableName,
    };
    const destination = {
      [Env.DESTINATION_BUCKET]: props.destinationBucket.bucketName,
      [Env.DESTINATION_BUCKET_OWNER]: owner,
      [OrchestrationEnv.DESTINATION_PREFIX]: props.destinationPrefix,
    };
    const opts = (name: string, timeout: Duration, memory: number, env: Record<string, string>) =>
      handlerFunctionOptions(this, name, { storage, timeout, memorySize: memory, logRetention, environment: env });

    this.runRecord = new RunRecordFunction(this, 'RunRecord', {
      // Up to 5 minutes: a naming-override download (presigned URL) can be large.
      ...opts('RunRecord', Duration.minutes(5), 256, {
        ...base,
        ...destination,
        [OrchestrationEnv.INITIATE_STATE_MACHINE_ARN]: props.initiateRetrieval.stateMachineArn,
        [OrchestrationEnv.STORAGE_CLASS]: props.storageClass,
        [OrchestrationEnv.RETRIEVAL_TIER]: props.retrievalTier,
        [OrchestrationEnv.ALLOWED_RETRIEVAL_TIERS]: (props.allowedRetrievalTiers ?? [props.retrievalTier]).join(','),
        [Env.DAILY_QUOTA_BYTES]: String(props.dailyQuotaBytes),
        [Env.INVENTORY_BUCKET]: props.storage.inventoryBucket.bucketName,
      }),
      description: 'Validates and records a transfer run; one active run per vault; stages the naming override',
    });
    // The naming override is read from anywhere in the inventory bucket (streamed) and written under
    // the run's naming_override/staged/ prefix (one key per execution), where the inventory stage
    // reads the key the run record names.
    props.storage.inventoryBucket.grantRead(this.runRecord);
    props.storage.inventoryBucket.grantPut(this.runRecord, '*/naming_override/staged/*');
    this.archivesStatusCleanup = new ArchivesStatusCleanupFunction(this, 'ArchivesStatusCleanup', {
      ...opts('ArchivesStatusCleanup', Duration.minutes(15), 512, { ...base, ...destination }),
      description: 'Resets archives a stopped run left requested/staged to pending',
    });
    this.completionChecker = new CompletionCheckerFunction(this, 'CompletionChecker', {
      ...opts('CompletionChecker', Duration.minutes(1), 256, base),
      description: 'Ends the orchestrator wait when downloaded + failed + skipped = total',
    });
    this.dashboardUpdate = new DashboardUpdateFunction(this, 'DashboardUpdate', {
      ...opts('DashboardUpdate', Duration.minutes(1), 256, { ...base, [OrchestrationEnv.METRICS_NAMESPACE]: this.metricsNamespace }),
      description: 'Publishes per-run transfer metrics to CloudWatch',
    });
    this.cleanupUploads = new CleanupUploadsFunction(this, 'CleanupUploads', {
      ...opts('CleanupUploads', Duration.minutes(15), 512, { ...base, ...destination }),
      description: 'Aborts the incomplete multipart uploads of a run',
    });
    this.runReport = new RunReportFunction(this, 'RunReport', {
      ...opts('RunReport', Duration.minutes(15), 1024, { ...base, [Env.INVENTORY_BUCKET]: storage.inventoryBucket.bucketName }),
      description: 'Writes the manifest and failed-archives CSVs of a run',
    });
    this.functions = [this.runRecord, this.archivesStatusCleanup, this.completionChecker, this.dashboardUpdate, this.cleanupUploads, this.runReport];

    // ---- IAM, least privilege per function ----
    const statusIndexArn = `${transfer.tableArn}/index/*`;
    this.runRecord.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RunRecordsAndVaultLocks',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [transfer.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } },
    }));
    this.runRecord.addToRolePolicy(new iam.PolicyStatement({
      sid: 'CompletionWait',
      actions: ['dynamodb:DeleteItem'],
      resources: [storage.asyncFacilitatorTable.tableArn],
    }));
    this.runRecord.addToRolePolicy(destinationStatement(props.destinationBucket, owner, { sid: 'DestinationBucketLocation', actions: ['s3:GetBucketLocation'] }));
    const orchestratorName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    this.runRecord.addToRolePolicy(new iam.PolicyStatement({
      sid: 'StaleExecutionCheck',
      actions: ['states:DescribeExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${orchestratorName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));

    for (const fn of [this.archivesStatusCleanup, this.cleanupUploads, this.runReport]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadRunArchives', actions: ['dynamodb:Query'], resources: [statusIndexArn] }));
    }
    this.archivesStatusCleanup.addToRolePolicy(new iam.PolicyStatement({ sid: 'ResetArchives', actions: ['dynamodb:UpdateItem'], resources: [transfer.tableArn] }));
    this.cleanupUploads.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadRunRecord', actions: ['dynamodb:GetItem'], resources: [transfer.tableArn] }));
    for (const fn of [this.archivesStatusCleanup, this.cleanupUploads]) {
      fn.addToRolePolicy(destinationStatement(props.destinationBucket, owner, {
        sid: 'AbortRunUploads',
        actions: ['s3:AbortMultipartUpload'],
        objects: `${props.destinationPrefix}*`,
      }));
    }
    this.cleanupUploads.addToRolePolicy(destinationStatement(props.destinationBucket, owner, { sid: 'ListRunUploads', actions: ['s3:ListBucketMultipartUploads'] }));
    this.runReport.addToRolePolicy(new iam.PolicyStatement({
      sid: 'WriteRunReports',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [storage.inventoryBucket.arnForObjects('*/reports/*')],
    }));
    for (const fn of [this.completionChecker, this.dashboardUpdate]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadRunRecord', actions: ['dynamodb:GetItem'], resources: [transfer.tableArn] }));
      fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadRunCounters', actions: ['dynamodb:GetItem'], resources: [storage.metricsTable.tableArn] }));
    }
    this.dashboardUpdate.addToRolePolicy(new iam.PolicyStatement({
      sid: 'StallDetector',
      actions: ['dynamodb:UpdateItem'],
      resources: [transfer.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*'] } },
    }));
    this.dashboardUpdate.addToRolePolicy(new iam.PolicyStatement({
      sid: 'PublishRunMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': this.metricsNamespace } },
    }));
    this.completionChecker.addToRolePolicy(new iam.PolicyStatement({
      sid: 'CompletionWait',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [storage.asyncFacilitatorTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['completion#*'] } },
    }));
    this.completionChecker.addToRolePolicy(new iam.PolicyStatement({
      sid: 'AnswerCompletionWait',
      actions: ['states:SendTaskSuccess', 'states:SendTaskHeartbeat'],
      resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: orchestratorName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    for (const fn of this.functions) {
      storage.encryptionKey?.grantEncryptDecrypt(fn);
      suppressHandlerNag(fn);
    }

    // ---- schedules (no standing targets) ----
    this.completionSchedule = new events.Rule(this, 'CompletionSchedule', {
      description: 'Run completion check; the orchestrator adds one target per active run (Id = run id)',
      schedule: events.Schedule.rate(props.completionCheckInterval ?? Duration.minutes(15)),
    });
    this.dashboardSchedule = new events.Rule(this, 'DashboardSchedule', {
      description: 'Dashboard metrics refresh; the orchestrator adds one target per active run (Id = run id)',
      schedule: events.Schedule.rate(props.dashboardUpdateInterval ?? Duration.minutes(5)),
    });
    // Resource policies so the rules may invoke the functions once targets are added at run time.
    for (const [fn, rule] of [[this.completionChecker, this.completionSchedule], [this.dashboardUpdate, this.dashboardSchedule]] as const) {
      fn.addPermission(`InvokeFrom${rule.node.id}`, {
        principal: new iam.ServicePrincipal('events.amazonaws.com'),
        sourceArn: rule.ruleArn,
      });
    }

    // ---- state machine ----
    const executionsOf = (arn: string) => `${stack.splitArn(arn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`;
    const machine = definitionStateMachine(this, {
      definition: loadDefinition('orchestrator'),
      substitutions: {
        RunRecordFunctionArn: this.runRecord.functionArn,
        ArchivesStatusCleanupFunctionArn: this.archivesStatusCleanup.functionArn,
        CompletionCheckerFunctionArn: this.completionChecker.functionArn,
        DashboardUpdateFunctionArn: this.dashboardUpdate.functionArn,
        CleanupUploadsFunctionArn: this.cleanupUploads.functionArn,
        RunReportFunctionArn: this.runReport.functionArn,
        InventoryRetrievalStateMachineArn: props.inventoryRetrieval.stateMachineArn,
        InitiateRetrievalStateMachineArn: props.initiateRetrieval.stateMachineArn,
        DownloadWindowRuleName: props.downloadWindowExtension.schedule.ruleName,
        DownloadWindowStateMachineArn: props.downloadWindowExtension.stateMachine.stateMachineArn,
        DownloadWindowScheduleRoleArn: props.downloadWindowExtension.scheduleRole.roleArn,
        CompletionRuleName: this.completionSchedule.ruleName,
        DashboardRuleName: this.dashboardSchedule.ruleName,
        EventSource: RUN_EVENT_SOURCE,
        InventoryBucketName: storage.inventoryBucket.bucketName,
      },
      description: 'Orchestrator state machine: invokes its functions, runs the stage state machines, manages per-run schedule targets',
      logRetention,
      encryptionKey: storage.encryptionKey,
      grant: (role) => {
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'InvokeFunctions',
          actions: ['lambda:InvokeFunction'],
          resources: this.functions.flatMap((fn) => [fn.functionArn, `${fn.functionArn}:*`]),
        }));
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'RunStages',
          actions: ['states:StartExecution'],
          resources: [props.inventoryRetrieval.stateMachineArn, props.initiateRetrieval.stateMachineArn],
        }));
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'TrackStages',
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [props.inventoryRetrieval, props.initiateRetrieval].map((m) =>
            stack.formatArn({ service: 'states', resource: 'execution', resourceName: executionsOf(m.stateMachineArn), arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }));
        // `.sync` integrations learn about child completion through this managed rule.
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'SyncExecutionRule',
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' })],
        }));
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'RunScheduleTargets',
          actions: ['events:PutTargets', 'events:RemoveTargets'],
          resources: [this.completionSchedule.ruleArn, this.dashboardSchedule.ruleArn],
        }));
        props.downloadWindowExtension.grantScheduleTargets(role);
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'RunEvents',
          actions: ['events:PutEvents'],
          resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
          conditions: { StringEquals: { 'events:source': RUN_EVENT_SOURCE } },
        }));
      },
      wildcardReason: 'Wildcards are limited to executions of the stage state machines, versions of the orchestration functions, and X-Ray/log-delivery actions without resource-level permissions.',
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;

    // ---- executions that end without their own cleanup (console stop, failure, time-out) ----
    const scheduleRules = [props.downloadWindowExtension.schedule, this.completionSchedule, this.dashboardSchedule];
    this.executionEnded = new ExecutionEndedFunction(this, 'ExecutionEnded', {
      ...opts('ExecutionEnded', Duration.minutes(1), 256, {
        [Env.TRANSFER_TABLE]: transfer.tableName,
        [Env.ASYNC_FACILITATOR_TABLE]: storage.asyncFacilitatorTable.tableName,
        [Env.INVENTORY_BUCKET]: storage.inventoryBucket.bucketName,
        [OrchestrationEnv.SCHEDULE_RULES]: scheduleRules.map((r) => r.ruleName).join(','),
        [OrchestrationEnv.RUN_EVENT_SOURCE]: RUN_EVENT_SOURCE,
      }),
      description: 'Closes a run whose orchestrator execution was stopped, failed or timed out without its cleanup',
    });
    const ended = this.executionEnded;
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'CloseRunAndReleaseLock',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [transfer.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } },
    }));
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'DeleteCompletionWait',
      actions: ['dynamodb:DeleteItem'],
      resources: [storage.asyncFacilitatorTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['completion#*'] } },
    }));
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RemoveRunScheduleTargets',
      actions: ['events:RemoveTargets'],
      resources: scheduleRules.map((r) => r.ruleArn),
    }));
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReadEndedExecutionInput',
      actions: ['states:DescribeExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${orchestratorName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'StopRunRequests',
      actions: ['states:StopExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: executionsOf(props.initiateRetrieval.stateMachineArn), arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    ended.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RunEvents',
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      conditions: { StringEquals: { 'events:source': RUN_EVENT_SOURCE } },
    }));
    storage.encryptionKey?.grantEncryptDecrypt(ended);
    suppressHandlerNag(ended, 'Wildcards are limited to executions of the orchestrator and InitiateRetrieval state machines (generated names) and KMS data-key actions generated by grants.');
    this.executionEndedRule = new events.Rule(this, 'ExecutionEndedRule', {
      description: 'Orchestrator executions that ended ABORTED, FAILED or TIMED_OUT: close their run',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: [...ENDED_STATUSES] },
      },
    });
    this.executionEndedRule.addTarget(new targets.LambdaFunction(ended, { retryAttempts: 8, maxEventAge: Duration.hours(24) }));
  }

  /**
   * Errors of {@link executionEnded} (Lambda `Errors`, sum over 5 minutes unless `props` say
   * otherwise). Errors mean the run of a stopped, failed or timed-out orchestrator execution may
   * not have been closed: its record may still be `ACTIVE` and its vault locked.
   */
  public metricExecutionEndedErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.executionEnded.metricErrors(props);
  }

  /** Lets `grantee` start the orchestrator (the Launch/Resume runbooks). */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}
