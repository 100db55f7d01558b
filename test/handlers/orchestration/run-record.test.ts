import { GetBucketLocationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { BUCKET, FACILITATOR, OrchestrationDynamo, OWNER, silentLogger, TRANSFER } from './fakes';
import { activeVaultPk, completionWaitPk, RUN_SK, runPk, stagedNamingOverrideKey } from '../../../src/contract/keys';
import { finishRun, RunRecordDeps, RunRequest, startRun } from '../../../src/handlers/orchestration/run-record';
import { RunState } from '../../../src/handlers/shared/schema';
import { FakeS3 } from '../../doubles/s3';
import { FakeSfn } from '../../doubles/sfn';

const SM = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Initiate';
const exec = (n: number) => `arn:aws:states:eu-west-1:111122223333:execution:Orchestrator:e${n}`;
let dynamo: OrchestrationDynamo;
let s3: FakeS3;
let sfn: FakeSfn;
let deps: RunRecordDeps;

const INVENTORY = 'transfer-inventory';
const CSV = 'GlacierArchiveID,FileName\narchive-1,photos/a.jpg\n';
const Q = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=1';
const fetchReturning = (status: number, body: string): typeof fetch => (async () => new Response(body, { status })) as typeof fetch;
const launch = (runId: string, vaultName = 'photos', extra: Partial<RunRequest> = {}) => ({ runId, mode: 'LAUNCH' as const, vaultName, ...extra });

beforeEach(() => {
  dynamo = new OrchestrationDynamo();
  s3 = new FakeS3({ owner: OWNER, location: 'eu-west-1' }); // the destination and the inventory bucket
  s3.seed('uploads/mine.csv', CSV);
  s3.seed('uploads/v1.csv', CSV);
  sfn = new FakeSfn();
  // Each execution calls startRun from inside itself, so it is running.
  for (let n = 0; n < 10; n++) sfn.executions.set(exec(n), { status: 'RUNNING' });
  deps = {
    ddb: dynamo.client,
    s3: s3.client,
    sfn: sfn.client,
    transferTable: TRANSFER,
    asyncFacilitatorTable: FACILITATOR,
    destinationBucket: BUCKET,
    destinationBucketOwner: OWNER,
    destinationPrefix: 'backup/',
    region: 'eu-west-1',
    initiateStateMachineArn: SM,
    defaultStorageClass: 'DEEP_ARCHIVE',
    defaultTier: 'Bulk',
    dailyQuotaBytes: 1000,
    now: () => new Date('2024-03-01T12:00:00Z'),
    random: () => 'abc123',
    inventoryBucket: INVENTORY,
    fetch: fetchReturning(200, CSV),
    log: silentLogger(),
  };
});
afterEach(() => {
  dynamo.mock.restore();
  s3.reset();
  sfn.reset();
});

describe('start (LAUNCH)', () => {
  test('records the run, takes the vault lock and returns the stage inputs', async () => {
    const ctx = await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1', 'photos', { storageClass: 'S3 Standard' }) });
    expect(ctx).toMatchObject({ runId: 'r1', vaultName: 'photos', mode: 'LAUNCH', storageClass: 'STANDARD', tier: 'Bulk', initiateExecutionName: 'r1-abc123-initiate' });
    expect(ctx.inventoryInput.providedInventoryKey).toBeUndefined();
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toMatchObject({
      state: RunState.ACTIVE,
      executionArn: exec(1),
      vaultName: 'photos',
      executions: 1,
      initiateExecutionArn: 'arn:aws:states:eu-west-1:111122223333:execution:Initiate:r1-abc123-initiate',
    });
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toMatchObject({ runId: 'r1', executionArn: exec(1) });
    expect(s3.mock.commandCalls(GetBucketLocationCommand)[0].args[0].input).toEqual({ Bucket: BUCKET, ExpectedBucketOwner: OWNER });
  });

  test('rejects a second active run for the same vault and writes nothing for it', async () => {
    await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1') });
    await expect(startRun(deps, { action: 'start', executionArn: exec(2), request: launch('r2') }))
      .rejects.toMatchObject({ name: 'VaultBusy' });
    expect(sfn.mock.commandCalls(DescribeExecutionCommand)[0].args[0].input).toEqual({ executionArn: exec(1) });
    expect(dynamo.get(TRANSFER, runPk('r2'), RUN_SK)).toBeUndefined();
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)!.runId).toBe('r1');
    // Another vault is free.
    await expect(startRun(deps, { action: 'start', executionArn: exec(3), request: launch('r3', 'scans') })).resolves.toMatchObject({ vaultName: 'scans' });
  });

  test('a lock whose execution no longer runs is replaced', async () => {
    await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1') });
    sfn.executions.set(exec(1), { status: 'FAILED' });
    await startRun(deps, { action: 'start', executionArn: exec(2), request: launch('r2') });
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toMatchObject({ runId: 'r2', executionArn: exec(2) });
  });

  test('rejects bad input, an existing run id, a foreign bucket and an unacknowledged cross-region bucket', async () => {
    const start = (request: any) => startRun(deps, { action: 'start', executionArn: exec(9), request });
    await expect(start(launch('bad id'))).rejects.toMatchObject({ name: 'InvalidRunId' });
    // Issue 22: the inventory bucket's tmp/ lifecycle rule would expire the run's files after 14 days.
    await expect(start(launch('tmp'))).rejects.toMatchObject({ name: 'InvalidRunId', message: expect.stringContaining('run id tmp is reserved') });
    await expect(start(launch('glue_tmp'))).rejects.toMatchObject({ name: 'InvalidRunId' });
    await expect(start({ runId: 'tmp', mode: 'RESUME' })).rejects.toMatchObject({ name: 'InvalidRunId' });
    expect(dynamo.get(TRANSFER, runPk('tmp'), RUN_SK)).toBeUndefined();
    await expect(start(launch('r1', 'no/slash'))).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(start(launch('r1', 'photos', { tier: 'Fast' }))).rejects.toMatchObject({ name: 'InvalidInput' });
    await start(launch('r1'));
    await expect(start(launch('r1', 'scans'))).rejects.toMatchObject({ name: 'RunAlreadyExists' });
    s3.owner = 'another-account';
    await expect(start(launch('r5', 'scans'))).rejects.toMatchObject({ name: 'DestinationBucketUnavailable' });
    s3.owner = OWNER;
    s3.location = 'EU'; // = eu-west-1
    await expect(start(launch('r6', 'scans'))).resolves.toBeDefined();
    s3.location = undefined; // us-east-1
    await expect(start(launch('r7', 'docs'))).rejects.toMatchObject({ name: 'CrossRegionNotAcknowledged' });
    await expect(start(launch('r7', 'docs', { acknowledgeCrossRegion: 'YES' }))).resolves.toBeDefined();
  });
});

