import { Env } from '../../contract/environment';
import { DEFAULT_CHUNK_SIZE, validateChunkSize } from '../../core/chunk-plan';
import { isPositiveInteger, numberEnv, requireEnv } from '../shared/env';

/** Default for {@link Env.MAX_DOWNLOAD_ATTEMPTS}. */
export const DEFAULT_MAX_DOWNLOAD_ATTEMPTS = 3;

/** Where the archive-retrieval stage writes, read from the environment the constructs set. */
export interface DestinationConfig {
  readonly tableName: string;
  readonly bucket: string;
  /** Account that must own the bucket; sent as ExpectedBucketOwner on every S3 call. */
  readonly bucketOwner: string;
  /** Days chunk items live before TTL removes them (0 = keep). */
  readonly runDataTtlDays: number;
}

export function destinationConfig(): DestinationConfig {
  return {
    tableName: requireEnv(Env.TRANSFER_TABLE),
    bucket: requireEnv(Env.DESTINATION_BUCKET),
    bucketOwner: requireEnv(Env.DESTINATION_BUCKET_OWNER),
    runDataTtlDays: numberEnv(Env.RUN_DATA_TTL_DAYS, 0),
  };
}

/** Chunk size for new plans: `CHUNK_SIZE_BYTES`, default 1 GiB, validated. */
export function chunkSizeConfig(): number {
  const size = numberEnv(Env.CHUNK_SIZE, DEFAULT_CHUNK_SIZE);
  validateChunkSize(size, Env.CHUNK_SIZE);
  return size;
}

export function maxDownloadAttemptsConfig(): number {
  return numberEnv(Env.MAX_DOWNLOAD_ATTEMPTS, DEFAULT_MAX_DOWNLOAD_ATTEMPTS, isPositiveInteger, 'a positive integer');
}

/** Default maxReceiveCount of the notifications and validation queues (TransferStorage's default). */
export const DEFAULT_QUEUE_MAX_RECEIVES = 10;

/** Default for {@link Env.CHUNK_MAX_RECEIVES}: the construct's default chunk-queue maxReceiveCount. */
export const DEFAULT_CHUNK_MAX_RECEIVES = 40;

export function chunkMaxReceivesConfig(): number {
  return numberEnv(Env.CHUNK_MAX_RECEIVES, DEFAULT_CHUNK_MAX_RECEIVES, isPositiveInteger, 'a positive integer');
}
