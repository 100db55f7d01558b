import { ArnFormat, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DEAD_LETTER_RECONCILER_TIMEOUT, DEFAULT_DEAD_LETTER_RECONCILE_ATTEMPTS } from './internal/dead-letters';
import { suppressNag } from './nag';
import { MetricsTable, TransferTable } from '../contract/keys';
import { DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE } from '../core/archive-lifecycle';
import { validateSpendCaps } from '../core/run-spend';

/** Properties of {@link TransferStorage}. */
export interface TransferStorageProps {
  /**
   * Customer managed KMS key for the tables, queues and the inventory bucket.
   *
   * The SNS topic Glacier publishes to is never KMS-encrypted: Glacier cannot publish to an
   * encrypted topic. The key's policy gets a statement letting CloudWatch Logs of this account and
   * region use it (for an imported key, add that statement to its policy yourself).
   *
   * @default - AWS managed encryption (DynamoDB AWS-managed key, SQS-managed SSE, S3-managed SSE)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the tables and the inventory bucket when the construct is removed.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * How long each consumer of the chunk-retrieval queue may run. The queue's visibility timeout
   * is derived from it.
   *
   * @default Duration.minutes(15)
   */
  readonly chunkConsumerTimeout?: Duration;

  /**
   * How long a consumer of the notifications and validation queues may run.
   *
   * @default Duration.minutes(15)
   */
  readonly consumerTimeout?: Duration;

  /**
   * How many times a chunk message is received before it moves to its dead-letter queue.
   * Chunks of an archive whose download window expired wait on this queue until the archive is
   * staged again, so the product of this and the visibility timeout must exceed a re-staging.
   *
   * @default 40
   */
  readonly chunkMaxReceiveCount?: number;

  /**
   * How many times a Glacier job notification or a validation message is received before it moves
   * to its dead-letter queue. On the last receive a message that still fails marks its archive
   * FAILED with the error as the reason (an archive is never left in flight behind a
   * dead-lettered message). An integer from 2 to 1000.
   *
   * @default 10
   */
  readonly messageMaxReceiveCount?: number;

  /**
   * Receives of a dead-lettered message by the DeadLetterReconciler that fail before the message
   * moves on to the unreconciled queue (watched by the transfer's dead-letter alarm). Counted on
   * top of the source queue's maxReceiveCount, since SQS may carry a message's receive count over
   * into its dead-letter queue. An integer from 1 to 100.
   *
   * @default 5
   */
  readonly deadLetterReconcileAttempts?: number;

  /**
   * Glacier retrieval jobs one archive may have in one run attempt: its request plus every
   * re-request when its download window closes before it was copied. At the bound the archive is
   * FAILED with the reason instead of being requested again (each job costs a request fee and
   * quota). Resume starts the count again. An integer from 1 to 100.
   *
   * @default 3
   */
  readonly maxRetrievalJobsPerArchive?: number;

  /**
   * Most Glacier retrieval requests one run may make, over all its attempts (Resume included) and
   * the download-window extension's re-requests. At the cap the run pauses: its InitiateRetrieval
   * batch waits (state PausedAtRunSpendCap, looking again every 15 minutes), nothing is failed, and
   * raising the cap (deploy again) lets it continue.
   *
   * @default - no cap
   */
  readonly maxRetrievalRequestsPerRun?: number;

  /**
   * Most estimated retrieval dollars one run may spend (per-request plus per-GB retrieval price of
   * its tier, us-east-1 list prices of src/core/prices.ts), counted like `maxRetrievalRequestsPerRun`;
   * at the cap the run pauses the same way.
   *
   * @default - no cap
   */
  readonly maxRetrievalDollarsPerRun?: number;
}

/**
 * Storage shared by every stage of a transfer: the transfer-state, metrics and async-facilitator
 * tables, the inventory bucket, the SNS topic Glacier announces finished jobs on, and the
 * notifications, chunk-retrieval and validation queues, each with a dead-letter queue (read back
 * by ArchiveRetrieval's DeadLetterReconciler), and the unreconciled queue behind those.
 */
