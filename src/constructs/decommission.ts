import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { destinationStatement } from './destination-access';
import { automationRole } from './internal/automation-role';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { stageLogRetention } from './internal/stage';
import { distributedMapMachine, withStateField } from './internal/state-machine';
import { suppressNag } from './nag';
import { TransferStageProps } from './stage-props';
import { loadDefinition } from '../asl/definitions';
import { DecommissionEnv, Env } from '../contract/environment';
import { TransferTable } from '../contract/keys';
import { DecommissionBatchFunction } from '../handlers/decommission/decommission-batch-function';
import { DecommissionReportFunction } from '../handlers/decommission/decommission-report-function';
import { ListRunArchivesFunction } from '../handlers/decommission/list-run-archives-function';
import { VaultFinalizerFunction } from '../handlers/decommission/vault-finalizer-function';

/** Properties of {@link VaultDecommission}. */
export interface VaultDecommissionProps extends TransferStageProps {
  /** Bucket the transfer wrote to (objects are only examined, never changed). */
  readonly destinationBucket: s3.IBucket;
  /**
   * Account that must own the destination bucket: sent as `ExpectedBucketOwner` when objects are
   * examined, and the `s3:ResourceAccount` condition of every statement on the bucket.
   *
   * @default - the stack's account
   */
  readonly destinationBucketOwner?: string;
  /**
   * Vault ARNs that may be decommissioned: the only resources of `glacier:DeleteArchive` /
   * `glacier:DeleteVault`. With `allowDeletion`, wildcards are refused.
   */
  readonly vaultArns: string[];
  /**
   * Grant `glacier:DeleteArchive` and `glacier:DeleteVault` (to this state machine's functions only)
   * and accept real runs. Without it only dry runs (plans) are possible.
   *
   * @default false
   */
  readonly allowDeletion?: boolean;
  /**
   * DeleteArchive calls per second over all concurrent batches.
   *
   * @default 10
   */
  readonly deletesPerSecond?: number;
  /**
   * Batches examined/deleted at once (each gets `deletesPerSecond / batchConcurrency`).
   *
   * @default 2
   */
  readonly batchConcurrency?: number;
  /**
   * Archives per batch invocation (1-100).
   *
   * @default 100
   */
  readonly archivesPerBatch?: number;
  /**
   * CloudWatch namespace of the plan metrics (dimensions RunId, Mode).
   *
   * @default - no metrics
   */
  readonly metricsNamespace?: string;
  /**
   * Dashboard that gets a "Decommission" row (run selector variable on RunId, like the transfer dashboard).
   *
   * @default - none
   */
  readonly dashboard?: cloudwatch.Dashboard;
  /**
   * Prefix of the runbook name (`<prefix>-Decommission`).
   *
   * @default - derived from the construct path
   */
  readonly namePrefix?: string;
}

/** The dashboard variable's placeholder run (see TransferDashboard). */
const DASHBOARD_RUN = 'select-a-run';

/**
 * Vault decommissioning after a verified transfer: a state machine (and the `<prefix>-Decommission`
 * runbook that starts it) that, for a COMPLETED run, deletes from the vault only the archives whose
 * S3 copy is proven at deletion time (object at the recorded key in this account's bucket, same
 * size, stored tree hash equal to the inventory's, same object the transfer wrote, run status
 * downloaded), keeps and lists everything else with its reason, and deletes the vault once a fresh
 * inventory lists no archive. Dry runs (the default) write the plan and delete nothing.
 *
 * Execution input: `{ "runId": "...", "vaultName": "<typed again>", "dryRun": "YES" | "NO" }`.
 */
