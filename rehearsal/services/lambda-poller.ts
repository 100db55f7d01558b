/* eslint-disable @stylistic/max-len */
import { randomUUID } from 'crypto';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { ApiStats, sleep } from './common';
import type { StreamRecord } from './dynamodb';
import type { LocalQueue } from './sqs';

/*
 * Lambda event-source mappings, emulated in process: no emulator provides them.
 *   - SqsPoller: long-polls a queue, invokes the handler with up to BatchSize records, deletes the
 *     records that succeeded (ReportBatchItemFailures), leaves the rest for redelivery after the
 *     visibility timeout (and, through the queue's redrive policy, the DLQ).
 *   - StreamPoller: delivers DynamoDB stream records in order, in batches; on a reported failure it
 *     checkpoints before the first failed sequence number and retries from there.
 */

export interface BatchResponse {
  batchItemFailures?: { itemIdentifier: string }[];
}

export type LambdaHandler<E> = (event: E, context: Context) => Promise<BatchResponse | void | undefined>;

export function lambdaContext(functionName: string, timeoutMs: number, region = 'us-east-1', accountId = '123456789012'): Context {
  const deadline = Date.now() + timeoutMs;
  const requestIdValue = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestIdValue,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/01/01/[$LATEST]${requestIdValue.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Counters every poller keeps for the report. */
export interface InvocationStats {
  invocations: number;
  records: number;
  failedRecords: number;
  errors: number;
  timeouts: number;
}

async function invokeWithTimeout<E>(handler: LambdaHandler<E>, event: E, context: Context, timeoutMs: number): Promise<{ result?: BatchResponse | void; error?: unknown; timedOut?: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });
  try {
    return await Promise.race([
      handler(event, context).then((result) => ({ result }), (error: unknown) => ({ error })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SqsPollerOptions {
  readonly functionName: string;
  readonly queue: LocalQueue;
  readonly client: SQSClient;
  readonly handler: LambdaHandler<SQSEvent>;
  readonly batchSize?: number;
  readonly maxConcurrency?: number;
  readonly invocationTimeoutMs?: number;
  /** The queue's visibility timeout: the batch is held invisible while its invocation runs (see holdWhileRunning). */
  readonly visibilityTimeoutSeconds?: number;
  readonly region?: string;
  readonly stats?: ApiStats;
  /** Fault hook: return true to NOT delete a successfully processed record (it comes back: a duplicate delivery). */
  readonly redeliver?: (record: SQSRecord) => boolean;
  /** Fault hook: the order the received records are handed to the handler in (a shuffle). */
  readonly reorder?: (records: SQSRecord[]) => SQSRecord[];
  /**
   * Fault hook: true = a second invocation gets a copy of the same batch at the same time (SQS
   * at-least-once delivery to two consumers). A record is deleted when either invocation processed
   * it successfully (that consumer deletes it), so the pair's conditional writes really race.
   */
  readonly twin?: (records: SQSRecord[]) => boolean;
  /** Called with every handler error (for the report). */
  readonly onError?: (functionName: string, error: unknown) => void;
  /** Wall-clock wait before polling an empty queue again (default 40 ms; a queue that is usually empty, like a DLQ, can wait longer). */
  readonly idlePollMs?: number;
  /**
   * ReceiveMessage's WaitTimeSeconds (default 0: short polls, then `idlePollMs`). A server whose long
   * poll answers as soon as a message arrives (moto) is polled with a long poll instead: an empty
   * short poll costs it as much as a delivery.
   */
  readonly receiveWaitSeconds?: number;
}

export class SqsPoller {
  public readonly stats: InvocationStats = { invocations: 0, records: 0, failedRecords: 0, errors: 0, timeouts: 0 };
  private running = false;
  private inFlight = 0;
  private workers: Promise<void>[] = [];

  constructor(private readonly options: SqsPollerOptions) {}

  /** Invocations currently running. */
  public get busy(): number {
    return this.inFlight;
  }

  public start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.options.maxConcurrency ?? 2 }, async () => this.work());
  }

  public async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    const { client, queue, handler, functionName } = this.options;
    const region = this.options.region ?? 'us-east-1';
    while (this.running) {
      let received;
      try {
        received = (await client.send(new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: this.options.batchSize ?? 10,
          WaitTimeSeconds: this.options.receiveWaitSeconds ?? 0,
          AttributeNames: ['All'] as never,
          MessageAttributeNames: ['All'],
        }))).Messages ?? [];
      } catch (e) {
        if (this.running) this.options.onError?.(`${functionName}(receive)`, e);
        await sleep(100);
        continue;
      }
      // local-aws-sqs can return the same message twice in one response; keep the latest receipt.
      const messages = [...new Map(received.map((m) => [m.MessageId, m])).values()];
      if (messages.length === 0) {
        // Short polls: local-aws-sqs long polls only notice new messages at the end of the wait.
        if (!this.options.receiveWaitSeconds) await sleep(this.options.idlePollMs ?? 40);
        continue;
      }
      this.inFlight++;
      const releaseHold = this.holdWhileRunning(messages.map((m) => m.ReceiptHandle!));
      try {
        const records: SQSRecord[] = messages.map((m) => ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body ?? '',
          attributes: {
            ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
            SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
            SenderId: m.Attributes?.SenderId ?? 'AIDAREHEARSAL',
            ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
          },
          messageAttributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([name, a]) => [name, {
            dataType: a.DataType ?? 'String',
            stringValue: a.StringValue,
            binaryValue: a.BinaryValue ? Buffer.from(a.BinaryValue).toString('base64') : undefined,
            stringListValues: [],
            binaryListValues: [],
          }])),
          md5OfBody: m.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: queue.arn,
          awsRegion: region,
        }));
        const ordered = this.options.reorder?.(records) ?? records;
        const invoke = async (batch: SQSRecord[]): Promise<Set<string>> => {
          const timeoutMs = this.options.invocationTimeoutMs ?? 60_000;
          this.stats.invocations++;
          this.stats.records += batch.length;
          this.options.stats?.count('Lambda', `Invoke:${functionName}`);
          const outcome = await invokeWithTimeout(handler, { Records: batch }, lambdaContext(functionName, timeoutMs, region), timeoutMs);
          const known = new Set(batch.map((r) => r.messageId));
          if (outcome.timedOut) {
            this.stats.timeouts++;
            return known;
          }
          if (outcome.error !== undefined) {
            this.stats.errors++;
            this.options.onError?.(functionName, outcome.error);
            return known;
          }
          const ids = ((outcome.result ?? {}) as BatchResponse).batchItemFailures?.map((f) => f.itemIdentifier) ?? [];
          // Like Lambda: an empty or unknown identifier fails the whole batch.
          return ids.some((id) => !id || !known.has(id)) ? known : new Set(ids);
        };
        let failed: Set<string>;
        if (this.options.twin?.(ordered)) {
          // Both start in the same tick; each gets its own copy of the records.
          const [a, b] = await Promise.all([invoke(ordered), invoke(structuredClone(ordered))]);
          failed = new Set([...a].filter((id) => b.has(id)));
        } else {
          failed = await invoke(ordered);
        }
        this.stats.failedRecords += failed.size;
        const done = records.filter((r) => !failed.has(r.messageId) && !this.options.redeliver?.(r));
        if (done.length > 0) {
          await client.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }))
            .catch((e: unknown) => this.options.onError?.(`${functionName}(delete)`, e));
        }
      } finally {
        releaseHold();
        this.inFlight--;
      }
    }
  }

  /**
   * Keeps the batch invisible while its invocation runs. Lambda requires a queue's visibility
   * timeout to be at least the function timeout, so a message is never redelivered while its
   * handler is still running; the rehearsal's queues use a short timeout (failed records come back
   * quickly), and on a loaded machine a handler outlived it and the copy ran twice at once. The
   * hold is renewed every half timeout; once the invocation ends, a failed record is visible again
   * after at most one timeout, as before.
   */
  private holdWhileRunning(receiptHandles: string[]): () => void {
    const { client, queue } = this.options;
    const seconds = this.options.visibilityTimeoutSeconds;
    if (!seconds) return () => undefined;
    const renew = (): void => {
      void client.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queue.url,
        Entries: receiptHandles.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle, VisibilityTimeout: seconds })),
      })).catch(() => undefined); // a receipt already deleted or expired needs no hold
    };
    const timer = setInterval(renew, (seconds * 1000) / 2);
    return () => clearInterval(timer);
  }
}

