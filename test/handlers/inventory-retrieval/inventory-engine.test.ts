import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FakeDynamo, FakeS3, HEADER, INVENTORY_BUCKET, inventoryCsv, METRICS, recordingLog, Row, RUN, TRANSFER, treeHash, VAULT } from './world';
import {
  archivePk,
  inventoryErrorsKey,
  inventorySummaryKey,
  keptKeysKey,
  metricsPk,
  runStatusKey,
  skippedReportKey,
  stagedNamingOverrideKey,
} from '../../../src/contract/keys';
import { assignUniqueKeys, duplicateCandidate, keyForArchive } from '../../../src/core/archive-naming';
import { creationSortKey, partitionCsvHeader } from '../../../src/core/partitioning';
import { EngineOptions, EngineResult, processInventory } from '../../../src/handlers/inventory-retrieval/inventory-engine';
import { finishGlueInventory, ProcessConfig, processRunInventory, writeKeptKeys } from '../../../src/handlers/inventory-retrieval/process-inventory';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('csv-parse/sync');

const PREFIX = 'vault/';
const options = (extra: Partial<EngineOptions> = {}): EngineOptions => ({
  runId: RUN, prefix: PREFIX, partitionSizeBytes: 1000, maxArchiveSizeBytes: 10_000, ...extra,
});

/** Runs the engine and keeps what it wrote, in write order. */
type Run = EngineResult & { files: Map<string, string>; order: string[] };
async function run(source: string | Array<string | Buffer>, opts: EngineOptions = options()): Promise<Run> {
  const files = new Map<string, string>();
  const order: string[] = [];
  const pieces = typeof source === 'string' ? [Buffer.from(source)] : source;
  const result = await processInventory(pieces, opts, async (key, body) => {
    expect(files.has(key)).toBe(false);
    files.set(key, body.toString('utf8'));
    order.push(key);
  });
  return { ...result, files, order };
}

type CsvRow = Record<string, string>;
const rowsOf = (text: string): CsvRow[] => parse(text, { columns: true });
/** All partition rows in file order, with the file they are in. */
function partitionRows(r: { files: Map<string, string>; summary: { partitionFiles: string[] } }): Array<CsvRow & { file: string }> {
  return r.summary.partitionFiles.flatMap((file) => rowsOf(r.files.get(file)!).map((row) => ({ ...row, file })));
}
const P = (partition: number, file = 0) => `${RUN}/sorted_inventory/${String(partition).padStart(10, '0')}/part-${String(file).padStart(5, '0')}.csv`;