describe('naming override (issue 22: a rejected Launch writes nothing)', () => {
  const start = (n: number, request: RunRequest) => startRun(deps, { action: 'start', executionArn: exec(n), request });
  const writes = () => s3.mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);

  test('is staged under a key of this execution, named on the run record and handed to the inventory stage', async () => {
    const ctx = await start(1, launch('r1', 'photos', { namingOverride: `https://b.s3.eu-west-1.amazonaws.com/n.csv${Q}` }));
    const key = stagedNamingOverrideKey('r1', 'e1');
    expect(writes()).toEqual([key]);
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toMatchObject({ namingOverrideKey: key, state: RunState.ACTIVE, executionArn: exec(1) });
    expect(ctx.inventoryInput.namingOverrideKey).toBe(key);
    const plain = await start(2, launch('r2', 'scans'));
    expect(plain.inventoryInput.namingOverrideKey).toBe('');
  });

  test('a Launch with an existing run id is refused before anything is written, and the run keeps its override', async () => {
    await start(1, launch('r1', 'photos', { namingOverride: `s3://${INVENTORY}/uploads/mine.csv` }));
    const before = dynamo.get(TRANSFER, runPk('r1'), RUN_SK);
    const lock = dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK);
    s3.mock.resetHistory();
    await expect(start(2, launch('r1', 'scans', { namingOverride: `s3://${INVENTORY}/uploads/attacker.csv` }))).rejects.toMatchObject({ name: 'RunAlreadyExists' });
    await expect(start(3, launch('r1', 'scans', { namingOverride: `https://b.s3.amazonaws.com/x.csv${Q}` }))).rejects.toMatchObject({ name: 'RunAlreadyExists' });
    expect(writes()).toEqual([]);
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toEqual(before);
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toEqual(lock);
    expect(dynamo.get(TRANSFER, activeVaultPk('scans'), RUN_SK)).toBeUndefined();
  });

  test('every other refusal (busy vault, foreign bucket, bad override URL) writes nothing', async () => {
    await start(1, launch('r1'));
    s3.mock.resetHistory();
    await expect(start(2, launch('r2', 'photos', { namingOverride: `s3://${INVENTORY}/a.csv` }))).rejects.toMatchObject({ name: 'VaultBusy' });
    s3.owner = 'another-account';
    await expect(start(3, launch('r3', 'scans', { namingOverride: `s3://${INVENTORY}/a.csv` }))).rejects.toMatchObject({ name: 'DestinationBucketUnavailable' });
    s3.owner = OWNER;
    await expect(start(4, launch('r4', 'scans', { namingOverride: 's3://someone-else/a.csv' }))).rejects.toMatchObject({ name: 'InvalidNamingOverride' });
    expect(writes()).toEqual([]);
    expect(['r2', 'r3', 'r4'].map((r) => dynamo.get(TRANSFER, runPk(r), RUN_SK))).toEqual([undefined, undefined, undefined]);
    expect(dynamo.get(TRANSFER, activeVaultPk('scans'), RUN_SK)).toBeUndefined();
  });

  test('an override that cannot be downloaded takes back the Launch: no record, no lock', async () => {
    deps = { ...deps, fetch: fetchReturning(403, 'AccessDenied') };
    await expect(start(1, launch('r1', 'photos', { namingOverride: `https://b.s3.amazonaws.com/x.csv${Q}` })))
      .rejects.toMatchObject({ name: 'InvalidNamingOverride', message: expect.stringContaining('HTTP 403') });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toBeUndefined();
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();
    expect(writes()).toEqual([]);
  });

  test('a Resume whose new override is refused leaves the run as it was, with its old override', async () => {
    await start(1, launch('r1', 'photos', { namingOverride: `s3://${INVENTORY}/uploads/v1.csv` }));
    await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(1), outcome: 'STOPPED' });
    const stopped = dynamo.get(TRANSFER, runPk('r1'), RUN_SK);
    deps = { ...deps, fetch: fetchReturning(500, '') };
    await expect(start(2, { runId: 'r1', mode: 'RESUME', namingOverride: `https://b.s3.amazonaws.com/x.csv${Q}` }))
      .rejects.toMatchObject({ name: 'InvalidNamingOverride' });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toEqual(stopped);
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();
    // Resuming without a new override keeps the staged one of the first execution.
    const ctx = await start(3, { runId: 'r1', mode: 'RESUME' });
    expect(ctx.inventoryInput.namingOverrideKey).toBe(stagedNamingOverrideKey('r1', 'e1'));
  });
});

