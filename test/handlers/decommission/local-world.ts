/* eslint-disable @stylistic/max-len */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeVaultCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Clock } from '../../../rehearsal/clock';
import { LocalDynamo, pipelineTables, startDynamo } from '../../../rehearsal/services/dynamodb';
import { GlacierFake, GlacierFault, GlacierRequestInfo, startGlacierFake } from '../../../rehearsal/services/glacier-fake';
import { S3Fake, startS3Fake } from '../../../rehearsal/services/s3-fake';
import { ARCHIVE_SK, archivePk, RUN_SK, runPk, runStatusKey } from '../../../src/contract/keys';
import { treeHashOf } from '../../../src/core/tree-hash';
import { objectMetadata } from '../../../src/handlers/archive-retrieval/object-metadata';
import type { BatchDeps } from '../../../src/handlers/decommission/batch';
import type { ListDeps } from '../../../src/handlers/decommission/list-archives';
import type { ReportDeps } from '../../../src/handlers/decommission/report';
import type { FinalizerDeps } from '../../../src/handlers/decommission/vault-finalizer';
import { ArchiveItem, ArchiveStatus, RunState } from '../../../src/handlers/shared/schema';

/*
 * The decommission handlers against the rehearsal's local services: S3 fake (versioning,
 * ExpectedBucketOwner), Glacier fake (DeleteArchive/DeleteVault), DynamoDB (dynalite with the
 * pipeline's tables and StatusIndex). Each test seeds a vault, a COMPLETED run, its archive items
 * and the destination objects the transfer would have written.
 */

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const TABLE = 'decom-transfer';
export const DEST = 'decom-destination';
export const INVENTORY = 'decom-inventory';
export const RUN = 'run-1';
export const VAULT = 'old-photos';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export const silentLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface SeededArchive {
  readonly archiveId: string;
  readonly key: string;
  readonly data: Buffer;
  readonly treeHash: string;
  readonly item: ArchiveItem;
}

export class LocalWorld {
  public static async start(): Promise<LocalWorld> {
    const clock = new Clock(1);
    const s3 = await startS3Fake({ accountId: ACCOUNT });
    const world = new LocalWorld(clock, s3, await startDynamo({ tables: pipelineTables(TABLE, 'decom-metrics'), region: REGION, accountId: ACCOUNT }));
    world.glacier = await startGlacierFake({
      clock,
      accountId: ACCOUNT,
      region: REGION,
      publish: async () => undefined,
      inventoryDelayMs: 30,
      hooks: { fault: (info) => world.fault?.(info) },
    });
    world.glacierClient = new GlacierClient({ region: REGION, endpoint: world.glacier.endpoint, credentials, maxAttempts: 1 });
    return world;
  }

  public glacier!: GlacierFake;
  public glacierClient!: GlacierClient;
  public readonly s3Client: S3Client;
  public readonly ddb: DynamoDBDocumentClient;
  public fault?: (info: GlacierRequestInfo) => GlacierFault | undefined;
  public archives: SeededArchive[] = [];
  /** Run and vault of the last seed. */
  public runId = '';
  public vaultName = '';
  private vaultCounter = 0;