export interface StreamPollerOptions {
  readonly functionName: string;
  /** The live buffer the DynamoDB proxy appends to. */
  readonly records: StreamRecord[];
  readonly handler: LambdaHandler<DynamoDBStreamEvent>;
  readonly batchSize?: number;
  /** Retries of one batch before it goes to the on-failure destination (`discarded`). */
  readonly maxRetries?: number;
  readonly retryDelayMs?: number;
  readonly invocationTimeoutMs?: number;
  readonly stats?: ApiStats;
  readonly onError?: (functionName: string, error: unknown) => void;
}

export class StreamPoller {
  public readonly stats: InvocationStats = { invocations: 0, records: 0, failedRecords: 0, errors: 0, timeouts: 0 };
  /** Records given up on (Lambda's on-failure destination). */
  public readonly discarded: StreamRecord[] = [];
  private running = false;
  private active = false;
  private worker: Promise<void> | undefined;

  constructor(private readonly options: StreamPollerOptions) {}

  public get busy(): number {
    return this.active ? 1 : 0;
  }

  /** Records not yet successfully delivered. */
  public get pending(): number {
    return this.options.records.length;
  }

  public start(): void {
    if (this.running) return;
    this.running = true;
    this.worker = this.work();
  }

  public async stop(): Promise<void> {
    this.running = false;
    await this.worker;
  }

