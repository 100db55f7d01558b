import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import * as fc from 'fast-check';
import {
  assertValidKeyPrefix,
  assignUniqueKeys,
  decodeDescription,
  duplicateCandidate,
  insertBeforeExtension,
  keyForArchive,
  KeyedArchive,
  MAX_KEY_BYTES,
  parseNamingOverrides,
  toSafeKey,
} from '../../src/core/archive-naming';

interface ConformanceCase {
  readonly name: string;
  readonly archiveId: string;
  readonly creationDate: string;
  readonly prefix: string;
  readonly description: string;
  readonly override?: string;
  readonly expected: { readonly key: string; readonly format: string; readonly lastModified: string | null; readonly source?: string };
}
interface DuplicateGroup {
  readonly name: string;
  readonly prefix: string;
  readonly records: ReadonlyArray<{ archiveId: string; creationDate: string; description: string; override?: string }>;
  readonly expected: Readonly<Record<string, string>>;
}
interface Conformance {
  readonly cases: readonly ConformanceCase[];
  readonly duplicateGroups: readonly DuplicateGroup[];
}

const REPO = path.join(__dirname, '..', '..');
const conformance = JSON.parse(readFileSync(path.join(REPO, 'test', 'fixtures', 'naming-conformance.json'), 'utf8')) as Conformance;

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/;
const ARCHIVE_ID = 'qCaXfAPaYjC5r1mXi_Sz7Y2eO1MOqStbPWb0tqeKmjnqVSGgbKqRpKZvQ8MDIaO2QMrzhRi6xkJ8JjeEv8Kx43zOeH3b7NgZLgeqAbrIr7TbvD4';

/** Every property a key must have, whatever the input. */
function expectSafeKey(key: string, prefix: string): void {
  expect(key.length).toBeGreaterThan(prefix.length);
  expect(key.startsWith(prefix)).toBe(true);
  expect(Buffer.from(key, 'utf8').toString('utf8')).toBe(key); // well-formed: no lone surrogate
  expect(Buffer.byteLength(key, 'utf8')).toBeLessThanOrEqual(MAX_KEY_BYTES);
  expect(key.startsWith('/')).toBe(false);
  expect(key.includes('//')).toBe(false);
  expect(key.endsWith('/')).toBe(false);
  expect(key.split('/').some((s) => s === '.' || s === '..')).toBe(false);
  expect(FORBIDDEN.test(key)).toBe(false);
}

describe('conformance fixtures (shared with glue/test_archive_naming.py)', () => {
  it('has enough cases to mean something', () => {
    expect(conformance.cases.length).toBeGreaterThanOrEqual(40);
    const formats = new Set(conformance.cases.map((c) => c.expected.format));
    expect([...formats].sort()).toEqual(['cloudberry', 'empty', 'fastglacier', 'fastglacier-v1', 'mt1', 'mt2', 'plain']);
  });

  it.each(conformance.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = keyForArchive(
      { archiveId: c.archiveId, description: c.description, creationDate: c.creationDate },
      { prefix: c.prefix, ...(c.override !== undefined && { override: c.override }) },
    );
    expect(result.key).toBe(c.expected.key);
    expect(result.format).toBe(c.expected.format);
    expect(result.lastModified ?? null).toBe(c.expected.lastModified);
    if (c.expected.source) expect(result.source).toBe(c.expected.source);
    expect(result.source === 'error').toBe(result.error !== undefined && c.override === undefined);
    expectSafeKey(result.key, c.prefix);
  });

  it.each(conformance.duplicateGroups.map((g) => [g.name, g] as const))('duplicates: %s', (_name, g) => {
    const keyed: KeyedArchive[] = g.records.map((r) => ({
      archiveId: r.archiveId,
      creationDate: r.creationDate,
      key: keyForArchive(r, { prefix: g.prefix, ...(r.override !== undefined && { override: r.override }) }).key,
    }));
    const assigned = assignUniqueKeys(keyed, { prefix: g.prefix });
    expect(Object.fromEntries(assigned.map((a) => [a.archiveId, a.key]))).toEqual(g.expected);
    // Input order does not matter.
    const reversed = assignUniqueKeys([...keyed].reverse(), { prefix: g.prefix });
    expect(Object.fromEntries(reversed.map((a) => [a.archiveId, a.key]))).toEqual(g.expected);
    for (const a of assigned) expectSafeKey(a.key, g.prefix);
  });
});

