import { DescribeJobCommand, InitiateJobCommand, ListJobsCommand } from '@aws-sdk/client-glacier';
import { FakeDynamo, FakeGlacier, recordingLog, RUN, TOPIC, TRANSFER, VAULT } from './world';
import { INVENTORY_SK, runPk } from '../../../src/contract/keys';
import { initiateInventoryRetrieval, inventoryJobDescription, MAX_LIST_JOBS_PAGES } from '../../../src/handlers/inventory-retrieval/initiate-inventory';
import { InventoryStore } from '../../../src/handlers/inventory-retrieval/inventory-store';

let ddb: FakeDynamo;
let glacier: FakeGlacier;
const NOW = new Date('2026-11-24T06:00:00.000Z');

beforeEach(() => {
  ddb = new FakeDynamo();
  glacier = new FakeGlacier();
});
afterEach(() => {
  ddb.reset();
  glacier.reset();
});

const deps = () => ({
  glacier: glacier.client,
  store: new InventoryStore(ddb.client, TRANSFER),
  topicArn: TOPIC,
  log: recordingLog(),
  now: () => NOW,
});
const record = () => ddb.get(TRANSFER, runPk(RUN), INVENTORY_SK);

test('starts a CSV inventory-retrieval job notifying the transfer topic and records it', async () => {
  const result = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });

  expect(result).toEqual({ jobId: 'JOB0001', reused: false });
  const calls = glacier.mock.commandCalls(InitiateJobCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0].args[0].input).toEqual({
    accountId: '-',
    vaultName: VAULT,
    jobParameters: { Type: 'inventory-retrieval', Format: 'CSV', SNSTopic: TOPIC, Description: `glacier-vault-to-s3:v1:inventory/${RUN}` },
  });
  expect(record()).toEqual({
    pk: runPk(RUN),
    sk: INVENTORY_SK,
    runId: RUN,
    vaultName: VAULT,
    jobId: 'JOB0001',
    inventoryStatus: 'initiated',
    initiatedAt: NOW.toISOString(),
    source: 'glacier',
    requestingAt: '',
    requestingVault: VAULT,
  });
});

test('a retry of the same run reuses the job it already started (in progress or succeeded): no second InitiateJob', async () => {
  const first = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  const again = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(again).toEqual({ jobId: first.jobId, reused: true });

  glacier.jobs.get(first.jobId)!.statusCode = 'Succeeded';
  const afterSuccess = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(afterSuccess).toEqual({ jobId: first.jobId, reused: true });

  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
  expect(glacier.mock.commandCalls(DescribeJobCommand).map((c) => c.args[0].input)).toEqual([
    { accountId: '-', vaultName: VAULT, jobId: first.jobId },
    { accountId: '-', vaultName: VAULT, jobId: first.jobId },
  ]);
  expect(record()!.jobId).toBe(first.jobId);
});

test.each([
  ['failed', (j: { statusCode: string; expired?: boolean }) => { j.statusCode = 'Failed'; }],
  ['expired (Glacier no longer knows it)', (j: { statusCode: string; expired?: boolean }) => { j.expired = true; }],
])('a recorded job that %s is replaced by a new one, and the record points at the new job', async (_name, spoil) => {
  const first = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  spoil(glacier.jobs.get(first.jobId)!);

  const second = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(second.reused).toBe(false);
  expect(second.jobId).not.toBe(first.jobId);
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(2);
  expect(record()).toMatchObject({ jobId: second.jobId, inventoryStatus: 'initiated', vaultName: VAULT });
});

test('a job recorded for another vault is not reused', async () => {
  const first = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: 'other-vault' });
  const second = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(second.reused).toBe(false);
  expect(second.jobId).not.toBe(first.jobId);
  expect(glacier.mock.commandCalls(DescribeJobCommand)).toHaveLength(0);
  expect(record()).toMatchObject({ jobId: second.jobId, vaultName: VAULT });
});

test('DescribeJob errors other than ResourceNotFound are thrown (the state machine retries) and start nothing', async () => {
  const first = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  glacier.fail('DescribeJob', throttled);
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Rate exceeded');
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
  expect(record()!.jobId).toBe(first.jobId);
});

/** Lets the intent write through and fails the next UpdateItem (the one recording the job id). */
function failRecordingOnce(): void {
  let updates = 0;
  const error = Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' });
  ddb.beforeCommand = (command) => {
    if (command === 'Update' && ++updates === 2) throw error;
  };
}

test('the normal path writes the intent, starts the job and clears the intent; no ListJobs', async () => {
  const result = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(record()).toMatchObject({ jobId: result.jobId, requestingAt: '', requestingVault: VAULT });
  expect(glacier.mock.commandCalls(ListJobsCommand)).toHaveLength(0);
});

test('a crash between InitiateJob and recording the job: the retry finds the job by its description instead of paying again', async () => {
  failRecordingOnce();
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Service unavailable');
  expect(record()).toMatchObject({ requestingAt: NOW.toISOString(), requestingVault: VAULT });
  expect(record()!.jobId).toBeUndefined();
  // Other jobs of the vault (another run's inventory, archive jobs) are not taken.
  glacier.seedInventoryJob(VAULT, 'x', { statusCode: 'InProgress', description: inventoryJobDescription('other-run') });

  const retry = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(retry).toEqual({ jobId: 'JOB0001', reused: true });
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
  expect(record()).toMatchObject({ jobId: 'JOB0001', inventoryStatus: 'initiated', requestingAt: '' });
});

test('the unrecorded job is searched over ListJobs pages, but only up to the bound; then a job is started', async () => {
  failRecordingOnce();
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Service unavailable');
  const lost = glacier.jobs.get('JOB0001')!;
  glacier.jobs.delete('JOB0001');
  for (let i = 0; i < 50 * MAX_LIST_JOBS_PAGES; i++) glacier.seedInventoryJob(VAULT, 'x', { jobId: `FILL${i}`, statusCode: 'InProgress', description: 'someone else' });
  glacier.jobs.set(lost.jobId, lost); // listed after the bound
  const retry = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(retry.reused).toBe(false);
  expect(glacier.mock.commandCalls(ListJobsCommand)).toHaveLength(MAX_LIST_JOBS_PAGES);
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(2);
});

test('a failed unrecorded job is not reused', async () => {
  failRecordingOnce();
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Service unavailable');
  glacier.jobs.get('JOB0001')!.statusCode = 'Failed';
  const retry = await initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT });
  expect(retry).toEqual({ jobId: 'JOB0002', reused: false });
});

test('rejects missing runId / vaultName without calling Glacier', async () => {
  await expect(initiateInventoryRetrieval(deps(), { runId: '', vaultName: VAULT })).rejects.toThrow(/runId and vaultName are required/);
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: undefined as unknown as string })).rejects.toThrow(/required/);
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(0);
});

test('the job description is printable ASCII, names the run and stays within 1,024 characters', () => {
  expect(inventoryJobDescription('run 1/ü')).toBe('glacier-vault-to-s3:v1:inventory/run%201%2F%C3%BC');
  const long = inventoryJobDescription('x'.repeat(5000));
  expect(long.length).toBe(1024);
  expect(/^[\x20-\x7e]+$/.test(long)).toBe(true);
});
