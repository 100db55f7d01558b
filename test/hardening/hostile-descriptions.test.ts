/**
 * Hardening: hostile archive descriptions (and naming overrides) never crash naming and never give
 * a key outside the destination prefix. The corpus is test/fixtures/hostile/descriptions.json; the
 * fuzz properties add what test/core/archive-naming.test.ts does not cover: arbitrary bytes wrapped
 * in every description format (including the double-quoted FastGlacier and doubly JSON-encoded
 * CloudBerry spellings), hostile prefixes, and whole batches of hostile names through
 * assignUniqueKeys.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as fc from 'fast-check';
import {
  assertValidKeyPrefix,
  assignUniqueKeys,
  keyForArchive,
  KeyedArchive,
  MAX_KEY_BYTES,
  toSafeKey,
} from '../../src/core/archive-naming';

interface HostileCase {
  readonly name: string;
  readonly description: string;
  readonly override?: string;
  readonly source?: 'override' | 'description' | 'undefined' | 'error';
  readonly collisionGroup?: string;
}

const corpus = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'fixtures', 'hostile', 'descriptions.json'), 'utf8'),
) as { cases: HostileCase[] };

const PREFIXES = ['restored/', 'vaults/photos/2024-01-01/', 'vault-a-', '日本/'];
const CREATED = '2019-01-21T08:52:42.000Z';
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Archive ids look like Glacier's (138 URL-safe base64 characters); made distinct per index. */
function archiveIdFor(i: number): string {
  const head = `hostile${String(i).padStart(4, '0')}`;
  return head + 'A'.repeat(138 - head.length);
}

/** Every property of a safe key; returns the problems (empty when the key is safe). */
function keyProblems(key: string, prefix: string): string[] {
  const problems: string[] = [];
  if (!key.startsWith(prefix)) problems.push('does not start with the prefix');
  const rest = key.slice(prefix.length);
  if (rest === '') problems.push('nothing after the prefix');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) problems.push(`longer than ${MAX_KEY_BYTES} bytes`);
  if (LONE_SURROGATE.test(key) || Buffer.from(key, 'utf8').toString('utf8') !== key) problems.push('not valid UTF-8');
  if (FORBIDDEN.test(key)) problems.push('control, bidi or non-character');
  if (key.includes('\\')) problems.push('backslash');
  if (rest.startsWith('/') || key.startsWith('/')) problems.push('absolute');
  if (key.includes('//')) problems.push('empty segment');
  if (key.endsWith('/')) problems.push('ends with /');
  if (key.split('/').some((s) => s === '.' || s === '..')) problems.push('. or .. segment');
  if (key.split('/').some((s) => s !== '' && /^[\s\u200b]*$/u.test(s))) problems.push('blank segment');
  // As S3 consumers resolve it: a relative path under the prefix stays under the prefix.
  if (!path.posix.normalize(`/${key}`).startsWith(`/${prefix}`)) problems.push('resolves outside the prefix');
  return problems;
}

function expectSafeKey(key: string, prefix: string, what: string): void {
  expect({ what, key, problems: keyProblems(key, prefix) }).toEqual({ what, key, problems: [] });
}

