import { mkdtempSync, readFileSync, readdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createOutputFolder, displayPath, invocationFolderName, runFolder, writePipelineReport } from '../../rehearsal/report/output-folder';

describe('rehearsal output folder', () => {
  const base = mkdtempSync(join(tmpdir(), 'rehearsal-output-'));

  test('invocation folder names sort by start time and carry no colon', () => {
    const a = invocationFolderName(new Date('2026-12-03T09:05:07.123Z'));
    const b = invocationFolderName(new Date('2026-12-03T10:00:00.000Z'));
    expect(a).toBe('2026-12-03T09-05-07Z');
    expect([b, a].sort()).toEqual([a, b]);
  });

  test('--output is created when missing and used as given', () => {
    const dir = createOutputFolder(join(base, 'chosen', 'nested'));
    expect(dir).toBe(join(base, 'chosen', 'nested'));
    expect(readdirSync(join(base, 'chosen'))).toEqual(['nested']);
  });

  test('pipeline report files are written byte for byte under pipeline-report/, named after their key', () => {
    const folder = runFolder(base, 'ci1-none');
    const manifest = Buffer.from('ArchiveId,ObjectKey\n"a","say ""hi"""\n');
    const written = writePipelineReport(folder, [
      { key: 'ci1-none/reports/2026-12-03T09:05:07Z/manifest.csv', bytes: manifest },
      { key: 'ci1-none/reports/2026-12-03T09:05:07Z/summary.json', bytes: Buffer.from('{"counts":{}}') },
    ]);
    expect(written).toEqual([join('pipeline-report', 'manifest.csv'), join('pipeline-report', 'summary.json')]);
    expect(readFileSync(join(folder, 'pipeline-report', 'manifest.csv')).equals(manifest)).toBe(true);
  });

  test('a run id or key that cannot name a file is refused with its value', () => {
    expect(() => runFolder(base, '../escape')).toThrow(/"\.\.\/escape" cannot name a folder/);
    expect(() => writePipelineReport(join(base, 'x'), [{ key: 'prefix/', bytes: Buffer.alloc(0) }])).toThrow(/"prefix\/" has no file name/);
  });

  test('paths inside the working directory print relative, others absolute', () => {
    expect(displayPath('/work/p/rehearsal-output/x', '/work/p')).toBe('rehearsal-output/x');
    expect(displayPath('/tmp/out', '/work/p')).toBe('/tmp/out');
  });
});
