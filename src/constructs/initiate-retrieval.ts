import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { destinationStatement } from './destination-access';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { grantQuotaLedger, quotaEnvironment } from './internal/quota-ledger';
import { stageLogRetention } from './internal/stage';
import { distributedMapMachine, withStateField } from './internal/state-machine';
import { TransferStageProps } from './stage-props';
import { loadDefinition } from '../asl/definitions';
import { Env } from '../contract/environment';
import { partitionPrefix } from '../contract/keys';
import { DEFAULT_INITIATE_BATCH_SIZE, DEFAULT_INITIATE_REQUESTS_PER_SECOND } from '../core/pacing';
import { InitiateArchiveRetrievalFunction } from '../handlers/initiate-retrieval/initiate-archive-retrieval-function';

/** What InitiateRetrieval does when an archive's destination key already holds an object that is not its verified copy. */
export enum ExistingObjectPolicy {
  /** The archive ends FAILED with "destination key holds another object"; the object is left as it is. */
  FAIL = 'FAIL',
  /** The archive is requested and its copy replaces the object (in a versioned bucket the old one stays as a version). */
  OVERWRITE = 'OVERWRITE',
}

/** Properties of {@link InitiateRetrieval}. */
export interface InitiateRetrievalProps extends TransferStageProps {
  /** Glacier vault ARNs archives may be requested from (the only resources of `glacier:InitiateJob`). */
  readonly vaultArns: string[];

  /**
   * Bytes that may be requested in any rolling 24 hours, shared by every run of this deployment
   * through one ledger item in the metrics table.
   */
  readonly dailyQuotaBytes: number;

  /**
   * Archives per batch Lambda invocation (ItemBatcher MaxItemsPerBatch, 1–1000). Batches are also
   * capped at 200 KB of CSV rows so they fit the 256 KiB state payload.
   *
   * @default 100
   */
  readonly archivesPerBatch?: number;

  /**
   * Batches of one partition file processed at once. 1 keeps requests in CreationDate order
   * (Glacier restores sequential requests fastest); the shared ledger keeps pacing exact either way.
   *
   * @default 1
   */
  readonly batchConcurrency?: number;

  /**
   * InitiateJob calls per second one batch invocation makes at most.
   *
   * @default 100
   */
  readonly requestsPerSecond?: number;

  /**
   * InitiateJob calls in flight at once in one batch invocation.
   *
   * @default 20
   */
  readonly requestConcurrency?: number;

  /**
   * The destination bucket. When set, each archive's destination key is looked at (HeadObject,
   * paced like the requests) before the archive is requested: an object with the same archive id
   * and tree hash counts as downloaded without a retrieval or quota, another object is treated as
   * `existingObjectPolicy` says.
   *
   * @default - no look at the destination before requesting
   */
  readonly destinationBucket?: s3.IBucket;

  /**
   * Key prefix the archives are written under (the HeadObject permission is held to it).
   *
   * @default ''
   */
  readonly destinationPrefix?: string;

  /**
   * Account that must own the destination bucket.
   *
   * @default - this stack's account
   */
  readonly destinationBucketOwner?: string;

  /**
   * What to do when an archive's destination key holds another object.
   *
   * @default ExistingObjectPolicy.FAIL
   */
  readonly existingObjectPolicy?: ExistingObjectPolicy;
}

/**
 * Requests every archive of a run's sorted inventory from Glacier: the partitions
 * (`<runId>/sorted_inventory/<partition>/*.csv`) one file at a time in key order, each file's rows
 * in batches handed to the InitiateArchiveRetrieval function, paced to the daily quota shared by
 * all runs. Idempotent: starting it again for the same run requests only what is still pending.
 *
 * Execution input: `{ "runId": "...", "vaultName": "...", "tier": "Bulk|Standard|Expedited",
 * "storageClass": "DEEP_ARCHIVE|..." }`.
 */
