import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Clock } from '../../rehearsal/clock';
import { LocalDynamo, pipelineTables, startDynamo } from '../../rehearsal/services/dynamodb';
import { GlacierFake, startGlacierFake } from '../../rehearsal/services/glacier-fake';
import { S3Fake, startS3Fake } from '../../rehearsal/services/s3-fake';
import { startSfnApi, SfnApi } from '../../rehearsal/sfn/api';
import { Json } from '../../rehearsal/sfn/lower';
import { SfnRuntime } from '../../rehearsal/sfn/runner';
import { loadDefinition } from '../../src/asl/definitions';
import { keptKeysKey, metricsPk } from '../../src/contract/keys';
import { parseGlacierNotification } from '../../src/handlers/archive-retrieval/glacier-notification';
import { initiateInventoryRetrieval } from '../../src/handlers/inventory-retrieval/initiate-inventory';
import { checkProvidedAgainstVault, checkProvidedInventory, completeDownload, downloadChunk, prepareDownload } from '../../src/handlers/inventory-retrieval/inventory-download';
import { completeInventoryJobWith, CompletionDeps } from '../../src/handlers/inventory-retrieval/inventory-job-completion';
import { pollInventoryJob } from '../../src/handlers/inventory-retrieval/inventory-job-poller';
import { InventoryStore } from '../../src/handlers/inventory-retrieval/inventory-store';
import { finishGlueInventory, processRunInventory, writeKeptKeys } from '../../src/handlers/inventory-retrieval/process-inventory';

/*
 * The real InventoryRetrieval definition, run by the local ASL runner (rehearsal/sfn) against the
 * local services (S3 fake, Glacier fake with inventory jobs, dynalite, the SFN API fake for task
 * tokens), with the real handler logic behind every Lambda.
 */