describe('decodeDescription', () => {
  it('reports the format claimed and the reason when a payload cannot be decoded', () => {
    expect(decodeDescription('<m><v>4</v><p>!!</p></m>')).toEqual({ format: 'fastglacier', path: '', error: '<p> is not valid base64' });
    expect(decodeDescription('mt2 ' + Buffer.from([0xc3, 0x28]).toString('base64url'))).toEqual({
      format: 'mt2', path: '', error: 'mt2 payload is not valid UTF-8',
    });
    expect(decodeDescription('{"Path": 42}').error).toBe('JSON description Path is not a string');
  });

  it('keeps the path raw (sanitising is a separate step)', () => {
    expect(decodeDescription('  ../a\\b  ')).toEqual({ format: 'plain', path: '../a\\b' });
  });

  it('accepts the extended timestamp spelling in CloudBerry descriptions and rejects out-of-range times', () => {
    expect(decodeDescription('{"Path":"a","UTCDateModified":"2010-03-10T11:06:23Z"}').lastModified).toBe('2010-03-10T11:06:23Z');
    expect(decodeDescription('{"Path":"a","UTCDateModified":"20100310T240000Z"}').lastModified).toBeUndefined();
    expect(decodeDescription('{"Path":"a","UTCDateModified":"20000229T235959Z"}').lastModified).toBe('2000-02-29T23:59:59Z');
    expect(decodeDescription('{"Path":"a","UTCDateModified":"19000229T000000Z"}').lastModified).toBeUndefined();
  });
});

describe('toSafeKey and prefixes', () => {
  it('falls back to 00undefined/<ArchiveId>', () => {
    expect(toSafeKey('/./../', ARCHIVE_ID, 'restored/')).toBe(`restored/00undefined/${ARCHIVE_ID}`);
  });

  it.each(['/abs', 'a//b', 'a/./b', '../x', 'a/..', 'a\\b', 'tab\there', 'x'.repeat(513), 'e\u0301/', '   /', 'a/\u00a0/b/', '*/', 'a*b/', 'a?/', 'home/${aws:username}/'])('rejects prefix %j', (prefix) => {
    expect(() => assertValidKeyPrefix(prefix)).toThrow(/Invalid key prefix/);
    expect(() => toSafeKey('a', ARCHIVE_ID, prefix)).toThrow(/Invalid key prefix/);
  });

  it.each(['', 'restored/', 'vault-a-', 'a/b/c', '日本/', 'x'.repeat(511) + '/', 'my vault/'])('accepts prefix %j', (prefix) => {
    expect(() => assertValidKeyPrefix(prefix)).not.toThrow();
  });

  it('leaves at least 512 bytes for the name under the longest prefix', () => {
    const prefix = 'p'.repeat(511) + '/';
    const key = toSafeKey('n'.repeat(600), ARCHIVE_ID, prefix);
    expect(Buffer.byteLength(key)).toBe(MAX_KEY_BYTES);
    expect(key).toMatch(/^p{511}\/n{247}~[0-9a-f]{16}~n{247}$/);
  });
});