export class TransferStorage extends Construct {
  /** Every archive and chunk of every run, plus run records. Streams NEW_AND_OLD_IMAGES. */
  public readonly transferTable: dynamodb.Table;
  /** Per-run counters (count and bytes by status). */
  public readonly metricsTable: dynamodb.Table;
  /** Step Functions task tokens waiting for Glacier jobs or run completion. */
  public readonly asyncFacilitatorTable: dynamodb.Table;
  /** Inventories, sorted partitions, run reports. */
  public readonly inventoryBucket: s3.Bucket;
  /** Server access logs of the inventory bucket. */
  public readonly accessLogsBucket: s3.Bucket;
  /** Topic Glacier publishes job completions to. */
  public readonly notificationTopic: sns.Topic;
  /** Glacier job notifications (subscribed to the topic). */
  public readonly notificationsQueue: sqs.Queue;
  public readonly notificationsDeadLetterQueue: sqs.Queue;
  /** One message per archive chunk to copy. */
  public readonly chunkQueue: sqs.Queue;
  public readonly chunkDeadLetterQueue: sqs.Queue;
  /** One message per archive whose chunks are all copied. */
  public readonly validationQueue: sqs.Queue;
  public readonly validationDeadLetterQueue: sqs.Queue;
  /**
   * Dead-lettered messages the DeadLetterReconciler could not settle: those naming no archive
   * (handed on by the reconciler) and those whose reconciling kept failing (the dead-letter
   * queues' redrive). Nothing consumes it; the dead-letter alarm watches it.
   */
  public readonly unreconciledQueue: sqs.Queue;
  /** Failed DynamoDB stream batches of the metrics processor. */
  public readonly streamDeadLetterQueue: sqs.Queue;
  /** Receives of a chunk message before it moves to its dead-letter queue. */
  public readonly chunkMaxReceiveCount: number;
  /** Receives of a notification or validation message before it moves to its dead-letter queue. */
  public readonly messageMaxReceiveCount: number;
  /** Glacier retrieval jobs one archive may have in one run attempt. */
  public readonly maxRetrievalJobsPerArchive: number;
  /** Most Glacier retrieval requests per run (undefined: no cap). */
  public readonly maxRetrievalRequestsPerRun?: number;
  /** Most estimated retrieval dollars per run (undefined: no cap). */
  public readonly maxRetrievalDollarsPerRun?: number;
  /** The key passed in props, if any. */
  public readonly encryptionKey?: kms.IKey;

  /** Log group names (ARN patterns) CloudWatch Logs may use the key for; unset: every one of this account and region. */
  private logsKeyLogGroups?: string[];