jest.setTimeout(120_000);
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const BUCKET = 'inventory-bucket';
const VAULT = 'photos';
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:jobs`;
const TRANSFER = 'transfer';
const METRICS = 'metrics';
const ASYNC = 'async-facilitator';
const FN = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const asl = loadDefinition('inventory-retrieval');
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const HASH = (i: number) => i.toString(16).padStart(64, '0');

let clock: Clock;
let s3Fake: S3Fake;
let glacierFake: GlacierFake;
let dynamo: LocalDynamo;
let s3: S3Client;
let glacier: GlacierClient;
let ddb: DynamoDBDocumentClient;
/** What Glacier's SNS publish does in the current test. */
let onPublish: (message: string) => Promise<void>;

beforeAll(async () => {
  clock = new Clock(1);
  s3Fake = await startS3Fake({ accountId: ACCOUNT });
  dynamo = await startDynamo({
    tables: [...pipelineTables(TRANSFER, METRICS), { TableName: ASYNC, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }],
    region: REGION,
    accountId: ACCOUNT,
  });
  glacierFake = await startGlacierFake({
    clock, accountId: ACCOUNT, region: REGION, publish: async (_topic, message) => onPublish(message), inventoryDelayMs: 3_600_000,
  });
  s3 = new S3Client({ region: REGION, endpoint: s3Fake.endpoint, forcePathStyle: true, credentials });
  glacier = new GlacierClient({ region: REGION, endpoint: glacierFake.endpoint, credentials });
  ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  s3.destroy();
  glacier.destroy();
  ddb.destroy();
  await Promise.all([s3Fake.stop(), dynamo.stop(), glacierFake.stop()]);
});

/** The archives addArchives puts in the vault. */
function archiveList(count: number, options: { big?: number[]; from?: number } = {}) {
  return Array.from({ length: count }, (_, i) => {
    const n = (options.from ?? 0) + i;
    return {
      archiveId: `archive-${String(n).padStart(4, '0')}`,
      size: options.big?.includes(i) ? 10_000 : 100 + i,
      treeHash: HASH(n + 1),
      // Two archives share a name: the later one is renamed.
      description: i % 5 === 3 ? 'docs/same.txt' : `docs/file-${n}.txt`,
      creationDate: new Date(Date.UTC(2015, 0, 1) + (count - i) * 60_000).toISOString(),
    };
  });
}

function addArchives(count: number, options: { big?: number[]; from?: number } = {}): void {
  glacierFake.clear();
  glacierFake.createVault(VAULT);
  for (const archive of archiveList(count, options)) glacierFake.addArchive(VAULT, { ...archive, read: () => [] });
}

/** A vault holding exactly these archives (id → size), for provided inventories to match. */
function vaultOf(archives: Record<string, number>): void {
  glacierFake.clear();
  glacierFake.createVault(VAULT);
  Object.entries(archives).forEach(([archiveId, size], i) => glacierFake.addArchive(VAULT, {
    archiveId, size, treeHash: HASH(i + 1), description: '', creationDate: '2020-01-01T00:00:00.000Z', read: () => [],
  }));
}

interface Harness {
  runtime: SfnRuntime;
  api: SfnApi;
  sfn: SFNClient;
  completion: CompletionDeps;
  calls: Record<string, number>;
  glueRuns: string[];
  glueArguments: Array<Record<string, string>>;
}

async function harness(options: { glueState?: string } = {}): Promise<Harness> {
  const calls: Record<string, number> = {};
  const count = (name: string) => { calls[name] = (calls[name] ?? 0) + 1; };
  const glueRuns: string[] = [];
  const store = new InventoryStore(ddb, TRANSFER);
  const download = { glacier, s3, store, bucket: BUCKET, log: silent };
  const process = {
    s3,
    ddb,
    log: silent,
    config: { inventoryBucket: BUCKET, transferTable: TRANSFER, metricsTable: METRICS, prefix: 'restored/', partitionSizeBytes: 1000, maxArchiveSizeBytes: 5000, rowsPerFile: 4 },
  };
  const h = {} as Harness;
  h.calls = calls;
  h.glueRuns = glueRuns;
  h.glueArguments = [];
  h.runtime = new SfnRuntime({
    clock,
    lowerOptions: { lowerWaits: true },
    services: {
      s3Client: s3,
      dynamodbClient: new DynamoDBClient({ region: REGION, endpoint: dynamo.endpoint, credentials }),
      awsSdk: {
        glue: async (action: string, params: any) => {
          count(`glue:${action}`);
          if (action === 'startJobRun') {
            glueRuns.push(params.Arguments['--run_id']);
            h.glueArguments.push(params.Arguments);
            return { JobRunId: 'jr_1' };
          }
          return { JobRun: { JobRunState: options.glueState ?? 'SUCCEEDED' } };
        },
      },
      lambdaHandlers: {
        [FN('InitiateInventoryRetrieval')]: async (e: any) => { count('initiate'); return initiateInventoryRetrieval({ glacier, store, topicArn: TOPIC, log: silent }, e); },
        [FN('InventoryJobPoller')]: async (e: any) => { count('poll'); return pollInventoryJob({ glacier, completion: h.completion, log: silent }, e); },
        [FN('InventoryChunkDownload')]: async (e: any) => { count('chunk'); return downloadChunk(download, e); },
        [FN('InventoryValidation')]: async (e: any) => {
          count(`validation:${e.action}`);
          if (e.action === 'prepare') return prepareDownload(download, e);
          if (e.action === 'complete') return completeDownload(download, e);
          if (e.action === 'vault-check') return checkProvidedAgainstVault(download, e, 1);
          return checkProvidedInventory(download, e);
        },
        [FN('ProcessInventory')]: async (e: any) => {
          if (e.writeKeptKeys) {
            count('writeKeptKeys');
            return writeKeptKeys(process, e.runId);
          }
          count(e.finishGlue ? 'finishGlue' : 'process');
          return e.finishGlue ? finishGlueInventory(process, e) : processRunInventory(process, e);
        },
      },
    },
  });
  h.api = await startSfnApi(h.runtime);
  h.sfn = new SFNClient({ region: REGION, endpoint: h.api.endpoint, credentials });
  h.completion = { ddb, sfn: h.sfn, tableName: ASYNC, log: silent };
  return h;
}

function substitutions(): Record<string, string> {
  return {
    TransferTableName: TRANSFER,
    AsyncFacilitatorTableName: ASYNC,
    GlueJobName: 'inventory-job',
    InitiateInventoryRetrievalFunctionArn: FN('InitiateInventoryRetrieval'),
    InventoryJobPollerFunctionArn: FN('InventoryJobPoller'),
    InventoryChunkDownloadFunctionArn: FN('InventoryChunkDownload'),
    InventoryValidationFunctionArn: FN('InventoryValidation'),
    ProcessInventoryFunctionArn: FN('ProcessInventory'),
  };
}

/** Runs the machine while moving virtual time forward until it finishes. */
async function run(h: Harness, input: { [key: string]: Json }, definition: any = asl) {
  const arn = h.runtime.registerStateMachine(`InventoryRetrieval${Math.random().toString(36).slice(2, 8)}`, definition, substitutions());
  // The orchestrator always passes the staged override key ('' for none).
  const done = h.runtime.run(arn, { namingOverrideKey: '', ...input });
  let finished = false;
  void done.finally(() => { finished = true; });
  while (!finished) {
    await new Promise((r) => setTimeout(r, 15));
    // Jump only while every execution is parked (token, Wait, child): moving the clock while a
    // Lambda runs would time it out on a loaded machine (960 virtual s passed in 16 ticks).
    if (h.runtime.busyExecutions() === 0) clock.advance(60_000);
  }
  const record = await done;
  return { ...record, states: h.runtime.transitions(record.executionArn, { nested: true }) as string[] };
}

async function text(key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
}

async function keys(prefix: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
}

async function metrics(runId: string): Promise<Record<string, unknown> | undefined> {
  return (await ddb.send(new GetCommand({ TableName: METRICS, Key: { pk: metricsPk(runId) } }))).Item;
}

describe('InventoryRetrieval ASL (local runner, local services)', () => {
  test('notification path: job → token unlocked by the notification → chunked download → Lambda engine partitions', async () => {
    addArchives(12, { big: [5] });
    const h = await harness();
    onPublish = async (message) => { await completeInventoryJobWith(h.completion, parseGlacierNotification(message)); };
    const result = await run(h, { runId: 'run-1', vaultName: VAULT, storageClass: 'DEEP_ARCHIVE' });

    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.states).toEqual(expect.arrayContaining(['InitiateInventoryRetrieval', 'AwaitInventoryJobToken', 'PrepareInventoryDownload', 'DownloadInventoryChunk', 'CompleteInventoryDownload', 'ProcessInventoryOnLambda', 'InventoryReady']));
    const summary = (result.output as any).result.summary;
    expect(summary).toMatchObject({ totalCount: 12, transferCount: 11, skippedCount: 1, errorCount: 0, renamedCount: 1, engine: 'lambda' });
    const files = await keys('run-1/sorted_inventory/');
    expect(files.length).toBe(summary.partitionFileCount);
    expect(files[0]).toBe('run-1/sorted_inventory/0000000000/part-00000.csv');
    // Oldest first: archive-0011 has the earliest CreationDate.
    const first = (await text(files[0])).split('\n');
    expect(first[0]).toBe('ArchiveId,CreationDate,Size,SHA256TreeHash,ObjectKey,LastModified,ArchiveDescription');
    expect(first[1]).toMatch(/^archive-0011,/);
    expect(await text('run-1/skipped/skipped.csv')).toMatch(/archive-0005,.*,10000,.*above the limit/);
    expect(await metrics('run-1')).toMatchObject({ totalCount: 12, totalBytes: expect.any(Number), inventorySkippedCount: 1, inventoryErrorCount: 0 });
    expect(glacierFake.jobs.size).toBe(1);
    await h.api.stop();
  });

  test('no notification (topic policy missing): the DescribeJob poller unlocks the token; a re-run resumes without a new job', async () => {
    addArchives(5);
    const h = await harness();
    onPublish = async () => undefined;
    const result = await run(h, { runId: 'run-2', vaultName: VAULT, storageClass: 'GLACIER' });
    expect([result.status, result.error]).toEqual(['SUCCEEDED', undefined]);
    expect(h.calls.poll).toBeGreaterThanOrEqual(1);
    expect(result.states).toContain('PollInventoryJob');
    const firstFiles = await keys('run-2/sorted_inventory/');
    const before = await text(firstFiles[0]);

    const again = await run(h, { runId: 'run-2', vaultName: VAULT, storageClass: 'GLACIER' });
    expect(again.status).toBe('SUCCEEDED');
    expect(again.states).toContain('UseDownloadedInventory');
    expect(again.states).not.toContain('InitiateInventoryRetrieval');
    expect(glacierFake.jobs.size).toBe(1);
    expect(await keys('run-2/sorted_inventory/')).toEqual(firstFiles);
    expect(await text(firstFiles[0])).toBe(before);
    expect(await metrics('run-2')).toMatchObject({ totalCount: 5 });
    await h.api.stop();
  });

  test('provided JSON inventory: no Glacier job; malformed rows reported with row numbers, run continues; empty vault works', async () => {
    // The unreadable row counts as an archive of 0 bytes in the check against the vault.
    vaultOf({ 'only-one': 3, 'bad': 0 });
    const h = await harness();
    const inventory = JSON.stringify({
      VaultARN: 'arn:aws:glacier:us-east-1:111122223333:vaults/photos',
      InventoryDate: '2024-01-01T00:00:00Z',
      ArchiveList: [
        { ArchiveId: 'only-one', ArchiveDescription: 'a/b.txt', CreationDate: '2020-01-01T00:00:00Z', Size: 3, SHA256TreeHash: HASH(1) },
        { ArchiveId: 'bad', ArchiveDescription: '', CreationDate: 'yesterday', Size: 3, SHA256TreeHash: HASH(2) },
      ],
    });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/inv.json', Body: inventory }));
    const result = await run(h, { runId: 'run-3', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/inv.json' });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.states).toContain('ValidateProvidedInventory');
    expect(result.states).not.toContain('InitiateInventoryRetrieval');
    expect(result.states).toContain('CheckProvidedInventoryAgainstVault');
    expect((result.output as any).vaultCheck).toEqual({ archives: 2, bytes: 3, vaultArchives: 2, vaultBytes: 3 });
    expect((result.output as any).result.summary).toMatchObject({ totalCount: 1, errorCount: 1, partitionCount: 1 });
    expect(await text('run-3/inventory_errors/errors.csv')).toMatch(/^Row,ArchiveId,Message,Raw\n2,[^,]*,"?invalid CreationDate/);

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/empty.csv', Body: 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n' }));
    vaultOf({});
    const empty = await run(h, { runId: 'run-4', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/empty.csv' });
    expect(empty.status).toBe('SUCCEEDED');
    expect((empty.output as any).result.summary).toMatchObject({ totalCount: 0, partitionCount: 0 });
    expect(await keys('run-4/sorted_inventory/')).toEqual([]);

    const missing = await run(h, { runId: 'run-5', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/none.csv' });
    expect([missing.status, missing.error]).toEqual(['FAILED', 'InventoryRetrieval.InventoryInvalid']);
    await h.api.stop();
  });

  test('large inventories go to Glue (startJobRun, poll getJobRun, record its results); a failed Glue run fails clearly', async () => {
    vaultOf({ x1: 1 });
    const h = await harness();
    const rows = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\nx1,a.txt,2020-01-01T00:00:00Z,1,' + HASH(1) + '\n';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/big.csv', Body: rows }));
    // What the Glue job would have written.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'run-6/inventory_summary.json', Body: JSON.stringify({ runId: 'run-6', engine: 'glue', totalCount: 1, totalBytes: 1, transferCount: 1, transferBytes: 1, skippedCount: 0, skippedBytes: 0, errorCount: 0, renamedCount: 0, overriddenCount: 0, partitionCount: 1, partitionFiles: ['run-6/sorted_inventory/0000000000/part-00000.csv'] }) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'run-6/skipped/skipped.csv', Body: 'ArchiveId,CreationDate,Size,SHA256TreeHash,ObjectKey,LastModified,ArchiveDescription,Reason\n' }));
    const lowThreshold = JSON.parse(JSON.stringify(asl));
    lowThreshold.States.ChooseEngine.Choices[0].NumericGreaterThan = 10;
    const overrideKey = 'run-6/naming_override/staged/e-1.csv';
    const result = await run(h, { runId: 'run-6', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/big.csv', namingOverrideKey: overrideKey }, lowThreshold);
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.states).toEqual(expect.arrayContaining(['WriteKeptKeysForGlue', 'StartGlueInventoryJob', 'GetGlueJobRun', 'FinishGlueInventory']));
    expect(h.glueRuns).toEqual(['run-6']);
    // Contract with glue/inventory_job.py: the override the run record names, '' for none.
    // and the kept keys of a resume (header only here: nothing downloaded yet).
    expect(h.glueArguments[0]).toEqual({
      '--run_id': 'run-6', '--inventory_key': 'uploads/big.csv', '--naming_override_key': overrideKey, '--kept_keys_key': keptKeysKey('run-6'),
    });
    expect(await text(keptKeysKey('run-6'))).toBe('ArchiveId,ObjectKey\n');
    expect(await metrics('run-6')).toMatchObject({ totalCount: 1, inventoryEngine: 'glue' });
    expect(result.states).toContain('CheckProvidedInventoryAgainstVault');
    await h.api.stop();

    const failing = await harness({ glueState: 'FAILED' });
    const failed = await run(failing, { runId: 'run-7', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/big.csv' }, lowThreshold);
    expect([failed.status, failed.error]).toEqual(['FAILED', 'InventoryRetrieval.GlueJobFailed']);
    await failing.api.stop();
  });

  test('an understated provided inventory (right archives, sizes of 1 byte) is refused against DescribeVault before any Glacier job', async () => {
    addArchives(12);
    const h = await harness();
    const rows = archiveList(12).map((a) => `${a.archiveId},${a.description},${a.creationDate},1,${a.treeHash}`);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/understated.csv', Body: `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n${rows.join('\n')}\n` }));
    const vaultBytes = archiveList(12).reduce((n, a) => n + a.size, 0);
    const result = await run(h, { runId: 'run-9', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/understated.csv' });
    expect([result.status, result.error]).toEqual(['FAILED', 'InventoryRetrieval.ProvidedInventoryRefused']);
    expect(result.cause).toContain(`its archives total 12 bytes, the vault's ${vaultBytes}`);
    expect(result.cause).not.toContain('archives, the vault holds');
    expect(result.states).not.toContain('InventoryReady');
    expect(glacierFake.jobs.size).toBe(0);

    // One archive left out of an otherwise true inventory: the count differs too.
    const trueRows = archiveList(12).slice(1).map((a) => `${a.archiveId},${a.description},${a.creationDate},${a.size},${a.treeHash}`);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/short.csv', Body: `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n${trueRows.join('\n')}\n` }));
    const short = await run(h, { runId: 'run-10', vaultName: VAULT, storageClass: 'GLACIER', providedInventoryKey: 'uploads/short.csv' });
    expect([short.status, short.error]).toEqual(['FAILED', 'InventoryRetrieval.ProvidedInventoryRefused']);
    expect(short.cause).toContain('it lists 11 archives, the vault holds 12');
    expect(glacierFake.jobs.size).toBe(0);
    await h.api.stop();
  });

  test('a job that never completes ends in InventoryJobTimedOut after the bounded wait', async () => {
    addArchives(2);
    const h = await harness();
    onPublish = async () => undefined;
    const shortWait = JSON.parse(JSON.stringify(asl));
    shortWait.States.WaitForInventoryJob.Branches[0].States.AwaitInventoryJobToken.TimeoutSeconds = 3600;
    // The poller never sees it finish either.
    shortWait.States.WaitForInventoryJob.Branches[1].States.WaitBeforePollingJob.Seconds = 30 * 3600;
    const result = await run(h, { runId: 'run-8', vaultName: VAULT, storageClass: 'GLACIER' }, shortWait);
    expect([result.status, result.error]).toEqual(['FAILED', 'InventoryRetrieval.JobTimedOut']);
    expect(result.cause).toMatch(/did not complete in time/);
    await h.api.stop();
  });
});
