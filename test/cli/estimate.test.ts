import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CliError, parseChunkSizeMib, parseStorageClass, parseTier, runEstimate } from '../../src/cli/estimate';
import { main } from '../../src/cli/main';
import { RetrievalTier, DestinationStorageClass } from '../../src/core/prices';

const MiB = 1024 * 1024;
const HASH = 'a'.repeat(64);
const id = (n: number) => `${'A'.repeat(130)}${String(n).padStart(8, '0')}`;

let dir: string;
const csvPath = () => join(dir, 'inventory.csv');
const jsonPath = () => join(dir, 'inventory.json');
const badPath = () => join(dir, 'malformed.csv');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'estimate-test-'));
  const rows = [
    [id(1), 'photos/a.jpg', '2012-05-15T17:19:46.700Z', String(MiB), HASH],
    [id(2), '<m><v>4</v><p>Zm9vLnR4dA==</p><lm>20190121T085242Z</lm></m>', '2012-05-16T17:19:46.700Z', String(20 * MiB), HASH],
    [id(3), 'with \\"quotes\\", and comma', '2012-05-17T17:19:46.700Z', String(3 * 1024 * MiB), HASH],
  ];
  const header = '"ArchiveId","ArchiveDescription","CreationDate","Size","SHA256TreeHash"';
  const csv = (r: string[][]) => `${header}\n${r.map((c) => c.map((v) => `"${v}"`).join(',')).join('\n')}\n`;
  writeFileSync(csvPath(), csv(rows));
  writeFileSync(badPath(), csv([...rows.slice(0, 2), [id(4), 'bad size', '2012-05-18T00:00:00Z', 'twelve', HASH], rows[2]]));
  writeFileSync(jsonPath(), JSON.stringify({
    VaultARN: 'arn:aws:glacier:us-east-1:012345678901:vaults/examplevault',
    InventoryDate: '2024-01-01T00:00:00Z',
    ArchiveList: rows.map(([ArchiveId, ArchiveDescription, CreationDate, size, SHA256TreeHash]) => ({
      ArchiveId, ArchiveDescription, CreationDate, Size: Number(size), SHA256TreeHash,
    })),
  }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runEstimate', () => {
  test('CSV inventory with defaults (Bulk, DEEP_ARCHIVE, 1 GiB chunks)', async () => {
    const r = await runEstimate({ inventory: csvPath() });
    expect(r.format).toBe('csv');
    expect(r.rows).toBe(3);
    expect(r.malformedRows).toBe(0);
    expect(r.estimate).toMatchObject({
      archiveCount: 3,
      totalBytes: MiB + 20 * MiB + 3 * 1024 * MiB,
      singlePutCount: 2,
      multipartCount: 1,
      multipartParts: 3,
      tier: RetrievalTier.BULK,
      storageClass: DestinationStorageClass.DEEP_ARCHIVE,
    });
    expect(r.text).toContain('3 archive row(s)');
    expect(r.text).toMatch(/Glacier retrieval: \$/);
  });

  test('JSON inventory gives the same estimate', async () => {
    const csv = await runEstimate({ inventory: csvPath(), tier: 'standard', storageClass: 'glacier-ir', chunkSizeMib: '8' });
    const json = await runEstimate({ inventory: jsonPath(), tier: 'Standard', storageClass: 'GLACIER_IR', chunkSizeMib: 8 });
    expect(json.format).toBe('json');
    expect(json.estimate).toEqual(csv.estimate);
    expect(json.estimate.multipartParts).toBe(3 + 384);
  });

  test('a few malformed rows (at most 1 %) are counted and reported, not fatal', async () => {
    const good = Array.from({ length: 199 }, (_, i) => `"${id(100 + i)}","","2012-05-15T17:19:46.700Z","${MiB}","${HASH}"`);
    const file = join(dir, 'mostly-good.csv');
    writeFileSync(file, `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n${good.join('\n')}\n"${id(9)}","","2012-05-18T00:00:00Z","twelve","${HASH}"\n`);
    const r = await runEstimate({ inventory: file });
    expect(r.rows).toBe(199);
    expect(r.malformedRows).toBe(1);
    expect(r.malformedSamples).toHaveLength(1);
    expect(r.text).toMatch(/Malformed rows skipped: 1/);
    expect(r.estimate.archiveCount).toBe(199);
  });

  test('a CSV written with RFC 4180 "" quoting (every 5th description quoted) loses no row; its dialect is said', async () => {
    const rows = Array.from({ length: 100 }, (_, i) => {
      const description = i % 5 === 2 ? `"say ""hi"", ${i}"` : `file-${i}.bin`;
      return `${id(300 + i)},${description},2012-05-15T17:19:46.700Z,${MiB},${HASH}`;
    });
    const file = join(dir, 'rfc4180.csv');
    writeFileSync(file, `ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n${rows.join('\r\n')}\r\n`);
    const r = await runEstimate({ inventory: file });
    expect(r.rows).toBe(100);
    expect(r.malformedRows).toBe(0);
    expect(r.estimate.totalBytes).toBe(100 * MiB);
    expect(r.csvQuoting).toEqual({ quoting: 'rfc4180', row: 4 });
    expect(r.text).toMatch(/Quoting: RFC 4180 .*first at line 4.*transfer reads only that/);
    const glacier = await runEstimate({ inventory: csvPath() });
    expect(glacier.csvQuoting).toEqual({ quoting: 'glacier', row: 4 });
    expect(glacier.text).not.toMatch(/Quoting:/);
  });

  test('more than 1 % unreadable rows: refused with the share and the first bad rows', async () => {
    const refusal = runEstimate({ inventory: badPath() });
    await expect(refusal).rejects.toThrow(CliError);
    await expect(refusal).rejects.toThrow(new RegExp(`${badPath().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1 of 4 rows \\(25\\.0 %\\) cannot be read`));
    await expect(refusal).rejects.toThrow(/row 4: .*Size/);
  });

  test.each([
    ['empty.csv', '', /is not a complete inventory .*empty inventory/],
    ['notes.txt', 'hello world\nthis is not an inventory\n', /has no readable archive row .*expected a Glacier vault inventory: CSV with the header ArchiveId,/],
    ['cut.json', '{"VaultARN":"arn:aws:glacier:us-east-1:1:vaults/v","InventoryDate":"2020-01-01T00:00:00Z","ArchiveList":[{"ArchiveId":"', /is not a complete inventory \(read as JSON\).*truncated JSON/],
  ])('%s is not an inventory: non-zero exit, the message names the file and what was expected', async (name, content, message) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    await expect(runEstimate({ inventory: file })).rejects.toThrow(message);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'cli', 'estimate', '--inventory', file], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    expect(code).not.toBe(0);
    expect(err.join('')).toContain(file);
    expect(out.join('')).not.toMatch(/\$/);
  });

  test('options change the estimate', async () => {
    const r = await runEstimate({ inventory: csvPath(), tier: 'Expedited', dailyQuotaTib: '0.001', crossRegion: true });
    expect(r.estimate.tier).toBe(RetrievalTier.EXPEDITED);
    expect(r.estimate.dailyQuotaBytes).toBeCloseTo(0.001 * 1024 ** 4, 0);
    expect(r.estimate.byGroup['Cross-region transfer']).toBeGreaterThan(0);
    // 1 MiB and 20 MiB at once; the 3 GiB archive, larger than the whole quota, once the window is empty (24 h + the 1-min ledger bucket).
    expect(r.estimate.duration.requestingHours).toBeCloseTo((86_400 + 60 + 0.01) / 3600, 6);
    expect(r.estimate.duration.requestedBytesPerDay).toEqual([21 * MiB, 3 * 1024 * MiB]);
  });

  test.each([
    [{ inventory: 'nope.csv' }, /inventory file not found: nope\.csv/],
    [{ inventory: '.' }, /not a file/],
    [{ inventory: 'x', tier: 'Slow' }, /--tier must be one of Bulk, Standard, Expedited; got "Slow"/],
    [{ inventory: 'x', storageClass: 'TAPE' }, /--storage-class must be one of DEEP_ARCHIVE, .*STANDARD_IA; got "TAPE"/],
    [{ inventory: 'x', dailyQuotaTib: '-3' }, /--daily-quota-tib must be a positive number; got "-3"/],
    [{ inventory: 'x', dailyQuotaTib: 'lots' }, /--daily-quota-tib must be a positive number/],
    [{ inventory: 'x', chunkSizeMib: '3' }, /--chunk-size-mib must be a power of two from 8 to 4096/],
    [{ inventory: 'x', chunkSizeMib: '8192' }, /--chunk-size-mib must be a power of two from 8 to 4096/],
  ])('clear error for %o', async (options, message) => {
    await expect(runEstimate(options)).rejects.toThrow(CliError);
    await expect(runEstimate(options)).rejects.toThrow(message);
  });

  test('option parsers', () => {
    expect(parseTier(' bulk ')).toBe(RetrievalTier.BULK);
    expect(parseStorageClass('deep archive')).toBe(DestinationStorageClass.DEEP_ARCHIVE);
    expect(parseChunkSizeMib('4096')).toBe(4096 * MiB);
  });
});

