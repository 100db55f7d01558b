import * as fs from 'fs';
import * as path from 'path';
import { partitionPrefix } from '../../src/contract/keys';
import { PARTITION_CSV_COLUMNS } from '../../src/contract/messages';
import {
  assignPartitions,
  compareArchiveOrder,
  compareCodePoints,
  creationSortKey,
  csvField,
  formatPartitionRow,
  partitionCsvHeader,
  partitionFileKey,
  PartitionAssigner,
  PartitionCsvRow,
} from '../../src/core/partitioning';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('csv-parse/sync');

/** Shape of test/fixtures/inventory/partitioning-conformance.json (shared with the Glue twin). */
interface OrderCase {
  readonly name: string;
  readonly archives: ReadonlyArray<{ readonly archiveId: string; readonly creationDate: string }>;
  readonly expected: string[];
}
interface PartitionsCase {
  readonly name: string;
  readonly partitionSize: number;
  readonly rowsPerFile: number;
  readonly sizes: number[];
  readonly expected: Array<[number, number, boolean]>;
}
interface RowsCase {
  readonly name: string;
  /** JSON has no undefined: a missing LastModified is written as null. */
  readonly row: Omit<PartitionCsvRow, 'lastModified'> & { readonly lastModified: string | null };
  readonly expected: string;
}
interface KeysCase {
  readonly runId: string;
  readonly partition: number;
  readonly file: number;
  readonly expected: string;
}
interface ConformanceFixture {
  readonly order: OrderCase[];
  readonly partitions: PartitionsCase[];
  readonly rows: RowsCase[];
  readonly keys: KeysCase[];
}

const fixture: ConformanceFixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'inventory', 'partitioning-conformance.json'), 'utf8'));

describe('partitioning conformance (shared with glue/test_partitioning.py)', () => {
  test.each(fixture.order.map((c): [string, OrderCase] => [c.name, c]))('order: %s', (_name, c) => {
    const archives = c.archives.map((a) => ({ ...a, sortKey: creationSortKey(a.creationDate, a.archiveId) }));
    archives.sort((a, b) => compareArchiveOrder(a.sortKey, a.archiveId, b.sortKey, b.archiveId));
    expect(archives.map((a) => a.archiveId)).toEqual(c.expected);
  });

  test.each(fixture.partitions.map((c): [string, PartitionsCase] => [c.name, c]))('partitions: %s', (_name, c) => {
    const slots = assignPartitions(c.sizes, c.partitionSize, c.rowsPerFile);
    expect(slots.map((s) => [s.partition, s.file, s.firstInFile])).toEqual(c.expected);
  });

  test.each(fixture.rows.map((c): [string, RowsCase] => [c.name, c]))('rows: %s', (_name, c) => {
    expect(formatPartitionRow({ ...c.row, lastModified: c.row.lastModified ?? undefined })).toBe(c.expected);
  });

  test('file keys', () => {
    for (const c of fixture.keys) expect(partitionFileKey(c.runId, c.partition, c.file)).toBe(c.expected);
  });
});

describe('partitioning', () => {
  test('columns are the InitiateRetrieval contract, and keys sit under partitionPrefix', () => {
    // The order is a contract with InitiateRetrieval's CSV reader and the Glue twin.
    expect([...PARTITION_CSV_COLUMNS]).toEqual(['ArchiveId', 'CreationDate', 'Size', 'SHA256TreeHash', 'ObjectKey', 'LastModified', 'ArchiveDescription']);
    expect(partitionCsvHeader()).toBe(`${PARTITION_CSV_COLUMNS.join(',')}\n`);
    expect(partitionFileKey('r', 3, 4).startsWith(partitionPrefix('r'))).toBe(true);
  });

  test('rejects invalid dates and sizes', () => {
    expect(() => creationSortKey('2020-02-30T00:00:00Z', 'x')).toThrow(/Invalid CreationDate/);
    expect(() => new PartitionAssigner(0)).toThrow(/partitionSizeBytes/);
    expect(() => new PartitionAssigner(10, 0)).toThrow(/rowsPerFile/);
  });

  test('code point order differs from UTF-16 order only across the surrogate range', () => {
    expect(compareCodePoints('\ud83d\ude00', '\uff5e')).toBeGreaterThan(0);
    expect('\ud83d\ude00' < '\uff5e').toBe(true);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'a')).toBe(0);
  });

  test('a quoted field round-trips through an RFC 4180 reader', () => {
    const values = ['a,b', 'say "hi"', 'multi\nline', 'plain', ''];
    const line = values.map(csvField).join(',');
    expect(parse(line, { relax_column_count: true })[0]).toEqual(values);
  });

  test('partitions never exceed the size unless a single archive does, in a random run', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const sizes = Array.from({ length: 5000 }, () => Math.floor(rnd() * 1000));
    const slots = assignPartitions(sizes, 10_000, 97);
    const bytes = new Map<number, number>();
    const counts = new Map<number, number>();
    slots.forEach((s, i) => {
      bytes.set(s.partition, (bytes.get(s.partition) ?? 0) + sizes[i]);
      counts.set(`${s.partition}/${s.file}` as any, ((counts.get(`${s.partition}/${s.file}` as any) ?? 0) + 1));
    });
    for (const b of bytes.values()) expect(b).toBeLessThanOrEqual(10_000);
    for (const c of counts.values()) expect(c).toBeLessThanOrEqual(97);
    // Partition numbers never go back.
    for (let i = 1; i < slots.length; i++) expect(slots[i].partition).toBeGreaterThanOrEqual(slots[i - 1].partition);
  });
});
