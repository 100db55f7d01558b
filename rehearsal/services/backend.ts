import { ApiStats } from './common';
import { DynamoHooks, LocalDynamo, startDynamo, TableDefinition } from './dynamodb';
import { startMotoDynamo } from './dynamodb-moto';
import { startMotoServer } from './moto';
import { LocalS3, S3FakeHooks, startS3Fake } from './s3-fake';
import { startMotoS3 } from './s3-moto';
import { SnsFake, SnsSubscription } from './sns-fake';
import { MotoSns } from './sns-moto';
import { LocalSqs, QueueDefinition, SendRewrite, startSqs, UnreconciledQueueDefinition } from './sqs';

/*
 * The one seam where the rehearsal chooses who serves S3, DynamoDB (streams included), SQS and SNS:
 *   own  — the project's local services (s3-fake, dynalite behind our proxy, local-aws-sqs, SnsFake);
 *   moto — one moto server (an emulator maintained outside this project) behind thin proxies that
 *          count requests and inject the same faults.
 * Glacier, CloudWatch, Step Functions and the Lambda event sources stay the project's own on both
 * (rehearsal/README.md says why, per service). The rest of the harness sees the same interfaces.
 */

export type { LocalS3 };

export type ServicesBackend = 'own' | 'moto';
export const SERVICES_BACKENDS: readonly ServicesBackend[] = ['own', 'moto'];

export interface LocalSns {
  readonly pending: number;
  readonly publishedCount: number;
  publish(topicArn: string, message: string, subject?: string): Promise<string>;
}

export interface BackendOptions {
  readonly kind: ServicesBackend;
  readonly accountId: string;
  readonly region: string;
  readonly stats: ApiStats;
  /** Rehearsal clock (multipart `Initiated`). */
  readonly now: () => number;
  readonly s3Hooks: S3FakeHooks;
  readonly tables: TableDefinition[];
  readonly dynamoHooks: DynamoHooks;
  readonly queues: QueueDefinition[];
  /** The queue the dead-letter queues redrive to (TransferStorage's unreconciled queue). */
  readonly unreconciled?: UnreconciledQueueDefinition;
  readonly rewriteSend: SendRewrite;
}

export interface Backend {
  readonly s3: LocalS3;
  readonly dynamo: LocalDynamo;
  readonly sqs: LocalSqs;
  readonly sns: LocalSns;
  /** Subscribes a local queue to a topic (SNS → SQS, as the construct wires the job notifications). */
  subscribe(subscription: SnsSubscription): Promise<void>;
  stop(): Promise<void>;
}

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const { stats, accountId, region } = options;
  if (options.kind === 'own') {
    const s3 = await startS3Fake({ accountId, stats, now: options.now, hooks: options.s3Hooks });
    const dynamo = await startDynamo({ tables: options.tables, stats, region, accountId, hooks: options.dynamoHooks });
    const sqs = await startSqs(options.queues, { stats, accountId, region, rewriteSend: options.rewriteSend, unreconciled: options.unreconciled });
    const sns = new SnsFake(sqs.client, stats, region);
    return {
      s3: { ...s3, clear: async () => s3.clear(), refresh: async () => undefined },
      dynamo,
      sqs,
      sns,
      subscribe: async (s) => sns.subscribe(s),
      stop: async () => {
        await Promise.all([s3.stop(), dynamo.stop(), sqs.stop()]);
      },
    };
  }
  const moto = await startMotoServer(accountId);
  try {
    const s3 = await startMotoS3({ upstream: moto.endpoint, stats, hooks: options.s3Hooks, now: options.now, region });
    const dynamo = await startMotoDynamo({ upstream: moto.endpoint, tables: options.tables, stats, hooks: options.dynamoHooks, region });
    const sqs = await startSqs(options.queues, {
      stats, accountId, region, rewriteSend: options.rewriteSend, upstream: moto.endpoint, unreconciled: options.unreconciled,
    });
    const sns = new MotoSns(moto.endpoint, sqs.client, stats, region);
    return {
      s3,
      dynamo,
      sqs,
      sns,
      subscribe: async (s) => sns.subscribe(s),
      stop: async () => {
        sns.stop();
        await Promise.all([s3.stop(), dynamo.stop(), sqs.stop()]);
        await moto.stop();
      },
    };
  } catch (e) {
    await moto.stop();
    throw e;
  }
}