describe('processInventory (Lambda engine)', () => {
  test('empty vault (header only): zero partitions, totals 0, empty reports', async () => {
    const r = await run(HEADER);
    expect(r.summary).toEqual({
      runId: RUN,
      engine: 'lambda',
      totalCount: 0,
      totalBytes: 0,
      transferCount: 0,
      transferBytes: 0,
      skippedCount: 0,
      skippedBytes: 0,
      errorCount: 0,
      renamedCount: 0,
      overriddenCount: 0,
      partitionCount: 0,
      partitionFiles: [],
    });
    expect(r.skipped).toEqual([]);
    expect(r.order).toEqual([skippedReportKey(RUN), inventoryErrorsKey(RUN)]);
    expect(r.files.get(skippedReportKey(RUN))).toBe('ArchiveId,CreationDate,Size,SHA256TreeHash,ObjectKey,LastModified,ArchiveDescription,Reason\n');
    expect(r.files.get(inventoryErrorsKey(RUN))).toBe('Row,ArchiveId,Message,Raw\n');
  });

  test('one archive: one partition file with the header and its row', async () => {
    const r = await run(inventoryCsv([{ id: 'AAA', description: 'photos/2012/a.jpg', date: '2012-05-15T17:19:46.700Z', size: 42, hash: treeHash(7) }]));
    expect(r.summary).toMatchObject({
      totalCount: 1, totalBytes: 42, transferCount: 1, transferBytes: 42, partitionCount: 1, partitionFiles: [P(0)],
    });
    expect(r.files.get(P(0))).toBe(`${partitionCsvHeader()}AAA,2012-05-15T17:19:46.700Z,42,${treeHash(7)},vault/photos/2012/a.jpg,,photos/2012/a.jpg\n`);
    expect(r.order).toEqual([P(0), skippedReportKey(RUN), inventoryErrorsKey(RUN)]);
  });

  test('malformed rows are reported with their line numbers and raw text; the other archives go on', async () => {
    const csv = HEADER
      + `good-1,a.txt,2015-01-01T00:00:00Z,10,${treeHash(1)}\n`
      + `bad-date,b.txt,yesterday,10,${treeHash(2)}\n`
      + `bad-size,c.txt,2015-01-01T00:00:00Z,-5,${treeHash(3)}\n`
      + 'too,few\n'
      + `good-2,"say \\"hi\\", ok",2015-01-02T00:00:00Z,20,${treeHash(4)}\n`
      + `good-1,dup.txt,2015-01-01T00:00:00Z,10,${treeHash(5)}\n`;
    const r = await run(csv);
    expect(r.summary).toMatchObject({ totalCount: 2, totalBytes: 30, transferCount: 2, errorCount: 4, partitionCount: 1 });
    const errors = rowsOf(r.files.get(inventoryErrorsKey(RUN))!);
    // The ArchiveId column names the archive whenever its id could be read (a repeated id too).
    expect(errors.map((e) => [e.Row, e.ArchiveId, e.Raw])).toEqual([
      ['3', 'bad-date', `bad-date,b.txt,yesterday,10,${treeHash(2)}`],
      ['4', 'bad-size', `bad-size,c.txt,2015-01-01T00:00:00Z,-5,${treeHash(3)}`],
      ['5', '', 'too,few'],
      ['7', 'good-1', `good-1,dup.txt,2015-01-01T00:00:00Z,10,${treeHash(5)}`],
    ]);
    expect(errors[0].Message).toMatch(/invalid CreationDate "yesterday"/);
    expect(errors[1].Message).toMatch(/invalid Size "-5": negative/);
    expect(errors[2].Message).toMatch(/expected 5 columns/);
    expect(errors[3].Message).toMatch(/duplicate ArchiveId good-1/);
    expect(partitionRows(r).map((x) => [x.ArchiveId, x.ArchiveDescription, x.ObjectKey])).toEqual([
      ['good-1', 'a.txt', 'vault/a.txt'],
      ['good-2', 'say "hi", ok', 'vault/say "hi", ok'],
    ]);
  });

  test('archives above maxArchiveSizeBytes are skipped, reported with a reason and kept out of partitions', async () => {
    const csv = inventoryCsv([
      { id: 'small', size: 100, date: '2015-01-01T00:00:00Z' },
      { id: 'huge-2', size: 5001, description: 'big, "two".iso', date: '2016-01-01T00:00:00Z' },
      { id: 'limit', size: 5000, date: '2015-06-01T00:00:00Z' },
      { id: 'huge-1', size: 9000, date: '2014-01-01T00:00:00Z' },
    ]);
    const r = await run(csv, options({ maxArchiveSizeBytes: 5000, partitionSizeBytes: 100_000 }));
    expect(r.summary).toMatchObject({
      totalCount: 4, totalBytes: 19_101, transferCount: 2, transferBytes: 5100, skippedCount: 2, skippedBytes: 14_001, partitionCount: 1,
    });
    expect(partitionRows(r).map((x) => x.ArchiveId)).toEqual(['small', 'limit']);
    expect(r.skipped.map((s) => [s.archiveId, s.size, s.objectKey, s.reason])).toEqual([
      ['huge-1', 9000, 'vault/file-huge-1.bin', 'size 9000 bytes is above the limit of 5000 bytes'],
      ['huge-2', 5001, 'vault/big, "two".iso', 'size 5001 bytes is above the limit of 5000 bytes'],
    ]);
    const report = rowsOf(r.files.get(skippedReportKey(RUN))!);
    expect(report).toEqual([
      { ArchiveId: 'huge-1', CreationDate: '2014-01-01T00:00:00Z', Size: '9000', SHA256TreeHash: treeHash(4), ObjectKey: 'vault/file-huge-1.bin', LastModified: '', ArchiveDescription: 'file-huge-1.bin', Reason: 'size 9000 bytes is above the limit of 5000 bytes' },
      { ArchiveId: 'huge-2', CreationDate: '2016-01-01T00:00:00Z', Size: '5001', SHA256TreeHash: treeHash(2), ObjectKey: 'vault/big, "two".iso', LastModified: '', ArchiveDescription: 'big, "two".iso', Reason: 'size 5001 bytes is above the limit of 5000 bytes' },
    ]);
  });

  test('duplicate keys are resolved exactly like assignUniqueKeys: the earliest CreationDate, then the smallest ArchiveId, keeps the name', async () => {
    const rows: Row[] = [
      { id: 'late', description: 'photo.jpg', date: '2019-01-21T08:52:42Z' },
      { id: 'tie-b', description: 'photo.jpg', date: '2018-01-01T00:00:00Z' },
      { id: 'tie-a', description: 'photo.jpg', date: '2018-01-01T00:00:00.000Z' },
      { id: 'alone', description: 'other.jpg', date: '2010-01-01T00:00:00Z' },
      { id: 'big-dup', description: 'photo.jpg', date: '2000-01-01T00:00:00Z', size: 50_000 }, // skipped: does not compete
    ];
    const r = await run(inventoryCsv(rows), options({ partitionSizeBytes: 1_000_000 }));
    const keyOf = new Map(partitionRows(r).map((x) => [x.ArchiveId, x.ObjectKey]));
    expect(keyOf.get('tie-a')).toBe('vault/photo.jpg');
    expect(keyOf.get('alone')).toBe('vault/other.jpg');
    expect(keyOf.get('tie-b')).toMatch(/^vault\/photo \(2018-01-01T000000Z [0-9a-f]{8}\)\.jpg$/);
    expect(keyOf.get('late')).toMatch(/^vault\/photo \(2019-01-21T085242Z [0-9a-f]{8}\)\.jpg$/);
    expect(r.skipped[0]).toMatchObject({ archiveId: 'big-dup', objectKey: 'vault/photo.jpg' });
    expect(r.summary.renamedCount).toBe(2);

    const transferred = rows.filter((x) => x.id !== 'big-dup');
    const expected = assignUniqueKeys(transferred.map((x) => ({
      archiveId: x.id, creationDate: x.date!, key: keyForArchive({ archiveId: x.id, description: x.description! }, { prefix: PREFIX }).key,
    })), { prefix: PREFIX });
    expect(Object.fromEntries(keyOf)).toEqual(Object.fromEntries(expected.map((u) => [u.archiveId, u.key])));
  });

  test('a renamed key that another archive holds as its base key is settled like assignUniqueKeys over all archives', async () => {
    const first = { id: 'first', description: 'photo.jpg', date: '2019-01-01T00:00:00Z' };
    const second = { id: 'second', description: 'photo.jpg', date: '2019-01-21T08:52:42Z' };
    // Someone named a file exactly like the level-0 rename of `second`.
    const probe = await run(inventoryCsv([first, second]));
    const level0 = partitionRows(probe).find((x) => x.ArchiveId === 'second')!.ObjectKey.slice(PREFIX.length);
    const squatter = { id: 'squatter', description: level0, date: '2020-01-01T00:00:00Z' };
    const rows: Row[] = [first, second, squatter];

    const r = await run(inventoryCsv(rows), options({ partitionSizeBytes: 1_000_000 }));
    const keyOf = new Map(partitionRows(r).map((x) => [x.ArchiveId, x.ObjectKey]));
    expect(keyOf.get('squatter')).toBe(PREFIX + level0);
    expect(keyOf.get('second')).toMatch(/^vault\/photo \(2019-01-21T085242Z [0-9a-f]{16}\)\.jpg$/);
    const expected = assignUniqueKeys(rows.map((x) => ({
      archiveId: x.id, creationDate: x.date!, key: keyForArchive({ archiveId: x.id, description: x.description! }, { prefix: PREFIX }).key,
    })), { prefix: PREFIX });
    expect(Object.fromEntries(keyOf)).toEqual(Object.fromEntries(expected.map((u) => [u.archiveId, u.key])));
    expect(new Set(keyOf.values()).size).toBe(3);
  });

  test('partitions split at partitionSizeBytes; an archive larger than that is alone; rowsPerFile splits files', async () => {
    const sizes = [400, 600, 1, 1500, 999, 1, 0, 300, 300, 300];
    const rows = sizes.map((size, i): Row => ({ id: `a${i}`, size, date: `2015-01-01T00:00:${String(i).padStart(2, '0')}Z` }));
    const r = await run(inventoryCsv(rows), options({ partitionSizeBytes: 1000, rowsPerFile: 2, maxArchiveSizeBytes: 10_000 }));
    const placed = partitionRows(r).map((x) => [x.ArchiveId, x.file]);
    expect(placed).toEqual([
      ['a0', P(0)], ['a1', P(0)], // 400 + 600 = 1000: exact fit
      ['a2', P(1)], // + 1 would be 1001
      ['a3', P(2)], // 1500 > partition size: alone
      ['a4', P(3)], ['a5', P(3)], // 999 + 1
      ['a6', P(3, 1)], // zero bytes still fit; third row → second file
      ['a7', P(4)], ['a8', P(4)], ['a9', P(4, 1)],
    ]);
    expect(r.summary.partitionCount).toBe(5);
    expect(r.summary.partitionFiles).toEqual([P(0), P(1), P(2), P(3), P(3, 1), P(4), P(4, 1)]);
    for (const file of r.summary.partitionFiles) expect(r.files.get(file)!.startsWith(partitionCsvHeader())).toBe(true);
    // No partition holds more than the limit unless it is a single archive.
    const bytes = new Map<string, number[]>();
    for (const x of partitionRows(r)) {
      const p = x.file.split('/')[2];
      bytes.set(p, [...(bytes.get(p) ?? []), Number(x.Size)]);
    }
    for (const list of bytes.values()) expect(list.length === 1 || list.reduce((a, b) => a + b, 0) <= 1000).toBe(true);
  });

  test('rows are sorted by CreationDate instant, then ArchiveId by code point, whatever the input order', async () => {
    const rows: Row[] = [
      { id: 'b', date: '2020-01-01T00:00:00.5Z' },
      { id: 'a', date: '2020-01-01T00:00:00.500Z' },
      { id: 'Z', date: '2020-01-01T00:00:00.5Z' },
      { id: 'c', date: '2019-12-31T23:59:59.999999999Z' },
      { id: 'd', date: '2020-01-01T00:00:00Z' },
      { id: 'x\uff5e', date: '2021-06-01T10:00:00.000Z' },
      { id: 'x\u{1F600}', date: '2021-06-01T10:00:00.000Z' },
      { id: 'x', date: '2021-06-01T10:00:00.000Z' },
    ];
    const r = await run(inventoryCsv(rows), options({ partitionSizeBytes: 1_000_000 }));
    expect(partitionRows(r).map((x) => x.ArchiveId)).toEqual(['c', 'd', 'Z', 'a', 'b', 'x', 'x\uff5e', 'x\u{1F600}']);
    const keys = partitionRows(r).map((x) => creationSortKey(x.CreationDate));
    expect([...keys].sort()).toEqual(keys);
  });

  test('deterministic: the same inventory, shuffled and cut into other pieces, gives byte-identical files', async () => {
    const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({
      id: `id-${(i * 7919) % 1000}`,
      description: i % 5 === 0 ? 'same.txt' : `dir/${i % 17}/f, "${i}".txt`,
      date: `2015-0${1 + (i % 9)}-1${i % 10}T0${i % 10}:00:00${i % 3 === 0 ? '.250' : ''}Z`,
      size: (i * 37) % 500,
    }));
    const csv = inventoryCsv(rows);
    const shuffled = HEADER + csv.slice(HEADER.length).split('\n').filter(Boolean).reverse().join('\n') + '\n';
    const pieces = (text: string, n: number) => {
      const buf = Buffer.from(text);
      const out: Buffer[] = [];
      for (let i = 0; i < buf.length; i += n) out.push(buf.subarray(i, i + n));
      return out;
    };
    const opts = options({ partitionSizeBytes: 2000, rowsPerFile: 7 });
    const a = await run(csv, opts);
    const b = await run(pieces(shuffled, 13), opts);
    const c = await run(pieces(csv, 4096), opts);
    expect(a.summary.partitionCount).toBeGreaterThan(5);
    expect(a.summary.renamedCount).toBeGreaterThan(0);
    expect([...b.files.entries()]).toEqual([...a.files.entries()]);
    expect([...c.files.entries()]).toEqual([...a.files.entries()]);
    expect(b.summary).toEqual(a.summary);
    expect(b.skipped).toEqual(a.skipped);
  });

  test('naming overrides name archives and are counted', async () => {
    const r = await run(inventoryCsv([{ id: 'a', description: 'x.bin' }, { id: 'b', description: 'y.bin' }]),
      options({ overrides: new Map([['a', 'renamed/by override.txt'], ['b', '   ']]) }));
    expect(partitionRows(r).map((x) => x.ObjectKey)).toEqual(['vault/renamed/by override.txt', 'vault/y.bin']);
    expect(r.summary.overriddenCount).toBe(1);
  });

  test('a JSON inventory is processed like the CSV one', async () => {
    const rows: Row[] = [{ id: 'j2', date: '2016-01-01T00:00:00Z' }, { id: 'j1', date: '2015-01-01T00:00:00Z', description: 'a, "b"' }];
    const json = JSON.stringify({
      VaultARN: 'arn:aws:glacier:us-east-1:111122223333:vaults/v',
      InventoryDate: '2024-01-01T00:00:00Z',
      ArchiveList: rows.map((x, i) => ({
        ArchiveId: x.id, ArchiveDescription: x.description ?? `file-${x.id}.bin`, CreationDate: x.date, Size: 100, SHA256TreeHash: treeHash(i + 1),
      })),
    });
    const fromJson = await run(json);
    const fromCsv = await run(inventoryCsv(rows));
    expect([...fromJson.files.entries()]).toEqual([...fromCsv.files.entries()]);
  });
});

