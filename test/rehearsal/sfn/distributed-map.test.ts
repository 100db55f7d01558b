import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Fake, startS3Fake } from '../../../rehearsal/services/s3-fake';
import { MemoryObjectStore } from '../../../rehearsal/sfn/object-store';
import { runStateMachine, SfnRuntime } from '../../../rehearsal/sfn/runner';

const FN = 'arn:aws:lambda:us-east-1:111122223333:function:copy';

const distributedMap = (extra: Record<string, unknown>, processor?: Record<string, unknown>) => ({
  StartAt: 'Copy archives',
  States: {
    'Copy archives': {
      Type: 'Map',
      ItemProcessor: processor ?? {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Copy one',
        States: { 'Copy one': { Type: 'Task', Resource: FN, End: true } },
      },
      End: true,
      ...extra,
    },
  },
});

describe('ItemReader against the local S3 fake (real S3Client)', () => {
  let s3fake: S3Fake;
  let s3: S3Client;

  beforeAll(async () => {
    s3fake = await startS3Fake({ accountId: '111122223333' });
    s3 = new S3Client({ region: 'us-east-1', endpoint: s3fake.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'r', secretAccessKey: 'r' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'inventory-bucket' }));
    await s3.send(new PutObjectCommand({
      Bucket: 'inventory-bucket',
      Key: 'vault/inventory.csv',
      Body: 'ArchiveId,Size,Description\na-1,10,first\na-2,20,"second, with comma"\na-3,30,third\na-4,40,fourth\n',
    }));
  });

  afterAll(async () => {
    s3?.destroy();
    await s3fake?.stop();
  });

  test('CSV with FIRST_ROW header, MaxItems, ItemSelector with $$.Map.Item.Index/Value and map input, MaxConcurrency', async () => {
    const seen: any[] = [];
    const result = await runStateMachine(distributedMap({
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW', MaxItems: 3 },
        Parameters: { 'Bucket.$': '$.bucket', 'Key': 'vault/inventory.csv' },
      },
      ItemSelector: { 'index.$': '$$.Map.Item.Index', 'archive.$': '$$.Map.Item.Value', 'vault.$': '$.vault' },
      MaxConcurrency: 2,
      ResultSelector: { 'copied.$': '$' },
    }), { bucket: 'inventory-bucket', vault: 'photos' }, {
      services: {
        s3Client: s3,
        lambdaHandlers: {
          [FN]: async (event: any) => {
            seen.push(event);
            await new Promise((r) => setTimeout(r, 5));
            return { id: event.archive.ArchiveId, size: Number(event.archive.Size) };
          },
        },
      },
    });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.output).toEqual({ copied: [{ id: 'a-1', size: 10 }, { id: 'a-2', size: 20 }, { id: 'a-3', size: 30 }] });
    expect(seen.sort((a, b) => a.index - b.index)[1]).toEqual({ index: 1, vault: 'photos', archive: { ArchiveId: 'a-2', Size: '20', Description: 'second, with comma' } });
    const run = result.runtime.mapRuns[0];
    expect(run).toMatchObject({ stateName: 'Copy archives', status: 'SUCCEEDED', itemCount: 3, childCount: 3, succeeded: 3, maxConcurrencyObserved: 2 });
    // children's events are in the parent's log, tagged with the map run and item index
    expect(result.events.filter((e) => e.type === 'StateEntered' && e.stateName === 'Copy one').map((e) => e.index).sort()).toEqual([0, 1, 2]);
  });

  test('ResultWriter writes manifest.json + SUCCEEDED_0.json to the local S3 and returns the writer details', async () => {
    const result = await runStateMachine(distributedMap({
      ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'inventory-bucket', Prefix: 'vault/' } },
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'inventory-bucket', Prefix: 'results/' } },
    }), {}, {
      services: { s3Client: s3, lambdaHandlers: { copy: async (event: any) => ({ key: event.Key, size: event.Size }) } },
    });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const output = result.output as any;
    expect(output.MapRunArn).toMatch(/^arn:aws:states:us-east-1:111122223333:mapRun:Main\/Copy archives:/);
    expect(output.ResultWriterDetails.Bucket).toBe('inventory-bucket');
    expect(output.ResultWriterDetails.Key).toMatch(/^results\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = JSON.parse(s3fake.objectBytes('inventory-bucket', output.ResultWriterDetails.Key)!.toString());
    expect(manifest).toMatchObject({ DestinationBucket: 'inventory-bucket', MapRunArn: output.MapRunArn, ResultFiles: { FAILED: [], PENDING: [] } });
    const succeeded = JSON.parse(s3fake.objectBytes('inventory-bucket', manifest.ResultFiles.SUCCEEDED[0].Key)!.toString());
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({ Status: 'SUCCEEDED', InputDetails: { Included: true } });
    expect(JSON.parse(succeeded[0].Input)).toMatchObject({ Key: 'vault/inventory.csv', StorageClass: 'STANDARD' });
    expect(JSON.parse(succeeded[0].Output)).toEqual({ key: 'vault/inventory.csv', size: JSON.parse(succeeded[0].Input).Size });
  });
});

