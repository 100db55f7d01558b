import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { overdueRecoverySettings } from './internal/overdue-recovery';
import { grantQuotaLedger, quotaEnvironment } from './internal/quota-ledger';
import { stageLogRetention } from './internal/stage';
import { distributedMapMachine } from './internal/state-machine';
import { TransferStageProps } from './stage-props';
import { loadDefinition } from '../asl/definitions';
import { Env, RecoveryEnv } from '../contract/environment';
import { TransferTable } from '../contract/keys';
import { RecoverLostNotificationsFunction } from '../handlers/archive-retrieval/recover-lost-notifications-function';
import { ArchivesNeedingWindowExtensionFunction } from '../handlers/download-window-extension/archives-needing-window-extension-function';
import { ExtendDownloadWindowFunction } from '../handlers/download-window-extension/extend-download-window-function';

/**
 * How long an archive-retrieval job of each tier may run before its completion notification is
 * presumed lost and the job is asked about with DescribeJob. Each from 1 minute to under 24 hours.
 */
export interface ArchiveJobOverdueThresholds {
  /**
   * Expedited jobs (typically 1–5 minutes).
   *
   * @default Duration.minutes(30)
   */
  readonly expedited?: Duration;

  /**
   * Standard jobs (typically 3–5 hours).
   *
   * @default Duration.hours(6)
   */
  readonly standard?: Duration;

  /**
   * Bulk jobs (typically 5–12 hours).
   *
   * @default Duration.hours(12)
   */
  readonly bulk?: Duration;
}

/** Properties of {@link DownloadWindowExtension}. */
export interface DownloadWindowExtensionProps extends TransferStageProps {
  /** Glacier vault ARNs archives may be re-requested from (the only resources of `glacier:InitiateJob`). */
  readonly vaultArns: string[];

  /** Daily quota in bytes, shared with InitiateRetrieval through the same ledger item. */
  readonly dailyQuotaBytes: number;

  /**
   * An archive is re-requested when its download window (24 h after its job completed) ends within
   * this margin. Must exceed the check interval plus the retrieval tier's staging time for the
   * copy to continue without a gap (5 h fits Standard; Bulk may stage for up to 12 h, in which case
   * chunks wait on their queue until the new job completes).
   *
   * @default Duration.hours(5)
   */
  readonly extensionMargin?: Duration;

  /**
   * How often the schedule rule fires for each run that has a target on it.
   *
   * @default Duration.minutes(30)
   */
  readonly checkInterval?: Duration;

  /**
   * Longest quota wait a re-request batch sits out; archives needing a longer wait are left to the
   * next scheduled check.
   *
   * @default Duration.minutes(20)
   */
  readonly maxQuotaWait?: Duration;

  /**
   * InitiateJob calls per second one batch invocation makes at most.
   *
   * @default 100
   */
  readonly requestsPerSecond?: number;

  /**
   * When a requested archive's retrieval job counts as overdue, per retrieval tier. Each check
   * first asks Glacier (DescribeJob) about the run's overdue jobs and re-sends the description of
   * every finished one to the notifications queue, so an archive whose completion notification
   * was lost is still copied.
   *
   * @default - Expedited 30 minutes, Standard 6 hours, Bulk 12 hours
   */
  readonly archiveJobOverdueAfter?: ArchiveJobOverdueThresholds;

  /**
   * An overdue job that Glacier reports still in progress is asked about again after this long.
   *
   * @default Duration.hours(1)
   */
  readonly overdueJobRepollInterval?: Duration;

  /**
   * DescribeJob calls one check makes at most; further overdue jobs wait for the next check.
   *
   * @default 500
   */
  readonly maxJobPollsPerCheck?: number;
}

/**
 * Keeps requested and staged archives moving. First recovers lost job notifications
 * (RecoverLostNotifications: DescribeJob on the run's overdue archive-retrieval jobs, finished
 * ones re-sent to the notifications queue); then keeps staged archives downloadable: lists the run's archives whose Glacier download window
 * closes within the margin (ArchivesNeedingWindowExtension, streamed to the inventory bucket) and
 * re-requests them in batches (ExtendDownloadWindow), paying the shared daily quota.
 *
 * Scheduling: the construct creates {@link schedule}, an EventBridge rule that fires every
 * `checkInterval` but has NO target. The orchestrator adds one target per active run
 * (`events:PutTargets` with `Id` = run id, `Arn` = {@link stateMachine}, `RoleArn` =
 * {@link scheduleRole}, `Input` = `{"runId": "...", "tier": "Bulk"}`) when archives start being
 * requested and removes it (`events:RemoveTargets`) when the run ends; see
 * {@link grantScheduleTargets}. The state machine can also be started directly with that input.
 */
