/* eslint-disable @stylistic/max-len */
import { createServer, IncomingMessage } from 'http';
import { PassThrough } from 'stream';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { createRequestHandler } from 'local-aws-sqs';
import { ApiStats, closeServer, listenLocal, readBody, RunningService } from './common';
import { forwardRequest, replayHeaders } from './forward';

/*
 * SQS for the rehearsal: local-aws-sqs (pure node, speaks the AWS JSON protocol the current SDK
 * uses, DLQ redrive, long polling) behind our own node:http server so we bind an ephemeral port
 * and count requests per operation. With `upstream` (the moto backend) the same server forwards to
 * that SQS instead, so request counts and the send-rewriting faults stay the same on both backends.
 */

export interface QueueDefinition {
  readonly name: string;
  readonly visibilityTimeoutSeconds: number;
  /** Receives before a message moves to `<name>-dlq`. */
  readonly maxReceiveCount: number;
}

export interface LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

/**
 * The queue behind the dead-letter queues, as TransferStorage's unreconciled queue: each `<name>-dlq`
 * redrives to it after the source queue's maxReceiveCount + `extraReceives` receives.
 */
export interface UnreconciledQueueDefinition {
  readonly name: string;
  readonly extraReceives: number;
}

export interface LocalSqs extends RunningService {
  readonly client: SQSClient;
  readonly queues: Map<string, LocalQueue>;
  /** The unreconciled queue, when one was asked for. */
  readonly unreconciled?: { readonly url: string; readonly arn: string };
  /** Visible + in-flight messages of a queue. */
  depth(url: string): Promise<number>;
  /** Removes and returns every message body of a queue (used to read DLQs for the report). */
  drain(url: string): Promise<string[]>;
  purge(url: string): Promise<void>;
  /** Changes a queue's RedrivePolicy maxReceiveCount (as a deployment's chunkMaxReceiveCount would). */
  setMaxReceiveCount(name: string, maxReceiveCount: number): Promise<void>;
}

/**
 * Fault hook on SendMessage/SendMessageBatch (AWS JSON body): returns the body to store instead
 * (e.g. batch entries reversed, DelaySeconds added), or undefined to keep it.
 */
export type SendRewrite = (operation: 'SendMessage' | 'SendMessageBatch', body: Record<string, unknown>) => Record<string, unknown> | undefined;

/** A request whose body was already read, handed on with `body` instead. */
function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = new PassThrough();
  Object.assign(replay, { headers: { ...req.headers, 'content-length': String(body.length) }, method: req.method, url: req.url, httpVersion: req.httpVersion });
  replay.end(body);
  return replay as unknown as IncomingMessage;
}

export async function startSqs(definitions: QueueDefinition[], options: { stats?: ApiStats; accountId?: string; region?: string; rewriteSend?: SendRewrite; upstream?: string; unreconciled?: UnreconciledQueueDefinition } = {}): Promise<LocalSqs> {
  let delegate: ((req: import('http').IncomingMessage, res: import('http').ServerResponse) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'Query';
    options.stats?.count('SQS', op);
    const rewrite = options.rewriteSend;
    const forward = async (): Promise<void> => {
      if (!rewrite || (op !== 'SendMessage' && op !== 'SendMessageBatch')) return delegate!(req, res);
      const raw = await readBody(req);
      let replaced: Record<string, unknown> | undefined;
      try {
        replaced = rewrite(op, JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
      } catch {
        replaced = undefined; // not JSON: local-aws-sqs answers it
      }
      return delegate!(replayRequest(req, replaced ? Buffer.from(JSON.stringify(replaced)) : raw), res);
    };
    forward().catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  });
  const { port, endpoint } = await listenLocal(server);
  const upstream = options.upstream;
  delegate = upstream ? async (req, res) => {
    const out = await forwardRequest(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, await readBody(req));
    res.writeHead(out.status, replayHeaders(out.headers, out.body.length));
    res.end(out.body);
  } : createRequestHandler({
    port,
    hostname: '127.0.0.1',
    accountId: options.accountId ?? '123456789012',
    region: options.region ?? 'us-east-1',
    emulateQueueCreationLifecycle: false,
    emulateLazyQueues: false,
  }).requestHandler;

  const client = new SQSClient({ region: options.region ?? 'us-east-1', endpoint, credentials: { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' } });
  const queues = new Map<string, LocalQueue>();
  const arnOf = async (url: string): Promise<string> =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  let unreconciled: { url: string; arn: string } | undefined;
  if (options.unreconciled) {
    const url = (await client.send(new CreateQueueCommand({ QueueName: options.unreconciled.name, Attributes: { MessageRetentionPeriod: '1209600' } }))).QueueUrl!;
    unreconciled = { url, arn: await arnOf(url) };
  }
  for (const def of definitions) {
    const dlqUrl = (await client.send(new CreateQueueCommand({
      QueueName: `${def.name}-dlq`,
      Attributes: {
        MessageRetentionPeriod: '1209600',
        VisibilityTimeout: String(def.visibilityTimeoutSeconds),
        ...(unreconciled && { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: unreconciled.arn, maxReceiveCount: def.maxReceiveCount + options.unreconciled!.extraReceives }) }),
      },
    }))).QueueUrl!;
    const dlqArn = await arnOf(dlqUrl);
    const url = (await client.send(new CreateQueueCommand({
      QueueName: def.name,
      Attributes: {
        VisibilityTimeout: String(def.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: def.maxReceiveCount }),
      },
    }))).QueueUrl!;
    queues.set(def.name, { name: def.name, url, arn: await arnOf(url), dlqUrl, dlqArn });
  }

  return {
    endpoint,
    client,
    queues,
    unreconciled,
    depth: async (url) => {
      const a = (await client.send(new GetQueueAttributesCommand({
        QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }))).Attributes ?? {};
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    },
    drain: async (url) => {
      const bodies: string[] = [];
      for (;;) {
        const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
        const messages = out.Messages ?? [];
        if (messages.length === 0) return bodies;
        bodies.push(...messages.map((m) => m.Body ?? ''));
        await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    },
    purge: async (url) => {
      await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    },
    setMaxReceiveCount: async (name, maxReceiveCount) => {
      const queue = queues.get(name);
      if (!queue) throw new Error(`no queue ${name}`);
      await client.send(new SetQueueAttributesCommand({
        QueueUrl: queue.url,
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queue.dlqArn, maxReceiveCount }) },
      }));
    },
    stop: async () => {
      client.destroy();
      await closeServer(server);
    },
  };
}
