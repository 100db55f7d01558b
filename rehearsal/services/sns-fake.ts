/* eslint-disable @stylistic/max-len */
import { randomUUID } from 'crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ApiStats } from './common';

/*
 * In-process SNS: no usable SNS emulator exists for node (rehearsal/README.md). Publish wraps the
 * message in the standard (non-raw) SNS envelope and sends it to every subscribed local SQS queue,
 * which is exactly what an SNS → SQS subscription delivers in AWS.
 */

export interface SnsSubscription {
  readonly topicArn: string;
  readonly queueUrl: string;
  /** RawMessageDelivery: send the message itself instead of the envelope. */
  readonly raw?: boolean;
}

export class SnsFake {
  private readonly subscriptions: SnsSubscription[] = [];
  private readonly published: { topicArn: string; messageId: string }[] = [];
  private inFlight = 0;

  constructor(private readonly sqs: SQSClient, private readonly stats?: ApiStats, private readonly region = 'us-east-1') {}

  public subscribe(subscription: SnsSubscription): void {
    this.subscriptions.push(subscription);
  }

  /** Publishes whose deliveries have not finished yet. */
  public get pending(): number {
    return this.inFlight;
  }

  public get publishedCount(): number {
    return this.published.length;
  }

  /** Publishes like sns:Publish; resolves once every subscribed queue has the message. */
  public async publish(topicArn: string, message: string, subject?: string): Promise<string> {
    this.stats?.count('SNS', 'Publish');
    const messageId = randomUUID();
    this.published.push({ topicArn, messageId });
    const envelope = JSON.stringify({
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: topicArn,
      ...(subject ? { Subject: subject } : {}),
      Message: message,
      Timestamp: new Date().toISOString(),
      SignatureVersion: '1',
      Signature: Buffer.from(`rehearsal-signature-${messageId}`).toString('base64'),
      SigningCertURL: `https://sns.${this.region}.amazonaws.com/SimpleNotificationService-rehearsal.pem`,
      UnsubscribeURL: `https://sns.${this.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:rehearsal`,
    });
    const targets = this.subscriptions.filter((s) => s.topicArn === topicArn);
    this.inFlight++;
    try {
      await Promise.all(targets.map(async (s) => this.sqs.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: s.raw ? message : envelope }))));
    } finally {
      this.inFlight--;
    }
    return messageId;
  }
}