describe('duplicate tags', () => {
  it.each([
    ['photo.jpg', 'photo (T).jpg'],
    ['a/b.c/d', 'a/b.c/d (T)'],
    ['.env', '.env (T)'],
    ['x/.env', 'x/.env (T)'],
    ['a.b.', 'a.b. (T)'],
    ['my file. with dot', 'my file. with dot (T)'],
    ['archive.😀', 'archive (T).😀'],
  ])('%s → %s', (name, expected) => {
    expect(insertBeforeExtension(name, ' (T)')).toBe(expected);
  });

  it('uses 8, 16, 32, 64 hex digits, then the full hash and a counter', () => {
    const candidates = [0, 1, 2, 3, 4, 5].map((level) => duplicateCandidate('r/a.txt', 'abc', '2019-01-21T08:52:42.999Z', level, 'r/'));
    const full = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // sha256("abc")
    expect(candidates).toEqual([
      `r/a (2019-01-21T085242Z ${full.slice(0, 8)}).txt`,
      `r/a (2019-01-21T085242Z ${full.slice(0, 16)}).txt`,
      `r/a (2019-01-21T085242Z ${full.slice(0, 32)}).txt`,
      `r/a (2019-01-21T085242Z ${full}).txt`,
      `r/a (2019-01-21T085242Z ${full} 2).txt`,
      `r/a (2019-01-21T085242Z ${full} 3).txt`,
    ]);
  });

  it('keeps extending while candidates are taken', () => {
    const full = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    const owners: KeyedArchive[] = [8, 16, 32, 64].map((n, i) => ({
      archiveId: `owner-${i}`,
      creationDate: '2000-01-01T00:00:00Z',
      key: `a (2019-01-21T085242Z ${full.slice(0, n)}).txt`,
    }));
    const records: KeyedArchive[] = [
      ...owners,
      { archiveId: 'first', creationDate: '2000-01-01T00:00:00Z', key: 'a.txt' },
      { archiveId: 'abc', creationDate: '2019-01-21T08:52:42Z', key: 'a.txt' },
    ];
    const byId = new Map(assignUniqueKeys(records, { prefix: '' }).map((u) => [u.archiveId, u]));
    expect(byId.get('abc')).toEqual({ archiveId: 'abc', key: `a (2019-01-21T085242Z ${full} 2).txt`, renamed: true });
    expect(byId.get('first')?.renamed).toBe(false);
  });

  it('a kept archive (downloaded before a Resume) owns its key even when an older archive now has the same base key', () => {
    // 'older' is named photo.jpg by a new naming override; 'done' was downloaded to photo.jpg by an
    // earlier execution. Without the kept flag the older archive would win and 'done' would be
    // renamed although its object already sits at photo.jpg.
    const records: KeyedArchive[] = [
      { archiveId: 'older', creationDate: '2001-01-01T00:00:00Z', key: 'p/photo.jpg' },
      { archiveId: 'done', creationDate: '2019-01-21T08:52:42Z', key: 'p/photo.jpg', kept: true },
      { archiveId: 'newer', creationDate: '2020-01-01T00:00:00Z', key: 'p/photo.jpg' },
    ];
    const byId = new Map(assignUniqueKeys(records, { prefix: 'p/' }).map((u) => [u.archiveId, u]));
    expect(byId.get('done')).toEqual({ archiveId: 'done', key: 'p/photo.jpg', renamed: false });
    expect(byId.get('older')).toEqual({ archiveId: 'older', key: duplicateCandidate('p/photo.jpg', 'older', '2001-01-01T00:00:00Z', 0, 'p/'), renamed: true });
    expect(byId.get('newer')?.renamed).toBe(true);
    // Same records without the flag: the oldest keeps the key (the launch rule).
    const plain = new Map(assignUniqueKeys(records.map(({ kept: _k, ...r }) => r), { prefix: 'p/' }).map((u) => [u.archiveId, u]));
    expect(plain.get('older')?.renamed).toBe(false);
    expect(plain.get('done')?.renamed).toBe(true);
  });

  it('refuses records it cannot order or place', () => {
    const ok = { archiveId: 'x', creationDate: '2019-01-21T08:52:42Z', key: 'r/a' };
    expect(() => assignUniqueKeys([ok, { ...ok }], { prefix: 'r/' })).toThrow(/listed twice/);
    expect(() => assignUniqueKeys([{ ...ok, creationDate: '2019-02-30T00:00:00Z' }], { prefix: 'r/' })).toThrow(/Invalid CreationDate/);
    expect(() => assignUniqueKeys([ok], { prefix: 'other/' })).toThrow(/does not start with the prefix/);
  });
});

