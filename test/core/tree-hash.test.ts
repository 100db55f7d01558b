import { createHash, randomBytes } from 'crypto';
import { PassThrough, Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import * as fc from 'fast-check';
import { combineTreeHashes, IntegrityError, LeafDigestTree, TREE_HASH_LEAF_SIZE, TreeHasher, TreeHashStream, treeHashOf } from '../../src/core/tree-hash';

const MiB = 1024 * 1024;

/**
 * Independent, deliberately naive reference: split into 1 MiB leaves, hash each, then pair the
 * digests level by level, carrying an odd last digest up unchanged.
 */
function referenceTreeHash(data: Uint8Array): string {
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash('sha256');
    parts.forEach((p) => h.update(p));
    return h.digest();
  };
  if (data.length === 0) return sha(new Uint8Array(0)).toString('hex');
  let level: Buffer[] = [];
  for (let off = 0; off < data.length; off += MiB) level.push(sha(data.subarray(off, Math.min(off + MiB, data.length))));
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? sha(level[i], level[i + 1]) : level[i]);
    level = up;
  }
  return level[0].toString('hex');
}

/** Deterministic, non-uniform test bytes (zero-filled data makes every leaf equal). */
function patterned(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i + seed) % 251;
  return b;
}

/** A pool of random bytes sliced for the property tests (generating MiBs per run is slow). */
const POOL = randomBytes(9 * MiB + 12345);

/** Sizes concentrated around leaf boundaries. */
const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 7, 4 * MiB, 5 * MiB + MiB / 2),
  fc.integer({ min: 0, max: 2 * MiB + 3 }),
  fc.tuple(fc.integer({ min: 2, max: 8 }), fc.integer({ min: -2, max: 4099 })).map(([m, d]) => Math.max(0, m * MiB + d)),
);

/** Cut `size` bytes into pieces at random offsets. */
function cutsArb(size: number): fc.Arbitrary<number[]> {
  return fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, size - 1) }), { maxLength: 12 }).map((cuts) =>
    size <= 1 ? [] : cuts.filter((c) => c < size).sort((x, y) => x - y),
  );
}

function pieces(data: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, data.length]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

async function collect(stream: TreeHashStream, input: Buffer[]): Promise<{ out: Buffer; error?: unknown }> {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      received.push(Buffer.from(chunk));
      cb();
    },
  });
  try {
    await pipeline(Readable.from(input, { objectMode: false }), stream, sink);
    return { out: Buffer.concat(received) };
  } catch (error) {
    return { out: Buffer.concat(received), error };
  }
}

