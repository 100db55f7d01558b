/**
 * Hardening: hostile inventories (truncated, wrong columns, bad sizes and hashes, duplicated ids,
 * JSON of the wrong types, a 10 MB line) through the core parser and the Lambda inventory engine.
 * Each bad row yields a row-numbered error record, nothing throws, and the valid rows still come
 * through (and get safe keys under the prefix).
 */
import { Readable } from 'stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { InventoryRecord, InventorySource, parseInventory } from '../../src/core/inventory';
import { processInventory } from '../../src/handlers/inventory-retrieval/inventory-engine';

const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash';
const HASH = '0123456789abcdef'.repeat(4);
const DATE = '2012-05-15T17:19:46.700Z';
const PREFIX = 'restored/';
const id = (n: number | string) => `good-${n}-${'A'.repeat(120)}`;
const good = (n: number, description = `file-${n}.txt`) => `${id(n)},${description},${DATE},${1000 + n},${HASH}`;

async function collect(source: InventorySource): Promise<InventoryRecord[]> {
  const out: InventoryRecord[] = [];
  for await (const r of parseInventory(source)) out.push(r);
  return out;
}

/** A source in pieces of `size` bytes, so rows and multi-byte characters are cut across pieces. */
function pieces(text: string | Buffer, size = 7): Buffer[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

interface EngineRun {
  readonly files: Map<string, string>;
  readonly errors: Array<{ Row: string; Message: string; Raw: string }>;
  readonly transferred: Array<Record<string, string>>;
  readonly summary: Awaited<ReturnType<typeof processInventory>>['summary'];
}

async function runEngine(source: InventorySource, maxArchiveSizeBytes = 2 ** 40): Promise<EngineRun> {
  const files = new Map<string, string>();
  const { summary } = await processInventory(source, {
    runId: 'run-1', prefix: PREFIX, partitionSizeBytes: 2 ** 40, maxArchiveSizeBytes,
  }, async (key, body) => {
    files.set(key, body.toString('utf8'));
  });
  const errorsFile = [...files.entries()].find(([k]) => k.includes('inventory_errors'))![1];
  const errors = parseCsv(errorsFile, { columns: true, relax_quotes: false }) as EngineRun['errors'];
  const transferred = [...files.entries()]
    .filter(([k]) => k.includes('sorted_inventory'))
    .flatMap(([, body]) => parseCsv(body, { columns: true }) as Array<Record<string, string>>);
  return { files, errors, transferred, summary };
}

/** Both paths: the core parser (records) and the engine (files), with the same expectations. */
async function expectBoth(
  text: string | Buffer,
  expected: { archives: string[]; errors: Array<[number, RegExp]> },
  maxArchiveSizeBytes = 2 ** 40,
): Promise<void> {
  const records = await collect(pieces(text));
  const archives = records.filter((r) => r.kind === 'archive').map((r) => (r.kind === 'archive' ? r.archiveId : ''));
  const errors = records.filter((r) => r.kind === 'error');
  expect(archives).toEqual(expected.archives);
  expect(errors.map((e) => e.row)).toEqual(expected.errors.map(([row]) => row));
  errors.forEach((e, i) => expect(e.kind === 'error' && e.message).toMatch(expected.errors[i][1]));
  for (const e of errors) if (e.kind === 'error') expect(e.raw.length).toBeLessThanOrEqual(2048);

  const engine = await runEngine(pieces(text, 4096), maxArchiveSizeBytes);
  expect(engine.errors.map((e) => Number(e.Row))).toEqual(expected.errors.map(([row]) => row));
  engine.errors.forEach((e, i) => expect(e.Message).toMatch(expected.errors[i][1]));
  expect(engine.transferred.map((r) => r.ArchiveId).sort()).toEqual([...expected.archives].sort());
  for (const r of engine.transferred) {
    const key = Object.entries(r).find(([k]) => /key/i.test(k))![1];
    expect(key.startsWith(PREFIX)).toBe(true);
    expect(key.split('/')).not.toContain('..');
  }
  expect(engine.summary.errorCount).toBe(expected.errors.length);
  expect(engine.summary.transferCount).toBe(expected.archives.length);
}

describe('hostile CSV inventories', () => {
  it('truncated mid-line: the last row is an error, earlier rows come through', async () => {
    const full = `${HEADER}\n${good(1)}\n${good(2)}\n`;
    const cut = full.slice(0, full.length - 30); // inside the tree hash of row 3
    await expectBoth(cut, { archives: [id(1)], errors: [[3, /SHA256TreeHash/]] });
  });

  it('truncated mid-quote: an unterminated quoted description is reported as such', async () => {
    const text = `${HEADER}\n${good(1)}\n${id(2)},"my, unfinished description`;
    await expectBoth(text, { archives: [id(1)], errors: [[3, /unterminated quoted field|truncated/]] });
  });

  it('truncated after the header or empty: a file-level error, no crash', async () => {
    await expectBoth(`${HEADER}\n`, { archives: [], errors: [] });
    const empty = await collect(['']);
    expect(empty).toEqual([expect.objectContaining({ kind: 'error', row: 0, message: expect.stringMatching(/empty inventory/) })]);
  });

  it('wrong column counts: too few, too many unquoted, and a stray quote', async () => {
    const text = [
      HEADER,
      good(1),
      `${id(2)},${DATE},42`, // 3 columns
      `${id(3)},a,b,c,${DATE},42,${HASH}`, // 7 columns, description not quoted
      `${id(4)},say "hi",${DATE},42,${HASH}`, // quote inside an unquoted description
      `${id(5)}`,
      good(6),
    ].join('\n');
    await expectBoth(text, {
      archives: [id(1), id(6)],
      errors: [[3, /columns/], [4, /columns/], [5, /quote/], [6, /columns/]],
    });
  });

  it('negative, non-numeric, fractional, exponent and huge sizes', async () => {
    const sized = (n: number, size: string) => `${id(n)},x,${DATE},${size},${HASH}`;
    const text = [
      HEADER,
      sized(1, '-1'),
      sized(2, 'abc'),
      sized(3, '1.5'),
      sized(4, '1e9'),
      sized(5, '99999999999999999999999'),
      sized(6, ''),
      sized(7, ' 42'),
      sized(8, '0x10'),
      sized(9, '0'),
      sized(10, String(Number.MAX_SAFE_INTEGER)),
    ].join('\n');
    await expectBoth(text, {
      archives: [id(9), id(10)],
      errors: [[2, /negative/], [3, /Size/], [4, /Size/], [5, /Size/], [6, /Size/], [7, /Size/], [8, /Size/], [9, /Size/]],
    }, Number.MAX_SAFE_INTEGER);
    // Above the size limit: listed as skipped, not an error and not transferred.
    const engine = await runEngine([text], 2 ** 40);
    expect(engine.summary).toMatchObject({ transferCount: 1, skippedCount: 1, errorCount: 8 });
  });

  it('bad tree hashes: short, long, non-hex, empty; uppercase is accepted and lowered', async () => {
    const hashed = (n: number, hash: string) => `${id(n)},x,${DATE},42,${hash}`;
    const text = [
      HEADER,
      hashed(1, HASH.slice(1)),
      hashed(2, HASH + '0'),
      hashed(3, 'g'.repeat(64)),
      hashed(4, ''),
      hashed(5, HASH.toUpperCase()),
      hashed(6, `${HASH.slice(0, 32)} ${HASH.slice(33)}`),
    ].join('\n');
    await expectBoth(text, { archives: [id(5)], errors: [[2, /TreeHash/], [3, /TreeHash/], [4, /TreeHash/], [5, /TreeHash/], [7, /TreeHash/]] });
    const records = await collect([text]);
    expect(records.find((r) => r.kind === 'archive')).toMatchObject({ treeHash: HASH });
  });

  it('duplicated archive ids: the first wins, later ones are errors naming the id', async () => {
    const text = [HEADER, good(1), good(2), good(1, 'other.txt'), good(1, 'third.txt')].join('\n');
    await expectBoth(text, { archives: [id(1), id(2)], errors: [[4, /duplicate ArchiveId/], [5, /duplicate ArchiveId/]] });
  });

  it('bad ids and dates: whitespace, control characters, impossible dates', async () => {
    const text = [
      HEADER,
      `has space,x,${DATE},1,${HASH}`,
      `nul\u0000id,x,${DATE},1,${HASH}`,
      `${id(3)},x,2019-02-30T00:00:00Z,1,${HASH}`,
      `${id(4)},x,yesterday,1,${HASH}`,
      `,x,${DATE},1,${HASH}`,
      good(7),
    ].join('\n');
    await expectBoth(text, { archives: [id(7)], errors: [[2, /ArchiveId/], [3, /ArchiveId/], [4, /CreationDate/], [5, /CreationDate/], [6, /ArchiveId/]] });
  });

  it('hostile descriptions inside a valid inventory get safe keys (quoted, escaped, traversal)', async () => {
    const text = [
      HEADER,
      `${id(1)},"../../etc/passwd, \\"quoted\\"",${DATE},1,${HASH}`,
      `${id(2)},C:\\Windows\\evil.dll,${DATE},1,${HASH}`,
      `${id(3)},${'../'.repeat(341)}x,${DATE},1,${HASH}`,
      `${id(4)},"\\",${DATE},1,${HASH}`,
    ].join('\n');
    await expectBoth(text, { archives: [id(1), id(2), id(3), id(4)], errors: [] });
  });

  it('invalid UTF-8 bytes in the file do not stop the parse', async () => {
    const text = Buffer.concat([
      Buffer.from(`${HEADER}\n${id(1)},caf`), Buffer.from([0xc3]), Buffer.from(`,${DATE},1,${HASH}\n`),
      Buffer.from(`${id(2)},`), Buffer.from([0xff, 0xfe]), Buffer.from(`,${DATE},1,${HASH}\n`),
      Buffer.from(`${good(3)}\n`),
    ]);
    await expectBoth(text, { archives: [id(1), id(2), id(3)], errors: [] });
  });

  it('a 10 MB single line is one error (clipped raw) and the rows after it still come through', async () => {
    const huge = `${id(2)},${'x'.repeat(10 * 1024 * 1024)},${DATE},1,${HASH}`;
    const text = `${HEADER}\n${good(1)}\n${huge}\n${good(3)}\n`;
    const records = await collect(pieces(text, 64 * 1024));
    expect(records.map((r) => [r.kind, r.row])).toEqual([['archive', 2], ['error', 3], ['archive', 4]]);
    const err = records[1];
    expect(err.kind === 'error' && err.message).toMatch(/longer than/);
    expect(err.kind === 'error' && err.raw.length).toBeLessThanOrEqual(2048);
    const engine = await runEngine(pieces(text, 64 * 1024));
    expect(engine.errors.map((e) => e.Row)).toEqual(['3']);
    expect(engine.transferred.map((r) => r.ArchiveId).sort()).toEqual([id(1), id(3)]);
    expect(engine.files.get('run-1/inventory_errors/errors.csv')!.length).toBeLessThan(10_000);
  });

  it('a file with no header and garbage is reported, not thrown', async () => {
    await expectBoth('garbage,more garbage\nstill garbage\n', {
      archives: [],
      errors: [[1, /missing header/], [2, /columns/]],
    });
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256));
    const records = await collect([binary]);
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.kind === 'error')).toBe(true);
    await expect(runEngine([binary])).resolves.toBeDefined();
  });
});