describe('parseNamingOverrides', () => {
  it('reads GlacierArchiveID,FileName with RFC 4180 quoting, BOM and CRLF; blank names fall back', async () => {
    const csv = '\ufeffGlacierArchiveID,FileName\r\nA1,"photos/a, b.jpg"\r\nA2,\r\n,\r\nA3,"say ""hi"".txt"\r\n  A4  ,  \r\n';
    const map = await parseNamingOverrides(csv);
    expect([...map]).toEqual([['A1', 'photos/a, b.jpg'], ['A3', 'say "hi".txt']]);
  });

  it('accepts columns in another order and case, from a stream of bytes', async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('filename,extra,GLACIERARCHIVEID\nx.txt,1,');
      yield Buffer.from('ID-9\n');
    }
    expect(await parseNamingOverrides(chunks())).toEqual(new Map([['ID-9', 'x.txt']]));
  });

  it('rejects a missing column and a repeated archive id (with the line)', async () => {
    await expect(parseNamingOverrides('ArchiveId,FileName\nA,b\n')).rejects.toThrow(/GlacierArchiveID and FileName/);
    await expect(parseNamingOverrides('')).rejects.toThrow(/GlacierArchiveID and FileName/);
    await expect(parseNamingOverrides('GlacierArchiveID,FileName\nA,b\nB,c\nA,d\n')).rejects.toThrow(/line 4: GlacierArchiveID A is listed twice/);
  });
});

// ----------------------------------------------------------------------------------------------
// Properties over arbitrary input

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: fc.constantFrom('.', '/', '\\', ' ', 'C:', '..', 'a', 'é', 'e\u0301', '\u202e', '\u0000', '😀', '日'), maxLength: 60 }),
  fc.string({ unit: 'binary', minLength: 300, maxLength: 1500 }),
);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 1200 }),
  anyText.map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
);
const anyDescription = fc.oneof(
  anyText,
  anyBytes.map((b) => `<m><v>4</v><p>${b64(b)}</p><lm>20190121T085242Z</lm></m>`),
  anyBytes.map((b) => `<ArchiveMetadata><Path>${b64(b)}</Path></ArchiveMetadata>`),
  anyBytes.map((b) => `mt2 ${Buffer.from(b).toString('base64url')}`),
  anyText.map((s) => `mt1 ${Buffer.from(Buffer.from(JSON.stringify({ filename: s }), 'utf8').toString('latin1'), 'utf8').toString('base64url')}`),
  fc.tuple(anyText, fc.boolean()).map(([s, twice]) => {
    const json = JSON.stringify({ Path: s, UTCDateModified: '20100310T110623Z' });
    return twice ? JSON.stringify(json) : json;
  }),
  anyText.map((s) => `<m><p>${s}</p></m>`),
  anyText.map((s) => `{"Path":${s}`),
);
const anyPrefix = fc.constantFrom('', 'restored/', 'vault-a-', 'a/b/c/', '日本/', 'x'.repeat(500) + '/');
const anyId = fc.stringMatching(/^[A-Za-z0-9_-]{1,138}$/);

