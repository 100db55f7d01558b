import type { ArchiveItem } from '../shared/schema';

/** User-metadata keys written on every destination object (S3 returns them lowercase, without `x-amz-meta-`). */
export const MetadataKey = {
  ARCHIVE_ID: 'archive-id',
  /** The archive description, percent-encoded (RFC 3986) so any byte survives the HTTP header. */
  DESCRIPTION: 'description',
  /** Present ("true") when the encoded description was cut to fit the metadata budget. */
  DESCRIPTION_TRUNCATED: 'description-truncated',
  CREATION_DATE: 'creation-date',
  LAST_MODIFIED: 'last-modified',
  /** Glacier SHA-256 tree hash of the object's bytes (lowercase hex). */
  TREE_HASH: 'glacier-tree-hash',
} as const;

/**
 * Budget for the encoded description. S3 allows 2 KB of user metadata (keys + values); the other
 * entries take at most ~330 bytes (138-char archive id, two ISO dates, a 64-char hash), so 1,500
 * bytes keeps the total under the limit for any description.
 */
export const MAX_ENCODED_DESCRIPTION_BYTES = 1500;

/** Percent-encodes a description and cuts it (never inside a `%XX` escape) to `maxBytes`. */
export function encodeDescription(description: string, maxBytes = MAX_ENCODED_DESCRIPTION_BYTES): { value: string; truncated: boolean } {
  const encoded = encodeURIComponent(description).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (encoded.length <= maxBytes) return { value: encoded, truncated: false };
  let cut = maxBytes;
  const lastPercent = encoded.lastIndexOf('%', cut - 1);
  if (lastPercent >= 0 && lastPercent > cut - 3) cut = lastPercent;
  return { value: encoded.slice(0, cut), truncated: true };
}

/** The user metadata of the destination object of `item`. Every value is ASCII. */
export function objectMetadata(item: ArchiveItem): Record<string, string> {
  const metadata: Record<string, string> = {
    [MetadataKey.ARCHIVE_ID]: item.archiveId,
    [MetadataKey.CREATION_DATE]: item.creationDate,
    [MetadataKey.TREE_HASH]: item.treeHash.toLowerCase(),
  };
  if (item.lastModified) metadata[MetadataKey.LAST_MODIFIED] = item.lastModified;
  if (item.description) {
    const { value, truncated } = encodeDescription(item.description);
    metadata[MetadataKey.DESCRIPTION] = value;
    if (truncated) metadata[MetadataKey.DESCRIPTION_TRUNCATED] = 'true';
  }
  return metadata;
}

/** Bytes S3 counts against the 2 KB user-metadata limit (UTF-8 of every key and value). */
export function metadataBytes(metadata: Record<string, string>): number {
  let total = 0;
  for (const [key, value] of Object.entries(metadata)) total += Buffer.byteLength(`x-amz-meta-${key}`) + Buffer.byteLength(value);
  return total;
}