export class VaultDecommission extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly listRunArchives: lambda.Function;
  public readonly decommissionBatch: lambda.Function;
  public readonly report: lambda.Function;
  public readonly vaultFinalizer: lambda.Function;
  public readonly logGroup: logs.ILogGroup;
  /** The Decommission runbook (SSM Automation). */
  public readonly document: ssm.CfnDocument;
  public readonly documentName: string;
  /** Role the runbook assumes. */
  public readonly automationRole: iam.Role;
  /** True when real runs are allowed (DeleteArchive/DeleteVault granted). */
  public readonly deletionAllowed: boolean;

  constructor(scope: Construct, id: string, props: VaultDecommissionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const owner = props.destinationBucketOwner ?? stack.account;
    const { storage } = props;
    const allowDeletion = props.allowDeletion ?? false;
    const deletesPerSecond = props.deletesPerSecond ?? 10;
    const batchConcurrency = props.batchConcurrency ?? 2;
    const perBatch = props.archivesPerBatch ?? 100;
    if (!(deletesPerSecond > 0 && deletesPerSecond <= 1000)) throw new Error(`deletesPerSecond must be from 0 (exclusive) to 1000, got ${deletesPerSecond}`);
    if (!Number.isInteger(batchConcurrency) || batchConcurrency < 1 || batchConcurrency > 50) throw new Error(`batchConcurrency must be an integer from 1 to 50, got ${batchConcurrency}`);
    if (!Number.isInteger(perBatch) || perBatch < 1 || perBatch > 100) throw new Error(`archivesPerBatch must be an integer from 1 to 100, got ${perBatch}`);
    if (props.vaultArns.length === 0) throw new Error('vaultArns must name at least one vault');
    if (allowDeletion) {
      for (const arn of props.vaultArns) {
        if (!Token.isUnresolved(arn) && arn.includes('*')) throw new Error(`allowDeletion needs explicit vaults (allowedVaultNames), got ${arn}`);
        if (Token.isUnresolved(arn) && /vaults\/\*|\*$/.test(arn)) throw new Error('allowDeletion needs explicit vaults (allowedVaultNames), not a wildcard');
      }
    }
    this.deletionAllowed = allowDeletion;
    const logRetention = stageLogRetention(props);
    const bucket = storage.inventoryBucket;
    const table = storage.transferTable;
    const tmpKeys = 'tmp/*/decommission/*';
    const planKeys = '*/decommission/*';
    const common = {
      [Env.TRANSFER_TABLE]: table.tableName,
      [Env.INVENTORY_BUCKET]: bucket.bucketName,
      [Env.DESTINATION_BUCKET]: props.destinationBucket.bucketName,
      [Env.DESTINATION_BUCKET_OWNER]: owner,
      [DecommissionEnv.DELETION_ENABLED]: String(allowDeletion),
    };

    // ---- ListRunArchives ----
    this.listRunArchives = new ListRunArchivesFunction(this, 'ListRunArchives', {
      ...handlerFunctionOptions(this, 'ListRunArchives', { storage, timeout: Duration.minutes(15), memorySize: 1024, logRetention, environment: common }),
      description: 'Decommission: checks the request and lists every archive of a finished run',
    });
    const list = this.listRunArchives;
    list.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReadRunAndLock',
      actions: ['dynamodb:GetItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } },
    }));
    list.addToRolePolicy(new iam.PolicyStatement({ sid: 'QueryStatusIndex', actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${TransferTable.statusIndex}`] }));
    list.addToRolePolicy(new iam.PolicyStatement({ sid: 'WriteArchiveList', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [bucket.arnForObjects(tmpKeys)] }));

    // ---- DecommissionBatch ----
    this.decommissionBatch = new DecommissionBatchFunction(this, 'DecommissionBatch', {
      ...handlerFunctionOptions(this, 'DecommissionBatch', {
        storage,
        timeout: Duration.minutes(15),
        memorySize: 512,
        logRetention,
        environment: {
          ...common,
          [Env.DESTINATION_BUCKET_OWNER]: owner,
          [DecommissionEnv.DELETES_PER_SECOND]: String(deletesPerSecond / batchConcurrency),
          [DecommissionEnv.DELETE_MAX_ATTEMPTS]: '5',
        },
      }),
      description: 'Decommission: proves S3 copies and deletes proven archives from the vault at a bounded rate',
    });
    const batch = this.decommissionBatch;
    batch.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadArchiveItems', actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], resources: [table.tableArn] }));
    if (allowDeletion) {
      batch.addToRolePolicy(new iam.PolicyStatement({
        sid: 'RecordDeletions',
        actions: ['dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['archive#*'] } },
      }));
    }
    // HeadObject needs s3:GetObject; s3:ListBucket makes a missing key a 404 instead of a 403.
    batch.addToRolePolicy(destinationStatement(props.destinationBucket, owner, { sid: 'ExamineDestinationObjects', actions: ['s3:GetObject'], objects: '*' }));
    batch.addToRolePolicy(destinationStatement(props.destinationBucket, owner, { sid: 'DistinguishMissingObjects', actions: ['s3:ListBucket'] }));
    batch.addToRolePolicy(new iam.PolicyStatement({ sid: 'WriteDecisions', actions: ['s3:PutObject'], resources: [bucket.arnForObjects(planKeys)] }));
    if (allowDeletion) {
      batch.addToRolePolicy(new iam.PolicyStatement({ sid: 'DeleteArchives', actions: ['glacier:DeleteArchive'], resources: props.vaultArns }));
    }

    // ---- DecommissionReport ----
    this.report = new DecommissionReportFunction(this, 'DecommissionReport', {
      ...handlerFunctionOptions(this, 'DecommissionReport', {
        storage,
        timeout: Duration.minutes(15),
        memorySize: 1024,
        logRetention,
        environment: {
          ...common,
          [DecommissionEnv.METRICS_NAMESPACE]: props.metricsNamespace ?? '',
        },
      }),
      description: 'Decommission: writes the plan, the deletion log and the dashboard metrics',
    });
    const report = this.report;
    report.addToRolePolicy(new iam.PolicyStatement({ sid: 'QueryStatusIndex', actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${TransferTable.statusIndex}`] }));
    report.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ReadBatchResults',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects('tmp/decommission/*'), bucket.arnForObjects(planKeys)],
    }));
    report.addToRolePolicy(new iam.PolicyStatement({ sid: 'WritePlanAndLog', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [bucket.arnForObjects(planKeys)] }));
    if (props.metricsNamespace) {
      report.addToRolePolicy(new iam.PolicyStatement({
        sid: 'PublishMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.metricsNamespace } },
      }));
    }

    // ---- VaultFinalizer ----
    this.vaultFinalizer = new VaultFinalizerFunction(this, 'VaultFinalizer', {
      ...handlerFunctionOptions(this, 'VaultFinalizer', { storage, timeout: Duration.minutes(15), memorySize: 1024, logRetention, environment: { [Env.INVENTORY_BUCKET]: bucket.bucketName } }),
      description: 'Decommission: final vault inventory, then DeleteVault when it lists no archive',
    });
    const finalizer = this.vaultFinalizer;
    finalizer.addToRolePolicy(new iam.PolicyStatement({
      sid: 'FinalInventory',
      actions: ['glacier:InitiateJob', 'glacier:DescribeJob', 'glacier:GetJobOutput'],
      resources: props.vaultArns,
    }));
    finalizer.addToRolePolicy(new iam.PolicyStatement({ sid: 'WriteRemainingArchives', actions: ['s3:PutObject'], resources: [bucket.arnForObjects(planKeys)] }));
    if (allowDeletion) {
      finalizer.addToRolePolicy(new iam.PolicyStatement({ sid: 'DeleteVault', actions: ['glacier:DeleteVault'], resources: props.vaultArns }));
    }

    for (const fn of [list, batch, report, finalizer]) {
      storage.encryptionKey?.grantEncryptDecrypt(fn);
      suppressHandlerNag(fn);
    }
    suppressNag(batch.role!, [{ id: 'AwsSolutions-IAM5', reason: 'HeadObject of any destination object the run recorded (keys come from the run).' }], true);
    suppressNag(report.role!, [{ id: 'AwsSolutions-IAM5', reason: 'cloudwatch:PutMetricData has no resource-level permissions; it is limited to one namespace by condition.' }], true);

    // ---- State machine ----
    let asl = withStateField(loadDefinition('decommission'), 'CheckAndDeleteArchives', ['ItemBatcher', 'MaxItemsPerBatch'], perBatch);
    asl = withStateField(asl, 'CheckAndDeleteArchives', ['MaxConcurrency'], batchConcurrency);
    const machine = distributedMapMachine(this, {
      definition: asl,
      substitutions: {
        InventoryBucket: bucket.bucketName,
        ListRunArchivesFunctionArn: list.functionArn,
        DecommissionBatchFunctionArn: batch.functionArn,
        DecommissionReportFunctionArn: report.functionArn,
        VaultFinalizerFunctionArn: finalizer.functionArn,
      },
      functions: [list, batch, report, finalizer],
      logRetention,
      encryptionKey: storage.encryptionKey,
      timeout: Duration.days(7),
      description: 'VaultDecommission state machine: proves S3 copies, deletes proven archives, then the empty vault',
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadArchiveList', actions: ['s3:GetObject'], resources: [bucket.arnForObjects(tmpKeys)] }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteMapRunResults',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [bucket.arnForObjects('tmp/decommission/*')],
    }));
    storage.encryptionKey?.grantEncryptDecrypt(machine.role);

    // ---- Runbook ----
    const prefix = props.namePrefix ?? Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) throw new Error(`namePrefix must be 1-100 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(prefix)}`);
    this.automationRole = automationRole(this, 'AutomationRole', 'Assumed by the Decommission runbook');
    const role = this.automationRole;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRuns',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } },
    }));
    this.stateMachine.grantStartExecution(role);
    this.documentName = `${prefix}-Decommission`;
    this.document = new ssm.CfnDocument(this, 'Document', {
      name: this.documentName,
      documentType: 'Automation',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: decommissionDocument({
        assumeRole: role.roleArn,
        tableName: table.tableName,
        stateMachineArn: this.stateMachine.stateMachineArn,
        inventoryBucket: bucket.bucketName,
        allowDeletion,
      }),
    });

    if (props.dashboard && props.metricsNamespace) this.addDashboardRow(props.dashboard, props.metricsNamespace);
  }

  private addDashboardRow(dashboard: cloudwatch.Dashboard, namespace: string): void {
    const metric = (name: string, mode: 'DryRun' | 'Delete', label: string) => new cloudwatch.Metric({
      namespace,
      metricName: name,
      dimensionsMap: { RunId: DASHBOARD_RUN, Mode: mode },
      statistic: 'Maximum',
      period: Duration.minutes(5),
      label,
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Decommission\nPlan (dry run) and deletions of the selected run; lists and reasons are in the inventory bucket under `<run>/decommission/`.', width: 24, height: 2 }),
      new cloudwatch.SingleValueWidget({
        title: 'Decommission plan (dry run)',
        width: 12,
        metrics: [
          metric('DecommissionToDeleteCount', 'DryRun', 'archives to delete'),
          metric('DecommissionToDeleteBytes', 'DryRun', 'bytes to delete'),
          metric('DecommissionKeptCount', 'DryRun', 'archives kept'),
          metric('DecommissionEarlyDeletionUsd', 'DryRun', 'early-deletion charge (USD)'),
        ],
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Decommission (deleting runs)',
        width: 12,
        metrics: [
          metric('DecommissionToDeleteCount', 'Delete', 'archives deleted'),
          metric('DecommissionKeptCount', 'Delete', 'archives kept'),
          metric('DecommissionKeptBytes', 'Delete', 'bytes kept'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Decommission errors',
        width: 24,
        left: [this.listRunArchives, this.decommissionBatch, this.report, this.vaultFinalizer].map((f) => f.metricErrors({ label: `${f.node.id} errors` })),
      }),
    );
  }
}

/** The `Decommission` runbook content (exported for tests). */
export function decommissionDocument(p: {
  assumeRole: string;
  tableName: string;
  stateMachineArn: string;
  inventoryBucket: string;
  allowDeletion: boolean;
}): Record<string, any> {
  const runKey = { pk: { S: 'run#{{WorkflowRun}}' }, sk: { S: 'run' } };
  return {
    schemaVersion: '0.3',
    description: '# Decommission a Glacier vault after a verified transfer\n'
      + 'For a COMPLETED run, deletes from the vault only the archives whose S3 copy is proven right before deletion (object at its recorded key in this account\'s bucket, same size, stored Glacier tree hash equal to the inventory\'s, the object the transfer wrote, recorded as downloaded after verification); every other archive is kept and listed with the reason. '
      + 'The vault itself is deleted only when a fresh inventory lists no archive. '
      + `DryRun YES (default) writes the plan (to-delete, kept with reasons, bytes, early-deletion charge) to s3://${p.inventoryBucket}/<run>/decommission/<automation execution id>/ and the dashboard, and deletes nothing.`
      + (p.allowDeletion ? '' : ' Deletion is NOT enabled on this deployment: only dry runs are possible.'),
    assumeRole: p.assumeRole,
    parameters: {
      // No quotes, backslashes or bare '.'/'..': the values are pasted into JSON and S3 keys.
      WorkflowRun: { type: 'String', description: 'Run id of the finished transfer.', allowedPattern: '^(?!\\.{1,2}$)[A-Za-z0-9._-]{1,64}$' },
      VaultNameConfirmation: { type: 'String', description: 'Type the vault name of the run again to confirm.', allowedPattern: '^(?!\\.{1,2}$)[A-Za-z0-9_.-]{1,255}$' },
      DryRun: {
        type: 'String',
        description: 'YES: write the plan only. NO: delete the proven archives (and the vault when nothing remains).',
        allowedValues: p.allowDeletion ? ['YES', 'NO'] : ['YES'],
        default: 'YES',
      },
    },
    outputs: ['StartDecommission.ExecutionArn'],
    mainSteps: [
      {
        name: 'CheckRunCompleted',
        action: 'aws:assertAwsResourceProperty',
        description: 'The run exists and is COMPLETED.',
        inputs: { Service: 'dynamodb', Api: 'GetItem', TableName: p.tableName, Key: runKey, ConsistentRead: true, PropertySelector: '$.Item.state.S', DesiredValues: ['COMPLETED'] },
      },
      {
        name: 'CheckVaultNameConfirmation',
        action: 'aws:assertAwsResourceProperty',
        description: 'The vault name typed again is the run\'s vault.',
        inputs: { Service: 'dynamodb', Api: 'GetItem', TableName: p.tableName, Key: runKey, ConsistentRead: true, PropertySelector: '$.Item.vaultName.S', DesiredValues: ['{{VaultNameConfirmation}}'] },
      },
      {
        name: 'CheckNoActiveRunForVault',
        action: 'aws:assertAwsResourceProperty',
        description: 'No transfer run is active on the vault.',
        inputs: {
          Service: 'dynamodb',
          Api: 'Query',
          TableName: p.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'active-vault#{{VaultNameConfirmation}}' } },
          Select: 'COUNT',
          PropertySelector: '$.Count',
          DesiredValues: ['0'],
        },
      },
      {
        name: 'StartDecommission',
        action: 'aws:executeAwsApi',
        description: 'Starts the decommission state machine (it checks the run, the confirmation and the mode again).',
        isEnd: true,
        inputs: {
          Service: 'stepfunctions',
          Api: 'StartExecution',
          stateMachineArn: p.stateMachineArn,
          name: '{{automation:EXECUTION_ID}}',
          input: JSON.stringify({ runId: '{{WorkflowRun}}', vaultName: '{{VaultNameConfirmation}}', dryRun: '{{DryRun}}' }),
        },
        outputs: [{ Name: 'ExecutionArn', Selector: '$.executionArn', Type: 'String' }],
      },
    ],
  };
}
