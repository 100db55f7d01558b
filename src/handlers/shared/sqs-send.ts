import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';

/** SQS accepts at most 10 entries per SendMessageBatch. */
export const SQS_BATCH_LIMIT = 10;

export interface SendAllOptions {
  /** Batches in flight at once. */
  readonly concurrency?: number;
  /** Tries per batch for entries SQS reports as failed. */
  readonly attempts?: number;
  /** Base delay of the exponential backoff between tries, in ms. */
  readonly backoffMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends every message, 10 per SendMessageBatch, several batches in flight, re-sending the entries
 * SQS reports in `Failed` with exponential backoff. Throws if some entries still fail (callers
 * only send idempotent messages, so a retry of the whole call is safe).
 */
export async function sendAllMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: ReadonlyArray<{ readonly id: string; readonly body: string }>,
  options: SendAllOptions = {},
): Promise<void> {
  const concurrency = options.concurrency ?? 8;
  const attempts = options.attempts ?? 6;
  const backoffMs = options.backoffMs ?? 100;
  const batches: SendMessageBatchRequestEntry[][] = [];
  for (let i = 0; i < messages.length; i += SQS_BATCH_LIMIT) {
    batches.push(messages.slice(i, i + SQS_BATCH_LIMIT).map((m) => ({ Id: m.id, MessageBody: m.body })));
  }

  const sendBatch = async (batch: SendMessageBatchRequestEntry[]): Promise<void> => {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      if (!Failed || Failed.length === 0) return;
      const failedIds = new Set(Failed.map((f) => f.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
      if (attempt >= attempts) {
        const first = Failed[0];
        throw new Error(`SQS rejected ${pending.length} message(s) after ${attempts} tries: ${first.Code}: ${first.Message ?? ''}`);
      }
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await sendBatch(batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
}
