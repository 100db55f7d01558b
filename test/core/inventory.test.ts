import { Readable } from 'stream';
import * as fc from 'fast-check';
import { keyForArchive } from '../../src/core/archive-naming';
import {
  detectInventoryFormat,
  InventoryArchive,
  InventoryRecord,
  InventorySource,
  parseInventory,
  parseInventoryCsv,
  parseInventoryJson,
} from '../../src/core/inventory';

const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash';
const HASH = '0123456789abcdef'.repeat(4);
const DATE = '2012-05-15T17:19:46.700Z';
const ID = 'DMTmICA2n5Tdqq5BV2z7og-A20xnpAPKt3UXwWxdWsn_D6auTUrW6kwy5Qyj9xd1MCE1mBYvMQ63LWaT8yTMzMaCxB_9VBWrW4Jw4zsvg5kehAPDVKcppUD1X7b24JukOr4mMAq-oA';

async function collect(records: AsyncIterable<InventoryRecord>): Promise<InventoryRecord[]> {
  const out: InventoryRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

const csv = (...lines: string[]): string => [HEADER, ...lines].join('\n') + '\n';
const row = (id: string, description: string, extra = `${DATE},42,${HASH}`): string => `${id},${description},${extra}`;
const archive = (r: number, id: string, description: string, size = 42): InventoryArchive => ({
  kind: 'archive', row: r, archiveId: id, description, creationDate: DATE, size, treeHash: HASH,
});

/** Glacier's own encoding of a description field (quote if needed, `"` → `\"`, backslashes as is). */
function glacierField(description: string): string {
  return /[",]/.test(description) ? `"${description.replace(/"/g, '\\"')}"` : description;
}

describe('parseInventoryCsv', () => {
  it('reads one archive', async () => {
    expect(await collect(parseInventoryCsv([csv(row(ID, 'photo.jpg'))]))).toEqual([archive(2, ID, 'photo.jpg')]);
  });

  it('yields nothing for a header-only (empty vault) inventory', async () => {
    expect(await collect(parseInventoryCsv([HEADER + '\n']))).toEqual([]);
    expect(await collect(parseInventoryCsv([HEADER]))).toEqual([]);
  });

  it('reports a file without any line', async () => {
    expect(await collect(parseInventoryCsv([]))).toEqual([{ kind: 'error', row: 0, message: 'empty inventory: no header line', raw: '' }]);
  });

  it('handles a UTF-8 BOM, CRLF line ends, blank lines and a last line without newline', async () => {
    const text = `\ufeff${HEADER}\r\n${row('a', 'x')}\r\n\r\n${row('b', 'y')}`;
    expect(await collect(parseInventoryCsv([Buffer.from(text)]))).toEqual([archive(2, 'a', 'x'), archive(4, 'b', 'y')]);
  });

  it('decodes backslash-escaped quotes the way Glacier writes them (AWS documentation examples)', async () => {
    const records = await collect(parseInventoryCsv([csv(
      row('a', '"my archive description,1\\"2"'),
      row('b', '"my archive description,1\\\\"2"'),
    )]));
    expect(records).toEqual([archive(2, 'a', 'my archive description,1"2'), archive(3, 'b', 'my archive description,1\\"2')]);
  });

  it('keeps every other backslash (Windows paths, trailing backslash, CloudBerry JSON)', async () => {
    const cloudberry = '{"Path":"C:\\\\Users\\\\Bob\\\\x, y.txt","UTCDateModified":"20100310T110623Z"}';
    const descriptions = ['C:\\dir, x', 'ends with backslash, \\', 'back\\slash no comma', '\\"', cloudberry, '"quoted"', ''];
    const records = await collect(parseInventoryCsv([csv(...descriptions.map((d, i) => row(`id${i}`, glacierField(d))))]));
    expect(records).toEqual(descriptions.map((d, i) => archive(i + 2, `id${i}`, d)));
    const key = keyForArchive(records[4] as InventoryArchive, { prefix: '' });
    expect(key).toMatchObject({ key: 'C/Users/Bob/x, y.txt', format: 'cloudberry', lastModified: '2010-03-10T11:06:23Z' });
  });

  it('round-trips any printable-ASCII description written in Glacier\'s dialect', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', ',', '"', '\\', ' ', 'Z', '{', '}'), maxLength: 40 }), { maxLength: 20 }), async (descs) => {
        const text = csv(...descs.map((d, i) => row(`id${i}`, glacierField(d))));
        const records = await collect(parseInventoryCsv([text]));
        expect(records).toEqual(descs.map((d, i) => archive(i + 2, `id${i}`, d)));
      }),
      { numRuns: 300 },
    );
  });

  describe("csvQuoting: 'detect' (RFC 4180 \"\" quoting as well as Glacier's \\\", decided per file)", () => {
    const rfcField = (d: string): string => (/[",]/.test(d) ? `"${d.replace(/"/g, '""')}"` : d);
    const detect = async (text: string) => {
      const decided: Array<[string, number]> = [];
      const records = await collect(parseInventoryCsv([text], { csvQuoting: 'detect', onCsvQuoting: (q, r) => decided.push([q, r]) }));
      return { records, decided };
    };

    it('reads a file written with RFC 4180 quoting, which the default (Glacier) reading refuses', async () => {
      const descriptions = ['plain', 'a, b', 'say "hi"', '"', 'C:\\dir\\', 'back\\"slash, quote', '""'];
      const text = csv(...descriptions.map((d, i) => row(`id${i}`, rfcField(d))));
      const { records, decided } = await detect(text);
      expect(records).toEqual(descriptions.map((d, i) => archive(i + 2, `id${i}`, d)));
      expect(decided).toEqual([['rfc4180', 4]]);
      const glacierOnly = await collect(parseInventoryCsv([text]));
      expect(glacierOnly.filter((r) => r.kind === 'error').map((r) => r.row)).toEqual([4, 5, 7, 8]);
      expect(await collect(parseInventoryCsv([text], { csvQuoting: 'rfc4180' }))).toEqual(records);
    });

    it('reads a Glacier file exactly as the default does', async () => {
      const descriptions = ['plain', 'a, b', 'say "hi"', '"', 'C:\\dir, x', 'say \\"\\"hi\\"\\"'];
      const text = csv(...descriptions.map((d, i) => row(`id${i}`, glacierField(d))));
      const { records, decided } = await detect(text);
      expect(records).toEqual(descriptions.map((d, i) => archive(i + 2, `id${i}`, d)));
      expect(records).toEqual(await collect(parseInventoryCsv([text])));
      expect(decided).toEqual([['glacier', 4]]);
    });

    it('round-trips any description in either dialect; a file without a quoted quote decides nothing', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', ',', '"', '\\', ' '), maxLength: 20 }), { maxLength: 12 }),
          fc.boolean(), async (descs, rfc) => {
            const text = csv(...descs.map((d, i) => row(`id${i}`, rfc ? rfcField(d) : glacierField(d))));
            const { records, decided } = await detect(text);
            expect(records).toEqual(descs.map((d, i) => archive(i + 2, `id${i}`, d)));
            const first = descs.findIndex((d) => d.includes('"'));
            expect(decided).toEqual(first < 0 ? [] : [[rfc ? 'rfc4180' : 'glacier', first + 2]]);
          }),
        { numRuns: 300 },
      );
    });

    it('once decided, a row quoted the other way is an error', async () => {
      const { records } = await detect(csv(row('a', '"x ""y"""'), row('b', '"x \\"y\\""'), row('c', '"a, b"')));
      expect(records.map((r) => r.kind)).toEqual(['archive', 'error', 'archive']);
      expect(records[1]).toMatchObject({ row: 3, message: expect.stringMatching(/not doubled \(this file uses RFC 4180/) });
      const glacierFirst = await detect(csv(row('a', '"x \\"y\\""'), row('b', '"x ""y"""')));
      expect(glacierFirst.records.map((r) => r.kind)).toEqual(['archive', 'error']);
    });
  });

  it('gives the same records however the bytes are chunked (multi-byte characters split)', async () => {
    const text = csv(row('a', 'été.jpg'), row('b', '"日本, 😀"'), row('c', 'bad', `${DATE},x,${HASH}`), row('d', 'z'));
    const whole = await collect(parseInventoryCsv([text]));
    const bytes = Buffer.from(text);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }), async (sizes) => {
        const chunks: Buffer[] = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = sizes[i % sizes.length];
          chunks.push(bytes.subarray(at, at + size));
          at += size;
        }
        expect(await collect(parseInventoryCsv(Readable.from(chunks)))).toEqual(whole);
      }),
      { numRuns: 100 },
    );
    expect(whole.map((r) => r.kind)).toEqual(['archive', 'archive', 'error', 'archive']);
  });

  it('reads the columns in the order the header gives, in any case, quoted or not', async () => {
    const text = '"SHA256TREEHASH",size,ArchiveDescription,CreationDate,archiveid\n' + `${HASH.toUpperCase()},7,"a, b",${DATE},X1\n`;
    expect(await collect(parseInventoryCsv([text]))).toEqual([archive(2, 'X1', 'a, b', 7)]);
  });

  it('reads a header-less file whose first line is an archive', async () => {
    expect(await collect(parseInventoryCsv([`${row('a', 'x')}\n${row('b', 'y')}\n`]))).toEqual([archive(1, 'a', 'x'), archive(2, 'b', 'y')]);
  });

  it('reports an unexpected first line and goes on in Glacier\'s column order', async () => {
    const records = await collect(parseInventoryCsv([`Id,Name\n${row('a', 'x')}\n`]));
    expect(records).toEqual([
      { kind: 'error', row: 1, message: `missing header: expected ${HEADER}`, raw: 'Id,Name' },
      archive(2, 'a', 'x'),
    ]);
  });

  describe('row errors are reported with their line, and reading goes on', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['too few columns', `a,x,${DATE},42`, /^expected 5 columns, found 4$/],
      ['too many columns (unquoted comma)', row('a', 'x,y'), /^expected 5 columns, found 6$/],
      ['unescaped quote inside a quoted description', row('a', '"say "hi""'), /^unescaped quote inside the quoted ArchiveDescription \(Glacier writes \\"\), or too many columns$/],
      ['an extra quoted column', row('a', '"x","y"'), /^unescaped quote inside the quoted ArchiveDescription/],
      ['text after the closing quote', row('a', '"x"y'), /^text after the closing quote of ArchiveDescription$/],
      ['quote in an unquoted description', row('a', 'say"hi'), /^unexpected quote in unquoted ArchiveDescription$/],
      ['quote in another column', row('a', 'x', `${DATE},"4"2,${HASH}`), /^unexpected quote in Size$/],
      ['empty ArchiveId', row('', 'x'), /^empty ArchiveId$/],
      ['ArchiveId with a space', row('a b', 'x'), /^ArchiveId contains whitespace or control characters$/],
      ['negative Size', row('a', 'x', `${DATE},-5,${HASH}`), /^invalid Size "-5": negative$/],
      ['non-integer Size', row('a', 'x', `${DATE},1.5,${HASH}`), /^invalid Size "1.5": expected a whole number of bytes$/],
      ['non-numeric Size', row('a', 'x', `${DATE},abc,${HASH}`), /^invalid Size "abc"/],
      ['empty Size', row('a', 'x', `${DATE},,${HASH}`), /^invalid Size ""/],
      ['Size beyond 2^53', row('a', 'x', `${DATE},9007199254740993,${HASH}`), /^invalid Size "9007199254740993"/],
      ['tree hash too short', row('a', 'x', `${DATE},1,${HASH.slice(1)}`), /^invalid SHA256TreeHash ".*": expected 64 hex digits$/],
      ['tree hash not hex', row('a', 'x', `${DATE},1,${'g'.repeat(64)}`), /^invalid SHA256TreeHash/],
      ['CreationDate not ISO-8601', row('a', 'x', `15/05/2012,1,${HASH}`), /^invalid CreationDate "15\/05\/2012"/],
      ['CreationDate not a real day', row('a', 'x', `2013-02-29T00:00:00Z,1,${HASH}`), /^invalid CreationDate/],
      ['CreationDate without zone', row('a', 'x', `2013-02-28T00:00:00,1,${HASH}`), /^invalid CreationDate/],
    ];
    it.each(cases)('%s', async (_name, bad, message) => {
      const records = await collect(parseInventoryCsv([csv(row('first', 'ok'), bad, row('last', 'ok'))]));
      expect(records).toHaveLength(3);
      expect(records[0]).toEqual(archive(2, 'first', 'ok'));
      expect(records[1]).toMatchObject({ kind: 'error', row: 3, raw: bad });
      expect((records[1] as { message: string }).message).toMatch(message);
      expect(records[2]).toEqual(archive(4, 'last', 'ok'));
    });
  });

  it('normalises an upper-case tree hash to lowercase', async () => {
    const [r] = await collect(parseInventoryCsv([csv(row('a', 'x', `${DATE},0,${HASH.toUpperCase()}`))]));
    expect(r).toEqual(archive(2, 'a', 'x', 0));
  });

  it('reports a repeated ArchiveId on its second occurrence only', async () => {
    const records = await collect(parseInventoryCsv([csv(row(ID, 'one'), row('b', 'two'), row(ID, 'three'))]));
    expect(records.map((r) => r.kind)).toEqual(['archive', 'archive', 'error']);
    expect(records[2]).toMatchObject({ row: 4, archiveId: ID, message: `duplicate ArchiveId ${ID} (listed on an earlier row)` });
  });

  it('reports a file cut inside a quoted description', async () => {
    const text = `${HEADER}\n${row('a', 'x')}\nb,"cut here, in the middle`;
    const records = await collect(parseInventoryCsv([text]));
    expect(records[1]).toEqual({ kind: 'error', row: 3, message: 'unterminated quoted field (is the file truncated?)', raw: 'b,"cut here, in the middle' });
    const cutInHash = await collect(parseInventoryCsv([`${HEADER}\n${row('a', 'x').slice(0, -10)}`]));
    expect(cutInHash[0]).toMatchObject({ kind: 'error', row: 2, message: expect.stringMatching(/^invalid SHA256TreeHash/) });
  });

  it('reports an over-long line without holding it, then goes on', async () => {
    async function* chunks(): AsyncGenerator<string> {
      yield `${HEADER}\n${row('a', 'x')}\nb,`;
      for (let i = 0; i < 50; i++) yield 'y'.repeat(1000);
      yield `,${DATE},1,${HASH}\n${row('c', 'z')}\n`;
    }
    const records = await collect(parseInventoryCsv(chunks(), { maxLineLength: 4096 }));
    expect(records.map((r) => [r.kind, r.row])).toEqual([['archive', 2], ['error', 3], ['archive', 4]]);
    expect(records[1]).toMatchObject({ message: 'line longer than 4096 characters' });
    expect((records[1] as { raw: string }).raw.length).toBeLessThanOrEqual(2048);
  });
});

describe('parseInventoryJson', () => {
  const doc = (list: unknown[]): string =>
    JSON.stringify({ VaultARN: 'arn:aws:glacier:us-west-2:012345678901:vaults/examplevault', InventoryDate: '2011-12-12T14:19:01Z', ArchiveList: list });
  const entry = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ArchiveId: id, ArchiveDescription: 'photo.jpg', CreationDate: DATE, Size: 42, SHA256TreeHash: HASH, ...extra,
  });

  it('streams the archives of ArchiveList', async () => {
    const text = doc([entry('a'), entry('b', { ArchiveDescription: '<m><v>4</v></m>', SHA256TreeHash: HASH.toUpperCase(), Size: '42' })]);
    expect(await collect(parseInventoryJson([text]))).toEqual([archive(1, 'a', 'photo.jpg'), archive(2, 'b', '<m><v>4</v></m>')]);
  });

  it('yields nothing for an empty vault', async () => {
    expect(await collect(parseInventoryJson([doc([])]))).toEqual([]);
  });

  it('reports bad elements by position and goes on', async () => {
    const text = doc([entry('a', { Size: -1 }), 'oops', entry('c', { CreationDate: 'yesterday' }), entry('d', { Size: 1.5 }),
      entry('e', { ArchiveId: '' }), entry('f', { SHA256TreeHash: 'abc' }), entry('g'), entry('g'), entry('h', { ArchiveDescription: 7 })]);
    const records = await collect(parseInventoryJson([text]));
    expect(records.map((r) => (r.kind === 'error' ? `${r.row}: ${r.message}` : `${r.row}: ok`))).toEqual([
      '1: invalid Size -1: negative',
      '2: ArchiveList element is not an object',
      '3: invalid CreationDate "yesterday": expected an ISO-8601 UTC time such as 2012-05-15T17:19:46.700Z',
      '4: invalid Size 1.5: expected a whole number of bytes',
      '5: empty ArchiveId',
      '6: invalid SHA256TreeHash "abc": expected 64 hex digits',
      '7: ok',
      '8: duplicate ArchiveId g (listed on an earlier row)',
      '9: ArchiveDescription is not a string',
    ]);
    expect(records[0]).toMatchObject({ raw: JSON.stringify(entry('a', { Size: -1 })) });
  });

  it('reports a truncated document once, at the end', async () => {
    const text = doc([entry('a'), entry('b'), entry('c')]);
    const records = await collect(parseInventoryJson([text.slice(0, text.length - 30)]));
    const last = records[records.length - 1];
    expect(last).toMatchObject({ kind: 'error', message: expect.stringMatching(/^malformed or truncated JSON after row \d: /) });
    expect(records.slice(0, -1).every((r) => r.kind === 'archive')).toBe(true);
  });

  it('reports a JSON document that is not an inventory', async () => {
    expect(await collect(parseInventoryJson(['{"VaultARN":"x"}']))).toEqual([
      { kind: 'error', row: 0, message: 'not a Glacier JSON inventory: no ArchiveList', raw: '' },
    ]);
  });

  it('works on tiny chunks', async () => {
    const bytes = Buffer.from(doc([entry('a', { ArchiveDescription: 'été' }), entry('b')]));
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(await collect(parseInventoryJson(Readable.from(chunks)))).toEqual([archive(1, 'a', 'été'), archive(2, 'b', 'photo.jpg')]);
  });
});

describe('detectInventoryFormat and parseInventory', () => {
  it.each<[string, 'csv' | 'json' | undefined]>([
    ['{"VaultARN":', 'json'],
    ['\ufeff \n {"ArchiveList":[]}', 'json'],
    [`${HEADER}\n`, 'csv'],
    [`\ufeff${HEADER}`, 'csv'],
    ['hello world\n', undefined],
    ['', undefined],
  ])('%j → %s', (head, format) => {
    expect(detectInventoryFormat(head)).toBe(format);
    expect(detectInventoryFormat(Buffer.from(head))).toBe(format);
  });

  it('parses either format from a stream', async () => {
    const fromCsv = await collect(parseInventory(Readable.from([Buffer.from(csv(row('a', 'photo.jpg')))])));
    const fromJson = await collect(parseInventory(Readable.from([Buffer.from('{"ArchiveList":[{"ArchiveId":"a",'), Buffer.from(
      `"ArchiveDescription":"photo.jpg","CreationDate":"${DATE}","Size":42,"SHA256TreeHash":"${HASH}"}]}`)])));
    expect(fromJson).toEqual([archive(1, 'a', 'photo.jpg')]);
    expect(fromCsv).toEqual([archive(2, 'a', 'photo.jpg')]);
  });

  it('reads a first line spread over many chunks', async () => {
    const text = csv(row('a', 'x'));
    const source: InventorySource = Readable.from(text.split('').map((c) => Buffer.from(c)));
    expect(await collect(parseInventory(source))).toEqual([archive(2, 'a', 'x')]);
  });

  it('reports an unknown format and an empty source', async () => {
    expect(await collect(parseInventory(['hello\nworld\n']))).toEqual([
      { kind: 'error', row: 0, message: 'unknown inventory format: expected Glacier CSV or JSON', raw: 'hello' },
    ]);
    expect(await collect(parseInventory([]))).toEqual([{ kind: 'error', row: 0, message: 'empty inventory: no header line', raw: '' }]);
  });

  it('stops reading the source when the consumer stops', async () => {
    let pulled = 0;
    function* lines(): Generator<string> {
      yield `${HEADER}\n`;
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield `${row(`id${i}`, 'x')}\n`;
      }
    }
    for await (const r of parseInventory(lines())) {
      expect(r.kind).toBe('archive');
      break;
    }
    expect(pulled).toBeLessThan(5);
  });
});