  constructor(scope: Construct, id: string, props: TransferStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const key = props.encryptionKey;
    this.encryptionKey = key;

    // SqsSubscription adds `sns.amazonaws.com` to the queue key's policy; only under this flag is that
    // statement limited to this construct's topic (aws:SourceArn). A library cannot rely on the app's
    // flags, so it is set for this subtree (before any child exists, as setContext requires).
    this.node.setContext(cxapi.SNS_SUBSCRIPTIONS_SQS_DECRYPTION_POLICY, true);
    if (key) {
      // The log groups of every stage are encrypted with the same key (see GlacierVaultToS3Transfer);
      // CloudWatch Logs may use it only for this account's log groups in this region. An imported
      // key's policy cannot be changed from here: its owner must grant this.
      const stack = Stack.of(this);
      key.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': Lazy.list({
              produce: () => (this.logsKeyLogGroups ?? ['*']).map((name) =>
                stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
            }),
          },
        },
      }));
    }
    const tableEncryption = key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED;
    const tableDefaults = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: tableEncryption,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    };

    this.transferTable = new dynamodb.Table(this, 'TransferTable', {
      ...tableDefaults,
      partitionKey: { name: TransferTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TransferTable.sortKey, type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TransferTable.ttlAttribute,
    });
    this.transferTable.addGlobalSecondaryIndex({
      indexName: TransferTable.jobIdIndex,
      partitionKey: { name: TransferTable.jobIdAttribute, type: dynamodb.AttributeType.STRING },
      // Handlers re-read the item with a consistent GetItem, so the index only needs the keys.
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.transferTable.addGlobalSecondaryIndex({
      indexName: TransferTable.statusIndex,
      partitionKey: { name: TransferTable.statusIndexPartition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TransferTable.statusIndexSort, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.metricsTable = new dynamodb.Table(this, 'MetricsTable', {
      ...tableDefaults,
      partitionKey: { name: MetricsTable.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: MetricsTable.ttlAttribute,
    });

    this.asyncFacilitatorTable = new dynamodb.Table(this, 'AsyncFacilitatorTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      timeToLiveAttribute: 'expiresAt',
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // Server access log delivery only supports SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Object ownership is left to CDK: log delivery needs ACLs unless the consumer's app opts
      // into bucket-policy log delivery (@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy).
      versioned: true,
      removalPolicy,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    });
    suppressNag(this.accessLogsBucket, [
      { id: 'AwsSolutions-S1', reason: 'This is the access-log target bucket; logging it into itself would loop.' },
    ]);

    this.inventoryBucket = new s3.Bucket(this, 'InventoryBucket', {
      encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: key,
      bucketKeyEnabled: key !== undefined,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'inventory-bucket/',
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { noncurrentVersionExpiration: Duration.days(30) },
        // Working files of a run (batches, Distributed Map results) are not needed afterwards.
        { prefix: 'tmp/', expiration: Duration.days(14) },
      ],
    });

    this.notificationTopic = new sns.Topic(this, 'NotificationTopic', {
      enforceSSL: true,
    });
    // Only Glacier, acting for this account, may publish job completions.
    this.notificationTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GlacierJobNotifications',
        principals: [new iam.ServicePrincipal('glacier.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.notificationTopic.topicArn],
        conditions: { StringEquals: { 'AWS:SourceOwner': Stack.of(this).account } },
      }),
    );
    suppressNag(this.notificationTopic, [
      {
        id: 'AwsSolutions-SNS2',
        reason: 'Glacier cannot publish job notifications to a KMS-encrypted topic; messages carry job metadata only, never archive data, and publishing requires TLS.',
      },
    ]);

    const chunkTimeout = props.chunkConsumerTimeout ?? Duration.minutes(15);
    const consumerTimeout = props.consumerTimeout ?? Duration.minutes(15);
    const queueEncryption = key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED;
    const reconcileAttempts = props.deadLetterReconcileAttempts ?? DEFAULT_DEAD_LETTER_RECONCILE_ATTEMPTS;
    this.unreconciledQueue = new sqs.Queue(this, 'UnreconciledQueue', {
      encryption: queueEncryption,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    const makeQueue = (name: string, visibility: Duration, maxReceiveCount: number): [sqs.Queue, sqs.Queue] => {
      const dlq = new sqs.Queue(this, `${name}DeadLetterQueue`, {
        encryption: queueEncryption,
        encryptionMasterKey: key,
        enforceSSL: true,
        // Read back by the DeadLetterReconciler: as for every Lambda-consumed queue, six times its timeout.
        visibilityTimeout: Duration.seconds(DEAD_LETTER_RECONCILER_TIMEOUT.toSeconds() * 6),
        retentionPeriod: Duration.days(14),
        deadLetterQueue: { queue: this.unreconciledQueue, maxReceiveCount: Math.min(1000, maxReceiveCount + reconcileAttempts) },
        removalPolicy,
      });
      const queue = new sqs.Queue(this, `${name}Queue`, {
        encryption: queueEncryption,
        encryptionMasterKey: key,
        enforceSSL: true,
        visibilityTimeout: visibility,
        retentionPeriod: Duration.days(14),
        deadLetterQueue: { queue: dlq, maxReceiveCount },
        removalPolicy,
      });
      return [queue, dlq];
    };
    // Lambda's SQS guidance: visibility timeout at least six times the consumer's timeout, so a
    // batch held back by throttling is not redelivered while another invocation still holds it.
    this.messageMaxReceiveCount = props.messageMaxReceiveCount ?? 10;
    this.maxRetrievalJobsPerArchive = props.maxRetrievalJobsPerArchive ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
    validateSpendCaps(props);
    this.maxRetrievalRequestsPerRun = props.maxRetrievalRequestsPerRun;
    this.maxRetrievalDollarsPerRun = props.maxRetrievalDollarsPerRun;
    for (const [name, value, min, max] of [
      ['messageMaxReceiveCount', this.messageMaxReceiveCount, 2, 1000],
      ['maxRetrievalJobsPerArchive', this.maxRetrievalJobsPerArchive, 1, 100],
      ['deadLetterReconcileAttempts', reconcileAttempts, 1, 100],
    ] as const) {
      if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
    [this.notificationsQueue, this.notificationsDeadLetterQueue] = makeQueue('Notifications', Duration.seconds(consumerTimeout.toSeconds() * 6), this.messageMaxReceiveCount);
    this.chunkMaxReceiveCount = props.chunkMaxReceiveCount ?? 40;
    [this.chunkQueue, this.chunkDeadLetterQueue] = makeQueue('ChunkRetrieval', Duration.seconds(chunkTimeout.toSeconds() * 6), this.chunkMaxReceiveCount);
    [this.validationQueue, this.validationDeadLetterQueue] = makeQueue('Validation', Duration.seconds(consumerTimeout.toSeconds() * 6), this.messageMaxReceiveCount);
    this.notificationTopic.addSubscription(new subscriptions.SqsSubscription(this.notificationsQueue));

    this.streamDeadLetterQueue = new sqs.Queue(this, 'StreamDeadLetterQueue', {
      encryption: key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    for (const dlq of [this.unreconciledQueue, this.streamDeadLetterQueue]) {
      suppressNag(dlq, [
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue.' },
      ]);
    }
  }

  /**
   * Limits the key-policy statement for CloudWatch Logs to these log group names (ARN patterns
   * allowed), e.g. the log groups of the stages built on this storage.
   */
  public limitLogsKeyUseTo(logGroupNames: string[]): void {
    if (logGroupNames.length === 0) throw new Error('limitLogsKeyUseTo needs at least one log group name');
    this.logsKeyLogGroups = [...logGroupNames];
  }
}
