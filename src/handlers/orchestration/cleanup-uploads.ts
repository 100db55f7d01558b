import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getRun } from './run-record';
import { errorName, isThrottlingOrServerError } from '../shared/aws-errors';
import { forEachLimited } from '../shared/concurrency';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';
import { archivesInStatus, withRetries } from '../shared/status-query';

/*
 * CleanupIncompleteUploads: aborts the multipart uploads this run left open in the destination
 * bucket. Keys are not namespaced by run (the destination prefix is shared), so an upload is only
 * aborted when it belongs to an archive of this run: the recorded upload id of an archive that is
 * not downloaded, or any upload of an archive's key started since the run began (replaced or
 * unrecorded uploads). That includes downloaded archives: their upload was completed and is no
 * longer listed, so one still open at their key is an orphan (an attempt that died between
 * CreateMultipartUpload and recording the upload id, whose redelivery started another upload, or
 * a lost race whose abort failed). Downloaded archives are only read when the listing holds such
 * candidates. Other uploads under the prefix are counted and left alone. The listing is paged.
 */

export interface CleanupUploadsDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly transferTable: string;
  readonly destinationBucket: string;
  readonly destinationBucketOwner: string;
  readonly destinationPrefix: string;
  readonly log: Log;
}

export interface CleanupUploadsResult {
  readonly runId: string;
  readonly aborted: number;
  readonly listed: number;
  readonly leftAlone: number;
}

const OPEN_STATUSES = [ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.FAILED];

export async function cleanupUploads(deps: CleanupUploadsDeps, event: { runId: string }): Promise<CleanupUploadsResult> {
  const { runId } = event;
  const run = await getRun(deps, runId);
  const since = run?.firstStartedAt ? Date.parse(run.firstStartedAt) : 0;
  const keys = new Set<string>();
  const recorded = new Map<string, string>(); // uploadId → key
  for (const status of OPEN_STATUSES) {
    for await (const page of archivesInStatus(deps.ddb, deps.transferTable, runId, status)) {
      for (const a of page) {
        if (a.objectKey) keys.add(a.objectKey);
        if (a.uploadId && a.objectKey) recorded.set(a.uploadId, a.objectKey);
      }
    }
  }

  const toAbort = new Map<string, string>(recorded);
  /** Started since the run began, at a key of no unfinished archive: ours if the key is a downloaded archive's. */
  const candidates = new Map<string, string>(); // uploadId → key
  let listed = 0;
  let leftAlone = 0;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await withRetries(() => deps.s3.send(new ListMultipartUploadsCommand({
      Bucket: deps.destinationBucket,
      Prefix: deps.destinationPrefix || undefined,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      ExpectedBucketOwner: deps.destinationBucketOwner,
    })), isThrottlingOrServerError);
    for (const u of page.Uploads ?? []) {
      listed++;
      if (!u.Key || !u.UploadId) continue;
      const sinceRunStart = (u.Initiated?.getTime() ?? 0) >= since;
      if (toAbort.has(u.UploadId) || (keys.has(u.Key) && sinceRunStart)) toAbort.set(u.UploadId, u.Key);
      else if (sinceRunStart) candidates.set(u.UploadId, u.Key);
      else leftAlone++;
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
  } while (keyMarker);

  if (candidates.size > 0) {
    const candidateKeys = new Set(candidates.values());
    const downloadedKeys = new Set<string>();
    for await (const page of archivesInStatus(deps.ddb, deps.transferTable, runId, ArchiveStatus.DOWNLOADED)) {
      for (const a of page) if (a.objectKey && candidateKeys.has(a.objectKey)) downloadedKeys.add(a.objectKey);
    }
    for (const [uploadId, key] of candidates) {
      if (downloadedKeys.has(key)) toAbort.set(uploadId, key);
      else leftAlone++;
    }
  }

  let aborted = 0;
  await forEachLimited([...toAbort.entries()], 10, async ([uploadId, key]) => {
    try {
      await withRetries(() => deps.s3.send(new AbortMultipartUploadCommand({
        Bucket: deps.destinationBucket, Key: key, UploadId: uploadId, ExpectedBucketOwner: deps.destinationBucketOwner,
      })), isThrottlingOrServerError);
      aborted++;
    } catch (err) {
      if (errorName(err) !== 'NoSuchUpload') throw err;
    }
  });
  deps.log.info('aborted incomplete uploads', { runId, aborted, listed, leftAlone });
  return { runId, aborted, listed, leftAlone };
}
