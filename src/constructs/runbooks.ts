import { ArnFormat, Names, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { destinationStatement } from './destination-access';
import { automationRole } from './internal/automation-role';
import { suppressNag } from './nag';
import { RESERVED_RUN_IDS } from '../contract/keys';
import { KEEP_CURRENT, RETRIEVAL_TIERS, STORAGE_CLASS_DISPLAY_NAMES, storageClassDisplayName } from '../contract/storage-classes';
import { DestinationStorageClass, RetrievalTier } from '../core/transfer-options';

/** Properties of {@link TransferRunbooks}. */
export interface TransferRunbooksProps {
  /** The orchestrator the Launch/Resume runbooks start. */
  readonly orchestrator: sfn.IStateMachine;
  /** InitiateRetrieval state machine (the Stop runbook stops the run's execution of it). */
  readonly initiateRetrieval: sfn.IStateMachine;
  /** CompletionChecker function (the Stop runbook runs a check at once). */
  readonly completionChecker: lambda.IFunction;
  readonly transferTable: dynamodb.ITable;
  readonly destinationBucket: s3.IBucket;
  /**
   * Account that must own the destination bucket (`ExpectedBucketOwner` of the bucket check and the
   * `s3:ResourceAccount` condition of its statement).
   *
   * @default - the stack's account
   */
  readonly destinationBucketOwner?: string;
  /** Vault ARNs the runbooks may describe. */
  readonly vaultArns: string[];
  /** Default of the storage-class parameter. */
  readonly storageClass: DestinationStorageClass;
  /** Default of the tier parameter. */
  readonly retrievalTier: RetrievalTier;
  /**
   * The only values of the tier parameter (RunRecord enforces the same list).
   *
   * @default - `retrievalTier` only
   */
  readonly allowedRetrievalTiers?: RetrievalTier[];
  /**
   * Prefix of the document names (letters, digits, `_`, `-`, `.`).
   *
   * @default - derived from the construct path
   */
  readonly namePrefix?: string;
}

type Doc = Record<string, any>;
/** What the Stop runbook's UpdateItem names: the key, the stop request and the state its condition reads. */
const STOP_REQUEST_ATTRIBUTES = ['pk', 'sk', 'stopRequested', 'stopRequestedAt', 'state'] as const;
// Parameter values are pasted into JSON strings of the StartExecution input and into S3 keys, so
// no pattern may admit quotes, backslashes, control characters or a bare '.'/'..' segment.
// Reserved run ids (RESERVED_RUN_IDS: prefixes of the inventory bucket that are not runs) are refused here and by RunRecord.
const RUN_PATTERN = `^(?!\\.{1,2}$)(?!(?:${RESERVED_RUN_IDS.join('|')})$)[A-Za-z0-9._-]{1,64}$`;
const OPTIONAL_RUN_PATTERN = `^$|${RUN_PATTERN}`;
const VAULT_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9_.-]{1,255}$';
const NAMING_PATTERN = '^$|^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\\s"\\\\$;`]{1,1024}$|^https://[^\\s"\\\\$;`]{1,2048}$';
const DESCRIPTION_PATTERN = '^[^"\\\\\\u0000-\\u001f\\u007f]{0,256}$';

/** An assertion that always fails and shows `message` as the expected value (SSM has no "fail" action). */
function failStep(name: string, message: string): Doc {
  return {
    name,
    action: 'aws:assertAwsResourceProperty',
    isEnd: true,
    inputs: { Service: 'sts', Api: 'GetCallerIdentity', PropertySelector: '$.Account', DesiredValues: [message] },
  };
}

/**
 * The Launch, Resume and Stop runbooks: SSM Automation documents (schemaVersion 0.3) made only of
 * `aws:executeAwsApi`, `aws:assertAwsResourceProperty`, `aws:branch` and
 * `aws:invokeLambdaFunction` steps (no script runtimes), running under one automation role that
 * can do exactly what the three documents call.
 */
