import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { destinationStatement, grantDestinationWrite } from './destination-access';
import { DEAD_LETTER_RECONCILER_TIMEOUT } from './internal/dead-letters';
import { handlerFunctionOptions, suppressHandlerNag } from './internal/handler-function';
import { metricSum } from './internal/metric-sum';
import { stageLogRetention } from './internal/stage';
import { TransferStageProps } from './stage-props';
import { TransferStorage } from './transfer-storage';
import { Env } from '../contract/environment';
import { ARCHIVE_SK } from '../contract/keys';
import { COPY_FUNCTION_TIMEOUT_SECONDS } from '../core/archive-lifecycle';
import { ArchiveValidationFunction } from '../handlers/archive-retrieval/archive-validation-function';
import { ChunkRetrievalFunction } from '../handlers/archive-retrieval/chunk-retrieval-function';
import { DeadLetterReconcilerFunction } from '../handlers/archive-retrieval/dead-letter-reconciler-function';
import { MetricsProcessorFunction } from '../handlers/archive-retrieval/metrics-processor-function';
import { NotificationsProcessorFunction } from '../handlers/archive-retrieval/notifications-processor-function';

/** Properties of {@link ArchiveRetrieval}. */
export interface ArchiveRetrievalProps extends TransferStageProps {
  /** Bucket the archives are written to. */
  readonly destinationBucket: s3.IBucket;

  /**
   * Key prefix every destination object is written under; IAM write access is limited to it.
   *
   * @default - no prefix (the whole bucket)
   */
  readonly destinationPrefix?: string;

  /**
   * Account that must own the destination bucket; every S3 call carries it as
   * `ExpectedBucketOwner`, so a bucket re-created by someone else is never written to.
   *
   * @default - the stack's account
   */
  readonly destinationBucketOwner?: string;

  /** Glacier vault ARNs the handlers may read job output from. */
  readonly vaultArns: string[];

  /** Chunk size in bytes, a power-of-two number of MiB (validated by the caller). */
  readonly chunkSizeBytes: number;

  /**
   * Most concurrent NotificationsProcessor invocations.
   *
   * @default 20
   */
  readonly notificationsConcurrency?: number;

  /**
   * Most concurrent ChunkRetrieval invocations, i.e. chunks copied at once.
   *
   * @default 70
   */
  readonly chunkConcurrency?: number;

  /**
   * Most concurrent ArchiveValidation invocations.
   *
   * @default 20
   */
  readonly validationConcurrency?: number;

  /**
   * Memory of the ChunkRetrieval function in MiB. Chunks are streamed, so memory does not need to
   * grow with the chunk size; more memory buys more CPU for hashing.
   *
   * @default 1024
   */
  readonly chunkMemorySize?: number;

  /**
   * Times an archive is downloaded again after failing whole-archive verification before it is
   * marked failed.
   *
   * @default 3
   */
  readonly maxDownloadAttempts?: number;
}

/** Timeout of the SQS consumers; the queues' visibility timeouts are derived from these. */
// The functions that read a job's output: a job-bound failure waits this long after the window closes.
const NOTIFICATIONS_TIMEOUT = Duration.seconds(COPY_FUNCTION_TIMEOUT_SECONDS);
const CHUNK_TIMEOUT = Duration.seconds(COPY_FUNCTION_TIMEOUT_SECONDS);
const VALIDATION_TIMEOUT = Duration.minutes(10);

/**
 * The event-driven copy of staged archives into S3: Glacier job notifications start an upload,
 * chunks are streamed from Glacier into S3 parts and verified against Glacier's tree hash, the
 * last chunk triggers whole-archive validation, and a stream processor keeps per-run counters.
 */