  private async work(): Promise<void> {
    const { records, handler, functionName } = this.options;
    const batchSize = this.options.batchSize ?? 100;
    const maxRetries = this.options.maxRetries ?? 10;
    let attempts = 0;
    while (this.running) {
      if (records.length === 0) {
        await sleep(15);
        continue;
      }
      this.active = true;
      try {
        const batch = records.slice(0, batchSize);
        const timeoutMs = this.options.invocationTimeoutMs ?? 60_000;
        this.stats.invocations++;
        this.stats.records += batch.length;
        this.options.stats?.count('Lambda', `Invoke:${functionName}`);
        const outcome = await invokeWithTimeout(handler, { Records: batch as DynamoDBStreamEvent['Records'] }, lambdaContext(functionName, timeoutMs), timeoutMs);
        let firstFailed = -1;
        if (outcome.timedOut || outcome.error !== undefined) {
          if (outcome.error !== undefined) this.options.onError?.(functionName, outcome.error);
          if (outcome.timedOut) this.stats.timeouts++;
          else this.stats.errors++;
          firstFailed = 0;
        } else {
          const ids = ((outcome.result ?? {}) as BatchResponse).batchItemFailures?.map((f) => f.itemIdentifier) ?? [];
          if (ids.length > 0) {
            const positions = ids.map((id) => batch.findIndex((r) => r.dynamodb.SequenceNumber === id));
            firstFailed = positions.some((p) => p < 0) ? 0 : Math.min(...positions);
          }
        }
        if (firstFailed < 0) {
          records.splice(0, batch.length);
          attempts = 0;
        } else {
          this.stats.failedRecords += batch.length - firstFailed;
          records.splice(0, firstFailed);
          attempts++;
          if (attempts > maxRetries) {
            this.discarded.push(...records.splice(0, batch.length - firstFailed));
            attempts = 0;
          } else {
            await sleep(this.options.retryDelayMs ?? 50);
          }
        }
      } finally {
        this.active = false;
      }
    }
  }
}