describe('properties', () => {
  it('every description gives a safe, deterministic key', () => {
    fc.assert(
      fc.property(anyDescription, anyId, anyPrefix, fc.option(anyText, { nil: undefined }), (description, archiveId, prefix, override) => {
        const options = { prefix, ...(override !== undefined && { override }) };
        const a = keyForArchive({ archiveId, description }, options);
        expectSafeKey(a.key, prefix);
        expect(keyForArchive({ archiveId, description }, options)).toEqual(a);
        if (Buffer.byteLength(a.key) < MAX_KEY_BYTES - 30) expect(a.key.normalize('NFC')).toBe(a.key);
        if (a.lastModified !== undefined) expect(a.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }),
      { numRuns: 1500 },
    );
  });

  it('toSafeKey never fails on any path', () => {
    fc.assert(
      fc.property(anyText, anyId, anyPrefix, (p, id, prefix) => {
        expectSafeKey(toSafeKey(p, id, prefix), prefix);
      }),
      { numRuns: 1500 },
    );
  });

  const names = fc.constantFrom('a.jpg', 'a (2019-01-21T085242Z 2f1a2b3c).jpg', 'b', '.env', 'x/y.tar.gz', 'n'.repeat(1100) + '.txt');
  const dates = fc.constantFrom('2019-01-21T08:52:42.000Z', '2019-01-21T08:52:42.500Z', '2020-01-01T00:00:00Z', '2018-12-31T23:59:59.999Z');
  const batch = fc.uniqueArray(fc.record({ archiveId: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), name: names, creationDate: dates }), {
    selector: (r) => r.archiveId,
    maxLength: 40,
  });

  it('assignUniqueKeys gives unique safe keys, owners keep their key, and input order does not matter', () => {
    fc.assert(
      fc.property(batch, anyPrefix, fc.integer(), (rows, prefix, seed) => {
        const records: KeyedArchive[] = rows.map((r) => ({
          archiveId: r.archiveId, creationDate: r.creationDate, key: toSafeKey(r.name, r.archiveId, prefix),
        }));
        const assigned = assignUniqueKeys(records, { prefix });
        expect(new Set(assigned.map((a) => a.key)).size).toBe(records.length);
        for (const a of assigned) expectSafeKey(a.key, prefix);
        // Every base key is kept by exactly one archive.
        for (const key of new Set(records.map((r) => r.key))) expect(assigned.filter((a) => a.key === key)).toHaveLength(1);
        // A deterministic shuffle.
        const shuffled = records.map((r, i) => ({ r, k: (i * 7919 + seed) % 104729 })).sort((x, y) => x.k - y.k).map((x) => x.r);
        const again = new Map(assignUniqueKeys(shuffled, { prefix }).map((a) => [a.archiveId, a.key]));
        expect(again).toEqual(new Map(assigned.map((a) => [a.archiveId, a.key])));
      }),
      { numRuns: 400 },
    );
  });
});

describe('agreement with the Python twin on random input', () => {
  /**
   * NFC depends on the runtime's Unicode database (Python 3.11: Unicode 14.0; Node: ICU, newer).
   * Characters assigned after Python's version may normalise differently, so Python reports the
   * code points it sees as unassigned (category Cn), and cases are left out when V8 knows one of them
   * as a mark or as decomposable (the only characters NFC reorders or changes).
   */
  const normalisesDifferently = (cp: number): boolean => {
    const ch = String.fromCodePoint(cp);
    return !/\p{Cn}/u.test(ch) && (/\p{M}/u.test(ch) || ch.normalize('NFD') !== ch);
  };
  it('glue/archive_naming.py gives the same keys, formats and times', () => {
    const inputs = fc.sample(
      fc.record({ description: anyDescription, archiveId: anyId, prefix: anyPrefix, override: fc.option(anyText, { nil: null }) }),
      { numRuns: 600, seed: 20261125 },
    );
    const script = [
      'import json, sys, unicodedata',
      'from glue.archive_naming import decode_description, key_for_archive',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    k = key_for_archive(c["archiveId"], c["description"], c["prefix"], c["override"])',
      '    seen = decode_description(c["description"]).path + (c["override"] or "")',
      '    unassigned = sorted({ord(ch) for ch in seen if unicodedata.category(ch) == "Cn"})',
      '    out.append([[k.key, k.format, k.last_modified, k.source], unassigned])',
      'sys.stdout.write(json.dumps(out))',
    ].join('\n');
    // ASCII-only JSON, whatever the locale of the Python process.
    const input = JSON.stringify(inputs).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const stdout = execFileSync('python3', ['-c', script], { cwd: REPO, input, maxBuffer: 64 * 1024 * 1024 });
    const python = JSON.parse(stdout.toString('utf8')) as Array<[[string, string, string | null, string], number[]]>;
    let compared = 0;
    inputs.forEach((c, i) => {
      const [expected, unassigned] = python[i];
      if (unassigned.some(normalisesDifferently)) return;
      const k = keyForArchive(c, { prefix: c.prefix, ...(c.override !== null && { override: c.override }) });
      expect([k.key, k.format, k.lastModified ?? null, k.source]).toEqual(expected);
      compared++;
    });
    expect(compared).toBeGreaterThan(inputs.length * 0.8);
  });
});
