import { DescribeJobCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { FakeDynamo, FakeGlacier, recordingLog, RUN, TOPIC, TRANSFER, VAULT } from './world';
import { initiateInventoryRetrieval, inventoryJobDescription } from '../../../src/handlers/inventory-retrieval/initiate-inventory';
import { InventoryStore } from '../../../src/handlers/inventory-retrieval/inventory-store';
import { INVENTORY_SK, runPk } from '../../../src/handlers/shared/schema';

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
  glacier.mock.on(DescribeJobCommand).rejectsOnce(throttled);
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Rate exceeded');
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
  expect(record()!.jobId).toBe(first.jobId);
});

test('when recording the job fails, the error surfaces (the retry then starts a job again: see the report)', async () => {
  ddb.failOnce.set('Update', Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' }));
  await expect(initiateInventoryRetrieval(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('Service unavailable');
  expect(glacier.mock.commandCalls(InitiateJobCommand)).toHaveLength(1);
  expect(record()).toBeUndefined();
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
