import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/*
 * One factory for every SDK client, so handlers run unchanged against AWS and against the local
 * rehearsal. The SDK itself honours the service-specific endpoint variables
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_GLACIER, …); the only local difference we add is
 * path-style S3 addressing when a custom S3 endpoint is set.
 */

const maxAttempts = Number(process.env.AWS_MAX_ATTEMPTS ?? '8');

export function createS3Client(): S3Client {
  return new S3Client({ maxAttempts, forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
}

export function createGlacierClient(): GlacierClient {
  return new GlacierClient({ maxAttempts });
}

export function createSqsClient(): SQSClient {
  return new SQSClient({ maxAttempts });
}

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts }), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** Reads a required environment variable, failing with its name when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}