// ------------------------------------------------------------------------------------------------

describe('processRunInventory / finishGlueInventory (recording the results)', () => {
  let ddb: FakeDynamo;
  let s3: FakeS3;
  const INPUT = 'run-2026-11-24/original_inventory/inventory.csv';
  const config: ProcessConfig = {
    inventoryBucket: INVENTORY_BUCKET,
    transferTable: TRANSFER,
    metricsTable: METRICS,
    prefix: PREFIX,
    partitionSizeBytes: 1000,
    maxArchiveSizeBytes: 5000,
    rowsPerFile: 2,
  };
  const NOW = new Date('2026-11-24T12:00:00.000Z');
  const deps = (c: Partial<ProcessConfig> = {}) => ({
    s3: s3.client, ddb: ddb.client, config: { ...config, ...c }, log: recordingLog(), now: () => NOW,
  });
  const event = { runId: RUN, vaultName: VAULT, storageClass: 'DEEP_ARCHIVE', inventory: { key: INPUT } };
  const rows: Row[] = [
    { id: 'a1', size: 600, date: '2015-01-01T00:00:00Z' },
    { id: 'a2', size: 600, date: '2015-01-02T00:00:00Z', description: 'dup.txt' },
    { id: 'a3', size: 9000, date: '2015-01-03T00:00:00Z', description: 'too big, "really".iso' },
    { id: 'a4', size: 100, date: '2015-01-04T00:00:00Z', description: 'dup.txt' },
    { id: 'a5', size: 100, date: '2015-01-05T00:00:00Z' },
    { id: 'a6', size: 100, date: '2015-01-06T00:00:00Z' },
  ];

  beforeEach(() => {
    ddb = new FakeDynamo();
    s3 = new FakeS3({ bucket: INVENTORY_BUCKET });
    s3.seed(INPUT, inventoryCsv(rows) + 'broken,row\n');
  });
  afterEach(() => {
    ddb.reset();
    s3.reset();
  });

  const sortedKeys = () => [...s3.objects.keys()].filter((k) => k.startsWith(`${RUN}/sorted_inventory/`)).sort();

  test('writes partitions, reports and summary; records skipped items and the totals with SET', async () => {
    const result = await processRunInventory(deps(), event);
    expect(result).toEqual({
      runId: RUN,
      engine: 'lambda',
      totalCount: 6,
      totalBytes: 10_500,
      transferCount: 5,
      transferBytes: 1500,
      skippedCount: 1,
      skippedBytes: 9000,
      errorCount: 1,
      renamedCount: 1,
      overriddenCount: 0,
      partitionCount: 2,
      partitionFileCount: 3,
    });
    expect(sortedKeys()).toEqual([P(0), P(1), P(1, 1)]);
    const summary = JSON.parse(s3.text(inventorySummaryKey(RUN))!);
    expect(summary.partitionFiles).toEqual([P(0), P(1), P(1, 1)]);
    expect(s3.text(inventoryErrorsKey(RUN))).toBe('Row,ArchiveId,Message,Raw\n8,,"expected 5 columns, found 2","broken,row"\n');
    for (const call of s3.mock.commandCalls(PutObjectCommand)) {
      expect(call.args[0].input.ContentType).toBe(call.args[0].input.Key!.endsWith('.json') ? 'application/json' : 'text/csv; charset=utf-8');
    }

    expect(ddb.get(TRANSFER, archivePk(RUN, 'a3'), 'archive')).toEqual({
      pk: archivePk(RUN, 'a3'),
      sk: 'archive',
      runId: RUN,
      vaultName: VAULT,
      archiveId: 'a3',
      size: 9000,
      treeHash: treeHash(3),
      creationDate: '2015-01-03T00:00:00Z',
      description: 'too big, "really".iso',
      objectKey: 'vault/too big, "really".iso',
      storageClass: 'DEEP_ARCHIVE',
      status: ArchiveStatus.SKIPPED,
      runStatus: runStatusKey(RUN, ArchiveStatus.SKIPPED),
      statusTime: NOW.toISOString(),
      failureReason: 'size 9000 bytes is above the limit of 5000 bytes',
    });
    const update = ddb.mock.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.UpdateExpression).toMatch(/^SET /);
    expect(update.UpdateExpression).not.toMatch(/\bADD\b/);
    // Issue #16: the unreadable row is a FAILED entry with its reason, and the total counts every row.
    expect(ddb.get(TRANSFER, archivePk(RUN, 'inventory-row-8'), 'archive')).toEqual({
      pk: archivePk(RUN, 'inventory-row-8'),
      sk: 'archive',
      runId: RUN,
      vaultName: VAULT,
      archiveId: 'row 8',
      inventoryRow: 8,
      // The row as the inventory had it: the run report gives it back in unreadable_rows.csv.
      inventoryRaw: 'broken,row',
      size: 0,
      treeHash: '',
      creationDate: '',
      objectKey: '',
      storageClass: '',
      status: ArchiveStatus.FAILED,
      runStatus: runStatusKey(RUN, ArchiveStatus.FAILED),
      statusTime: NOW.toISOString(),
      failureReason: 'unreadable inventory row 8: expected 5 columns, found 2',
    });
    expect(ddb.get(METRICS, metricsPk(RUN))).toEqual({
      pk: metricsPk(RUN),
      totalCount: 7,
      totalBytes: 10_500,
      inventoryErrorCount: 1,
      inventorySkippedCount: 1,
      inventorySkippedBytes: 9000,
      inventoryRenamedCount: 1,
      inventoryPartitionCount: 2,
      inventoryEngine: 'lambda',
    });
  });

  test('a rerun changes nothing: same files byte for byte, metrics set (not added), skipped items created once', async () => {
    await processRunInventory(deps(), event);
    const before = new Map(s3.objects);
    const metricsBefore = ddb.get(METRICS, metricsPk(RUN));
    const skippedBefore = ddb.get(TRANSFER, archivePk(RUN, 'a3'), 'archive');

    await processRunInventory({ ...deps(), now: () => new Date('2026-11-25T00:00:00.000Z') }, event);
    expect([...s3.objects.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, object] of before) expect(s3.objects.get(key)!.body.equals(object.body)).toBe(true);
    expect(ddb.get(METRICS, metricsPk(RUN))).toEqual(metricsBefore);
    expect(ddb.get(TRANSFER, archivePk(RUN, 'a3'), 'archive')).toEqual(skippedBefore); // statusTime of the first attempt kept
    const puts = ddb.mock.commandCalls(PutCommand);
    expect(puts).toHaveLength(4); // one skipped and one unreadable-row item, each tried twice
    expect(puts.every((p) => p.args[0].input.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
  });

  test('partition files of an earlier attempt that this one did not write are deleted (paginated listing)', async () => {
    for (const stale of [P(7), P(8), P(8, 1), P(2), P(1, 3), `${RUN}/sorted_inventory/leftover.tmp`]) s3.seed(stale, 'old');
    s3.seed(P(0), 'old content of a file this attempt rewrites');
    s3.seed(`${RUN}/other/keep.csv`, 'not ours');
    await processRunInventory(deps(), event);
    expect(sortedKeys()).toEqual([P(0), P(1), P(1, 1)]);
    expect(s3.text(P(0))!.startsWith(partitionCsvHeader())).toBe(true);
    expect(s3.objects.has(`${RUN}/other/keep.csv`)).toBe(true);
    expect(s3.mock.commandCalls(DeleteObjectsCommand)[0].args[0].input.Delete!.Quiet).toBe(true);
  });

  test('a rerun with a larger partition size leaves only the new, fewer files', async () => {
    await processRunInventory(deps(), event);
    const result = await processRunInventory(deps({ partitionSizeBytes: 1_000_000, rowsPerFile: 100 }), event);
    expect(result.partitionCount).toBe(1);
    expect(sortedKeys()).toEqual([P(0)]);
    expect(ddb.get(METRICS, metricsPk(RUN))!.inventoryPartitionCount).toBe(1);
  });

  test('only the naming override the run record names is applied', async () => {
    const mine = stagedNamingOverrideKey(RUN, 'exec-1');
    s3.seed(mine, 'GlacierArchiveID,FileName\na5,chosen/name.txt\n');
    // Another execution's staged file, and the key earlier versions read, are never used.
    s3.seed(stagedNamingOverrideKey(RUN, 'exec-2'), 'GlacierArchiveID,FileName\na5,attacker/name.txt\n');
    s3.seed(`${RUN}/naming_override/naming_override.csv`, 'GlacierArchiveID,FileName\na5,attacker/old.txt\n');
    const none = await processRunInventory(deps(), { ...event, namingOverrideKey: '' });
    expect(none.overriddenCount).toBe(0);
    expect(sortedKeys().map((k) => s3.text(k)!).join('')).not.toContain('attacker');

    const result = await processRunInventory(deps(), { ...event, namingOverrideKey: mine });
    expect(result.overriddenCount).toBe(1);
    const all = sortedKeys().map((k) => s3.text(k)!).join('');
    expect(all).toContain(',vault/chosen/name.txt,');
    expect(all).not.toContain('attacker');
  });

  test('Resume: an archive downloaded by an earlier execution keeps its key and owns it against a new override (issue #16)', async () => {
    // a6 was downloaded to vault/photos/x.jpg; the new override names the older a5 photos/x.jpg
    // and tries to rename a6: a6 keeps its object's key, a5 gets the duplicate suffix.
    ddb.seed(TRANSFER, {
      pk: archivePk(RUN, 'a6'),
      sk: 'archive',
      runId: RUN,
      archiveId: 'a6',
      objectKey: 'vault/photos/x.jpg',
      status: ArchiveStatus.DOWNLOADED,
      runStatus: runStatusKey(RUN, ArchiveStatus.DOWNLOADED),
    });
    const override = stagedNamingOverrideKey(RUN, 'exec-2');
    s3.seed(override, 'GlacierArchiveID,FileName\na5,photos/x.jpg\na6,renamed/a6.txt\n');
    await processRunInventory(deps(), { ...event, namingOverrideKey: override });
    const lines = sortedKeys().flatMap((k) => s3.text(k)!.split('\n'));
    const keyOf = (id: string) => lines.find((l) => l.startsWith(`${id},`))!.split(',')[4];
    expect(keyOf('a6')).toBe('vault/photos/x.jpg');
    expect(keyOf('a5')).toBe(duplicateCandidate('vault/photos/x.jpg', 'a5', '2015-01-05T00:00:00Z', 0, 'vault/'));
    expect(lines.join('\n')).not.toContain('renamed/a6.txt');
  });

  test('before the Glue engine: the kept keys are written as ArchiveId,ObjectKey (RFC 4180)', async () => {
    ddb.seed(TRANSFER, {
      pk: archivePk(RUN, 'a6'),
      sk: 'archive',
      runId: RUN,
      archiveId: 'a6',
      objectKey: 'vault/a, "b".jpg',
      status: ArchiveStatus.DOWNLOADED,
      runStatus: runStatusKey(RUN, ArchiveStatus.DOWNLOADED),
    });
    ddb.seed(TRANSFER, {
      pk: archivePk(RUN, 'a5'),
      sk: 'archive',
      runId: RUN,
      archiveId: 'a5',
      objectKey: 'vault/x',
      status: ArchiveStatus.PENDING,
      runStatus: runStatusKey(RUN, ArchiveStatus.PENDING),
    });
    expect(await writeKeptKeys(deps(), RUN)).toEqual({ key: keptKeysKey(RUN), count: 1 });
    expect(s3.text(keptKeysKey(RUN))).toBe('ArchiveId,ObjectKey\na6,"vault/a, ""b"".jpg"\n');
  });

  test('a named override that is missing, or a key outside the run\'s staged overrides, fails the stage', async () => {
    await expect(processRunInventory(deps(), { ...event, namingOverrideKey: stagedNamingOverrideKey(RUN, 'gone') }))
      .rejects.toThrow(`naming override ${RUN}/naming_override/staged/gone.csv named by the run record is missing`);
    await expect(processRunInventory(deps(), { ...event, namingOverrideKey: stagedNamingOverrideKey('other-run', 'exec-1') }))
      .rejects.toThrow('is not a staged override of run');
  });

  test('finishGlueInventory records a Glue result exactly like the Lambda engine does', async () => {
    await processRunInventory(deps(), event);
    const lambdaItems = new Map(ddb.table(TRANSFER));
    const lambdaMetrics = ddb.get(METRICS, metricsPk(RUN))!;

    // The Glue engine writes the same summary (engine: glue) and skipped report.
    const summary = { ...JSON.parse(s3.text(inventorySummaryKey(RUN))!), engine: 'glue' };
    s3.seed(inventorySummaryKey(RUN), JSON.stringify(summary));
    ddb.tables.clear();
    const result = await finishGlueInventory(deps(), { runId: RUN, vaultName: VAULT, storageClass: 'DEEP_ARCHIVE' });
    expect(result).toMatchObject({ engine: 'glue', skippedCount: 1, partitionFileCount: 3 });
    expect(new Map(ddb.table(TRANSFER))).toEqual(lambdaItems);
    expect(ddb.get(METRICS, metricsPk(RUN))).toEqual({ ...lambdaMetrics, inventoryEngine: 'glue' });
  });

  test('finishGlueInventory refuses a summary of another run', async () => {
    s3.seed(inventorySummaryKey(RUN), JSON.stringify({ runId: 'other-run' }));
    s3.seed(skippedReportKey(RUN), 'x\n');
    await expect(finishGlueInventory(deps(), { runId: RUN, vaultName: VAULT })).rejects.toThrow('inventory summary belongs to run other-run, not run-2026-11-24');
  });
});