describe('hostile description corpus', () => {
  it('is big enough and covers each family of attack', () => {
    const names = corpus.cases.map((c) => c.name).join('\n');
    expect(corpus.cases.length).toBeGreaterThanOrEqual(40);
    for (const family of [/traversal/, /windows|unc/i, /NUL|ANSI|C1/, /bidi|right-to-left/, /invalid UTF-8/, /1,024/, /collision/, /override/]) {
      expect(names).toMatch(family);
    }
    expect(corpus.cases.some((c) => c.description.length >= 1024)).toBe(true);
  });

  it.each(PREFIXES)('every case gives a safe key under prefix %j, with the expected source and no throw', (prefix) => {
    corpus.cases.forEach((c, i) => {
      const archive = { archiveId: archiveIdFor(i), description: c.description };
      const options = { prefix, ...(c.override !== undefined && { override: c.override }) };
      let named: ReturnType<typeof keyForArchive> | undefined;
      expect(() => {
        named = keyForArchive(archive, options);
      }).not.toThrow();
      expectSafeKey(named!.key, prefix, c.name);
      // Deterministic: same input, same answer.
      expect(keyForArchive(archive, options)).toEqual(named);
      if (c.source !== undefined) expect({ name: c.name, source: named!.source }).toEqual({ name: c.name, source: c.source });
      if (named!.source === 'error') {
        expect(named!.error).toEqual(expect.any(String));
        expect(named!.key).toBe(`${prefix}00error/${archive.archiveId}`);
      }
      if (named!.source === 'undefined') expect(named!.key).toBe(`${prefix}00undefined/${archive.archiveId}`);
    });
  });

  it('a traversal never climbs: the last segment of the payload survives, the dot-dots do not', () => {
    const prefix = 'restored/';
    const key = (d: string) => keyForArchive({ archiveId: 'id', description: d }, { prefix }).key;
    expect(key('../../etc/passwd')).toBe('restored/etc/passwd');
    expect(key('C:\\Windows\\System32\\config\\SAM')).toBe('restored/C/Windows/System32/config/SAM');
    expect(key('\\\\server\\share\\..\\..\\secret.txt')).toBe('restored/server/share/secret.txt');
    expect(key('invoice\u202efdp.exe')).toBe('restored/invoicefdp.exe');
    expect(key('a\ud800b')).toBe('restored/a\ufffdb');
  });

  it('overrides are sanitised like descriptions and cannot escape the prefix', () => {
    const prefix = 'restored/';
    const named = (override: string) => keyForArchive({ archiveId: 'id', description: 'plain.txt' }, { prefix, override });
    expect(named('../../../escape.txt')).toMatchObject({ key: 'restored/escape.txt', source: 'override' });
    expect(named('C:\\Windows\\evil.dll')).toMatchObject({ key: 'restored/C/Windows/evil.dll', source: 'override' });
    // An override that sanitises to nothing falls back to the description.
    expect(named('\u0000\u202e')).toMatchObject({ key: 'restored/plain.txt', source: 'description' });
  });

  it.each(PREFIXES)('names that collide after sanitising get unique safe keys (prefix %j)', (prefix) => {
    const records: KeyedArchive[] = corpus.cases.map((c, i) => {
      const options = { prefix, ...(c.override !== undefined && { override: c.override }) };
      // All at the same instant: only the ArchiveId orders them.
      const archiveId = archiveIdFor(i);
      return { archiveId, creationDate: CREATED, key: keyForArchive({ archiveId, description: c.description }, options).key };
    });
    const groups = new Map<string, Set<string>>();
    corpus.cases.forEach((c, i) => {
      if (c.collisionGroup === undefined) return;
      const keys = groups.get(c.collisionGroup) ?? new Set<string>();
      keys.add(records[i].key);
      groups.set(c.collisionGroup, keys);
    });
    // The collision groups really collide: each sanitises to one base key.
    for (const [group, keys] of groups) expect({ group, distinctBaseKeys: keys.size }).toEqual({ group, distinctBaseKeys: 1 });

    const assigned = assignUniqueKeys(records, { prefix });
    expect(new Set(assigned.map((a) => a.key)).size).toBe(records.length);
    for (const a of assigned) expectSafeKey(a.key, prefix, a.archiveId);
    const renamed = assigned.filter((a) => a.renamed).length;
    const groupSizes = corpus.cases.filter((c) => c.collisionGroup !== undefined).length;
    expect(renamed).toBeGreaterThanOrEqual(groupSizes - groups.size);
    // Order of input does not matter.
    const reversed = new Map(assignUniqueKeys([...records].reverse(), { prefix }).map((a) => [a.archiveId, a.key]));
    expect(reversed).toEqual(new Map(assigned.map((a) => [a.archiveId, a.key])));
  });

  it('hostile prefixes are refused up front with a clear error, not turned into keys', () => {
    for (const prefix of ['../', '/abs/', 'a/../b/', 'a//b/', 'a\\b/', 'x\u202e/', 'nul\u0000/', '\ud800/', 'e\u0301/', 'p'.repeat(513)]) {
      expect(() => assertValidKeyPrefix(prefix)).toThrow(/Invalid key prefix/);
      expect(() => keyForArchive({ archiveId: 'id', description: 'a' }, { prefix })).toThrow(/Invalid key prefix/);
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Fuzz: what test/core/archive-naming.test.ts does not already generate.

const anyPrefix = fc.constantFrom('restored/', 'vault-a-', 'a/b/c/', '日本/', 'x'.repeat(511) + '/');
const anyId = fc.stringMatching(/^[A-Za-z0-9_-]{1,138}$/);
const HOSTILE_BYTES = [0x2e, 0x2f, 0x5c, 0x3a, 0x00, 0x0a, 0x1b, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xa0, 0xef, 0xbb, 0xf4, 0xf5, 0xff, 0x41];
/** Bytes biased towards what breaks paths and UTF-8 decoders. */
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 1100 }),
  // `.` `/` `\` `:` NUL LF ESC DEL, continuation bytes, overlong leads, surrogate and BOM bytes, out of range.
  fc.array(fc.constantFrom(...HOSTILE_BYTES), { maxLength: 800 }).map((a) => Uint8Array.from(a)),
  fc.string({ unit: 'binary', maxLength: 400 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
/** Arbitrary bytes in every description format, including spellings the core fuzz leaves out. */
const wrappedBytes = fc.oneof(
  hostileBytes.map((b) => `"<m><v>3</v><p>${b64(b)}</p></m>"`),
  hostileBytes.map((b) => `<m><v>2</v><p>\n${b64(b).replace(/(.{76})/g, '$1\n')}</p><lm>bogus</lm></m>`),
  hostileBytes.map((b) => `"<ArchiveMetadata><Path>${b64(b)}</Path></ArchiveMetadata>"`),
  hostileBytes.map((b) => `mt1 ${b64url(b)}`),
  hostileBytes.map((b) => `  mt2   ${b64url(b)}  `),
  hostileBytes.map((b) => JSON.stringify({ Path: Buffer.from(b).toString('latin1'), UTCDateModified: 'x' })),
  hostileBytes.map((b) => JSON.stringify(JSON.stringify(JSON.stringify({ path: Buffer.from(b).toString('utf8') })))),
  hostileBytes.map((b) => Buffer.from(b).toString('latin1')),
);

describe('fuzz', () => {
  it('arbitrary bytes in every description format: safe, deterministic keys, never a throw', () => {
    fc.assert(
      fc.property(wrappedBytes, anyId, anyPrefix, (description, archiveId, prefix) => {
        const a = keyForArchive({ archiveId, description }, { prefix });
        expect(keyProblems(a.key, prefix)).toEqual([]);
        expect(keyForArchive({ archiveId, description }, { prefix })).toEqual(a);
        if (a.source === 'error') expect(a.key).toBe(`${prefix}00error/${archiveId}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('arbitrary strings through toSafeKey: valid, within 1,024 bytes, inside the prefix, deterministic', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), anyId, anyPrefix, (p, id, prefix) => {
        const key = toSafeKey(p, id, prefix);
        expect(keyProblems(key, prefix)).toEqual([]);
        expect(toSafeKey(p, id, prefix)).toBe(key);
      }),
      { numRuns: 1500 },
    );
  });

  it('batches of hostile names get unique safe keys through assignUniqueKeys', () => {
    const hostileName = fc.oneof(
      fc.constantFrom('../a.txt', 'a/../a.txt', '/a.txt', 'a.txt', 'a.txt\u0000', '\u202ea.txt', 'C:\\a.txt', '', '..', 'x'.repeat(1030) + '.jpg'),
      fc.string({ unit: fc.constantFrom('.', '/', '\\', 'a', '\u0000', '\u202e', 'C:'), maxLength: 12 }),
    );
    const batch = fc.uniqueArray(
      fc.record({ archiveId: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), name: hostileName, creationDate: fc.constantFrom(CREATED, '2020-02-29T23:59:59Z') }),
      { selector: (r) => r.archiveId, maxLength: 30 },
    );
    fc.assert(
      fc.property(batch, anyPrefix, (rows, prefix) => {
        const records = rows.map((r) => ({ archiveId: r.archiveId, creationDate: r.creationDate, key: toSafeKey(r.name, r.archiveId, prefix) }));
        const assigned = assignUniqueKeys(records, { prefix });
        expect(new Set(assigned.map((a) => a.key)).size).toBe(records.length);
        for (const a of assigned) expect(keyProblems(a.key, prefix)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
