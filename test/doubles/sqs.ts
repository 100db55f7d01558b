/*
 * The unit tests' one SQS, behind a mocked SQSClient (every instance's send): queues that record the
 * bodies sent to them. As SQS does: SendMessageBatch refuses more than 10 entries, repeated entry
 * ids and batches above 256 KiB; a message above 256 KiB is refused.
 */
import { createHash } from 'crypto';
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { awsError, Double } from './service';

const MAX_BYTES = 256 * 1024;
const md5 = (body: string): string => createHash('md5').update(body).digest('hex');

export class FakeSqs extends Double {
  /** Bodies sent, by queue URL. */
  public readonly sent = new Map<string, string[]>();
  private nextId = 1;

  constructor() {
    super(SQSClient);
    this.serve(SendMessageBatchCommand, (input) => {
      const entries: SendMessageBatchRequestEntry[] = input.Entries ?? [];
      if (entries.length > 10) throw awsError('TooManyEntriesInBatchRequest', 400, `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
      if (new Set(entries.map((e) => e.Id)).size !== entries.length) throw awsError('BatchEntryIdsNotDistinct', 400, 'Id values must be distinct');
      const total = entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0);
      if (total > MAX_BYTES) throw awsError('BatchRequestTooLong', 400, `Batch requests cannot be longer than ${MAX_BYTES} bytes. You have sent ${total} bytes.`);
      const ok = entries.map((e) => ({ Id: e.Id!, MessageId: this.record(input.QueueUrl!, e.MessageBody!), MD5OfMessageBody: md5(e.MessageBody!) }));
      return { Successful: ok, Failed: [] };
    });
    this.serve(SendMessageCommand, (input) => {
      const bytes = Buffer.byteLength(input.MessageBody ?? '');
      if (bytes > MAX_BYTES) throw awsError('InvalidParameterValue', 400, `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_BYTES} bytes.`);
      return { MessageId: this.record(input.QueueUrl!, input.MessageBody!), MD5OfMessageBody: md5(input.MessageBody!) };
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

  private record(url: string, body: string): string {
    const list = this.sent.get(url) ?? [];
    list.push(body);
    this.sent.set(url, list);
    return `m-${this.nextId++}`;
  }
}