describe('main (commander)', () => {
  async function cli(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'cdk-glacier-vault-to-s3', ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  }

  test('estimate prints the breakdown', async () => {
    const r = await cli('estimate', '--inventory', csvPath(), '--tier', 'Standard', '--storage-class', 'GLACIER', '--daily-quota-tib', '50');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Retrieval tier: +Standard +Storage class: GLACIER +Daily quota: 50\.0 TiB/);
  });

  test('missing file: exit 2 with a one-line error', async () => {
    const r = await cli('estimate', '--inventory', join(dir, 'missing.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: inventory file not found: .*missing\.csv\n$/);
  });

  test('wrong option value: exit 2', async () => {
    const r = await cli('estimate', '--inventory', csvPath(), '--tier', 'Glacial');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tier must be one of/);
  });

  test('missing --inventory: commander error, non-zero exit', async () => {
    const r = await cli('estimate');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/required option '--inventory <file>' not specified/);
  });

  test('unknown command: non-zero exit', async () => {
    const r = await cli('teleport');
    expect(r.code).not.toBe(0);
  });
});

describe('estimate --json and --region', () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'cli', 'estimate', '--inventory', csvPath(), ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    return { code, out: out.join(''), err: err.join('') };
  };

  test('--json prints one JSON document with the inventory as read and the same estimate as the text report', async () => {
    const r = await run('--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    const expected = await runEstimate({ inventory: csvPath() });
    expect(doc.inventory).toEqual({ file: csvPath(), format: 'csv', archiveRows: 3, malformedRows: 0, malformedSamples: [], csvQuoting: 'glacier' });
    expect(doc.estimate).toEqual(JSON.parse(JSON.stringify(expected.estimate)));
    expect(doc.estimate.region).toBe('us-east-1');
  });

  test('--region prices us-east-1 or says plainly that only us-east-1 is known', async () => {
    expect((await run('--region', 'us-east-1')).code).toBe(0);
    const other = await run('--region', 'eu-west-1');
    expect(other.code).not.toBe(0);
    expect(other.err).toMatch(/--region eu-west-1: only us-east-1 prices are known/);
    expect(other.out).toBe('');
  });
});