describe('known vectors', () => {
  test.each([
    ['"bar"', Buffer.from('bar', 'utf8'), 'fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9'],
    ['1 MiB of zeros', Buffer.alloc(MiB), '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58'],
    ['5.5 MiB of zeros', Buffer.alloc(5.5 * MiB), 'a3a82dbe3644dd6046be472f2e3ec1f8ef47f8f3adb86d0de4de7a254f255455'],
  ])('%s', (_name, data, expected) => {
    expect(treeHashOf(data)).toBe(expected);
    expect(referenceTreeHash(data)).toBe(expected);
    // Fed in 1 MiB pieces and in odd-sized pieces.
    const byMiB = new TreeHasher();
    for (let off = 0; off < data.length; off += MiB) byMiB.update(data.subarray(off, off + MiB));
    expect(byMiB.digest()).toBe(expected);
    const odd = new TreeHasher();
    for (let off = 0; off < data.length; off += 333_333) odd.update(data.subarray(off, off + 333_333));
    expect(odd.digest()).toBe(expected);
  });

  test('leaf size is 1 MiB and data up to one leaf hashes to its plain SHA-256', () => {
    expect(TREE_HASH_LEAF_SIZE).toBe(MiB);
    const data = patterned(MiB);
    expect(treeHashOf(data)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test('empty input hashes to SHA-256 of nothing', () => {
    expect(treeHashOf(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('odd leaf is promoted, not re-hashed or duplicated (3 leaves)', () => {
    const data = patterned(3 * MiB, 17);
    const leaves = [0, 1, 2].map((i) => createHash('sha256').update(data.subarray(i * MiB, (i + 1) * MiB)).digest());
    const left = createHash('sha256').update(leaves[0]).update(leaves[1]).digest();
    const expected = createHash('sha256').update(left).update(leaves[2]).digest('hex');
    expect(treeHashOf(data)).toBe(expected);
  });
});

describe('TreeHasher', () => {
  test('property: equals the reference for any size and any piece boundaries', () => {
    fc.assert(
      fc.property(sizeArb.chain((size) => fc.tuple(fc.constant(size), cutsArb(size), fc.nat(12345))), ([size, cuts, offset]) => {
        const data = POOL.subarray(offset, offset + size);
        const hasher = new TreeHasher();
        for (const piece of pieces(data, cuts)) hasher.update(piece);
        expect(hasher.bytes).toBe(size);
        expect(hasher.digest()).toBe(referenceTreeHash(data));
      }),
      { numRuns: 60 },
    );
  });

  test('update after digest and double digest are errors', () => {
    const h = new TreeHasher().update(Buffer.from('x'));
    h.digest();
    expect(() => h.update(Buffer.from('y'))).toThrow(/after digest/);
    expect(() => h.digest()).toThrow(/twice/);
  });

  test('empty updates change nothing', () => {
    const h = new TreeHasher();
    h.update(new Uint8Array(0)).update(Buffer.from('bar')).update(new Uint8Array(0));
    expect(h.digest()).toBe('fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9');
  });
});

describe('LeafDigestTree', () => {
  test('folding leaf digests one by one gives the same root as pairing whole levels', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 70 }), (leaves) => {
      const tree = new LeafDigestTree();
      for (const leaf of leaves) tree.add(Buffer.from(leaf));
      expect(tree.digest()).toBe(combineTreeHashes(leaves.map((l) => Buffer.from(l).toString('hex'))));
    }));
  });

  test('rejects what is not a leaf digest and misuse', () => {
    const tree = new LeafDigestTree();
    expect(() => tree.add(Buffer.alloc(31))).toThrow(/a leaf digest is 32 bytes, got 31/);
    expect(() => tree.digest()).toThrow(/needs at least one leaf/);
    tree.add(Buffer.alloc(32));
    tree.digest();
    expect(() => tree.digest()).toThrow(/called twice/);
    expect(() => tree.add(Buffer.alloc(32))).toThrow(/after digest/);
  });
});

describe('combineTreeHashes', () => {
  test('property: power-of-two MiB chunks combine to the whole-archive hash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 * MiB }), fc.integer({ min: 0, max: 3 }), fc.nat(12345), (size, k, offset) => {
        const data = POOL.subarray(offset, offset + size);
        const chunk = 2 ** k * MiB;
        const hashes: string[] = [];
        for (let off = 0; off < size; off += chunk) hashes.push(treeHashOf(data.subarray(off, off + chunk)));
        expect(combineTreeHashes(hashes)).toBe(referenceTreeHash(data));
      }),
      { numRuns: 40 },
    );
  });

  test('a single chunk hash is returned unchanged (lowercased)', () => {
    const h = treeHashOf(Buffer.from('bar'));
    expect(combineTreeHashes([h])).toBe(h);
    expect(combineTreeHashes([h.toUpperCase()])).toBe(h);
  });

  test('3 MiB chunks (not a power of two) do NOT combine to the archive hash', () => {
    const data = patterned(6.5 * MiB, 3);
    const hashes = [0, 3 * MiB, 6 * MiB].map((off) => treeHashOf(data.subarray(off, off + 3 * MiB)));
    expect(combineTreeHashes(hashes)).not.toBe(treeHashOf(data));
  });

  test('rejects empty input and malformed hashes', () => {
    expect(() => combineTreeHashes([])).toThrow(/at least one/);
    expect(() => combineTreeHashes(['abc'])).toThrow(/chunk tree hash #1 must be a 64-character hex/);
    expect(() => combineTreeHashes([treeHashOf(Buffer.from('a')), 'z'.repeat(64)])).toThrow(/#2/);
  });
});

