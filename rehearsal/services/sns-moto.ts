import { CreateTopicCommand, PublishCommand, SetSubscriptionAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ApiStats } from './common';
import type { SnsSubscription } from './sns-fake';

/**
 * SNS served by moto: the topic and its SQS subscription live in moto, Publish goes through the SDK
 * and moto delivers the envelope to the subscribed queue itself. Same surface as `SnsFake`, so the
 * Glacier fake publishes job notifications the same way on both backends.
 */
export class MotoSns {
  private readonly client: SNSClient;
  private readonly topics = new Set<string>();
  private published = 0;
  private inFlight = 0;

  constructor(endpoint: string, private readonly sqs: SQSClient, private readonly stats?: ApiStats, region = 'us-east-1') {
    this.client = new SNSClient({ region, endpoint, credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });
  }

  /** Creates the topic (named by its ARN) and subscribes the queue to it. */
  public async subscribe(subscription: SnsSubscription): Promise<void> {
    const name = subscription.topicArn.split(':').pop()!;
    const topicArn = (await this.client.send(new CreateTopicCommand({ Name: name }))).TopicArn!;
    if (topicArn !== subscription.topicArn) throw new Error(`moto created topic ${topicArn}, expected ${subscription.topicArn} (MOTO_ACCOUNT_ID not applied?)`);
    this.topics.add(topicArn);
    const queueArn = (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: subscription.queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const { SubscriptionArn } = await this.client.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
    if (subscription.raw) await this.client.send(new SetSubscriptionAttributesCommand({ SubscriptionArn, AttributeName: 'RawMessageDelivery', AttributeValue: 'true' }));
  }

  public get pending(): number {
    return this.inFlight;
  }

  public get publishedCount(): number {
    return this.published;
  }

  public async publish(topicArn: string, message: string, subject?: string): Promise<string> {
    this.stats?.count('SNS', 'Publish');
    this.published++;
    this.inFlight++;
    try {
      return (await this.client.send(new PublishCommand({ TopicArn: topicArn, Message: message, Subject: subject }))).MessageId!;
    } finally {
      this.inFlight--;
    }
  }

  public stop(): void {
    this.client.destroy();
  }
}