describe('retrieval tier bound (issue 22)', () => {
  const start = (n: number, request: RunRequest) => startRun(deps, { action: 'start', executionArn: exec(n), request });

  test('a caller choosing Expedited against the allowed tiers is refused and nothing is written', async () => {
    await expect(start(1, launch('r1', 'photos', { tier: 'Expedited' })))
      .rejects.toMatchObject({ name: 'TierNotAllowed', message: 'retrieval tier Expedited is not allowed by this deployment (allowed: Bulk)' });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toBeUndefined();
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();
    deps = { ...deps, allowedTiers: ['Bulk', 'Standard'] };
    await expect(start(2, launch('r2', 'photos', { tier: 'Standard' }))).resolves.toMatchObject({ tier: 'Standard' });
  });

  test('a Resume may not keep a tier the deployment no longer allows', async () => {
    deps = { ...deps, allowedTiers: ['Bulk', 'Expedited'] };
    await start(1, launch('r1', 'photos', { tier: 'Expedited' }));
    await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(1), outcome: 'STOPPED' });
    deps = { ...deps, allowedTiers: ['Bulk'] };
    await expect(start(2, { runId: 'r1', mode: 'RESUME' })).rejects.toMatchObject({ name: 'TierNotAllowed' });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toMatchObject({ state: RunState.STOPPED, executionArn: exec(1) });
    await expect(start(3, { runId: 'r1', mode: 'RESUME', tier: 'Bulk' })).resolves.toMatchObject({ tier: 'Bulk' });
  });
});

