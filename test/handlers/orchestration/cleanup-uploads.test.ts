import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { archive, BUCKET, OrchestrationDynamo, OWNER, silentLogger, TRANSFER } from './fakes';
import { RUN_SK, runPk, runStatusKey } from '../../../src/contract/keys';
import { cleanupUploads } from '../../../src/handlers/orchestration/cleanup-uploads';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeS3 } from '../../doubles/s3';

const RUN = 'run-1';
let dynamo: OrchestrationDynamo;
let s3: FakeS3;

beforeEach(() => {
  dynamo = new OrchestrationDynamo();
  dynamo.pageSize = 2;
  s3 = new FakeS3();
});
afterEach(() => {
  dynamo.mock.restore();
  s3.reset();
});

describe('cleanupUploads', () => {
  const deps = () => ({ ddb: dynamo.client, s3: s3.client, transferTable: TRANSFER, destinationBucket: BUCKET, destinationBucketOwner: OWNER, destinationPrefix: 'backup/', log: silentLogger() });
  /** Uploads open in the bucket (the double lists them two to a page). */
  const open = (...uploads: Array<[key: string, uploadId: string, at: string]>) =>
    uploads.forEach(([key, id, at]) => s3.openUpload(key, id, new Date(at)));

  test('aborts only uploads of this run\'s archives under the prefix (recorded, or started since the run began), paging through the listing', async () => {
    dynamo.seed(TRANSFER, { pk: runPk(RUN), sk: RUN_SK, runId: RUN, firstStartedAt: '2024-02-01T00:00:00Z' });
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.STAGED, { archiveId: 'a', objectKey: 'backup/a', uploadId: 'rec-a' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'b', objectKey: 'backup/b' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'c', objectKey: 'backup/c', uploadId: 'done-c' }));
    open(
      ['backup/a', 'rec-a', '2024-02-02T00:00:00Z'], ['backup/a', 'extra-a', '2024-02-03T00:00:00Z'],
      ['backup/b', 'old-b', '2023-12-01T00:00:00Z'], ['backup/b', 'new-b', '2024-02-05T00:00:00Z'],
      ['backup/c', 'other-c', '2024-02-05T00:00:00Z'], ['backup/zz', 'foreign', '2024-02-05T00:00:00Z'],
    );
    const result = await cleanupUploads(deps(), { runId: RUN });
    expect(result).toEqual({ runId: RUN, aborted: 4, listed: 6, leftAlone: 2 });
    // other-c: an orphan at a downloaded archive's key (its own upload was completed, so is not listed).
    expect(s3.aborted.sort()).toEqual(['extra-a', 'new-b', 'other-c', 'rec-a']);
    const lists = s3.mock.commandCalls(ListMultipartUploadsCommand).map((c) => c.args[0].input);
    expect(lists.map((l) => [l.Prefix, l.KeyMarker, l.UploadIdMarker, l.Bucket, l.ExpectedBucketOwner])).toEqual([
      ['backup/', undefined, undefined, BUCKET, OWNER],
      ['backup/', 'backup/a', 'extra-a', BUCKET, OWNER],
      ['backup/', 'backup/b', 'new-b', BUCKET, OWNER],
    ]);
    for (const c of s3.mock.commandCalls(AbortMultipartUploadCommand)) {
      expect(c.args[0].input).toMatchObject({ Bucket: BUCKET, ExpectedBucketOwner: OWNER });
    }
  });

  test('an upload at a downloaded archive\'s key is aborted only if started since the run began; downloaded archives are read only for such uploads', async () => {
    dynamo.seed(TRANSFER, { pk: runPk(RUN), sk: RUN_SK, runId: RUN, firstStartedAt: '2024-02-01T00:00:00Z' });
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'c', objectKey: 'backup/c', uploadId: 'done-c' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd', objectKey: 'backup/d', uploadId: 'done-d' }));
    const downloadedQueries = () => dynamo.queries.filter((q) => q.ExpressionAttributeValues[':p'] === runStatusKey(RUN, ArchiveStatus.DOWNLOADED)).length;

    open(['backup/c', 'older-run-c', '2024-01-15T00:00:00Z']);
    expect(await cleanupUploads(deps(), { runId: RUN })).toEqual({ runId: RUN, aborted: 0, listed: 1, leftAlone: 1 });
    expect(downloadedQueries()).toBe(0);

    open(['backup/d', 'orphan-d', '2024-02-02T00:00:00Z'], ['backup/e', 'other-e', '2024-02-02T00:00:00Z']);
    expect(await cleanupUploads(deps(), { runId: RUN })).toEqual({ runId: RUN, aborted: 1, listed: 3, leftAlone: 2 });
    expect(s3.aborted).toEqual(['orphan-d']);
    expect(downloadedQueries()).toBeGreaterThan(0);
  });

  test('a recorded upload already gone is not an error', async () => {
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.REQUESTED, { archiveId: 'a', objectKey: 'backup/a', uploadId: 'gone' }));
    // No upload is open: S3 answers NoSuchUpload to the abort of the recorded one.
    expect(await cleanupUploads(deps(), { runId: RUN })).toEqual({ runId: RUN, aborted: 0, listed: 0, leftAlone: 0 });
    expect(s3.mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });
});