export class TransferRunbooks extends Construct {
  public readonly launchDocument: ssm.CfnDocument;
  public readonly resumeDocument: ssm.CfnDocument;
  public readonly stopDocument: ssm.CfnDocument;
  public readonly launchDocumentName: string;
  public readonly resumeDocumentName: string;
  public readonly stopDocumentName: string;
  /** Role the documents assume. */
  public readonly automationRole: iam.Role;

  constructor(scope: Construct, id: string, props: TransferRunbooksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? Names.uniqueResourceName(this, { maxLength: 100, separator: '-' });
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) throw new Error(`namePrefix must be 1-100 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(prefix)}`);

    this.automationRole = automationRole(this, 'AutomationRole', 'Assumed by the Launch/Resume/Stop transfer runbooks');
    const role = this.automationRole;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'CheckVault', actions: ['glacier:DescribeVault'], resources: props.vaultArns }));
    const owner = props.destinationBucketOwner ?? stack.account;
    role.addToPrincipalPolicy(destinationStatement(props.destinationBucket, owner, { sid: 'CheckDestinationBucket', actions: ['s3:GetBucketLocation'] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRuns',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [props.transferTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } },
    }));
    // The Stop runbook's one write: the stop request on a run record. Only those attributes (and
    // `state`, which its condition reads), nothing returned.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RequestStop',
      actions: ['dynamodb:UpdateItem'],
      resources: [props.transferTable.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*'] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...STOP_REQUEST_ATTRIBUTES] },
        'StringEqualsIfExists': { 'dynamodb:ReturnValues': 'NONE' },
      },
    }));
    props.orchestrator.grantStartExecution(role);
    const initiateName = stack.splitArn(props.initiateRetrieval.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'StopRequests',
      actions: ['states:StopExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${initiateName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    props.completionChecker.grantInvoke(role);
    suppressNag(role, [{ id: 'AwsSolutions-IAM5', reason: 'Executions of the InitiateRetrieval state machine have generated names; function versions.' }], true);

    const storageClasses = Object.keys(STORAGE_CLASS_DISPLAY_NAMES);
    // The deploying team's spend bound; listed in RETRIEVAL_TIERS order.
    const tiers = RETRIEVAL_TIERS.filter((t) => (props.allowedRetrievalTiers ?? [props.retrievalTier]).includes(t as RetrievalTier));
    const defaultClass = storageClassDisplayName(props.storageClass);
    const table = props.transferTable.tableName;
    const bucket = props.destinationBucket.bucketName;
    const assumeRole = role.roleArn;

    const common = {
      StorageClass: { type: 'String', description: 'Storage class of the destination objects.', allowedValues: storageClasses, default: defaultClass },
      RetrievalTier: { type: 'String', description: 'Glacier retrieval tier: Bulk (5-12 h, cheapest), Standard (3-5 h), Expedited (1-5 min); only the tiers this deployment allows.', allowedValues: tiers, default: props.retrievalTier },
      NamingOverrideFile: { type: 'String', description: '(Optional) CSV "GlacierArchiveID,FileName" that overrides object names: an s3:// URI or a presigned https:// URL.', default: '', allowedPattern: NAMING_PATTERN },
      AcknowledgeCrossRegionCost: { type: 'String', description: 'YES if the destination bucket is in another region and you accept the inter-region data transfer charges.', allowedValues: ['NO', 'YES'], default: 'NO' },
    };
    const checkBucket: Doc = {
      name: 'CheckDestinationBucket',
      action: 'aws:executeAwsApi',
      description: 'The destination bucket exists and belongs to the expected owner (ExpectedBucketOwner).',
      inputs: { Service: 's3', Api: 'GetBucketLocation', Bucket: bucket, ExpectedBucketOwner: props.destinationBucketOwner ?? '{{global:ACCOUNT_ID}}' },
      outputs: [{ Name: 'LocationConstraint', Selector: '$.LocationConstraint', Type: 'String' }],
    };
    const checkRegion = (next: string): Doc => ({
      name: 'CheckRegion',
      action: 'aws:branch',
      description: 'Same region as the transfer, unless the cross-region cost is acknowledged (the orchestrator re-checks this).',
      inputs: {
        Choices: [
          { Variable: '{{AcknowledgeCrossRegionCost}}', StringEquals: 'YES', NextStep: next },
          { Variable: '{{CheckDestinationBucket.LocationConstraint}}', StringEquals: '{{global:REGION}}', NextStep: next },
          { And: [{ Variable: '{{global:REGION}}', StringEquals: 'us-east-1' }, { Variable: '{{CheckDestinationBucket.LocationConstraint}}', StringEquals: '' }], NextStep: next },
        ],
        Default: 'CrossRegionNotAcknowledged',
      },
    });
    const checkNoActiveRun = (vault: string, next: string): Doc => ({
      name: 'CheckNoActiveRunForVault',
      action: 'aws:assertAwsResourceProperty',
      description: 'No run is active for this vault (lock item active-vault#<vault>).',
      inputs: {
        Service: 'dynamodb',
        Api: 'Query',
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `active-vault#${vault}` } },
        Select: 'COUNT',
        PropertySelector: '$.Count',
        DesiredValues: ['0'],
      },
      nextStep: next,
    });
    const start = (name: string, input: Doc): Doc => ({
      name,
      action: 'aws:executeAwsApi',
      isEnd: true,
      inputs: {
        Service: 'stepfunctions',
        Api: 'StartExecution',
        stateMachineArn: props.orchestrator.stateMachineArn,
        name: '{{automation:EXECUTION_ID}}',
        input: JSON.stringify(input),
      },
      outputs: [{ Name: 'ExecutionArn', Selector: '$.executionArn', Type: 'String' }],
    });
    const runInput = (runId: string, mode: string, vault: string, extra: Doc) => ({
      runId,
      mode,
      vaultName: vault,
      ...extra,
      storageClass: '{{StorageClass}}',
      tier: '{{RetrievalTier}}',
      namingOverride: '{{NamingOverrideFile}}',
      acknowledgeCrossRegion: '{{AcknowledgeCrossRegionCost}}',
    });

    // ---- Launch ----
    const launch: Doc = {
      schemaVersion: '0.3',
      description: '# Launch a Glacier vault transfer\nCopies every archive of a vault into the destination bucket. Checks the vault, the destination bucket (owner, region) and that no run is active for the vault, then starts the orchestrator. Follow the run on the CloudWatch dashboard; stop it with the Stop runbook, continue it with Resume.',
      assumeRole,
      parameters: {
        VaultName: { type: 'String', description: 'Glacier vault to transfer.', allowedPattern: VAULT_PATTERN },
        ProvidedInventory: { type: 'String', description: 'YES if you uploaded the vault inventory to <WorkflowRun>/original_inventory/ in the inventory bucket.', allowedValues: ['NO', 'YES'], default: 'NO' },
        WorkflowRun: { type: 'String', description: '(Optional; required with a provided inventory) Run id, 1-64 of A-Z a-z 0-9 . _ -. Default: the automation execution id.', default: '', allowedPattern: OPTIONAL_RUN_PATTERN },
        ...common,
        Description: { type: 'String', description: '(Optional) Free text kept on the run record (no quotes, backslashes or control characters).', default: '', allowedPattern: DESCRIPTION_PATTERN },
      },
      mainSteps: [
        {
          name: 'CheckProvidedInventoryHasRun',
          action: 'aws:branch',
          inputs: {
            Choices: [{ And: [{ Variable: '{{ProvidedInventory}}', StringEquals: 'YES' }, { Variable: '{{WorkflowRun}}', StringEquals: '' }], NextStep: 'WorkflowRunRequired' }],
            Default: 'CheckVault',
          },
        },
        failStep('WorkflowRunRequired', 'WorkflowRun is required when ProvidedInventory is YES'),
        {
          name: 'CheckVault',
          action: 'aws:executeAwsApi',
          description: 'The vault exists and is reachable.',
          inputs: { Service: 'glacier', Api: 'DescribeVault', accountId: '-', vaultName: '{{VaultName}}' },
          outputs: [{ Name: 'NumberOfArchives', Selector: '$.NumberOfArchives', Type: 'Integer' }, { Name: 'SizeInBytes', Selector: '$.SizeInBytes', Type: 'Integer' }],
        },
        checkBucket,
        checkRegion('CheckNoActiveRunForVault'),
        failStep('CrossRegionNotAcknowledged', 'destination bucket is in another region: set AcknowledgeCrossRegionCost to YES'),
        checkNoActiveRun('{{VaultName}}', 'ChooseRunId'),
        {
          name: 'ChooseRunId',
          action: 'aws:branch',
          inputs: { Choices: [{ Variable: '{{WorkflowRun}}', StringEquals: '', NextStep: 'StartWithGeneratedRunId' }], Default: 'StartWithGivenRunId' },
        },
        start('StartWithGeneratedRunId', runInput('{{automation:EXECUTION_ID}}', 'LAUNCH', '{{VaultName}}', { providedInventory: '{{ProvidedInventory}}', description: '{{Description}}' })),
        start('StartWithGivenRunId', runInput('{{WorkflowRun}}', 'LAUNCH', '{{VaultName}}', { providedInventory: '{{ProvidedInventory}}', description: '{{Description}}' })),
      ],
    };

    // ---- Resume ----
    const getRun = (name: string, outputs: Doc[]): Doc => ({
      name,
      action: 'aws:executeAwsApi',
      description: 'Reads the run record.',
      inputs: { Service: 'dynamodb', Api: 'GetItem', TableName: table, Key: { pk: { S: 'run#{{WorkflowRun}}' }, sk: { S: 'run' } }, ConsistentRead: true },
      outputs,
    });
    const assertState = (name: string, allowed: string[]): Doc => ({
      name,
      action: 'aws:assertAwsResourceProperty',
      inputs: {
        Service: 'dynamodb',
        Api: 'GetItem',
        TableName: table,
        Key: { pk: { S: 'run#{{WorkflowRun}}' }, sk: { S: 'run' } },
        ConsistentRead: true,
        PropertySelector: '$.Item.state.S',
        DesiredValues: allowed,
      },
    });
    const resume: Doc = {
      schemaVersion: '0.3',
      description: '# Resume a Glacier vault transfer\nContinues a stopped or failed run: archives already downloaded are kept, archives left requested or staged are requested again, and failed ones too unless RetryFailed is NO. The vault comes from the run record; the storage class, tier and naming override may be changed.',
      assumeRole,
      parameters: {
        WorkflowRun: { type: 'String', description: 'Run id to resume.', allowedPattern: RUN_PATTERN },
        ...common,
        StorageClass: { ...common.StorageClass, allowedValues: [KEEP_CURRENT, ...storageClasses], default: KEEP_CURRENT },
        RetrievalTier: { ...common.RetrievalTier, allowedValues: [KEEP_CURRENT, ...tiers], default: KEEP_CURRENT },
        NamingOverrideFile: { ...common.NamingOverrideFile, description: '(Optional) New naming override CSV (s3:// or presigned https://); empty keeps the current one.' },
        RetryFailed: { type: 'String', description: 'YES: archives that FAILED are requested again with fresh attempt counters (unreadable inventory rows stay failed). NO: they stay failed.', allowedValues: ['YES', 'NO'], default: 'YES' },
      },
      mainSteps: [
        getRun('GetRun', [{ Name: 'VaultName', Selector: '$.Item.vaultName.S', Type: 'String' }]),
        assertState('CheckRunNotActive', ['COMPLETED', 'STOPPED', 'FAILED']),
        {
          name: 'CheckVault',
          action: 'aws:executeAwsApi',
          inputs: { Service: 'glacier', Api: 'DescribeVault', accountId: '-', vaultName: '{{GetRun.VaultName}}' },
        },
        checkBucket,
        checkRegion('CheckNoActiveRunForVault'),
        failStep('CrossRegionNotAcknowledged', 'destination bucket is in another region: set AcknowledgeCrossRegionCost to YES'),
        checkNoActiveRun('{{GetRun.VaultName}}', 'StartResume'),
        start('StartResume', runInput('{{WorkflowRun}}', 'RESUME', '{{GetRun.VaultName}}', { providedInventory: '', description: '', retryFailed: '{{RetryFailed}}' })),
      ],
    };

    // ---- Stop ----
    const stop: Doc = {
      schemaVersion: '0.3',
      description: '# Stop a Glacier vault transfer\nStops requesting archives. Finish: archives already requested are still downloaded, then the run is cleaned up. Reset: the run is cleaned up now and requested/staged archives go back to pending. Either way Resume continues the run later.',
      assumeRole,
      parameters: {
        WorkflowRun: { type: 'String', description: 'Run id to stop.', allowedPattern: RUN_PATTERN },
        StagedArchives: { type: 'String', description: 'FINISH: let requested/staged archives download first. RESET: stop now; they are requested again on Resume.', allowedValues: ['FINISH', 'RESET'], default: 'FINISH' },
      },
      mainSteps: [
        assertState('CheckRunActive', ['ACTIVE']),
        getRun('GetRun', [{ Name: 'InitiateExecutionArn', Selector: '$.Item.initiateExecutionArn.S', Type: 'String' }]),
        {
          name: 'RequestStop',
          action: 'aws:executeAwsApi',
          description: 'Records the stop request on the run record (the orchestrator and the completion check read it).',
          inputs: {
            Service: 'dynamodb',
            Api: 'UpdateItem',
            TableName: table,
            Key: { pk: { S: 'run#{{WorkflowRun}}' }, sk: { S: 'run' } },
            UpdateExpression: 'SET stopRequested = :mode, stopRequestedAt = :at',
            ConditionExpression: '#state = :active',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':mode': { S: '{{StagedArchives}}' }, ':active': { S: 'ACTIVE' }, ':at': { S: '{{global:DATE_TIME}}' } },
          },
        },
        {
          name: 'StopRequestingArchives',
          action: 'aws:executeAwsApi',
          description: 'Stops the run\'s InitiateRetrieval execution (fails harmlessly if it has not started or has ended).',
          onFailure: 'Continue',
          isCritical: false,
          inputs: { Service: 'stepfunctions', Api: 'StopExecution', executionArn: '{{GetRun.InitiateExecutionArn}}', error: 'StopRequested', cause: 'Stop runbook {{automation:EXECUTION_ID}}' },
        },
        {
          name: 'CheckCompletionNow',
          action: 'aws:invokeLambdaFunction',
          description: 'Runs the completion check at once instead of at the next scheduled check.',
          isEnd: true,
          inputs: { FunctionName: props.completionChecker.functionName, InputPayload: { runId: '{{WorkflowRun}}' } },
        },
      ],
    };

    const make = (docId: string, suffix: string, content: Doc) => new ssm.CfnDocument(this, docId, {
      name: `${prefix}-${suffix}`,
      documentType: 'Automation',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content,
    });
    this.launchDocument = make('LaunchDocument', 'Launch', launch);
    this.resumeDocument = make('ResumeDocument', 'Resume', resume);
    this.stopDocument = make('StopDocument', 'Stop', stop);
    this.launchDocumentName = `${prefix}-Launch`;
    this.resumeDocumentName = `${prefix}-Resume`;
    this.stopDocumentName = `${prefix}-Stop`;
  }

  /** ARN of a runbook (for IAM policies that let operators start it). */
  public documentArn(documentName: string): string {
    return Stack.of(this).formatArn({ service: 'ssm', resource: 'document', resourceName: documentName });
  }
}