describe('start (RESUME)', () => {
  async function stoppedRun() {
    await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1', 'photos', { providedInventory: 'YES' }) });
    await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(1), outcome: 'STOPPED' });
    dynamo.seed(TRANSFER, { ...dynamo.get(TRANSFER, runPk('r1'), RUN_SK), stopRequested: 'RESET', stopRequestedAt: 'x' });
  }

  test('keeps the vault from the run record, whatever the request says', async () => {
    await stoppedRun();
    deps = { ...deps, allowedTiers: ['Bulk', 'Standard'] };
    const ctx = await startRun(deps, { action: 'start', executionArn: exec(2), request: { runId: 'r1', mode: 'RESUME', vaultName: 'scans', tier: 'Standard' } });
    expect(ctx).toMatchObject({ vaultName: 'photos', mode: 'RESUME', tier: 'Standard', storageClass: 'DEEP_ARCHIVE', providedInventory: 'YES' });
    expect(ctx.inventoryInput).toMatchObject({ vaultName: 'photos', providedInventoryKey: expect.stringContaining('r1') });
    const record = dynamo.get(TRANSFER, runPk('r1'), RUN_SK)!;
    expect(record).toMatchObject({ vaultName: 'photos', state: RunState.ACTIVE, executionArn: exec(2), executions: 2, startedBy: 'RESUME' });
    expect(record.stopRequested).toBeUndefined();
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toMatchObject({ runId: 'r1', executionArn: exec(2) });
    expect(dynamo.get(TRANSFER, activeVaultPk('scans'), RUN_SK)).toBeUndefined();
  });

  test('retryFailed reaches the stages for a Resume (absent: NO); a Launch never retries; anything else is refused', async () => {
    await stoppedRun();
    const resume = (n: number, retryFailed?: string) => startRun(deps, { action: 'start', executionArn: exec(n), request: { runId: 'r1', mode: 'RESUME', retryFailed } });
    await expect(resume(2, 'maybe')).rejects.toMatchObject({ name: 'InvalidInput', message: 'retryFailed must be YES or NO, got "maybe"' });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toMatchObject({ state: RunState.STOPPED, executionArn: exec(1) });
    await expect(resume(2, 'YES')).resolves.toMatchObject({ retryFailed: 'YES' });
    for (const [n, flag] of [[3, 'NO'], [4, undefined]] as const) {
      await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(n - 1), outcome: 'STOPPED' });
      await expect(resume(n, flag)).resolves.toMatchObject({ retryFailed: 'NO' });
    }
    await expect(startRun(deps, { action: 'start', executionArn: exec(9), request: launch('r9', 'scans', { retryFailed: 'YES' }) }))
      .resolves.toMatchObject({ retryFailed: 'NO' });
  });

  test('rejects an unknown run and a run whose execution still runs', async () => {
    await expect(startRun(deps, { action: 'start', executionArn: exec(2), request: { runId: 'nope', mode: 'RESUME' } }))
      .rejects.toMatchObject({ name: 'RunNotFound' });
    await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1') });
    await expect(startRun(deps, { action: 'start', executionArn: exec(2), request: { runId: 'r1', mode: 'RESUME' } }))
      .rejects.toMatchObject({ name: 'RunStillActive' });
  });
});

describe('finish', () => {
  test('closes the run, releases the lock and the completion wait; a stale execution leaves them alone', async () => {
    await startRun(deps, { action: 'start', executionArn: exec(1), request: launch('r1') });
    dynamo.seed(FACILITATOR, { pk: completionWaitPk('r1'), taskToken: 't' });
    const stale = await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(0), outcome: 'COMPLETE' });
    expect(stale.owner).toBe(false);
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeDefined();
    const done = await finishRun(deps, { action: 'finish', runId: 'r1', executionArn: exec(1), error: { Error: 'States.TaskFailed', Cause: 'boom' }, reportPrefix: 'r1/reports/x/' });
    expect(done).toMatchObject({ owner: true, state: RunState.FAILED, detailType: 'Transfer Run Failed', error: 'States.TaskFailed: boom' });
    expect(dynamo.get(TRANSFER, runPk('r1'), RUN_SK)).toMatchObject({ state: RunState.FAILED, reportPrefix: 'r1/reports/x/', endedAt: '2024-03-01T12:00:00.000Z' });
    expect(dynamo.get(TRANSFER, activeVaultPk('photos'), RUN_SK)).toBeUndefined();
    expect(dynamo.get(FACILITATOR, completionWaitPk('r1'))).toBeUndefined();
  });
});
