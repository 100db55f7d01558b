import { s3ObjectStore } from '../../rehearsal/sfn/object-store';
import { runStateMachine } from '../../rehearsal/sfn/runner';
import { loadDefinition } from '../../src/asl/definitions';
import { deletionLogKey, runStatusKey } from '../../src/contract/keys';
import { decommissionBatch } from '../../src/handlers/decommission/batch';
import { listRunArchives } from '../../src/handlers/decommission/list-archives';
import { DeletionLogEntry, writeDecommissionReport } from '../../src/handlers/decommission/report';
import { finalizeVault } from '../../src/handlers/decommission/vault-finalizer';
import { ArchiveStatus } from '../../src/handlers/shared/schema';
import { DEST, INVENTORY, LocalWorld } from '../handlers/decommission/local-world';

/*
 * The real decommission definition, run by the local ASL runner (rehearsal/sfn) with the real
 * handler code against the local S3 fake, Glacier fake (DeleteArchive/DeleteVault) and DynamoDB.
 */

const FN = (name: string) => `arn:aws:lambda:us-east-1:111122223333:function:${name}`;
const DEFINITION = loadDefinition('decommission');
const SUBSTITUTIONS = {
  InventoryBucket: INVENTORY,
  ListRunArchivesFunctionArn: FN('ListRunArchives'),
  DecommissionBatchFunctionArn: FN('DecommissionBatch'),
  DecommissionReportFunctionArn: FN('DecommissionReport'),
  VaultFinalizerFunctionArn: FN('VaultFinalizer'),
};

let world: LocalWorld;
beforeAll(async () => {
  world = await LocalWorld.start();
});
afterAll(async () => world.stop());

async function run(dryRun: 'YES' | 'NO', options: { batchSize?: number; vaultName?: string; deletionEnabled?: boolean } = {}) {
  const enabled = options.deletionEnabled ?? true;
  let definition = DEFINITION;
  if (options.batchSize) {
    definition = JSON.parse(JSON.stringify(DEFINITION));
    definition.States.CheckAndDeleteArchives.ItemBatcher.MaxItemsPerBatch = options.batchSize;
  }
  const result = await runStateMachine(definition, { runId: world.runId, vaultName: options.vaultName ?? world.vaultName, dryRun }, {
    substitutions: SUBSTITUTIONS,
    services: {
      objectStore: s3ObjectStore(world.s3Client),
      s3Client: world.s3Client,
      lambdaHandlers: {
        [FN('ListRunArchives')]: async (event: any) => listRunArchives(world.listDeps({ deletionEnabled: enabled }), event),
        [FN('DecommissionBatch')]: async (event: any) => decommissionBatch(world.batchDeps({ deletionEnabled: enabled }), event),
        [FN('DecommissionReport')]: async (event: any) => writeDecommissionReport(world.reportDeps(), event),
        [FN('VaultFinalizer')]: async (event: any) => finalizeVault(world.finalizerDeps(), event),
      },
    },
  });
  const transitions: string[] = (result as any).runtime.transitions(result.executionArn, { nested: true });
  return { ...result, transitions, output: result.output as any };
}

