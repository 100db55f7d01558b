import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { Clock } from './clock';
import { FaultController } from './faults';
import { captureLevel } from './report/handler-logs';
import { Backend, LocalS3, LocalSns, ServicesBackend, startBackend } from './services/backend';
import { CloudWatchFake, startCloudWatchFake } from './services/cloudwatch-fake';
import { ApiStats } from './services/common';
import { LocalDynamo, pipelineTables } from './services/dynamodb';
import { GlacierFake, startGlacierFake } from './services/glacier-fake';
import { LambdaHandler, SqsPoller, SqsPollerOptions, StreamPoller } from './services/lambda-poller';
import { LocalSqs } from './services/sqs';
import { SfnApi, startSfnApi } from './sfn/api';
import type { LambdaHandler as StageHandler, SfnRuntime } from './sfn/runner';
import { realNow } from './virtual-time';
import { DEFAULT_DEAD_LETTER_RECONCILE_ATTEMPTS } from '../src/constructs/internal/dead-letters';
import { Env, InventoryEnv, OrchestrationEnv, RecoveryEnv } from '../src/contract/environment';

/**
 * Wall-clock visibility timeout of the rehearsal's queues: short, so a failed record comes back
 * quickly; the pollers hold a batch invisible while its invocation runs, as Lambda's
 * visibility >= function timeout rule does.
 */
const QUEUE_VISIBILITY_SECONDS = 2;

/*
 * Starts every local service once per process, points the handlers at them through environment
 * variables (BEFORE importing the handlers: their SDK clients are created at module load), and
 * wires the event sources: SNS → notifications queue, three SQS pollers, one stream poller.
 */

export const ACCOUNT_ID = '111122223333';
export const REGION = 'us-east-1';
export const NAMES = {
  transferTable: 'rehearsal-transfer',
  metricsTable: 'rehearsal-metrics',
  /** Task tokens waiting for the inventory job and for run completion. */
  asyncTable: 'rehearsal-async-facilitator',
  bucket: 'rehearsal-destination',
  /** Sorted inventory (partition CSVs), Distributed Map result files, window-extension lists. */
  inventoryBucket: 'rehearsal-inventory',
  topicArn: `arn:aws:sns:${REGION}:${ACCOUNT_ID}:rehearsal-glacier-jobs`,
  notificationsQueue: 'rehearsal-notifications',
  chunkQueue: 'rehearsal-chunk-retrieval',
  validationQueue: 'rehearsal-validation',
  /** TransferStorage's unreconciled queue: the three DLQs redrive to it. */
  unreconciledQueue: 'rehearsal-unreconciled',
  /** Shared EventBridge rules the orchestrator adds per-run targets to. */
  downloadWindowRule: 'rehearsal-download-window',
  completionRule: 'rehearsal-completion',
  dashboardRule: 'rehearsal-dashboard',
  metricsNamespace: 'Rehearsal/GlacierTransfer',
};

/** Names of the state machines as registered in a rehearsal SfnRuntime. */
export const MACHINES = {
  orchestrator: 'Orchestrator',
  inventory: 'InventoryRetrieval',
  initiate: 'InitiateRetrieval',
  window: 'DownloadWindowExtension',
} as const;