  private constructor(public readonly clock: Clock, public readonly s3: S3Fake, public readonly dynamo: LocalDynamo) {
    this.s3Client = new S3Client({ region: REGION, endpoint: s3.endpoint, forcePathStyle: true, credentials, maxAttempts: 1 });
    this.ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials, maxAttempts: 2 }), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  public async stop(): Promise<void> {
    this.glacierClient.destroy();
    this.s3Client.destroy();
    this.ddb.destroy();
    this.clock.stop();
    await Promise.all([this.s3.stop(), this.glacier.stop(), this.dynamo.stop()]);
  }

  /** A fresh vault, buckets, a COMPLETED run and `count` archives transferred and verified. Returns the vault name. */
  public async seed(count: number, options: { versioned?: boolean; creationDate?: string } = {}): Promise<string> {
    const runId = `${RUN}-${++this.vaultCounter}`;
    const vaultName = `${VAULT}-${this.vaultCounter}`;
    this.runId = runId;
    this.vaultName = vaultName;
    this.fault = undefined;
    this.s3.clear();
    this.glacier.clear();
    for (const bucket of [DEST, INVENTORY]) if (!this.s3.buckets.has(bucket)) await this.s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
    this.s3.buckets.get(DEST)!.versioning = options.versioned !== false;
    this.glacier.createVault(vaultName);
    await this.ddb.send(new PutCommand({
      TableName: TABLE,
      Item: { pk: runPk(runId), sk: RUN_SK, runId, vaultName, destinationBucket: DEST, destinationPrefix: '', state: RunState.COMPLETED },
    }));
    this.archives = [];
    for (let i = 0; i < count; i++) {
      const archiveId = `${String(i).padStart(4, '0')}${'x'.repeat(134)}`;
      const data = Buffer.alloc(1000 + i * 37, i + 1);
      const treeHash = treeHashOf(data);
      const creationDate = options.creationDate ?? '2016-05-01T10:00:00.000Z';
      this.glacier.addArchive(vaultName, {
        archiveId, size: data.length, treeHash, description: `file ${i}`, creationDate, read: (s, e) => [data.subarray(s, e)],
      });
      const key = `photos/file-${i}.jpg`;
      const base = {
        pk: archivePk(runId, archiveId),
        sk: ARCHIVE_SK,
        runId,
        vaultName,
        archiveId,
        size: data.length,
        treeHash,
        creationDate,
        description: `file ${i}`,
        objectKey: key,
        storageClass: 'DEEP_ARCHIVE',
      } as const;
      const put = await this.s3Client.send(new PutObjectCommand({
        Bucket: DEST, Key: key, Body: data, Metadata: objectMetadata({ ...base, status: ArchiveStatus.DOWNLOADED, runStatus: '', statusTime: '' } as ArchiveItem),
      }));
      const now = new Date(Date.now() + 1000).toISOString();
      const item: ArchiveItem = {
        ...base,
        status: ArchiveStatus.DOWNLOADED,
        runStatus: runStatusKey(runId, ArchiveStatus.DOWNLOADED),
        statusTime: now,
        downloadedAt: now,
        objectVersionId: put.VersionId,
      };
      await this.ddb.send(new PutCommand({ TableName: TABLE, Item: item }));
      this.archives.push({ archiveId, key, data, treeHash, item });
    }
    return vaultName;
  }

  /** Rewrites an archive item (e.g. another status). */
  public async putItem(item: ArchiveItem): Promise<void> {
    await this.ddb.send(new PutCommand({ TableName: TABLE, Item: item }));
  }

  public async archiveCount(vaultName: string): Promise<number | 'vault deleted'> {
    try {
      const out = await this.glacierClient.send(new DescribeVaultCommand({ accountId: '-', vaultName }));
      return out.NumberOfArchives ?? 0;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return 'vault deleted';
      throw e;
    }
  }

  public listDeps(over: Partial<ListDeps> = {}): ListDeps {
    return { ddb: this.ddb, s3: this.s3Client, tableName: TABLE, inventoryBucket: INVENTORY, destinationBucket: DEST, deletionEnabled: true, log: silentLog, ...over };
  }

  public batchDeps(over: Partial<BatchDeps> = {}): BatchDeps {
    return {
      ddb: this.ddb,
      s3: this.s3Client,
      glacier: this.glacierClient,
      tableName: TABLE,
      inventoryBucket: INVENTORY,
      destinationBucket: DEST,
      expectedBucketOwner: ACCOUNT,
      deletionEnabled: true,
      deletesPerSecond: 1000,
      maxAttempts: 4,
      log: silentLog,
      sleep: async () => undefined,
      ...over,
    };
  }

  public reportDeps(over: Partial<ReportDeps> = {}): ReportDeps {
    return { s3: this.s3Client, ddb: this.ddb, tableName: TABLE, inventoryBucket: INVENTORY, metricsNamespace: '', log: silentLog, ...over };
  }

  public finalizerDeps(over: Partial<FinalizerDeps> = {}): FinalizerDeps {
    return { glacier: this.glacierClient, s3: this.s3Client, inventoryBucket: INVENTORY, log: silentLog, ...over };
  }

  public async readJson<T>(key: string): Promise<T> {
    const text = this.s3.objectBytes(INVENTORY, key)?.toString('utf8');
    if (text === undefined) throw new Error(`no object ${key}`);
    return JSON.parse(text) as T;
  }

  public readLines<T>(key: string): T[] {
    const text = this.s3.objectBytes(INVENTORY, key)?.toString('utf8') ?? '';
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  }
}
