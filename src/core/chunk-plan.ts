/** 1 MiB, the Glacier tree-hash leaf and range alignment unit. */
export const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts per multipart upload. */
export const MAX_PARTS = 10_000;
/** Smallest S3 part (except the last) is 5 MiB; the smallest power-of-two MiB above it is 8 MiB. */
export const MIN_CHUNK_SIZE = 8 * MiB;
/** Largest power-of-two MiB that is still a valid S3 part (≤ 5 GiB). */
export const MAX_CHUNK_SIZE = 4 * 1024 * MiB;
/** Largest S3 object (10,000 parts × 5 GiB ≈ 48.8 TiB). */
export const MAX_S3_OBJECT_SIZE = MAX_PARTS * 5 * 1024 * MiB;
/** Default chunk size: 1 GiB. */
export const DEFAULT_CHUNK_SIZE = 1024 * MiB;

/** One chunk: an inclusive byte range that is also an S3 part. */
export interface ChunkRange {
  /** 1-based S3 part number. */
  readonly partNumber: number;
  /** First byte (inclusive). */
  readonly start: number;
  /** Last byte (inclusive), as used in HTTP `Range: bytes=start-end`. */
  readonly end: number;
}

export interface ChunkPlan {
  readonly archiveSize: number;
  /** Chunk size actually used (may be larger than requested so the archive fits in 10,000 parts). */
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** True when the archive fits in one chunk: one GetJobOutput + one PutObject, no multipart upload. */
  readonly singleRequest: boolean;
}

/** True when `bytes` is a power-of-two number of MiB (1, 2, 4, … MiB). */
export function isPowerOfTwoMiB(bytes: number): boolean {
  if (!Number.isSafeInteger(bytes) || bytes < MiB || bytes % MiB !== 0) return false;
  // Not `mib & (mib - 1)`: bitwise operators truncate to 32 bits (3 × 2^32 MiB would pass).
  let mib = bytes / MiB;
  while (mib % 2 === 0) mib /= 2;
  return mib === 1;
}

/** Throws a clear error unless `chunkSize` is a usable chunk size. */
export function validateChunkSize(chunkSize: number, what = 'chunkSize'): void {
  if (!isPowerOfTwoMiB(chunkSize)) {
    throw new Error(`${what} must be a power-of-two number of MiB (e.g. ${DEFAULT_CHUNK_SIZE} for 1 GiB), got ${chunkSize}`);
  }
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new Error(`${what} must be between ${MIN_CHUNK_SIZE} (8 MiB) and ${MAX_CHUNK_SIZE} (4 GiB) bytes so every chunk is a valid S3 part, got ${chunkSize}`);
  }
}

/**
 * Plan how an archive is copied: power-of-two MiB chunks (each a node of the archive's tree, so
 * Glacier returns its tree hash), doubled until the archive fits in 10,000 S3 parts.
 */
export function planChunks(archiveSize: number, chunkSize: number = DEFAULT_CHUNK_SIZE): ChunkPlan {
  if (!Number.isSafeInteger(archiveSize) || archiveSize < 0) {
    throw new Error(`archive size must be a non-negative integer number of bytes, got ${archiveSize}`);
  }
  validateChunkSize(chunkSize);
  if (archiveSize > MAX_S3_OBJECT_SIZE) {
    throw new Error(`archive of ${archiveSize} bytes exceeds the largest S3 object (${MAX_S3_OBJECT_SIZE} bytes)`);
  }
  let size = chunkSize;
  while (Math.ceil(archiveSize / size) > MAX_PARTS) {
    if (size * 2 > MAX_CHUNK_SIZE) {
      throw new Error(`archive of ${archiveSize} bytes needs more than ${MAX_PARTS} parts of ${MAX_CHUNK_SIZE} bytes`);
    }
    size *= 2;
  }
  const chunkCount = Math.max(1, Math.ceil(archiveSize / size));
  return { archiveSize, chunkSize: size, chunkCount, singleRequest: chunkCount === 1 };
}

/** The byte range of one part of a plan. */
export function chunkRange(plan: ChunkPlan, partNumber: number): ChunkRange {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.chunkCount) {
    throw new Error(`part number must be an integer from 1 to ${plan.chunkCount}, got ${partNumber}`);
  }
  const start = (partNumber - 1) * plan.chunkSize;
  const end = Math.min(start + plan.chunkSize, plan.archiveSize) - 1;
  return { partNumber, start, end: Math.max(end, start - 1) };
}

/** Every part of a plan, in order. */
export function chunkRanges(plan: ChunkPlan): ChunkRange[] {
  return Array.from({ length: plan.chunkCount }, (_, i) => chunkRange(plan, i + 1));
}