export function stateMachineArn(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${name}`;
}

export interface EnvironmentOptions {
  readonly chunkSize: number;
  readonly speed: number;
  readonly handlerLogLevel: string;
  readonly maxDownloadAttempts?: number;
  /** DAILY_QUOTA_BYTES of the request stages (default 1 TiB: never binding). Per run: `setDailyQuota`. */
  readonly dailyQuotaBytes?: number;
  /** Who serves S3, DynamoDB, SQS and SNS (`services/backend.ts`); default the project's own. */
  readonly services?: ServicesBackend;
}

/** The request-stage handlers (Step Functions tasks), imported after the environment is set. */
export interface StageHandlers {
  readonly initiateArchiveRetrieval: StageHandler;
  readonly archivesNeedingWindowExtension: StageHandler;
  readonly extendDownloadWindow: StageHandler;
  readonly recoverLostNotifications: StageHandler;
  // InventoryRetrieval
  readonly initiateInventoryRetrieval: StageHandler;
  readonly inventoryJobPoller: StageHandler;
  readonly inventoryChunkDownload: StageHandler;
  readonly inventoryValidation: StageHandler;
  readonly processInventory: StageHandler;
  // Orchestrator
  readonly runRecord: StageHandler;
  readonly archivesStatusCleanup: StageHandler;
  readonly completionChecker: StageHandler;
  readonly dashboardUpdate: StageHandler;
  readonly cleanupUploads: StageHandler;
  readonly runReport: StageHandler;
}

/** One InitiateJob Glacier accepted (archive retrievals only), on the virtual clock. */
export interface InitiatedJob {
  readonly at: number;
  readonly bytes: number;
  readonly archiveId: string;
  readonly vaultName: string;
  /** Wall-clock time Glacier accepted it (compared with the archive writes' `at`). */
  readonly wallAt: number;
}

/**
 * Work the harness cannot see in its queues: scheduled invocations it tracks, and the current
 * SfnRuntime's busy executions (not parked on a Wait, a task token or a `.sync` child).
 */
export class Activity {
  public runtime?: { busyExecutions(): number };
  private count = 0;

  public get busy(): number {
    return this.count + (this.runtime?.busyExecutions() ?? 0);
  }

  public enter(): void {
    this.count++;
  }

  public leave(): void {
    this.count--;
  }

  /** Counts `work` as busy while it runs. */
  public async track<T>(work: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await work();
    } finally {
      this.leave();
    }
  }
}

export const TiB = 1024 ** 4;

export interface Environment {
  readonly clock: Clock;
  readonly stats: ApiStats;
  readonly faults: FaultController;
  readonly services: ServicesBackend;
  readonly s3: LocalS3;
  readonly glacier: GlacierFake;
  readonly dynamo: LocalDynamo;
  readonly sqs: LocalSqs;
  readonly sns: LocalSns;
  readonly doc: DynamoDBDocumentClient;
  readonly glacierClient: GlacierClient;
  /** Harness S3 client (stand-in inventory writer, ItemReader/ResultWriter of the state machines). */
  readonly s3Client: S3Client;
  readonly cloudWatch: CloudWatchFake;
  /** SFN API the handlers reach (AWS_ENDPOINT_URL_SFN); it serves the runtime set with `useSfnRuntime`. */
  readonly sfnApi: SfnApi;
  readonly stageHandlers: StageHandlers;
  readonly activity: Activity;
  /** Every archive-retrieval InitiateJob of this process (all runs: the quota ledger is shared too). */
  readonly initiatedJobs: InitiatedJob[];
  /** `bucket/key` → successful PutObject + CompleteMultipartUpload (cleared by the harness per run). */
  readonly objectWrites: Map<string, number>;
  /**
   * Archive-item writes of the transfer table (diagnostics for open uploads: which step recorded,
   * replaced or dropped an upload id; cleared by the harness per run).
   */
  readonly archiveWrites: ArchiveWrite[];
  /** DAILY_QUOTA_BYTES the request handlers read at their next invocation. */
  dailyQuotaBytes: number;
  readonly pollers: {
    notifications: SqsPoller;
    chunks: SqsPoller;
    validation: SqsPoller;
    metrics: StreamPoller;
    /** The DeadLetterReconciler's three event sources, one per dead-letter queue, as deployed. */
    deadLetters: SqsPoller[];
  };
  readonly handlerErrors: Map<string, number>;
  /** Exceptions no handler caught (in Lambda they crash the runtime and fail the invocation). */
  readonly uncaught: string[];
  /** Points the SFN API at the runtime of the current run (SendTask*, DescribeExecution…). */
  useSfnRuntime(runtime: SfnRuntime): void;
  stop(): Promise<void>;
}

/** One archive-item write as the DynamoDB proxy saw it. */
export interface ArchiveWrite {
  readonly at: Date;
  readonly pk: string;
  readonly operation: string;
  readonly update: string;
  readonly condition: string;
  /** :uploadId of the write, when it names one. */
  readonly uploadId?: string;
  /** The status the write sets (a transition's :toStatus, a created item's status). */
  readonly toStatus?: string;
  /** `injected:<type>` (refused before it ran), `applied`, `applied+injected:<type>`, or `not applied` (condition, error). */
  outcome: string;
}

type SqsHandlerModule = { handler: LambdaHandler<SQSEvent> };
type StreamHandlerModule = { handler: LambdaHandler<DynamoDBStreamEvent> };
type StageHandlerModule = { handler: StageHandler };

async function importHandler<T>(name: string): Promise<T> {
  try {
    return await import(`../src/handlers/${name.includes('/') ? name : `archive-retrieval/${name}`}`) as T;
  } catch (e) {
    throw new Error(`cannot import handler ${name}: ${(e as Error).message}`);
  }
}

export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const clock = new Clock(options.speed);
  const stats = new ApiStats();
  const faults = new FaultController();
  faults.now = () => clock.now();
  const credentials = { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' };
  const objectWrites = new Map<string, number>();
  const archiveWrites: ArchiveWrite[] = [];
  // The write a request body stands for (UpdateItem/PutItem/DeleteItem and every update of a transaction).
  const writesOf = (op: string, body: Record<string, unknown>): Omit<ArchiveWrite, 'at' | 'outcome'>[] => {
    const one = (operation: string, params: Record<string, unknown> | undefined): Omit<ArchiveWrite, 'at' | 'outcome'> | undefined => {
      if (!params || params.TableName !== NAMES.transferTable) return undefined;
      const key = (params.Key ?? params.Item) as { pk?: { S?: string }; sk?: { S?: string } } | undefined;
      if (key?.sk?.S !== 'archive' || key.pk?.S === undefined) return undefined;
      const values = (params.ExpressionAttributeValues ?? {}) as Record<string, { S?: string }>;
      return {
        pk: key.pk.S,
        operation,
        update: String(params.UpdateExpression ?? (params.Item ? 'PUT' : '')),
        condition: String(params.ConditionExpression ?? ''),
        uploadId: values[':uploadId']?.S,
        toStatus: values[':toStatus']?.S ?? (params.Item as { status?: { S?: string } } | undefined)?.status?.S,
      };
    };
    if (op === 'TransactWriteItems') {
      return ((body.TransactItems as Record<string, Record<string, unknown>>[] | undefined) ?? [])
        .map((t) => one(`Transact${t.Update ? 'Update' : t.Put ? 'Put' : 'Delete'}`, t.Update ?? t.Put ?? t.Delete))
        .filter((w): w is Omit<ArchiveWrite, 'at' | 'outcome'> => w !== undefined);
    }
    if (op !== 'UpdateItem' && op !== 'PutItem' && op !== 'DeleteItem') return [];
    const w = one(op, body);
    return w ? [w] : [];
  };
  const pendingWrites = new WeakMap<Record<string, unknown>, ArchiveWrite[]>();

  const services = options.services ?? 'own';
  const backend: Backend = await startBackend({
    kind: services,
    accountId: ACCOUNT_ID,
    region: REGION,
    stats,
    now: () => clock.now(),
    s3Hooks: {
      before: (op, bucket, key) => faults.s3Before(op, bucket, key),
      afterApplied: (op, bucket, key) => faults.s3AfterApplied(op, bucket, key),
      afterWrite: (op, bucket, key) => {
        if (op !== 'UploadPart') objectWrites.set(`${bucket}/${key}`, (objectWrites.get(`${bucket}/${key}`) ?? 0) + 1);
        faults.s3AfterWrite(op, bucket);
      },
    },
    tables: [
      ...pipelineTables(NAMES.transferTable, NAMES.metricsTable),
      { TableName: NAMES.asyncTable, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] },
    ],
    dynamoHooks: {
      before: (op, body) => {
        const injected = faults.dynamo(op, body);
        const writes = writesOf(op, body).map((w) => ({ ...w, at: new Date(realNow()), outcome: injected ? `injected:${injected.type}` : 'not applied' }));
        archiveWrites.push(...writes);
        if (!injected && writes.length > 0) pendingWrites.set(body, writes);
        return injected;
      },
      after: (op, body) => {
        const injected = faults.dynamoAfter(op, body);
        for (const w of pendingWrites.get(body) ?? []) w.outcome = injected ? `applied+injected:${injected.type}` : 'applied';
        return injected;
      },
    },
    // Receive counts mirror TransferStorage: 10 for notifications and validation, chunkMaxReceiveCount
    // (default 40) for chunks, whose messages of an expired job wait here for the re-staged one.
    queues: [
      { name: NAMES.notificationsQueue, visibilityTimeoutSeconds: QUEUE_VISIBILITY_SECONDS, maxReceiveCount: 10 },
      { name: NAMES.chunkQueue, visibilityTimeoutSeconds: QUEUE_VISIBILITY_SECONDS, maxReceiveCount: 40 },
      { name: NAMES.validationQueue, visibilityTimeoutSeconds: QUEUE_VISIBILITY_SECONDS, maxReceiveCount: 10 },
    ],
    // As TransferStorage: each DLQ redrives to the unreconciled queue after its source queue's
    // maxReceiveCount + deadLetterReconcileAttempts (default 5) receives.
    unreconciled: { name: NAMES.unreconciledQueue, extraReceives: DEFAULT_DEAD_LETTER_RECONCILE_ATTEMPTS },
    rewriteSend: (op, body) => faults.rewriteSend(op, body),
  });
  const { s3, dynamo, sqs, sns } = backend;
  faults.scope = { destinationBucket: NAMES.bucket, transferTable: NAMES.transferTable, chunkQueueArn: sqs.queues.get(NAMES.chunkQueue)!.arn };
  await backend.subscribe({ topicArn: NAMES.topicArn, queueUrl: sqs.queues.get(NAMES.notificationsQueue)!.url });
  const initiatedJobs: InitiatedJob[] = [];
  const glacier = await startGlacierFake({
    clock,
    stats,
    accountId: ACCOUNT_ID,
    region: REGION,
    publish: async (topic, message) => sns.publish(topic, message),
    hooks: {
      fault: (info) => faults.glacier(info),
      notificationCopies: (job) => faults.notificationCopies(job),
      holdJob: (job) => faults.heldArchives.has(job.archive?.archiveId ?? ''),
      onJobInitiated: (job) => {
        if (job.action !== 'ArchiveRetrieval') return;
        initiatedJobs.push({
          at: job.createdAt, bytes: job.rangeEnd - job.rangeStart + 1, archiveId: job.archive!.archiveId, vaultName: job.vaultName, wallAt: realNow(),
        });
      },
    },
  });

  const cloudWatch = await startCloudWatchFake({ stats });
  let sfnRuntime: SfnRuntime | undefined;
  const activity = new Activity();
  const sfnApi = await startSfnApi({
    api: async (operation: string, body: unknown) => {
      if (!sfnRuntime) throw Object.assign(new Error('no state machine runtime in this rehearsal run'), { name: 'InvalidArn' });
      stats.count('SFN', operation);
      return sfnRuntime.api(operation, body);
    },
  });

  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_GLACIER: glacier.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_SFN: sfnApi.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.endpoint,
    // INFO at least: the harness captures the handlers' lines for the log-field check (report/handler-logs.ts).
    POWERTOOLS_LOG_LEVEL: captureLevel(options.handlerLogLevel),
    POWERTOOLS_SERVICE_NAME: 'rehearsal',
    POWERTOOLS_METRICS_NAMESPACE: 'rehearsal',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: 'rehearsal',
    [Env.TRANSFER_TABLE]: NAMES.transferTable,
    [Env.METRICS_TABLE]: NAMES.metricsTable,
    [Env.DESTINATION_BUCKET]: NAMES.bucket,
    [Env.DESTINATION_BUCKET_OWNER]: ACCOUNT_ID,
    [Env.CHUNK_QUEUE_URL]: sqs.queues.get(NAMES.chunkQueue)!.url,
    [Env.VALIDATION_QUEUE_URL]: sqs.queues.get(NAMES.validationQueue)!.url,
    [Env.TOPIC_ARN]: NAMES.topicArn,
    // DeadLetterReconciler: its event sources are the three DLQs.
    [Env.NOTIFICATIONS_DLQ_ARN]: sqs.queues.get(NAMES.notificationsQueue)!.dlqArn,
    [Env.CHUNK_DLQ_ARN]: sqs.queues.get(NAMES.chunkQueue)!.dlqArn,
    [Env.VALIDATION_DLQ_ARN]: sqs.queues.get(NAMES.validationQueue)!.dlqArn,
    [Env.UNRECONCILED_QUEUE_URL]: sqs.unreconciled!.url,
    [Env.CHUNK_SIZE]: String(options.chunkSize),
    [Env.MAX_DOWNLOAD_ATTEMPTS]: String(options.maxDownloadAttempts ?? 3),
    [Env.RUN_DATA_TTL_DAYS]: '0',
    // Request stages (InitiateRetrieval, DownloadWindowExtension); read at every invocation.
    [Env.INVENTORY_BUCKET]: NAMES.inventoryBucket,
    [Env.DAILY_QUOTA_BYTES]: String(options.dailyQuotaBytes ?? TiB),
    [Env.QUOTA_BUCKET_SECONDS]: '60',
    [Env.INITIATE_REQUESTS_PER_SECOND]: '100',
    [Env.INITIATE_CONCURRENCY]: '20',
    [Env.INITIATE_MAX_ATTEMPTS]: '4',
    [Env.WINDOW_EXTENSION_MARGIN_SECONDS]: String(5 * 3600),
    [Env.WINDOW_EXTENSION_MAX_WAIT_SECONDS]: '1200',
    // RecoverLostNotifications (first step of DownloadWindowExtension); overdue thresholds are the handler's defaults.
    [RecoveryEnv.NOTIFICATIONS_QUEUE_URL]: sqs.queues.get(NAMES.notificationsQueue)!.url,
    // Inventory stage (PARTITION_SIZE_BYTES and DESTINATION_PREFIX are set per run) and orchestrator.
    [Env.ASYNC_FACILITATOR_TABLE]: NAMES.asyncTable,
    [InventoryEnv.DESTINATION_PREFIX]: '',
    [InventoryEnv.PARTITION_SIZE]: String(TiB),
    [InventoryEnv.MAX_ARCHIVE_SIZE]: String(40 * 1024 ** 4),
    [InventoryEnv.ROWS_PER_FILE]: '5',
    [OrchestrationEnv.INITIATE_STATE_MACHINE_ARN]: stateMachineArn(MACHINES.initiate),
    [OrchestrationEnv.STORAGE_CLASS]: 'DEEP_ARCHIVE',
    [OrchestrationEnv.RETRIEVAL_TIER]: 'Bulk',
    // RunRecord refuses a tier the deployment does not allow; runs choose theirs (Bulk unless a run says otherwise).
    [OrchestrationEnv.ALLOWED_RETRIEVAL_TIERS]: 'Bulk,Standard,Expedited',
    [OrchestrationEnv.METRICS_NAMESPACE]: NAMES.metricsNamespace,
  });

  // The harness's own clients (stand-in stage, report) talk to the same services.
  // Each counts its requests as `Harness` `<service>.<operation>` too, so the report can tell them from the pipeline's.
  const dynamoClient = new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials });
  countHarnessRequests(dynamoClient, 'DynamoDB', stats);
  const doc = DynamoDBDocumentClient.from(dynamoClient, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const glacierClient = new GlacierClient({ region: REGION, endpoint: glacier.endpoint, credentials, maxAttempts: 10 });
  countHarnessRequests(glacierClient, 'Glacier', stats);
  const s3Client = new S3Client({ region: REGION, endpoint: s3.endpoint, forcePathStyle: true, credentials, maxAttempts: 10 });
  countHarnessRequests(s3Client, 'S3', stats);
  await s3Client.send(new CreateBucketCommand({ Bucket: NAMES.bucket }));
  await s3Client.send(new CreateBucketCommand({ Bucket: NAMES.inventoryBucket }));

  const notifications = await importHandler<SqsHandlerModule>('notifications-processor.lambda');
  const chunks = await importHandler<SqsHandlerModule>('chunk-retrieval.lambda');
  const validation = await importHandler<SqsHandlerModule>('archive-validation.lambda');
  const metrics = await importHandler<StreamHandlerModule>('metrics-processor.lambda');
  const deadLetters = await importHandler<SqsHandlerModule>('dead-letter-reconciler.lambda');
  const stageHandlers: StageHandlers = {
    initiateArchiveRetrieval: (await importHandler<StageHandlerModule>('initiate-retrieval/initiate-archive-retrieval.lambda')).handler,
    archivesNeedingWindowExtension: (await importHandler<StageHandlerModule>('download-window-extension/archives-needing-window-extension.lambda')).handler,
    extendDownloadWindow: (await importHandler<StageHandlerModule>('download-window-extension/extend-download-window.lambda')).handler,
    recoverLostNotifications: (await importHandler<StageHandlerModule>('archive-retrieval/recover-lost-notifications.lambda')).handler,
    initiateInventoryRetrieval: (await importHandler<StageHandlerModule>('inventory-retrieval/initiate-inventory-retrieval.lambda')).handler,
    inventoryJobPoller: (await importHandler<StageHandlerModule>('inventory-retrieval/inventory-job-poller.lambda')).handler,
    inventoryChunkDownload: (await importHandler<StageHandlerModule>('inventory-retrieval/inventory-chunk-download.lambda')).handler,
    inventoryValidation: (await importHandler<StageHandlerModule>('inventory-retrieval/inventory-validation.lambda')).handler,
    processInventory: (await importHandler<StageHandlerModule>('inventory-retrieval/process-inventory.lambda')).handler,
    runRecord: (await importHandler<StageHandlerModule>('orchestration/run-record.lambda')).handler,
    archivesStatusCleanup: (await importHandler<StageHandlerModule>('orchestration/archives-status-cleanup.lambda')).handler,
    completionChecker: (await importHandler<StageHandlerModule>('orchestration/completion-checker.lambda')).handler,
    dashboardUpdate: (await importHandler<StageHandlerModule>('orchestration/dashboard-update.lambda')).handler,
    cleanupUploads: (await importHandler<StageHandlerModule>('orchestration/cleanup-uploads.lambda')).handler,
    runReport: (await importHandler<StageHandlerModule>('orchestration/run-report.lambda')).handler,
  };

  const handlerErrors = new Map<string, number>();
  const uncaught: string[] = [];
  const onUncaught = (error: unknown): void => {
    uncaught.push(`${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300));
    if (process.env.REHEARSAL_DEBUG_UNCAUGHT) console.error(error);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const onError = (name: string, error: unknown): void => {
    const key = `${name}: ${(error as Error)?.name ?? 'Error'}`;
    handlerErrors.set(key, (handlerErrors.get(key) ?? 0) + 1);
  };
  const queue = (name: string) => sqs.queues.get(name)!;
  // Every SQS event source as deployed, with what they all share: the client, the counters, the
  // visibility timeout and the delivery faults (redelivery, twins; reordering except on the DLQs).
  type EventSource = Pick<SqsPollerOptions, 'functionName' | 'queue' | 'handler' | 'batchSize' | 'maxConcurrency' | 'invocationTimeoutMs' | 'idlePollMs'>;
  const sqsPoller = (source: EventSource, reorder = true): SqsPoller => new SqsPoller({
    ...source,
    client: sqs.client,
    visibilityTimeoutSeconds: QUEUE_VISIBILITY_SECONDS,
    // moto answers a long poll as soon as a message is sent (a message visible again after a failed
    // receive or a DelaySeconds: at the end of the second); local-aws-sqs only at the end of the wait.
    receiveWaitSeconds: services === 'moto' ? 1 : 0,
    stats,
    onError,
    redeliver: (r) => faults.redeliver(r),
    reorder: reorder ? (records) => faults.reorder(records) : undefined,
    twin: (records) => faults.twin(records),
  });
  const pollers = {
    notifications: sqsPoller({
      functionName: 'NotificationsProcessor',
      queue: queue(NAMES.notificationsQueue),
      handler: notifications.handler,
      batchSize: 10,
      maxConcurrency: 2,
      invocationTimeoutMs: 60_000,
    }),
    chunks: sqsPoller({
      functionName: 'ChunkRetrieval',
      queue: queue(NAMES.chunkQueue),
      handler: chunks.handler,
      batchSize: 1,
      maxConcurrency: 4,
      invocationTimeoutMs: 15_000,
    }),
    validation: sqsPoller({
      functionName: 'ArchiveValidation',
      queue: queue(NAMES.validationQueue),
      handler: validation.handler,
      batchSize: 5,
      maxConcurrency: 2,
      invocationTimeoutMs: 60_000,
    }),
    // One event source per dead-letter queue, batch size 10, maximum concurrency 2 (ArchiveRetrieval).
    deadLetters: [NAMES.notificationsQueue, NAMES.chunkQueue, NAMES.validationQueue].map((name) => sqsPoller({
      functionName: 'DeadLetterReconciler',
      queue: { ...queue(name), url: queue(name).dlqUrl, arn: queue(name).dlqArn },
      handler: deadLetters.handler,
      batchSize: 10,
      maxConcurrency: 2,
      invocationTimeoutMs: 60_000,
      // Usually empty: polled less often, so six idle workers do not load the local SQS.
      idlePollMs: 250,
    }, false)),
    metrics: new StreamPoller({
      functionName: 'MetricsProcessor',
      records: dynamo.streams.get(NAMES.transferTable)!,
      handler: metrics.handler,
      batchSize: 100,
      maxRetries: 20,
      retryDelayMs: 50,
      stats,
      onError,
    }),
  };
  for (const p of Object.values(pollers).flat()) p.start();

  return {
    clock,
    stats,
    faults,
    services,
    s3,
    glacier,
    dynamo,
    sqs,
    sns,
    doc,
    glacierClient,
    s3Client,
    cloudWatch,
    sfnApi,
    useSfnRuntime: (runtime: SfnRuntime) => {
      sfnRuntime = runtime;
      activity.runtime = runtime;
    },
    stageHandlers,
    activity,
    initiatedJobs,
    objectWrites,
    archiveWrites,
    get dailyQuotaBytes(): number {
      return Number(process.env[Env.DAILY_QUOTA_BYTES]);
    },
    set dailyQuotaBytes(bytes: number) {
      process.env[Env.DAILY_QUOTA_BYTES] = String(bytes);
    },
    pollers,
    handlerErrors,
    uncaught,
    stop: async () => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
      await Promise.all(Object.values(pollers).flat().map(async (p) => p.stop()));
      doc.destroy();
      glacierClient.destroy();
      s3Client.destroy();
      clock.stop();
      sfnRuntime?.close();
      await Promise.all([backend.stop(), glacier.stop(), cloudWatch.stop(), sfnApi.stop()]);
    },
  };
}

/**
 * Counts every command `client` sends as stats `Harness` `<service>.<Operation>` (once per command,
 * retries not included). The services count these requests as well; a consumer that wants the
 * pipeline's requests alone subtracts them (test/core/cost-request-counts.test.ts).
 */
function countHarnessRequests(client: { middlewareStack: { add: (...args: any[]) => void } }, service: string, stats: ApiStats): void {
  client.middlewareStack.add((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    stats.count('Harness', `${service}.${String(context.commandName ?? 'unknown').replace(/Command$/, '')}`);
    return next(args);
  }, { step: 'initialize', name: 'countHarnessRequests' });
}
