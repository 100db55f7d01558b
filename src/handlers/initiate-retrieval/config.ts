import { Env } from '../../contract/environment';
import { DEFAULT_INITIATE_REQUESTS_PER_SECOND } from '../../core/pacing';
import { isPositiveInteger as positiveInteger, numberEnv, requireEnv } from '../shared/env';

/** Pacing and request settings shared by InitiateArchiveRetrieval and ExtendDownloadWindow. */
export interface RequestConfig {
  readonly transferTable: string;
  /** Table holding the shared quota ledger item. */
  readonly ledgerTable: string;
  readonly dailyQuotaBytes: number;
  readonly bucketSeconds: number;
  readonly requestsPerSecond: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
}

export function requestConfig(): RequestConfig {
  return {
    transferTable: requireEnv(Env.TRANSFER_TABLE),
    ledgerTable: requireEnv(Env.METRICS_TABLE),
    dailyQuotaBytes: numberEnv(Env.DAILY_QUOTA_BYTES, NaN, positiveInteger, 'a positive whole number of bytes'),
    bucketSeconds: numberEnv(Env.QUOTA_BUCKET_SECONDS, 60, (v) => positiveInteger(v) && v <= 86_400, 'an integer from 1 to 86400'),
    requestsPerSecond: numberEnv(Env.INITIATE_REQUESTS_PER_SECOND, DEFAULT_INITIATE_REQUESTS_PER_SECOND, (v) => v > 0 && v <= 1000, 'a number from 0 (exclusive) to 1000'),
    concurrency: numberEnv(Env.INITIATE_CONCURRENCY, 20, (v) => positiveInteger(v) && v <= 100, 'an integer from 1 to 100'),
    maxAttempts: numberEnv(Env.INITIATE_MAX_ATTEMPTS, 4, (v) => positiveInteger(v) && v <= 10, 'an integer from 1 to 10'),
  };
}