export class DownloadWindowExtension extends Construct {
  /** The DownloadWindowExtension state machine. Input: `{ runId, tier }`. */
  public readonly stateMachine: sfn.StateMachine;
  /** Fires every check interval; has no target until the orchestrator adds one per run. */
  public readonly schedule: events.Rule;
  /** Role EventBridge assumes to start {@link stateMachine} for a run target. */
  public readonly scheduleRole: iam.Role;
  /** Lists archives whose window closes soon. */
  public readonly archivesNeedingWindowExtension: lambda.Function;
  /** Re-requests one batch of them. */
  public readonly extendDownloadWindow: lambda.Function;
  /** Polls overdue archive-retrieval jobs and re-announces finished ones whose notification was lost. */
  public readonly recoverLostNotifications: lambda.Function;
  /** Execution log group of the state machine. */
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: DownloadWindowExtensionProps) {
    super(scope, id);
    const { storage } = props;
    const margin = props.extensionMargin ?? Duration.hours(5);
    const interval = props.checkInterval ?? Duration.minutes(30);
    const maxWait = props.maxQuotaWait ?? Duration.minutes(20);
    const requestsPerSecond = props.requestsPerSecond ?? 100;
    if (margin.toSeconds() < 60 || margin.toSeconds() >= 86_400) throw new Error('extensionMargin must be from 1 minute to less than 24 hours');
    if (interval.toMinutes() < 1 || interval.toMinutes() >= margin.toMinutes()) throw new Error('checkInterval must be at least 1 minute and shorter than extensionMargin');
    if (!Number.isInteger(requestsPerSecond) || requestsPerSecond < 1 || requestsPerSecond > 1000) throw new Error('requestsPerSecond must be an integer from 1 to 1000');
    if (!Number.isSafeInteger(props.dailyQuotaBytes) || props.dailyQuotaBytes <= 0) throw new Error('dailyQuotaBytes must be a positive whole number of bytes');
    if (props.vaultArns.length === 0) throw new Error('vaultArns must name at least one vault');
    // GlacierVaultToS3Transfer passes its props of the same names straight through (and checks them first).
    const { overdueSeconds, repollSeconds, maxPolls } = overdueRecoverySettings(props);
    const logRetention = stageLogRetention(props);
    const bucket = storage.inventoryBucket;
    const listKeys = 'tmp/*/window-extension/*';

    this.archivesNeedingWindowExtension = new ArchivesNeedingWindowExtensionFunction(this, 'ArchivesNeedingWindowExtension', {
      ...handlerFunctionOptions(this, 'ArchivesNeedingWindowExtension', {
        storage,
        timeout: Duration.minutes(15),
        memorySize: 1024,
        logRetention,
        environment: {
          [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
          [Env.INVENTORY_BUCKET]: bucket.bucketName,
          [Env.WINDOW_EXTENSION_MARGIN_SECONDS]: String(margin.toSeconds()),
        },
      }),
      description: 'Lists the staged archives of a run whose Glacier download window closes soon',
    });
    const scan = this.archivesNeedingWindowExtension;
    scan.addToRolePolicy(new iam.PolicyStatement({
      sid: 'QueryStatusIndex',
      actions: ['dynamodb:Query'],
      resources: [`${storage.transferTable.tableArn}/index/${TransferTable.statusIndex}`],
    }));
    scan.addToRolePolicy(new iam.PolicyStatement({
      sid: 'WriteExtensionList',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(listKeys)],
    }));
    storage.encryptionKey?.grantEncryptDecrypt(scan);
    suppressHandlerNag(scan);

    this.extendDownloadWindow = new ExtendDownloadWindowFunction(this, 'ExtendDownloadWindow', {
      ...handlerFunctionOptions(this, 'ExtendDownloadWindow', {
        storage,
        timeout: Duration.minutes(6),
        memorySize: 512,
        logRetention,
        environment: {
          ...quotaEnvironment(storage, props.dailyQuotaBytes, requestsPerSecond),
          [Env.WINDOW_EXTENSION_MAX_WAIT_SECONDS]: String(maxWait.toSeconds()),
        },
      }),
      description: 'Re-requests staged archives whose download window closes soon, within the shared daily quota',
    });
    const extend = this.extendDownloadWindow;
    extend.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ArchiveItems',
      actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [storage.transferTable.tableArn],
    }));
    grantQuotaLedger(storage, extend);
    extend.addToRolePolicy(new iam.PolicyStatement({
      sid: 'InitiateArchiveJobs',
      actions: ['glacier:InitiateJob'],
      resources: props.vaultArns,
    }));
    suppressHandlerNag(extend);

    this.recoverLostNotifications = new RecoverLostNotificationsFunction(this, 'RecoverLostNotifications', {
      ...handlerFunctionOptions(this, 'RecoverLostNotifications', {
        storage,
        timeout: Duration.minutes(5),
        memorySize: 512,
        logRetention,
        environment: {
          [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
          [RecoveryEnv.NOTIFICATIONS_QUEUE_URL]: storage.notificationsQueue.queueUrl,
          [RecoveryEnv.OVERDUE_SECONDS_EXPEDITED]: String(overdueSeconds.expedited),
          [RecoveryEnv.OVERDUE_SECONDS_STANDARD]: String(overdueSeconds.standard),
          [RecoveryEnv.OVERDUE_SECONDS_BULK]: String(overdueSeconds.bulk),
          [RecoveryEnv.REPOLL_SECONDS]: String(repollSeconds),
          [RecoveryEnv.MAX_POLLS]: String(maxPolls),
        },
      }),
      description: 'Polls archive-retrieval jobs overdue for their tier and re-announces finished ones whose notification was lost',
    });
    const recover = this.recoverLostNotifications;
    recover.addToRolePolicy(new iam.PolicyStatement({
      sid: 'QueryStatusIndex',
      actions: ['dynamodb:Query'],
      resources: [`${storage.transferTable.tableArn}/index/${TransferTable.statusIndex}`],
    }));
    // Records the poll on the archive item (and, with a customer managed key, the key use).
    storage.transferTable.grant(recover, 'dynamodb:UpdateItem');
    recover.addToRolePolicy(new iam.PolicyStatement({
      sid: 'DescribeArchiveJobs',
      actions: ['glacier:DescribeJob'],
      resources: props.vaultArns,
    }));
    recover.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReannounceFinishedJobs',
      actions: ['sqs:SendMessage'],
      resources: [storage.notificationsQueue.queueArn],
    }));
    storage.encryptionKey?.grant(recover, 'kms:GenerateDataKey', 'kms:Decrypt');
    suppressHandlerNag(recover);

    const machine = distributedMapMachine(this, {
      definition: loadDefinition('download-window-extension'),
      substitutions: {
        InventoryBucket: bucket.bucketName,
        NotificationTopicArn: storage.notificationTopic.topicArn,
        ArchivesNeedingWindowExtensionFunctionArn: scan.functionArn,
        ExtendDownloadWindowFunctionArn: extend.functionArn,
        RecoverLostNotificationsFunctionArn: recover.functionArn,
      },
      functions: [recover, scan, extend],
      logRetention,
      encryptionKey: storage.encryptionKey,
      // Bounded so a stuck check cannot pile up behind newer ones (overlaps are safe, only wasteful).
      timeout: Duration.hours(2),
      description: 'DownloadWindowExtension state machine: lists closing windows, invokes the re-request function',
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadExtensionList',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(listKeys)],
    }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteMapRunResults',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [bucket.arnForObjects('tmp/window-extension/*')],
    }));
    storage.encryptionKey?.grantEncryptDecrypt(machine.role);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Download-window check; the orchestrator adds one target per active run (Id = run id)',
      schedule: events.Schedule.rate(interval),
    });
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Lets EventBridge start the DownloadWindowExtension state machine for a run target',
    });
    this.stateMachine.grantStartExecution(this.scheduleRole);
  }

  /**
   * Lets `grantee` (the orchestrator) add and remove per-run targets on {@link schedule} and hand
   * {@link scheduleRole} to EventBridge.
   */
  public grantScheduleTargets(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule'],
      resourceArns: [this.schedule.ruleArn],
    });
    this.scheduleRole.grantPassRole(grantee.grantPrincipal);
    return grant;
  }
}
