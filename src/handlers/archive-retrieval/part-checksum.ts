import type { CompletedPart } from '@aws-sdk/client-s3';
import type { ArchiveItem, ChunkItem } from '../shared/schema';

/*
 * The checksum S3 verifies on every part and small object we write.
 *
 * The bytes are already verified end to end against Glacier's SHA-256 tree hash; S3's checksum
 * only guards the hop to S3. CRC32 does that at a fraction of SHA-256's CPU (the SDK computes it
 * with Node's native zlib.crc32), which matters because the chunk path is CPU-bound: a SHA-256
 * part checksum hashed every byte a second time. Uploads started by earlier versions used
 * SHA256 and keep it until they complete (S3 rejects parts of another algorithm).
 */

export type UploadChecksumAlgorithm = 'CRC32' | 'SHA256';

/** Algorithm for new multipart uploads and single-request objects. */
export const UPLOAD_CHECKSUM_ALGORITHM: UploadChecksumAlgorithm = 'CRC32';

/** The algorithm of an archive's open multipart upload (absent on uploads that predate the field). */
export function uploadChecksumAlgorithm(item: Pick<ArchiveItem, 'checksumAlgorithm'>): UploadChecksumAlgorithm {
  const algorithm = item.checksumAlgorithm ?? 'SHA256';
  if (algorithm !== 'CRC32' && algorithm !== 'SHA256') {
    throw new Error(`archive item has checksumAlgorithm ${JSON.stringify(algorithm)}; expected CRC32 or SHA256`);
  }
  return algorithm;
}

/** The checksum S3 answered for `algorithm` (UploadPart / PutObject output). */
export function checksumFromResponse(
  response: { readonly ChecksumCRC32?: string; readonly ChecksumSHA256?: string },
  algorithm: UploadChecksumAlgorithm,
): string | undefined {
  return algorithm === 'CRC32' ? response.ChecksumCRC32 : response.ChecksumSHA256;
}

/** The CompleteMultipartUpload entry of a recorded part. */
export function completedPart(chunk: ChunkItem, algorithm: UploadChecksumAlgorithm): CompletedPart {
  const checksum = chunk.checksum ?? chunk.checksumSha256;
  const part: CompletedPart = { PartNumber: chunk.partNumber, ETag: chunk.etag };
  if (checksum === undefined) return part;
  return algorithm === 'CRC32' ? { ...part, ChecksumCRC32: checksum } : { ...part, ChecksumSHA256: checksum };
}
