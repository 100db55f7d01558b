import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isPositiveInteger, numberEnv } from './env';

/*
 * One factory for every SDK client the handlers use, so handlers run unchanged against AWS and
 * against the local rehearsal, and every client of a service retries the same way. A handler
 * creates its clients once per container, at module load. The SDK itself honours the
 * service-specific endpoint variables (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_GLACIER, …); the only
 * local difference we add is path-style S3 addressing when a custom S3 endpoint is set.
 */

/** The services the handlers call. */
export type Service = 's3' | 'glacier' | 'sqs' | 'dynamodb' | 'sfn' | 'eventbridge' | 'cloudwatch';

/** How the SDK retries one service's calls. */
export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** 'standard': exponential backoff with jitter; 'adaptive': also slows the client's own request rate after throttling. */
  readonly retryMode: 'standard' | 'adaptive';
}

// AWS_MAX_ATTEMPTS (the SDK's own variable) overrides the attempts for every service.
const maxAttempts = numberEnv('AWS_MAX_ATTEMPTS', 8, isPositiveInteger, 'a positive integer');
const standard: RetryPolicy = { maxAttempts, retryMode: 'standard' };

/**
 * One retry policy per service. Glacier's control plane answers ThrottlingException under load
 * (DescribeJob and InitiateJob of many archives at once), so its clients back off their request
 * rate too; every other service retries with the standard mode.
 */
export const RETRY_POLICIES: Readonly<Record<Service, RetryPolicy>> = {
  s3: standard,
  glacier: { maxAttempts, retryMode: 'adaptive' },
  sqs: standard,
  dynamodb: standard,
  sfn: standard,
  eventbridge: standard,
  cloudwatch: standard,
};

export function createS3Client(): S3Client {
  return new S3Client({ ...RETRY_POLICIES.s3, forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
}

export function createGlacierClient(): GlacierClient {
  return new GlacierClient(RETRY_POLICIES.glacier);
}

export function createSqsClient(): SQSClient {
  return new SQSClient(RETRY_POLICIES.sqs);
}

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(RETRY_POLICIES.dynamodb), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSfnClient(): SFNClient {
  return new SFNClient(RETRY_POLICIES.sfn);
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient(RETRY_POLICIES.eventbridge);
}

export function createCloudWatchClient(): CloudWatchClient {
  return new CloudWatchClient(RETRY_POLICIES.cloudwatch);
}
