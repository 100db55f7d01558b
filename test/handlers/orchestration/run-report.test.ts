import { archive, OrchestrationDynamo, silentLogger, TRANSFER } from './fakes';
import { parseInventoryCsv } from '../../../src/core/inventory';
import { writeRunReport } from '../../../src/handlers/orchestration/run-report';
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
  s3.mock.restore();
});

describe('writeRunReport', () => {
  const deps = () => ({ ddb: dynamo.client, s3: s3.client, transferTable: TRANSFER, inventoryBucket: 'inv', log: silentLogger(), now: () => new Date('2024-03-01T12:00:00.123Z') });

  test('manifest (RFC 4180) and failed_archives (Glacier inventory CSV, backslash-escaped quotes)', async () => {
    const tricky = 'say "hi", C:\\dir\\';
    for (const a of [
      archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd1', objectKey: 'backup/a,b.txt', size: 10 }),
      archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f1', description: tricky, size: 20, failureReason: 'tree hash "mismatch"' }),
      archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f2', description: 'plain', size: 30 }),
      archive(RUN, ArchiveStatus.SKIPPED, { archiveId: 's1' }),
      archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd2' }),
      archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd3' }),
    ]) dynamo.seed(TRANSFER, a);
    const result = await writeRunReport(deps(), { runId: RUN });
    expect(result.prefix).toBe('run-1/reports/2024-03-01T12-00-00-123Z/');
    expect(result.counts).toEqual({ pending: 0, requested: 0, staged: 0, downloaded: 3, failed: 2, skipped: 1 });
    expect(result.remainingArchivesKey).toBe('');
    expect(s3.objects.has(`${result.prefix}remaining_archives.csv`)).toBe(false);

    const manifest = s3.objects.get(result.manifestKey)!.body.toString('utf8').split('\n');
    expect(manifest[0]).toBe('ArchiveId,ObjectKey,Size,SHA256TreeHash,Status,Reason,FailedIn');
    // Without the execution's start, FailedIn stays empty.
    expect(manifest).toContain(`d1,"backup/a,b.txt",10,${'ab'.repeat(32)},downloaded,,`);
    expect(manifest).toContain(`f1,backup/f1.bin,20,${'ab'.repeat(32)},failed,"tree hash ""mismatch""",`);
    expect(manifest).toContain(`s1,backup/s1.bin,${manifest.find((l) => l.startsWith('s1,'))!.split(',')[2]},${'ab'.repeat(32)},skipped,skipped,`);
    expect(manifest.filter(Boolean)).toHaveLength(7);

    const failedText = s3.objects.get(result.failedArchivesKey)!.body.toString('utf8');
    expect(failedText.split('\n')).toEqual([
      'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash',
      `f1,"say \\"hi\\", C:\\dir\\",2012-05-01T10:00:00Z,20,${'ab'.repeat(32)}`,
      `f2,plain,2012-05-01T10:00:00Z,30,${'ab'.repeat(32)}`,
      '',
    ]);
    // It reads back as a provided inventory with the exact descriptions.
    const parsed = [];
    for await (const r of parseInventoryCsv([failedText])) parsed.push(r);
    expect(parsed).toEqual([
      expect.objectContaining({ kind: 'archive', archiveId: 'f1', description: tricky, size: 20 }),
      expect.objectContaining({ kind: 'archive', archiveId: 'f2', description: 'plain', size: 30 }),
    ]);
    expect(JSON.parse(s3.objects.get(`${result.prefix}summary.json`)!.body.toString()).counts.failed).toBe(2);
  });

  test('issue #16: unreadable inventory rows go, as the inventory had them, to unreadable_rows.csv / .json, not to failed_archives.csv', async () => {
    const hash = 'ab'.repeat(32);
    const badCsv = ['idA,"bad date",2013-13-45T99:00:00Z,123,' + hash, ',"no id",2014-01-01T00:00:00.000Z,10,' + hash];
    const badJson = '{"ArchiveId":"idJ","ArchiveDescription":"","CreationDate":"2014-01-01T00:00:00Z","Size":-5,"SHA256TreeHash":"' + hash + '"}';
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f1', failureReason: 'denied' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'idA', pk: 'archive#run-1#inventory-row-3', inventoryRow: 3, inventoryRaw: badCsv[0], size: 0, treeHash: '', creationDate: '', failureReason: 'unreadable inventory row 3: invalid CreationDate' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'row 5', pk: 'archive#run-1#inventory-row-5', inventoryRow: 5, inventoryRaw: badCsv[1], size: 0, treeHash: '', creationDate: '', failureReason: 'unreadable inventory row 5: empty ArchiveId' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'idJ', pk: 'archive#run-1#inventory-row-7', inventoryRow: 7, inventoryRaw: badJson, size: 0, treeHash: '', creationDate: '', failureReason: 'unreadable inventory row 7: invalid Size' }));
    const result = await writeRunReport(deps(), { runId: RUN });
    expect(result.unreadableRowsKeys).toEqual([`${result.prefix}unreadable_rows.csv`, `${result.prefix}unreadable_rows.json`]);
    // failed_archives.csv lists only archives and parses without an error.
    const failedText = s3.text(result.failedArchivesKey)!;
    const parsed = [];
    for await (const r of parseInventoryCsv([failedText])) parsed.push(r);
    expect(parsed).toEqual([expect.objectContaining({ kind: 'archive', archiveId: 'f1' })]);
    // The unreadable rows exactly as served, under the inventory's CSV header: mend and feed back.
    const csvText = s3.text(`${result.prefix}unreadable_rows.csv`)!;
    expect(csvText.split('\n').slice(0, 1)).toEqual(['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash']);
    expect(csvText.split('\n').slice(1).filter(Boolean).sort()).toEqual([...badCsv].sort());
    const errors = [];
    for await (const r of parseInventoryCsv([csvText])) errors.push(r.kind);
    expect(errors).toEqual(['error', 'error']);
    const mended = csvText.replace('2013-13-45T99:00:00Z', '2013-12-01T09:00:00Z');
    const reread = [];
    for await (const r of parseInventoryCsv([mended])) reread.push(r);
    expect(reread).toContainEqual(expect.objectContaining({ kind: 'archive', archiveId: 'idA', size: 123 }));
    // A JSON inventory's element stays JSON, in an ArchiveList.
    expect(JSON.parse(s3.text(`${result.prefix}unreadable_rows.json`)!)).toEqual({ ArchiveList: [JSON.parse(badJson)] });
    // The manifest and the counts still have every row.
    expect(result.counts.failed).toBe(4);
  });

  test('without unreadable rows there is no unreadable_rows file', async () => {
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'f1', failureReason: 'denied' }));
    const result = await writeRunReport(deps(), { runId: RUN });
    expect(result.unreadableRowsKeys).toEqual([]);
    expect([...s3.objects.keys()].filter((k) => k.includes('unreadable_rows'))).toEqual([]);
  });

  test('issue #16: failures of this execution are told from failures carried from an earlier one (manifest FailedIn, summary.json failures)', async () => {
    const started = '2024-02-01T00:00:00.000Z';
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'old', statusTime: '2024-01-15T00:00:00.000Z', failureReason: 'denied' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'new', statusTime: '2024-02-01T00:00:00.000Z', failureReason: 'denied again' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.FAILED, { archiveId: 'newer', statusTime: '2024-02-02T00:00:00.000Z', failureReason: 'gone' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.DOWNLOADED, { archiveId: 'd1', statusTime: '2024-01-10T00:00:00.000Z' }));
    const result = await writeRunReport(deps(), { runId: RUN, executionStartedAt: started });
    expect(result.failures).toEqual({ thisExecution: 2, earlierExecutions: 1 });
    const lines = s3.objects.get(result.manifestKey)!.body.toString('utf8').trim().split('\n').slice(1);
    expect(Object.fromEntries(lines.map((l) => [l.split(',')[0], l.split(',').at(-1)]))).toEqual({
      old: 'earlier execution', new: 'this execution', newer: 'this execution', d1: '',
    });
    const summary = JSON.parse(s3.objects.get(`${result.prefix}summary.json`)!.body.toString());
    expect(summary).toMatchObject({
      executionStartedAt: started, failures: { thisExecution: 2, earlierExecutions: 1 }, counts: { failed: 3, downloaded: 1 },
    });
    await expect(writeRunReport(deps(), { runId: RUN, executionStartedAt: 'yesterday' })).rejects.toThrow(
      'executionStartedAt must be an ISO-8601 time, got "yesterday"',
    );
  });

  test('a run that ended early lists its remaining archives', async () => {
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.STAGED, { archiveId: 'st1', description: 'a,b' }));
    dynamo.seed(TRANSFER, archive(RUN, ArchiveStatus.PENDING, { archiveId: 'p1' }));
    const result = await writeRunReport(deps(), { runId: RUN });
    const lines = s3.objects.get(result.remainingArchivesKey)!.body.toString('utf8').trim().split('\n');
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(['p1', 'st1']);
    expect(lines.find((l) => l.startsWith('st1'))).toContain('"a,b"');
  });
});