describe('estimate --html', () => {
  test('writes one self-contained page: a bar per day of bytes requested, the quota line, the text report', async () => {
    const file = join(dir, 'report.html');
    const out: string[] = [];
    const code = await main(['node', 'cli', 'estimate', '--inventory', csvPath(), '--daily-quota-tib', '0.001', '--html', file],
      { stdout: (t) => out.push(t), stderr: () => undefined });
    expect(code).toBe(0);
    const html = readFileSync(file, 'utf8');
    // 21 MiB on day 1, the 3 GiB archive (larger than the quota) on day 2.
    const bars = [...html.matchAll(/<rect [^>]*><title>(day \d+: [^<]+)<\/title>/g)].map((m) => m[1]);
    expect(bars).toEqual(['day 1: 21.0 MiB', 'day 2: 3.00 GiB']);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).toMatch(/stroke-dasharray/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('Estimated duration:');
    expect(out.join('')).toContain('Estimated duration:');
  });

  test('an unwritable --html path: exit 2 naming it', async () => {
    const err: string[] = [];
    const code = await main(['node', 'cli', 'estimate', '--inventory', csvPath(), '--html', join(dir, 'no', 'such', 'dir', 'r.html')],
      { stdout: () => undefined, stderr: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/--html .*r\.html: cannot write the report/);
  });
});