describe('decommission.asl.json', () => {
  test('static shape: JSONPath only, reserved error names, States.ALL alone, Map batches to S3', () => {
    const text = JSON.stringify(DEFINITION);
    expect(text).not.toMatch(/States\.All\b|"Assign"|"QueryLanguage"|"Arguments"|\{%/);
    const errorNames: string[] = [];
    const walk = (v: any): void => {
      if (Array.isArray(v)) {v.forEach(walk);} else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if ((k === 'Retry' || k === 'Catch') && Array.isArray(x)) {
            for (const r of x as any[]) {
              errorNames.push(...r.ErrorEquals);
              if (r.ErrorEquals.includes('States.ALL')) expect(r.ErrorEquals).toEqual(['States.ALL']);
            }
          }
          walk(x);
        }
      }
    };
    walk(DEFINITION);
    const ours = new Set(['DecommissionRefusedError', 'InvalidDecommissionBatchError', 'DeletionDeferredError', 'InventoryJobFailedError']);
    for (const name of errorNames) expect(/^(States|Lambda)\.[A-Za-z]+$/.test(name) || ours.has(name)).toBe(true);
    const map = DEFINITION.States.CheckAndDeleteArchives;
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ResultWriter.Parameters.Prefix).toMatch(/^tmp\//);
    expect(map.ItemReader.ReaderConfig.InputType).toBe('JSON');
  });

  test('dry run: writes the plan and deletes nothing', async () => {
    await world.seed(7);
    world.s3.buckets.get(DEST)!.objects.delete(world.archives[1].key);
    const r = await run('YES', { batchSize: 3, deletionEnabled: false });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.transitions).toContain('PlanWritten');
    expect(r.transitions).not.toContain('RequestFinalInventory');
    expect(r.output.outcome).toMatchObject({ vaultDeleted: false });
    expect(await world.archiveCount(world.vaultName)).toBe(7);
    const summary = await world.readJson<any>(r.output.report.summaryKey);
    expect(summary).toMatchObject({ dryRun: 'YES', archivesListed: 7, toDelete: { archives: 6 }, kept: { archives: 1, byReason: { 'object-missing': 1 } } });
    expect(await world.readJson<any[]>(summary.keys.toDelete)).toHaveLength(6);
    expect((await world.readJson<any[]>(summary.keys.kept))[0]).toMatchObject({ archiveId: world.archives[1].archiveId, reason: 'object-missing' });
    expect(world.glacier.jobs.size).toBe(0);
  });

  test('refused: wrong vault confirmation, or a real run when deletion is not enabled', async () => {
    await world.seed(2);
    const wrong = await run('NO', { vaultName: 'typo' });
    expect(wrong).toMatchObject({ status: 'FAILED', error: 'Decommission.Refused' });
    const disabled = await run('NO', { deletionEnabled: false });
    expect(disabled).toMatchObject({ status: 'FAILED', error: 'Decommission.Refused' });
    expect(await world.archiveCount(world.vaultName)).toBe(2);
  });

  test('real run with kept archives: deletes the rest, logs each deletion, keeps the vault', async () => {
    await world.seed(6);
    world.s3.buckets.get(DEST)!.objects.delete(world.archives[0].key);
    await world.putItem({ ...world.archives[4].item, status: ArchiveStatus.FAILED, runStatus: runStatusKey(world.runId, ArchiveStatus.FAILED) });
    const r = await run('NO', { batchSize: 2 });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.transitions).toContain('VaultKept');
    expect(r.transitions).not.toContain('DeleteVault');
    expect(await world.archiveCount(world.vaultName)).toBe(2);
    const log = await world.readJson<DeletionLogEntry[]>(deletionLogKey(world.runId));
    expect(log.map((e) => e.archiveId).sort()).toEqual([1, 2, 3, 5].map((i) => world.archives[i].archiveId).sort());
    expect(r.output.outcome).toMatchObject({ vaultDeleted: false, kept: 2, keptByReason: { 'object-missing': 1, 'status-not-downloaded': 1 } });
  });

  test('real run, everything proven: final inventory (waits for the job), then DeleteVault; a second run finds it done', async () => {
    await world.seed(5);
    const r = await run('NO', { batchSize: 2 });
    expect({ status: r.status, error: r.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    // The outcome first: when the vault is kept, it names what was kept and why.
    expect(r.output.outcome).toMatchObject({ vaultDeleted: true });
    expect(r.transitions).toEqual(expect.arrayContaining(['StartFinalInventory', 'RequestFinalInventory', 'WaitForFinalInventory', 'CheckFinalInventory', 'DeleteVault']));
    expect(await world.archiveCount(world.vaultName)).toBe('vault deleted');
    expect(await world.readJson<DeletionLogEntry[]>(deletionLogKey(world.runId))).toHaveLength(5);
  });

  test('resume: archives deleted by an earlier execution are not an error', async () => {
    await world.seed(4);
    // An earlier (crashed) execution deleted two archives from the vault; one of them was recorded.
    await decommissionBatch(world.batchDeps(), { BatchInput: { runId: world.runId, vaultName: world.vaultName, dryRun: 'NO', decommissionId: 'earlier' }, Items: [{ archiveId: world.archives[0].archiveId }] });
    world.glacier.clear();
    world.glacier.createVault(world.vaultName);
    for (const a of world.archives.slice(2)) {
      world.glacier.addArchive(world.vaultName, { archiveId: a.archiveId, size: a.data.length, treeHash: a.treeHash, description: '', creationDate: a.item.creationDate, read: (s, e) => [a.data.subarray(s, e)] });
    }
    const r = await run('NO');
    expect({ status: r.status, error: r.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    expect(r.output.report).toMatchObject({ toDelete: 3, alreadyDeleted: 1, kept: 0 });
    expect(r.output.outcome).toMatchObject({ vaultDeleted: true });
  });
});