describe('batching and tolerated failures (in-memory object store)', () => {
  test('ItemBatcher: MaxItemsPerBatch produces {BatchInput, Items} per child', async () => {
    const store = new MemoryObjectStore();
    await store.putObject('b', 'items.json', JSON.stringify([1, 2, 3, 4, 5]));
    const batches: any[] = [];
    const result = await runStateMachine(distributedMap({
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { Bucket: 'b', Key: 'items.json' } },
      ItemSelector: { 'n.$': '$$.Map.Item.Value' },
      ItemBatcher: { MaxItemsPerBatch: 2, BatchInput: { 'vault.$': '$.vault' } },
      MaxConcurrency: 1,
    }), { vault: 'v1' }, {
      services: { objectStore: store, lambdaHandlers: { copy: async (event: any) => { batches.push(event); return event.Items.length; } } },
    });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(batches).toEqual([
      { BatchInput: { vault: 'v1' }, Items: [{ n: 1 }, { n: 2 }] },
      { BatchInput: { vault: 'v1' }, Items: [{ n: 3 }, { n: 4 }] },
      { BatchInput: { vault: 'v1' }, Items: [{ n: 5 }] },
    ]);
    expect(result.output).toEqual([2, 2, 1]);
  });

  test('ItemBatcher: MaxInputBytesPerBatch splits by serialized size', async () => {
    const items = Array.from({ length: 6 }, (_, i) => ({ id: `archive-${i}` }));
    const sizes: number[] = [];
    const result = await runStateMachine(distributedMap({ ItemsPath: '$.items', ItemBatcher: { MaxInputBytesPerBatch: 60 } }), { items }, {
      services: {
        lambdaHandlers: {
          copy: async (event: any) => {
            sizes.push(Buffer.byteLength(JSON.stringify(event)));
            return event.Items.length;
          },
        },
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as number[]).reduce((a, b) => a + b, 0)).toBe(6);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(60);
    expect(sizes.length).toBeGreaterThan(1);
  });

  test('ToleratedFailurePercentage: below the threshold succeeds (failed items reported), above fails with States.ExceedToleratedFailureThreshold', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ i }));
    const handler = async (event: any) => {
      if (event.i < 2) throw Object.assign(new Error(`bad item ${event.i}`), { name: 'CopyFailed' });
      return event.i;
    };
    const tolerant = await runStateMachine(distributedMap({ ItemsPath: '$.items', ToleratedFailurePercentage: 20 }), { items }, {
      services: { lambdaHandlers: { copy: handler } },
    });
    expect([tolerant.status, tolerant.error]).toEqual(['SUCCEEDED', undefined]);
    expect((tolerant.output as any[])[0]).toMatchObject({ Error: 'CopyFailed' });
    expect((tolerant.output as any[]).slice(2)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tolerant.runtime.mapRuns[0]).toMatchObject({ failed: 2, succeeded: 8, status: 'SUCCEEDED' });

    const strictAsl = distributedMap({
      ItemsPath: '$.items',
      ToleratedFailurePercentage: 10,
      End: undefined,
      Next: 'Report',
      Catch: [{ ErrorEquals: ['States.ExceedToleratedFailureThreshold'], ResultPath: '$.failure', Next: 'Report' }],
    });
    (strictAsl.States as any).Report = { Type: 'Pass', End: true };
    const strict = await runStateMachine(strictAsl, { items }, { services: { lambdaHandlers: { copy: handler } } });
    expect(strict.status).toBe('SUCCEEDED');
    expect((strict.output as any).failure.Error).toBe('States.ExceedToleratedFailureThreshold');
    expect(strict.runtime.mapRuns[0]).toMatchObject({ status: 'FAILED', failedItems: 2 });
    expect(strict.transitions).toEqual(['Copy archives', 'Report']);
  });
});

describe('idle accounting of Distributed Map children (busyExecutions)', () => {
  /** A manual clock: timers fire only when the test advances it. */
  function manualClock() {
    let now = 0;
    const timers: { at: number; fire: () => void }[] = [];
    return {
      now: () => now,
      schedule: (at: number, fire: () => void) => {
        const t = { at, fire };
        timers.push(t);
        return () => {
          const i = timers.indexOf(t);
          if (i >= 0) timers.splice(i, 1);
        };
      },
      advance: (ms: number) => {
        now += ms;
        for (const t of timers.filter((x) => x.at <= now)) {
          timers.splice(timers.indexOf(t), 1);
          t.fire();
        }
      },
      pending: () => timers.length,
    };
  }

  test('a child parked on a Wait (inside nested Distributed Maps) leaves the execution idle; its tasks make it busy', async () => {
    const clock = manualClock();
    let releaseTask!: () => void;
    let taskStarted!: () => void;
    const started = new Promise<void>((resolve) => { taskStarted = resolve; });
    const inner = {
      Type: 'Map',
      ItemsPath: '$.items',
      MaxConcurrency: 1,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Pause',
        States: {
          Pause: { Type: 'Wait', Seconds: 60, Next: 'Work' },
          Work: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'work', Payload: {} }, End: true },
        },
      },
      End: true,
    };
    const definition = {
      StartAt: 'Outer',
      States: {
        Outer: {
          Type: 'Map',
          ItemsPath: '$.groups',
          MaxConcurrency: 1,
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'Inner', States: { Inner: inner } },
          End: true,
        },
      },
    };
    const runtime = new SfnRuntime({
      clock,
      lowerOptions: { lowerWaits: true },
      services: {
        lambdaHandlers: {
          work: async () => {
            taskStarted();
            await new Promise<void>((resolve) => { releaseTask = resolve; });
            return 1;
          },
        },
      },
    });
    runtime.registerStateMachine('Nested', definition as any);
    const record = await runtime.startExecution('Nested', { groups: [{ items: [1] }] });
    for (let i = 0; i < 50 && clock.pending() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.pending()).toBe(1);
    expect(runtime.busyExecutions()).toBe(0);
    clock.advance(60_000);
    await started;
    expect(runtime.busyExecutions()).toBe(1);
    releaseTask();
    const done = await runtime.whenDone(record.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(runtime.busyExecutions()).toBe(0);
  });
});
