/*
 * The unit tests' one SQS, behind a mocked SQSClient (every instance's send): queues that record the
 * bodies sent to them. As SQS does: SendMessageBatch reports failures per entry, refuses more than 10
 * entries, repeated entry ids and batches above 256 KiB; a message above 256 KiB is refused.
 */
import { createHash } from 'crypto';
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';

const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };
const MAX_BYTES = 256 * 1024;

const md5 = (body: string): string => createHash('md5').update(body).digest('hex');
const sqsError = (name: string, status: number, message: string) =>
  Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { ...meta, httpStatusCode: status } });

export class FakeSqs {
  public readonly mock = mockClient(SQSClient);
  /** Bodies sent, by queue URL. */
  public readonly sent = new Map<string, string[]>();
  /** Entry ids to report as Failed once (then accept). */
  public readonly failOnce = new Set<string>();
  /** Number of SendMessageBatch calls to reject outright (SQS 500). */
  public rejectBatches = 0;
  /** Number of SendMessage calls to reject outright (simulates dying before the send). */
  public rejectSends = 0;
  private nextId = 1;

  constructor() {
    this.mock.on(SendMessageBatchCommand).callsFake(async (input) => {
      if (this.rejectBatches > 0) {
        this.rejectBatches--;
        throw sqsError('InternalError', 500, 'We encountered an internal error. Please try again.');
      }
      const entries: SendMessageBatchRequestEntry[] = input.Entries ?? [];
      if (entries.length > 10) throw sqsError('TooManyEntriesInBatchRequest', 400, `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
      if (new Set(entries.map((e) => e.Id)).size !== entries.length) throw sqsError('BatchEntryIdsNotDistinct', 400, 'Id values must be distinct');
      const total = entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0);
      if (total > MAX_BYTES) throw sqsError('BatchRequestTooLong', 400, `Batch requests cannot be longer than ${MAX_BYTES} bytes. You have sent ${total} bytes.`);
      const failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
      const ok: Array<{ Id: string; MessageId: string; MD5OfMessageBody: string }> = [];
      for (const entry of entries) {
        if (this.failOnce.delete(entry.Id!)) {
          failed.push({ Id: entry.Id!, SenderFault: false, Code: 'InternalError', Message: 'Internal error' });
          continue;
        }
        ok.push({ Id: entry.Id!, MessageId: this.record(input.QueueUrl!, entry.MessageBody!), MD5OfMessageBody: md5(entry.MessageBody!) });
      }
      return { Successful: ok, Failed: failed, $metadata: meta };
    });
    this.mock.on(SendMessageCommand).callsFake(async (input) => {
      if (this.rejectSends > 0) {
        this.rejectSends--;
        throw Object.assign(new Error('Task timed out'), { name: 'TimeoutError' });
      }
      const bytes = Buffer.byteLength(input.MessageBody ?? '');
      if (bytes > MAX_BYTES) throw sqsError('InvalidParameterValue', 400, `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_BYTES} bytes.`);
      return { MessageId: this.record(input.QueueUrl!, input.MessageBody!), MD5OfMessageBody: md5(input.MessageBody!), $metadata: meta };
    });
  }

  public messages<T>(queueUrl: string): T[] {
    return (this.sent.get(queueUrl) ?? []).map((b) => JSON.parse(b) as T);
  }

  /** The messages of a queue, removed from it. */
  public take<T>(queueUrl: string): T[] {
    const out = this.messages<T>(queueUrl);
    this.sent.set(queueUrl, []);
    return out;
  }

  public reset(): void {
    this.mock.restore();
  }

  private record(url: string, body: string): string {
    const list = this.sent.get(url) ?? [];
    list.push(body);
    this.sent.set(url, list);
    return `m-${this.nextId++}`;
  }
}