export class ArchiveRetrieval extends Construct {
  public readonly notificationsProcessor: lambda.Function;
  public readonly chunkRetrieval: lambda.Function;
  public readonly archiveValidation: lambda.Function;
  public readonly metricsProcessor: lambda.Function;
  /**
   * Reads the notifications, chunk-retrieval and validation dead-letter queues back: the archive
   * of a dead-lettered message of its current job/upload ends FAILED with the DLQ reason.
   */
  public readonly deadLetterReconciler: lambda.Function;
  /** The shared storage this stage works on. */
  public readonly storage: TransferStorage;

  constructor(scope: Construct, id: string, props: ArchiveRetrievalProps) {
    super(scope, id);
    const { storage, destinationBucket } = props;
    this.storage = storage;
    const prefix = props.destinationPrefix ?? '';
    const owner = props.destinationBucketOwner ?? Stack.of(this).account;

    const environment: Record<string, string> = {
      [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
      [Env.METRICS_TABLE]: storage.metricsTable.tableName,
      [Env.DESTINATION_BUCKET]: destinationBucket.bucketName,
      [Env.DESTINATION_BUCKET_OWNER]: owner,
      [Env.CHUNK_QUEUE_URL]: storage.chunkQueue.queueUrl,
      [Env.VALIDATION_QUEUE_URL]: storage.validationQueue.queueUrl,
      [Env.CHUNK_SIZE]: String(props.chunkSizeBytes),
      [Env.MAX_DOWNLOAD_ATTEMPTS]: String(props.maxDownloadAttempts ?? 3),
      [Env.CHUNK_MAX_RECEIVES]: String(storage.chunkMaxReceiveCount),
      [Env.NOTIFICATIONS_MAX_RECEIVES]: String(storage.messageMaxReceiveCount),
      [Env.VALIDATION_MAX_RECEIVES]: String(storage.messageMaxReceiveCount),
      [Env.MAX_RETRIEVAL_JOBS]: String(storage.maxRetrievalJobsPerArchive),
    };
    const logRetention = stageLogRetention(props);
    const common = (name: string, timeout: Duration, memorySize: number) =>
      handlerFunctionOptions(this, name, { storage, timeout, memorySize, logRetention, environment });

    this.notificationsProcessor = new NotificationsProcessorFunction(this, 'NotificationsProcessor', {
      ...common('NotificationsProcessor', NOTIFICATIONS_TIMEOUT, 512),
      description: 'Starts the copy of each archive Glacier has staged',
    });
    this.chunkRetrieval = new ChunkRetrievalFunction(this, 'ChunkRetrieval', {
      ...common('ChunkRetrieval', CHUNK_TIMEOUT, props.chunkMemorySize ?? 1024),
      description: 'Streams one archive chunk from Glacier into one S3 part, verifying its tree hash',
    });
    this.archiveValidation = new ArchiveValidationFunction(this, 'ArchiveValidation', {
      ...common('ArchiveValidation', VALIDATION_TIMEOUT, 512),
      description: 'Verifies a whole archive against its tree hash and completes its upload',
    });
    this.metricsProcessor = new MetricsProcessorFunction(this, 'MetricsProcessor', {
      ...common('MetricsProcessor', Duration.minutes(5), 256),
      description: 'Counts archive status transitions per run from the transfer table stream',
    });

    this.notificationsProcessor.addEventSource(new sources.SqsEventSource(storage.notificationsQueue, {
      batchSize: 5,
      reportBatchItemFailures: true,
      maxConcurrency: props.notificationsConcurrency ?? 20,
    }));
    this.chunkRetrieval.addEventSource(new sources.SqsEventSource(storage.chunkQueue, {
      // One chunk (up to 4 GiB) per invocation so a chunk never waits behind another.
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: props.chunkConcurrency ?? 70,
    }));
    this.archiveValidation.addEventSource(new sources.SqsEventSource(storage.validationQueue, {
      batchSize: 5,
      reportBatchItemFailures: true,
      maxConcurrency: props.validationConcurrency ?? 20,
    }));
    this.deadLetterReconciler = new DeadLetterReconcilerFunction(this, 'DeadLetterReconciler', {
      ...handlerFunctionOptions(this, 'DeadLetterReconciler', {
        storage,
        timeout: DEAD_LETTER_RECONCILER_TIMEOUT,
        memorySize: 256,
        logRetention,
        environment: {
          [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
          [Env.INVENTORY_BUCKET]: storage.inventoryBucket.bucketName,
          [Env.DESTINATION_BUCKET]: destinationBucket.bucketName,
          [Env.DESTINATION_BUCKET_OWNER]: owner,
          [Env.NOTIFICATIONS_DLQ_ARN]: storage.notificationsDeadLetterQueue.queueArn,
          [Env.CHUNK_DLQ_ARN]: storage.chunkDeadLetterQueue.queueArn,
          [Env.VALIDATION_DLQ_ARN]: storage.validationDeadLetterQueue.queueArn,
          [Env.UNRECONCILED_QUEUE_URL]: storage.unreconciledQueue.queueUrl,
          [Env.CHUNK_MAX_RECEIVES]: String(storage.chunkMaxReceiveCount),
          [Env.NOTIFICATIONS_MAX_RECEIVES]: String(storage.messageMaxReceiveCount),
          [Env.VALIDATION_MAX_RECEIVES]: String(storage.messageMaxReceiveCount),
        },
      }),
      description: 'Ends FAILED, with the DLQ reason, the archive of each dead-lettered notification, chunk or validation message',
    });
    for (const dlq of [storage.notificationsDeadLetterQueue, storage.chunkDeadLetterQueue, storage.validationDeadLetterQueue]) {
      this.deadLetterReconciler.addEventSource(new sources.SqsEventSource(dlq, {
        batchSize: 10,
        // A message that fails is reported alone and comes back; after the DLQ's own
        // maxReceiveCount it moves on to the unreconciled queue.
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }));
    }

    this.metricsProcessor.addEventSource(new sources.DynamoEventSource(storage.transferTable, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(10),
      bisectBatchOnError: true,
      retryAttempts: 20,
      reportBatchItemFailures: true,
      onFailure: new sources.SqsDlq(storage.streamDeadLetterQueue),
      // Only archive items carry statuses worth counting.
      filters: [lambda.FilterCriteria.filter({ dynamodb: { Keys: { sk: { S: lambda.FilterRule.isEqual(ARCHIVE_SK) } } } })],
    }));

    const writers = [this.notificationsProcessor, this.chunkRetrieval, this.archiveValidation];
    for (const fn of writers) {
      storage.transferTable.grantReadWriteData(fn);
      // PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload;
      // GetObject covers the HeadObject of the object just written. Only under the prefix, and
      // only while the bucket belongs to the expected owner (s3:ResourceAccount).
      grantDestinationWrite(fn, destinationBucket, prefix, owner);
      fn.addToRolePolicy(new iam.PolicyStatement({
        actions: ['glacier:GetJobOutput', 'glacier:DescribeJob'],
        resources: props.vaultArns,
      }));
    }
    storage.chunkQueue.grantSendMessages(this.notificationsProcessor);
    storage.chunkQueue.grantSendMessages(this.archiveValidation);
    storage.validationQueue.grantSendMessages(this.chunkRetrieval);
    // A re-staged archive whose parts are all in gets its validation message again.
    storage.validationQueue.grantSendMessages(this.notificationsProcessor);
    storage.metricsTable.grantReadWriteData(this.metricsProcessor);

    // The reconciler reads archive items (GetItem, Query of the JobIdIndex) and writes only the
    // FAILED transition (UpdateItem): no PutItem/DeleteItem/BatchWrite. It keeps each message under
    // `<run>/dead_letters/` of the inventory bucket and hands a message naming no archive on to the
    // unreconciled queue. It never talks to Glacier and only reads the destination (HeadObject,
    // through s3:GetObject under the prefix, held to the owner): a copy that landed before its
    // function died makes the archive downloaded instead of FAILED.
    storage.transferTable.grantReadData(this.deadLetterReconciler);
    storage.transferTable.grant(this.deadLetterReconciler, 'dynamodb:UpdateItem');
    storage.transferTable.encryptionKey?.grantEncrypt(this.deadLetterReconciler);
    storage.inventoryBucket.grantPut(this.deadLetterReconciler, '*/dead_letters/*');
    storage.unreconciledQueue.grantSendMessages(this.deadLetterReconciler);
    this.deadLetterReconciler.addToRolePolicy(destinationStatement(destinationBucket, owner, {
      sid: 'VerifyDestinationObjects',
      actions: ['s3:GetObject'],
      objects: `${prefix}*`,
    }));
    destinationBucket.encryptionKey?.grantDecrypt(this.deadLetterReconciler);
    suppressHandlerNag(this.deadLetterReconciler, 'Wildcards are limited to: the dead_letters/ prefix of every run in the inventory bucket (run ids are only known at run time), DynamoDB index ARNs of the transfer table, and KMS data-key actions generated by grants.');

    for (const fn of [...writers, this.metricsProcessor]) {
      suppressHandlerNag(fn, 'Wildcards are limited to: the destination prefix (object keys are only known at run time; held to the expected bucket owner by s3:ResourceAccount), DynamoDB index ARNs of the transfer table, and KMS data-key actions generated by grants.');
    }
  }

  /** Age of the oldest chunk waiting to be copied: a rising line means downloads fall behind. */
  public metricChunkQueueAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.storage.chunkQueue.metricApproximateAgeOfOldestMessage(props);
  }

