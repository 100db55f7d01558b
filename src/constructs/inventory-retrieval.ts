import * as path from 'path';
import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { validateInventoryEngine, withInventoryEngine } from './internal/inventory-engine';
import { stageLogRetention } from './internal/stage';
import { distributedMapMachine, withStateField } from './internal/state-machine';
import { suppressNag } from './nag';
import { TransferStageProps } from './stage-props';
import { TransferStorage } from './transfer-storage';
import { loadDefinition } from '../asl/definitions';
import { Env, InventoryEnv } from '../contract/environment';
import {
  inventoryErrorsKey,
  inventorySummaryKey,
  keptKeysKey,
  partitionPrefix,
  skippedReportKey,
  stagedNamingOverridePrefix,
  TransferTable,
} from '../contract/keys';
import { InventoryEngine } from '../core/transfer-options';
import { DEFAULT_PROVIDED_INVENTORY_TOLERANCE_PERCENT, validateTolerancePercent } from '../core/vault-totals';
import { InitiateInventoryRetrievalFunction } from '../handlers/inventory-retrieval/initiate-inventory-retrieval-function';
import { InventoryChunkDownloadFunction } from '../handlers/inventory-retrieval/inventory-chunk-download-function';
import { InventoryJobPollerFunction } from '../handlers/inventory-retrieval/inventory-job-poller-function';
import { InventoryValidationFunction } from '../handlers/inventory-retrieval/inventory-validation-function';
import { ProcessInventoryFunction } from '../handlers/inventory-retrieval/process-inventory-function';

/** Properties of {@link InventoryRetrieval}. */
export interface InventoryRetrievalProps extends TransferStageProps {
  /** Vault ARNs whose inventory may be retrieved (the only resources of the glacier: actions). */
  readonly vaultArns: string[];
  /** Destination prefix ('' or ending in '/'), part of every object key. */
  readonly destinationPrefix: string;
  /** Most archive bytes per sorted-inventory partition. */
  readonly partitionSizeBytes: number;
  /** Archives above this size are skipped and reported. */
  readonly maxArchiveSizeBytes: number;
  /**
   * Inventories larger than this (bytes) are processed by the Glue job instead of the Lambda
   * engine. Measured (bench/spark-engine.bench.ts): 1 M archives = a 293 MiB inventory, peak
   * 1.7 GiB RSS, 87 CPU s. At the default 4,096 MB with memory ÷ 1.5 that allows 1.6 M archives
   * (467 MiB); 400 MiB keeps more margin. With processMemorySize 10240 about 1,000 MiB fits
   * (the 15-minute limit ÷ 3 then binds). Raise both together (README, "Large vaults").
   *
   * @default 400 MiB
   */
  readonly lambdaEngineMaxBytes?: number;
  /**
   * Which engine processes the inventory: AUTO chooses by size (`lambdaEngineMaxBytes`), LAMBDA
   * or GLUE force that engine for every inventory. Forcing LAMBDA on an inventory beyond its
   * memory or 15-minute limit fails the inventory stage; forcing GLUE on a small one costs the Glue
   * job's minimum (README, "Large vaults").
   *
   * @default InventoryEngine.AUTO
   */
  readonly inventoryEngine?: InventoryEngine;
  /**
   * Memory of the Lambda engine in MiB; its heap limit is set to 85 % of it.
   *
   * @default 4096
   */
  readonly processMemorySize?: number;
  /**
   * How long to wait for the inventory job before failing.
   *
   * @default Duration.hours(24)
   */
  readonly jobTimeout?: Duration;
  /**
   * Interval of the safety-net DescribeJob poller.
   *
   * @default Duration.minutes(30)
   */
  readonly jobPollInterval?: Duration;
  /**
   * Glue workers (G.1X) of the Glue engine.
   *
   * @default 10
   */
  readonly glueWorkers?: number;
  /**
   * How far (percent of the vault's figures) a provided inventory's archive count and total bytes
   * may be from what Glacier's DescribeVault reports (NumberOfArchives, SizeInBytes, from
   * Glacier's last inventory of the vault, up to about a day old). Beyond it the run stops before
   * anything is requested from Glacier.
   *
   * @default 1
   */
  readonly providedInventoryTolerancePercent?: number;
}

