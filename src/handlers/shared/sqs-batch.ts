import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from './aws-errors';
import type { Log } from './logger';

/** How much of an unparsable message body goes into the log line. */
const BODY_SNIPPET_CHARS = 512;

/**
 * A message body that can never be processed. It is still reported as a failure (not dropped),
 * so SQS keeps redelivering it until `maxReceiveCount` moves it to the dead-letter queue, where an
 * operator can inspect it.
 */
export class MalformedMessageError extends Error {
  constructor(message: string, public readonly bodySnippet: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

export function snippet(body: string): string {
  return body.length > BODY_SNIPPET_CHARS ? `${body.slice(0, BODY_SNIPPET_CHARS)}…` : body;
}

/** `JSON.parse` that reports a `MalformedMessageError` carrying the start of the body. */
export function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new MalformedMessageError(`message body is not JSON: ${(err as Error).message}`, snippet(body));
  }
}

/**
 * Runs `handle` on every record with Powertools' partial batch processing: records that throw are
 * returned in `batchItemFailures` (and only they are redelivered). Every failure is logged once
 * here, with the message id and receive count; malformed bodies are logged with their raw start.
 */
export async function processSqsBatch(
  event: SQSEvent,
  context: Context | undefined,
  log: Log,
  handle: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      await handle(record);
    } catch (err) {
      const where = { messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount };
      if (err instanceof MalformedMessageError) {
        log.error('malformed message; it will be retried and then land in the dead-letter queue', {
          ...where,
          reason: err.message,
          bodySnippet: err.bodySnippet,
        });
      } else {
        log.error('message processing failed; SQS will redeliver it', { ...where, ...describeError(err) });
      }
      throw err;
    }
  };
  return processPartialResponse(event, recordHandler, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
}
