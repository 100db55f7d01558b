import { readFileSync } from 'fs';
import { join } from 'path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { pseudoRandomBytes, silentLogger } from './fakes';
import { archivePk, runStatusKey } from '../../../src/contract/keys';
import { ChunkMessage, ValidationMessage } from '../../../src/contract/messages';
import { treeHashOf } from '../../../src/core/tree-hash';
import { ArchiveStore } from '../../../src/handlers/archive-retrieval/archive-store';
import { processChunk, ChunkDeps } from '../../../src/handlers/archive-retrieval/chunk-copy';
import { NotificationDeps } from '../../../src/handlers/archive-retrieval/notifications';
import { processValidation, ValidationDeps } from '../../../src/handlers/archive-retrieval/validation';
import { ArchiveItem, ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeTable } from '../../doubles/dynamodb';
import { FakeGlacier } from '../../doubles/glacier';
import { FakeS3 } from '../../doubles/s3';
import { FakeSqs } from '../../doubles/sqs';

export const MiB = 1024 * 1024;
export const CHUNK_QUEUE = 'https://sqs.us-east-1.amazonaws.com/111122223333/chunks';
export const VALIDATION_QUEUE = 'https://sqs.us-east-1.amazonaws.com/111122223333/validation';
export const OWNER = '111122223333';
export const RUN = 'run-2026-11-24';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'glacier');

/** The recorded SNS envelope with the Glacier job JSON fields replaced by `job`. */
export function notificationBody(job: Record<string, unknown>, file = 'archive-retrieval-notification.json'): string {
  const envelope = JSON.parse(readFileSync(join(fixtures, file), 'utf8')) as { Message: string };
  envelope.Message = JSON.stringify({ ...JSON.parse(envelope.Message), ...job });
  return JSON.stringify(envelope);
}

export class World {
  public readonly table = new FakeTable();
  public readonly s3 = new FakeS3({ owner: OWNER, requireExpectedOwner: true, versioned: true });
  public readonly glacier = new FakeGlacier();
  public readonly sqs = new FakeSqs();
  public readonly logger = silentLogger();
  public readonly store = new ArchiveStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'transfer');
  public readonly clients = { glacier: new GlacierClient({ region: 'us-east-1' }), s3: new S3Client({ region: 'us-east-1' }) };
  public readonly sqsClient = new SQSClient({ region: 'us-east-1' });
  public readonly destination = { tableName: 'transfer', bucket: 'destination-bucket', bucketOwner: OWNER, runDataTtlDays: 0 };

  constructor(public chunkSize = 8 * MiB, public maxDownloadAttempts = 3) {}

  public notificationDeps(): NotificationDeps {
    return {
      store: this.store,
      clients: this.clients,
      sqs: this.sqsClient,
      destination: this.destination,
      chunkQueueUrl: CHUNK_QUEUE,
      validationQueueUrl: VALIDATION_QUEUE,
      chunkSize: this.chunkSize,
      maxDownloadAttempts: this.maxDownloadAttempts,
      logger: this.logger,
    };
  }

  public chunkDeps(): ChunkDeps {
    return {
      store: this.store,
      clients: this.clients,
      sqs: this.sqsClient,
      destination: this.destination,
      validationQueueUrl: VALIDATION_QUEUE,
      logger: this.logger,
    };
  }

  public validationDeps(): ValidationDeps {
    return this.notificationDeps();
  }

  /** Seeds a requested archive whose job output is `data`. */
  public seedArchive(data: Buffer, overrides: Partial<ArchiveItem> = {}): ArchiveItem {
    const archiveId = overrides.archiveId ?? `archive-${data.length}-${Math.random().toString(36).slice(2, 8)}`;
    const jobId = overrides.jobId ?? `job-${archiveId}`;
    const item: ArchiveItem = {
      pk: archivePk(RUN, archiveId),
      sk: 'archive',
      runId: RUN,
      vaultName: 'photos-2012',
      archiveId,
      size: data.length,
      treeHash: treeHashOf(data),
      creationDate: '2012-09-15T10:11:12Z',
      description: '<m><v>4</v><p>cGhvdG9zLzIwMTIvw6l0w6kuanBn</p><lm>20120915T101112Z</lm></m>',
      objectKey: `photos/2012/été-${archiveId}.jpg`,
      lastModified: '2012-09-15T10:11:12Z',
      storageClass: 'DEEP_ARCHIVE',
      status: ArchiveStatus.REQUESTED,
      runStatus: runStatusKey(RUN, ArchiveStatus.REQUESTED),
      statusTime: '2026-11-24T03:12:09.914Z',
      jobId,
      ...overrides,
    };
    this.table.seed(item as unknown as Record<string, unknown>);
    this.glacier.seedArchiveJob(item.vaultName, jobId, data, archiveId);
    return item;
  }

  public archive(item: ArchiveItem): ArchiveItem {
    return this.table.get(item.pk, 'archive') as unknown as ArchiveItem;
  }

  /** A succeeded-job notification body for `item` (fields as Glacier sends them). */
  public succeeded(item: ArchiveItem, jobId = item.jobId!): string {
    return notificationBody({
      JobId: jobId,
      ArchiveId: item.archiveId,
      ArchiveSizeInBytes: item.size,
      ArchiveSHA256TreeHash: item.treeHash,
      SHA256TreeHash: item.treeHash,
      RetrievalByteRange: `0-${item.size - 1}`,
    });
  }

  /** Delivers every queued chunk message, then every validation message, until both queues are empty. */
  public async drain(): Promise<{ chunks: number; validations: number }> {
    let chunks = 0;
    let validations = 0;
    for (;;) {
      const chunkMessages = this.sqs.take<ChunkMessage>(CHUNK_QUEUE);
      for (const m of chunkMessages) await processChunk(this.chunkDeps(), m);
      chunks += chunkMessages.length;
      const validationMessages = this.sqs.take<ValidationMessage>(VALIDATION_QUEUE);
      for (const m of validationMessages) await processValidation(this.validationDeps(), m);
      validations += validationMessages.length;
      if (chunkMessages.length === 0 && validationMessages.length === 0) return { chunks, validations };
    }
  }

  public reset(): void {
    this.table.dynamo.mock.restore();
    this.s3.mock.restore();
    this.glacier.mock.restore();
    this.sqs.mock.restore();
  }
}

export function archiveBytes(size: number, seed = 7): Buffer {
  return pseudoRandomBytes(size, seed);
}
