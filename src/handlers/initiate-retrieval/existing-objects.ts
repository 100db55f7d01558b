import type { S3Client } from '@aws-sdk/client-s3';
import type { DestinationConfig } from '../archive-retrieval/config';
import { MetadataKey } from '../archive-retrieval/object-metadata';
import { headObject } from '../archive-retrieval/staging';

/** What to do when the destination key already holds an object that is not this archive's verified copy. */
export type ExistingObjectPolicy = 'FAIL' | 'OVERWRITE';
export const EXISTING_OBJECT_POLICIES: readonly ExistingObjectPolicy[] = ['FAIL', 'OVERWRITE'];

/** The destination look-up InitiateArchiveRetrieval makes before it requests anything from Glacier. */
export interface DestinationCheck {
  readonly s3: S3Client;
  readonly destination: Pick<DestinationConfig, 'bucket' | 'bucketOwner'>;
  readonly policy: ExistingObjectPolicy;
  /** HeadObject calls per second one batch invocation makes at most. */
  readonly headsPerSecond: number;
  readonly headConcurrency: number;
}

export type DestinationVerdict =
  /** Nothing at the key: request the archive. */
  | { readonly kind: 'absent' }
  /** This archive's verified copy (same archive id, tree hash and size): downloaded, no retrieval. */
  | { readonly kind: 'identical'; readonly versionId?: string }
  /** Another object: never overwritten unless the policy says so. */
  | { readonly kind: 'different'; readonly detail: string };

/** Looks at the destination key of one archive. */
export async function inspectDestination(
  check: DestinationCheck,
  archive: { readonly objectKey: string; readonly archiveId: string; readonly treeHash: string; readonly size: number },
): Promise<DestinationVerdict> {
  const head = await headObject(check.s3, check.destination, archive.objectKey);
  if (head === undefined) return { kind: 'absent' };
  const id = head.Metadata?.[MetadataKey.ARCHIVE_ID];
  const hash = head.Metadata?.[MetadataKey.TREE_HASH]?.toLowerCase();
  if (id === archive.archiveId && hash === archive.treeHash.toLowerCase() && head.ContentLength === archive.size) {
    return { kind: 'identical', versionId: head.VersionId };
  }
  const differences: string[] = [];
  if (id !== archive.archiveId) differences.push(id === undefined ? 'no archive-id metadata' : 'another archive id');
  if (hash !== archive.treeHash.toLowerCase()) differences.push(hash === undefined ? 'no tree-hash metadata' : 'another tree hash');
  if (head.ContentLength !== archive.size) differences.push(`${head.ContentLength ?? '?'} bytes, not ${archive.size}`);
  return { kind: 'different', detail: differences.join(', ') };
}

/** The failure reason of an archive whose key is taken by another object. */
export function keyTakenReason(objectKey: string, detail: string): string {
  return `destination key holds another object (${detail}): ${objectKey.slice(0, 500)}; not overwritten (existingObjectPolicy FAIL)`;
}