describe('hostile JSON inventories', () => {
  const entry = (n: number, over: Record<string, unknown> = {}) => ({
    ArchiveId: id(n), ArchiveDescription: `file-${n}.txt`, CreationDate: DATE, Size: 1000 + n, SHA256TreeHash: HASH, ...over,
  });
  const doc = (list: unknown[]) => JSON.stringify({ VaultARN: 'arn:aws:glacier:eu-west-1:111122223333:vaults/v', InventoryDate: DATE, ArchiveList: list });

  it('wrong types in elements are row-numbered errors; valid elements come through', async () => {
    const text = doc([
      entry(1),
      entry(2, { ArchiveId: 42 }),
      entry(3, { ArchiveDescription: { nested: true } }),
      entry(4, { CreationDate: 1337 }),
      entry(5, { Size: -5 }),
      entry(6, { Size: '12abc' }),
      entry(7, { Size: 1.5 }),
      entry(8, { Size: 1e300 }),
      entry(9, { Size: null }),
      entry(10, { SHA256TreeHash: ['a'] }),
      'not an object',
      null,
      [entry(13)],
      entry(14, { ArchiveId: undefined }),
      entry(1, { ArchiveDescription: 'again' }),
      entry(16),
    ]);
    await expectBoth(text, {
      archives: [id(1), id(16)],
      errors: [
        [2, /ArchiveId/], [3, /ArchiveDescription/], [4, /CreationDate/], [5, /negative/], [6, /Size/], [7, /Size/], [8, /Size/], [9, /Size/],
        [10, /TreeHash/], [11, /not an object/], [12, /not an object/], [13, /not an object/], [14, /ArchiveId/], [15, /duplicate/],
      ],
    });
  });

  it('truncated JSON (mid-element, mid-string): one final error after the last good row', async () => {
    const full = doc([entry(1), entry(2), entry(3)]);
    const midString = full.slice(0, full.indexOf(id(3)) + 10);
    await expectBoth(midString, { archives: [id(1), id(2)], errors: [[3, /truncated/]] });
    const midElement = full.slice(0, full.indexOf('"Size"', full.indexOf(id(2))));
    await expectBoth(midElement, { archives: [id(1)], errors: [[2, /truncated/]] });
  });

  it('a source that fails mid-stream (S3 body reset) throws to the caller after the rows read so far (CSV and JSON)', async () => {
    // Not a problem of the file: the Lambda must fail and retry, not process a partial inventory.
    async function* failing(text: string, at: number): AsyncGenerator<Buffer> {
      yield Buffer.from(text.slice(0, at));
      throw new Error('socket hang up');
    }
    const read = async (source: AsyncIterable<Buffer>): Promise<{ rows: Array<[string, number]>; error?: string }> => {
      const rows: Array<[string, number]> = [];
      try {
        for await (const r of parseInventory(source)) rows.push([r.kind, r.row]);
      } catch (e) {
        return { rows, error: (e as Error).message };
      }
      return { rows };
    };
    const json = JSON.stringify(JSON.parse(doc([entry(1), entry(2), entry(3)])), null, 1); // has newlines
    const jsonRead = await read(failing(json, json.indexOf(id(3)) - 20));
    expect(jsonRead.error).toBe('socket hang up');
    expect(jsonRead.rows.every(([kind]) => kind === 'archive')).toBe(true);
    const csv = `${HEADER}\n${good(1)}\n${good(2)}\n`;
    expect(await read(failing(csv, csv.indexOf(id(2)) + 5))).toEqual({ rows: [['archive', 2]], error: 'socket hang up' });
    await expect(runEngine(failing(json, json.indexOf(id(3)) - 20))).rejects.toThrow('socket hang up');
    await expect(runEngine(failing(csv, csv.indexOf(id(2)) + 5))).rejects.toThrow('socket hang up');
  });

  it('ArchiveList of the wrong type, missing, or not at the top level: a clear file error', async () => {
    for (const text of [
      JSON.stringify({ ArchiveList: { a: 1 } }),
      JSON.stringify({ ArchiveList: null }),
      JSON.stringify({ ArchiveList: 'x' }),
      JSON.stringify({ Vault: { ArchiveList: [entry(1)] } }),
      JSON.stringify({}),
      '{',
      '{"ArchiveList":[',
    ]) {
      const records = await collect(pieces(text));
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => r.kind === 'error')).toBe(true);
      const engine = await runEngine(pieces(text));
      expect(engine.summary.errorCount).toBe(records.length);
      expect(engine.summary.transferCount).toBe(0);
    }
  });

  it('a 10 MB single-line JSON inventory streams through; a 10 MB description is kept whole but its key fits', async () => {
    const list = Array.from({ length: 40_000 }, (_, i) => entry(i + 1));
    list.push(entry(50_000, { ArchiveDescription: '../'.repeat(3_500_000) + 'x' }));
    const text = doc(list);
    expect(text.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(text.includes('\n')).toBe(false);
    const engine = await runEngine(Readable.from(pieces(text, 64 * 1024)));
    expect(engine.summary.errorCount).toBe(0);
    expect(engine.summary.transferCount).toBe(40_001);
    const hostile = engine.transferred.find((r) => r.ArchiveId === id(50_000))!;
    const key = Object.entries(hostile).find(([k]) => /key/i.test(k))![1];
    expect(key).toBe(`${PREFIX}x`);
  });
});
