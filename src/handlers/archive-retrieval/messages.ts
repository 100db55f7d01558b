import type { ChunkMessage, ValidationMessage } from '../../contract/messages';
import { MalformedMessageError, parseJsonBody, snippet } from '../shared/sqs-batch';

type Json = Record<string, unknown>;

function object(value: unknown, body: string, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedMessageError(`${what} must be a JSON object`, snippet(body));
  }
  return value as Json;
}

function text(obj: Json, field: string, body: string, what: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedMessageError(`${what}: "${field}" must be a non-empty string`, snippet(body));
  }
  return value;
}

function integer(obj: Json, field: string, body: string, what: string, min: number): number {
  const value = obj[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new MalformedMessageError(`${what}: "${field}" must be an integer >= ${min}`, snippet(body));
  }
  return value;
}

/** Parses and checks a chunk-queue message body. */
export function parseChunkMessage(body: string): ChunkMessage {
  const what = 'chunk message';
  const obj = object(parseJsonBody(body), body, what);
  const message: ChunkMessage = {
    runId: text(obj, 'runId', body, what),
    archiveId: text(obj, 'archiveId', body, what),
    jobId: text(obj, 'jobId', body, what),
    uploadId: text(obj, 'uploadId', body, what),
    partNumber: integer(obj, 'partNumber', body, what, 1),
    rangeStart: integer(obj, 'rangeStart', body, what, 0),
    rangeEnd: integer(obj, 'rangeEnd', body, what, 0),
    chunkCount: integer(obj, 'chunkCount', body, what, 1),
  };
  if (message.rangeEnd < message.rangeStart || message.partNumber > message.chunkCount) {
    throw new MalformedMessageError(`${what}: inconsistent range or part number`, snippet(body));
  }
  return message;
}

/** Parses and checks a validation-queue message body. */
export function parseValidationMessage(body: string): ValidationMessage {
  const what = 'validation message';
  const obj = object(parseJsonBody(body), body, what);
  return {
    runId: text(obj, 'runId', body, what),
    archiveId: text(obj, 'archiveId', body, what),
    uploadId: text(obj, 'uploadId', body, what),
  };
}