  /** Chunks waiting to be copied. */
  public metricChunksWaiting(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.storage.chunkQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /**
   * Messages in the archive-retrieval dead-letter queues: the three SQS queues' (waiting for the
   * DeadLetterReconciler, which empties them within minutes) and the metrics processor's stream
   * on-failure queue (a record there is a counter update lost, and completion is judged from those
   * counters).
   */
  public metricDeadLetterMessages(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const s = this.storage;
    return metricSum('Dead-letter messages', {
      notifications: s.notificationsDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      chunks: s.chunkDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      validation: s.validationDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
      stream: s.streamDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
    }, props);
  }

  /**
   * Dead-lettered messages nothing will settle without an operator: the unreconciled queue (a
   * message naming no archive, or one whose reconciling kept failing) and the metrics processor's
   * stream on-failure queue. The dead-letter alarm watches this.
   */
  public metricUnreconciledMessages(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const s = this.storage;
    // Ids differ from metricDeadLetterMessages': both are drawn on one graph.
    return metricSum('Unreconciled dead-letter messages', {
      unreconciled: s.unreconciledQueue.metricApproximateNumberOfMessagesVisible(),
      streamFailures: s.streamDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
    }, props);
  }

  /**
   * Dead-lettered messages the DeadLetterReconciler settled (deleted from the three dead-letter
   * queues): each ended its archive FAILED (or downloaded, its verified copy already at the key), or
   * found it already ended or on a newer job/upload.
   */
  public metricReconciledDeadLetters(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const s = this.storage;
    return metricSum('Reconciled dead-letter messages', {
      reconciledNotifications: s.notificationsDeadLetterQueue.metricNumberOfMessagesDeleted(),
      reconciledChunks: s.chunkDeadLetterQueue.metricNumberOfMessagesDeleted(),
      reconciledValidation: s.validationDeadLetterQueue.metricNumberOfMessagesDeleted(),
    }, props);
  }

  /** Errors of the five archive-retrieval functions. */
  public metricErrors(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    return metricSum('Archive retrieval errors', {
      n: this.notificationsProcessor.metricErrors(),
      c: this.chunkRetrieval.metricErrors(),
      v: this.archiveValidation.metricErrors(),
      m: this.metricsProcessor.metricErrors(),
      r: this.deadLetterReconciler.metricErrors(),
    }, props);
  }

  /** Throttles of the chunk copier (a sign the account's Lambda concurrency is too low). */
  public metricChunkThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.chunkRetrieval.metricThrottles(props);
  }
}