describe('TreeHashStream', () => {
  const data = patterned(2 * MiB + 12345, 9);
  const expected = referenceTreeHash(data);
  const input = pieces(data, [1000, MiB, MiB + 77, 2 * MiB]);

  test('passes every byte through unchanged and exposes the tree hash', async () => {
    const stream = new TreeHashStream({ expectedBytes: data.length, expectedTreeHash: expected.toUpperCase() });
    const { out, error } = await collect(stream, input);
    expect(error).toBeUndefined();
    expect(out.equals(data)).toBe(true);
    expect(stream.treeHash).toBe(expected);
    expect(stream.bytes).toBe(data.length);
  });

  test('without expectations it just hashes', async () => {
    const stream = new TreeHashStream();
    const { out, error } = await collect(stream, input);
    expect(error).toBeUndefined();
    expect(out.equals(data)).toBe(true);
    expect(stream.treeHash).toBe(expected);
  });

  test('tree hash is not available before the end', () => {
    expect(() => new TreeHashStream().treeHash).toThrow(/not available/);
  });

  test('rejects a malformed expected hash up front', () => {
    expect(() => new TreeHashStream({ expectedTreeHash: 'nope' })).toThrow(/expected tree hash/);
  });

  const lastPiece = input[input.length - 1];
  test.each([
    ['short read', { expectedBytes: data.length + 1 }, /short read/],
    ['long read', { expectedBytes: data.length - lastPiece.length + 1 }, /more than the expected/],
    ['tree hash mismatch', { expectedBytes: data.length, expectedTreeHash: referenceTreeHash(Buffer.from('other')) }, /tree hash mismatch/],
  ])('%s fails with IntegrityError and withholds the final bytes', async (_name, options, message) => {
    const stream = new TreeHashStream(options);
    const { out, error } = await collect(stream, input);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(message);
    // Downstream saw strictly less than everything: the last piece never left the stream.
    expect(out.length).toBeLessThanOrEqual(data.length - lastPiece.length);
    expect(out.equals(data.subarray(0, out.length))).toBe(true);
  });

  test('property: random piece boundaries, match passes through, mismatch withholds the tail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 * MiB + 5 }).chain((size) => fc.tuple(fc.constant(size), cutsArb(size), fc.nat(12345), fc.boolean())),
        async ([size, cuts, offset, corrupt]) => {
          const bytes = Buffer.from(POOL.subarray(offset, offset + size));
          const hash = referenceTreeHash(bytes);
          const parts = pieces(bytes, cuts);
          if (corrupt) parts[parts.length - 1][0] = 255 - parts[parts.length - 1][0]; // change a byte of the last piece (never equal: 255 is odd)
          const stream = new TreeHashStream({ expectedBytes: size, expectedTreeHash: hash });
          const { out, error } = await collect(stream, parts);
          if (corrupt) {
            expect(error).toBeInstanceOf(IntegrityError);
            expect(out.length).toBeLessThanOrEqual(size - parts[parts.length - 1].length);
          } else {
            expect(error).toBeUndefined();
            expect(out.equals(bytes)).toBe(true);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  test('works when written to directly (not only through pipeline)', async () => {
    const stream = new TreeHashStream({ expectedTreeHash: treeHashOf(Buffer.from('bar')) });
    const sink = new PassThrough();
    stream.pipe(sink);
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    stream.write(Buffer.from('b'));
    stream.end(Buffer.from('ar'));
    await new Promise((resolve) => sink.on('end', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('bar');
  });
});