export class InitiateRetrieval extends Construct {
  /** The InitiateRetrieval state machine (start it, or `startExecution.sync:2` it from the orchestrator). */
  public readonly stateMachine: sfn.StateMachine;
  /** The batch function (InitiateArchiveRetrieval). */
  public readonly initiateArchiveRetrieval: lambda.Function;
  /** Execution log group of the state machine. */
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: InitiateRetrievalProps) {
    super(scope, id);
    const { storage } = props;
    const perBatch = props.archivesPerBatch ?? DEFAULT_INITIATE_BATCH_SIZE;
    const batchConcurrency = props.batchConcurrency ?? 1;
    const requestsPerSecond = props.requestsPerSecond ?? DEFAULT_INITIATE_REQUESTS_PER_SECOND;
    const requestConcurrency = props.requestConcurrency ?? 20;
    for (const [name, value, min, max] of [
      ['archivesPerBatch', perBatch, 1, 1000],
      ['batchConcurrency', batchConcurrency, 1, 100],
      ['requestsPerSecond', requestsPerSecond, 1, 1000],
      ['requestConcurrency', requestConcurrency, 1, 100],
    ] as const) {
      if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
    if (!Number.isSafeInteger(props.dailyQuotaBytes) || props.dailyQuotaBytes <= 0) {
      throw new Error(`dailyQuotaBytes must be a positive whole number of bytes, got ${props.dailyQuotaBytes}`);
    }
    if (props.vaultArns.length === 0) throw new Error('vaultArns must name at least one vault');
    const logRetention = stageLogRetention(props);

    this.initiateArchiveRetrieval = new InitiateArchiveRetrievalFunction(this, 'InitiateArchiveRetrieval', {
      ...handlerFunctionOptions(this, 'InitiateArchiveRetrieval', {
        storage,
        timeout: Duration.minutes(6),
        memorySize: 512,
        logRetention,
        environment: {
          ...quotaEnvironment(storage, props.dailyQuotaBytes, requestsPerSecond),
          [Env.INITIATE_CONCURRENCY]: String(requestConcurrency),
          ...(props.destinationBucket ? {
            [Env.DESTINATION_BUCKET]: props.destinationBucket.bucketName,
            [Env.DESTINATION_BUCKET_OWNER]: props.destinationBucketOwner ?? Stack.of(this).account,
            [Env.EXISTING_OBJECT_POLICY]: props.existingObjectPolicy ?? ExistingObjectPolicy.FAIL,
          } : {}),
        },
      }),
      description: 'Requests one batch of archives from Glacier, idempotently and within the shared daily quota',
    });
    const fn = this.initiateArchiveRetrieval;
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'ArchiveItems',
      actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [storage.transferTable.tableArn],
    }));
    grantQuotaLedger(storage, fn);
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'InitiateArchiveJobs',
      actions: ['glacier:InitiateJob'],
      resources: props.vaultArns,
    }));
    if (props.destinationBucket) {
      // HeadObject of each archive's key before it is requested (existing objects); no write.
      fn.addToRolePolicy(destinationStatement(props.destinationBucket, props.destinationBucketOwner ?? Stack.of(this).account, {
        sid: 'LookAtDestinationKeys', actions: ['s3:GetObject'], objects: `${props.destinationPrefix ?? ''}*`,
      }));
    }
    suppressHandlerNag(fn);

    let asl = withStateField(loadDefinition('initiate-retrieval'), 'InitiateArchivesOfFile', ['ItemBatcher', 'MaxItemsPerBatch'], perBatch);
    asl = withStateField(asl, 'InitiateArchivesOfFile', ['MaxConcurrency'], batchConcurrency);
    const machine = distributedMapMachine(this, {
      definition: asl,
      substitutions: {
        InventoryBucket: storage.inventoryBucket.bucketName,
        NotificationTopicArn: storage.notificationTopic.topicArn,
        InitiateArchiveRetrievalFunctionArn: fn.functionArn,
      },
      functions: [fn],
      logRetention,
      encryptionKey: storage.encryptionKey,
      description: 'InitiateRetrieval state machine: reads the sorted inventory, invokes the batch function',
    });
    this.stateMachine = machine.stateMachine;
    this.logGroup = machine.logGroup;

    const bucket = storage.inventoryBucket;
    const sortedInventory = `*/${partitionPrefix('').replace(/^\//, '')}*`;
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListSortedInventory',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [sortedInventory] } },
    }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadSortedInventory',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(sortedInventory)],
    }));
    machine.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteMapRunResults',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [bucket.arnForObjects('tmp/initiate-retrieval/*')],
    }));
    storage.encryptionKey?.grantEncryptDecrypt(machine.role);
  }
}