/**
 * Gets a run's vault inventory and turns it into the sorted partitions InitiateRetrieval reads:
 * uses a provided inventory or one already downloaded in this run, otherwise starts an inventory
 * job, waits for it with a task token (unlocked by the job notification or a DescribeJob poller),
 * downloads it in parallel ranges, validates it, then names, skips, de-duplicates, sorts and
 * partitions it on Lambda, or on Glue for large inventories. A provided inventory's archive count
 * and bytes must then match the vault's DescribeVault figures (within
 * `providedInventoryTolerancePercent`), or the execution fails with
 * `InventoryRetrieval.ProvidedInventoryRefused`.
 *
 * Execution input: `{ "runId", "vaultName", "storageClass", "namingOverrideKey", "providedInventoryKey"? }`
 * (`namingOverrideKey`: the staged naming override the run record names, '' for none; the Glue job
 * gets it as `--naming_override_key`).
 */
export class InventoryRetrieval extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.ILogGroup;
  public readonly initiateInventoryRetrieval: lambda.Function;
  public readonly jobPoller: lambda.Function;
  public readonly chunkDownload: lambda.Function;
  public readonly validation: lambda.Function;
  public readonly processInventory: lambda.Function;
  public readonly glueJob: glue.CfnJob;
  private readonly storage: TransferStorage;

  constructor(scope: Construct, id: string, props: InventoryRetrievalProps) {
    super(scope, id);
    const { storage } = props;
    this.storage = storage;
    const stack = Stack.of(this);
    const logRetention = stageLogRetention(props);
    const lambdaEngineMaxBytes = props.lambdaEngineMaxBytes ?? 400 * 1024 ** 2;
    const inventoryEngine = validateInventoryEngine('inventoryEngine', props.inventoryEngine ?? InventoryEngine.AUTO);
    const processMemorySize = props.processMemorySize ?? 4096;
    const jobTimeout = props.jobTimeout ?? Duration.hours(24);
    const pollInterval = props.jobPollInterval ?? Duration.minutes(30);
    const glueWorkers = props.glueWorkers ?? 10;
    const tolerancePercent = validateTolerancePercent('providedInventoryTolerancePercent',
      props.providedInventoryTolerancePercent ?? DEFAULT_PROVIDED_INVENTORY_TOLERANCE_PERCENT);
    if (props.vaultArns.length === 0) throw new Error('vaultArns must name at least one vault');
    for (const [name, value] of [['partitionSizeBytes', props.partitionSizeBytes], ['maxArchiveSizeBytes', props.maxArchiveSizeBytes], ['lambdaEngineMaxBytes', lambdaEngineMaxBytes]] as const) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of bytes, got ${value}`);
    }
    const bucket = storage.inventoryBucket;
    const runObjects = (pattern: string) => bucket.arnForObjects(`*/${pattern}`);

    const options = (name: string, timeout: Duration, memory: number, env: Record<string, string>) =>
      handlerFunctionOptions(this, name, { storage, timeout: timeout, memorySize: memory, logRetention, environment: env });

    this.initiateInventoryRetrieval = new InitiateInventoryRetrievalFunction(this, 'InitiateInventoryRetrieval', {
      ...options('InitiateInventoryRetrieval', Duration.minutes(1), 256, {
        [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
        [Env.TOPIC_ARN]: storage.notificationTopic.topicArn,
      }),
      description: 'Starts (or reuses) the run\'s Glacier inventory-retrieval job',
    });
    this.jobPoller = new InventoryJobPollerFunction(this, 'InventoryJobPoller', {
      ...options('InventoryJobPoller', Duration.minutes(1), 256, { [Env.ASYNC_FACILITATOR_TABLE]: storage.asyncFacilitatorTable.tableName }),
      description: 'Safety net: DescribeJob, and unlock the waiting state machine when the inventory job finished',
    });
    this.chunkDownload = new InventoryChunkDownloadFunction(this, 'InventoryChunkDownload', {
      ...options('InventoryChunkDownload', Duration.minutes(10), 1024, { [Env.INVENTORY_BUCKET]: bucket.bucketName }),
      description: 'Copies one range of the inventory job output into one part of original_inventory/',
    });
    this.validation = new InventoryValidationFunction(this, 'InventoryValidation', {
      ...options('InventoryValidation', Duration.minutes(5), 512, {
        [Env.INVENTORY_BUCKET]: bucket.bucketName,
        [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
        [InventoryEnv.PROVIDED_INVENTORY_TOLERANCE]: String(tolerancePercent),
      }),
      description: 'Plans, completes and validates the inventory download (or a provided inventory, against the vault)',
    });
    this.processInventory = new ProcessInventoryFunction(this, 'ProcessInventory', {
      ...options('ProcessInventory', Duration.minutes(15), processMemorySize, {
        // The engine holds compact records of every archive: let the heap use most of the memory.
        NODE_OPTIONS: `--max-old-space-size=${Math.floor(processMemorySize * 0.85)}`,
        [Env.INVENTORY_BUCKET]: bucket.bucketName,
        [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
        [Env.METRICS_TABLE]: storage.metricsTable.tableName,
        [InventoryEnv.DESTINATION_PREFIX]: props.destinationPrefix,
        [InventoryEnv.PARTITION_SIZE]: String(props.partitionSizeBytes),
        [InventoryEnv.MAX_ARCHIVE_SIZE]: String(props.maxArchiveSizeBytes),
      }),
      description: 'Lambda inventory engine: names, skips, de-duplicates, sorts and partitions the inventory',
    });

    // IAM, narrowly.
    const transferRunItems = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*'] } };
    for (const fn of [this.initiateInventoryRetrieval, this.validation]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'InventoryRecord', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [storage.transferTable.tableArn], conditions: transferRunItems }));
    }
    this.initiateInventoryRetrieval.addToRolePolicy(new iam.PolicyStatement({ sid: 'InventoryJob', actions: ['glacier:InitiateJob', 'glacier:DescribeJob', 'glacier:ListJobs'], resources: props.vaultArns }));
    this.jobPoller.addToRolePolicy(new iam.PolicyStatement({ sid: 'DescribeInventoryJob', actions: ['glacier:DescribeJob'], resources: props.vaultArns }));
    this.chunkDownload.addToRolePolicy(new iam.PolicyStatement({ sid: 'InventoryJobOutput', actions: ['glacier:GetJobOutput'], resources: props.vaultArns }));
    this.validation.addToRolePolicy(new iam.PolicyStatement({ sid: 'DescribeInventoryJob', actions: ['glacier:DescribeJob'], resources: props.vaultArns }));
    // A provided inventory's totals are checked against the vault's.
    this.validation.addToRolePolicy(new iam.PolicyStatement({ sid: 'DescribeVault', actions: ['glacier:DescribeVault'], resources: props.vaultArns }));
    for (const fn of [this.chunkDownload, this.validation]) {
      fn.addToRolePolicy(new iam.PolicyStatement({
        sid: 'OriginalInventory',
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [runObjects('original_inventory/*')],
      }));
    }
    // A provided inventory may be anywhere in the inventory bucket.
    this.validation.addToRolePolicy(new iam.PolicyStatement({ sid: 'ProvidedInventory', actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }));
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadInventory', actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }));
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({
      sid: 'WriteInventoryOutputs',
      actions: ['s3:PutObject', 's3:DeleteObject'],
      resources: ['sorted_inventory/*', 'skipped/*', 'inventory_errors/*', 'inventory_summary.json', 'kept_keys/*'].map(runObjects),
    }));
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({ sid: 'ListSortedInventory', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({
      sid: 'SkippedArchiveItems',
      actions: ['dynamodb:PutItem'],
      resources: [storage.transferTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['archive#*'] } },
    }));
    // Resume: archives already downloaded keep their keys (readKeptKeys).
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({
      sid: 'QueryStatusIndex', actions: ['dynamodb:Query'], resources: [`${storage.transferTable.tableArn}/index/${TransferTable.statusIndex}`],
    }));
    this.processInventory.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RunTotals', actions: ['dynamodb:UpdateItem'], resources: [storage.metricsTable.tableArn], conditions: transferRunItems,
    }));
    for (const fn of [this.initiateInventoryRetrieval, this.jobPoller, this.chunkDownload, this.validation, this.processInventory]) {
      storage.encryptionKey?.grantEncryptDecrypt(fn);
      suppressHandlerNag(fn);
    }

    // Glue engine.
    const script = new s3assets.Asset(this, 'GlueScript', { path: path.join(__dirname, '..', '..', 'glue', 'inventory_job.py') });
    const modules = ['archive_naming.py', 'partitioning.py', 'inventory_csv.py', 'inventory_json.py', 'inventory_spark.py'].map((file, i) =>
      new s3assets.Asset(this, `GlueModule${i}`, { path: path.join(__dirname, '..', '..', 'glue', file) }));
    const glueLogs = new logs.LogGroup(this, 'GlueLogs', { retention: logRetention, encryptionKey: storage.encryptionKey });
    const glueRole = new iam.Role(this, 'GlueRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Glue inventory engine: its own script and modules, the run\'s inventory files, its logs',
    });
    // Least privilege instead of AWSGlueServiceRole (glue:*, EC2/IAM reads and aws-glue-* buckets on *).
    // Run ids are only known at run time, so the per-run keys are patterns with the run id as `*`.
    const anyRun = '*';
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'JobScriptAndModules',
      actions: ['s3:GetObject'],
      resources: [script, ...modules].map((asset) => asset.bucket.arnForObjects(asset.s3ObjectKey)),
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRunInventory',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`${anyRun}/original_inventory/*`), bucket.arnForObjects(`${stagedNamingOverridePrefix(anyRun)}*`), bucket.arnForObjects(keptKeysKey(anyRun))],
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteInventoryOutputs',
      actions: ['s3:PutObject'],
      resources: [`${partitionPrefix(anyRun)}*`, skippedReportKey(anyRun), inventoryErrorsKey(anyRun), inventorySummaryKey(anyRun)].map((k) => bucket.arnForObjects(k)),
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReplaceSortedInventory',
      actions: ['s3:DeleteObject'],
      resources: [bucket.arnForObjects(`${partitionPrefix(anyRun)}*`)],
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListRunInventory',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${anyRun}/original_inventory/*`, `${partitionPrefix(anyRun)}*`, 'glue_tmp/*'] } },
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'GlueTempDir',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects('glue_tmp/*')],
    }));
    // Continuous logs go to GlueLogs; driver/executor output goes to Glue's own /aws-glue/ groups
    // (suffixed with the security configuration when logs are encrypted), created by the job.
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'JobLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [glueLogs.logGroupArn, `${glueLogs.logGroupArn}:log-stream:*`],
    }));
    glueRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'GlueDefaultLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
      resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    // No cloudwatch:PutMetricData: the job does not enable Glue job metrics (--enable-metrics).
    storage.encryptionKey?.grantEncryptDecrypt(glueRole);
    suppressNag(glueRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Run ids are known only at run time: the job reads <run>/original_inventory/*, <run>/naming_override/staged/* and <run>/kept_keys/kept_keys.csv, writes only the per-run outputs named in its statements and deletes only <run>/sorted_inventory/*; /aws-glue/* are the log groups Glue itself writes the driver output to.',
      },
    ], true);
    const securityConfiguration = new glue.CfnSecurityConfiguration(this, 'GlueSecurity', {
      name: `${stack.stackName}-${this.node.addr}`.slice(0, 255),
      encryptionConfiguration: {
        s3Encryptions: [storage.encryptionKey ? { s3EncryptionMode: 'SSE-KMS', kmsKeyArn: storage.encryptionKey.keyArn } : { s3EncryptionMode: 'SSE-S3' }],
        cloudWatchEncryption: storage.encryptionKey ? { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: storage.encryptionKey.keyArn } : { cloudWatchEncryptionMode: 'DISABLED' },
        jobBookmarksEncryption: storage.encryptionKey ? { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: storage.encryptionKey.keyArn } : { jobBookmarksEncryptionMode: 'DISABLED' },
      },
    });
    this.glueJob = new glue.CfnJob(this, 'GlueJob', {
      role: glueRole.roleArn,
      command: { name: 'glueetl', pythonVersion: '3', scriptLocation: script.s3ObjectUrl },
      // Glue 5.0: Spark 3.5, Python 3.11, Java 17 (4.0's Python 3.10 reached end of life in October 2026).
      glueVersion: '5.0',
      workerType: 'G.1X',
      numberOfWorkers: glueWorkers,
      timeout: 240,
      maxRetries: 0,
      executionProperty: { maxConcurrentRuns: 5 },
      securityConfiguration: securityConfiguration.name,
      defaultArguments: {
        '--extra-py-files': modules.map((m) => m.s3ObjectUrl).join(','),
        '--inventory_bucket': bucket.bucketName,
        '--destination_prefix': props.destinationPrefix === '' ? '""' : props.destinationPrefix,
        '--partition_size': String(props.partitionSizeBytes),
        '--max_archive_size': String(props.maxArchiveSizeBytes),
        '--continuous-log-logGroup': glueLogs.logGroupName,
        '--enable-continuous-cloudwatch-log': 'true',
        '--TempDir': `s3://${bucket.bucketName}/glue_tmp/`,
      },
      description: 'Glue inventory engine: same partitions as the Lambda engine, for large inventories',
    });
    // Construct-level dependency (a DependsOn between the two L1s): CfnResource#addDependency is
    // deprecated in newer aws-cdk-lib and its replacement, addResourceDependency, is missing from
    // the oldest aws-cdk-lib we support.
    this.glueJob.node.addDependency(securityConfiguration);
    if (!storage.encryptionKey) {
      suppressNag(this.glueJob, [
        { id: 'AwsSolutions-GL1', reason: 'CloudWatch log encryption for Glue needs a customer managed KMS key; pass encryptionKey to enable it (it is then on).' },
        { id: 'AwsSolutions-GL3', reason: 'Job bookmark encryption for Glue needs a customer managed KMS key; pass encryptionKey to enable it. The job uses no bookmarks.' },
      ]);
    }

    let asl = withInventoryEngine(loadDefinition('inventory-retrieval'), inventoryEngine, lambdaEngineMaxBytes);
    asl = withStateField(asl, 'AwaitInventoryJobToken', ['TimeoutSeconds'], jobTimeout.toSeconds());
    asl = withStateField(asl, 'WaitBeforePollingJob', ['Seconds'], pollInterval.toSeconds());
    const functions = [this.initiateInventoryRetrieval, this.jobPoller, this.chunkDownload, this.validation, this.processInventory];
    const machine = distributedMapMachine(this, {
      definition: asl,
      substitutions: {
        TransferTableName: storage.transferTable.tableName,
        AsyncFacilitatorTableName: storage.asyncFacilitatorTable.tableName,
        GlueJobName: this.glueJob.ref,
        InitiateInventoryRetrievalFunctionArn: this.initiateInventoryRetrieval.functionArn,
        InventoryJobPollerFunctionArn: this.jobPoller.functionArn,
        InventoryChunkDownloadFunctionArn: this.chunkDownload.functionArn,
        InventoryValidationFunctionArn: this.validation.functionArn,
        ProcessInventoryFunctionArn: this.processInventory.functionArn,
      },
      functions,
      logRetention,
      encryptionKey: storage.encryptionKey,
      description: 'InventoryRetrieval state machine: inventory job, download, naming, sorting, partitioning',
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadInventoryRecord', actions: ['dynamodb:GetItem'], resources: [storage.transferTable.tableArn], conditions: transferRunItems,
    }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'AwaitInventoryJob',
      actions: ['dynamodb:PutItem'],
      resources: [storage.asyncFacilitatorTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['inventory-job#*'] } },
    }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'GlueEngine',
      actions: ['glue:StartJobRun', 'glue:GetJobRun'],
      resources: [stack.formatArn({ service: 'glue', resource: 'job', resourceName: this.glueJob.ref })],
    }));
    storage.encryptionKey?.grantEncryptDecrypt(machine.role);
    // The poller unlocks the token itself.
    this.grantJobCompletion(this.jobPoller, false);
  }

  /**
   * Lets `fn` unlock this state machine's inventory-job wait with `completeInventoryJob` (sets
   * ASYNC_FACILITATOR_TABLE_NAME). Give it to the notifications processor.
   */
  public grantJobCompletion(fn: lambda.Function, setEnvironment = true): void {
    if (setEnvironment) fn.addEnvironment(Env.ASYNC_FACILITATOR_TABLE, this.storage.asyncFacilitatorTable.tableName);
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [this.storage.asyncFacilitatorTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['inventory-job#*'] } },
    }));
    // The ARN from the machine's explicit name (as distributedMapMachine names it), not a reference:
    // the poller is itself one of the machine's functions, and a reference would be a cycle.
    const machineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: Names.uniqueResourceName(this, { maxLength: 80, separator: '-' }),
    });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: [machineArn] }));
  }
}
