import * as fc from 'fast-check';
import {
  ChunkPlan,
  chunkRange,
  chunkRanges,
  DEFAULT_CHUNK_SIZE,
  isPowerOfTwoMiB,
  MAX_CHUNK_SIZE,
  MAX_PARTS,
  MAX_S3_OBJECT_SIZE,
  MiB,
  MIN_CHUNK_SIZE,
  planChunks,
  validateChunkSize,
} from '../../src/core/chunk-plan';

const GiB = 1024 * MiB;
const S3_MIN_PART = 5 * MiB;
const S3_MAX_PART = 5 * GiB;
/** Largest Glacier archive: 10,000 parts of 4 GiB. */
const GLACIER_MAX_ARCHIVE = 10_000 * 4 * GiB;

/** Every invariant a plan must satisfy, checked on the explicit ranges (plain loop: plans have up to 10,000 parts). */
function checkPlan(plan: ChunkPlan, size: number, requested: number): void {
  expect(plan.archiveSize).toBe(size);
  expect(isPowerOfTwoMiB(plan.chunkSize)).toBe(true);
  expect(plan.chunkSize).toBeGreaterThanOrEqual(requested);
  expect(plan.chunkCount).toBeLessThanOrEqual(MAX_PARTS);
  // The chunk size is the smallest doubling of the requested one that fits in 10,000 parts.
  if (plan.chunkSize > requested) expect(Math.ceil(size / (plan.chunkSize / 2))).toBeGreaterThan(MAX_PARTS);
  expect(plan.singleRequest).toBe(size <= plan.chunkSize);
  const ranges = chunkRanges(plan);
  expect(ranges).toHaveLength(plan.chunkCount);
  const problems: string[] = [];
  let next = 0;
  ranges.forEach((r, i) => {
    const length = r.end - r.start + 1; // inclusive
    if (r.partNumber !== i + 1) problems.push(`part ${i + 1} numbered ${r.partNumber}`);
    if (r.start !== next) problems.push(`part ${i + 1} starts at ${r.start}, expected ${next}`); // contiguous
    if (length > S3_MAX_PART) problems.push(`part ${i + 1} is ${length} bytes > 5 GiB`);
    if (i < ranges.length - 1 && (length !== plan.chunkSize || length < S3_MIN_PART)) problems.push(`part ${i + 1} is ${length} bytes`);
    if (i === ranges.length - 1 && size > 0 && length <= 0) problems.push('empty last part');
    next = r.end + 1;
  });
  expect(problems).toEqual([]);
  expect(next).toBe(size); // covers the archive exactly
}

describe('isPowerOfTwoMiB', () => {
  test.each([MiB, 2 * MiB, 8 * MiB, GiB, 4 * GiB, 2 ** 52])('%d is a power-of-two MiB', (n) => expect(isPowerOfTwoMiB(n)).toBe(true));
  test.each([0, -MiB, 1, MiB - 1, MiB + 1, 3 * MiB, 5 * MiB, 1.5 * MiB, NaN, Infinity, 3 * 2 ** 32 * MiB])('%d is not', (n) =>
    expect(isPowerOfTwoMiB(n)).toBe(false),
  );
});

describe('validateChunkSize', () => {
  test('accepts every power of two from 8 MiB to 4 GiB', () => {
    for (let s = MIN_CHUNK_SIZE; s <= MAX_CHUNK_SIZE; s *= 2) expect(() => validateChunkSize(s)).not.toThrow();
  });
  test.each([
    [3 * MiB, /power-of-two number of MiB/],
    [5 * MiB, /power-of-two number of MiB/],
    [MiB + 1, /power-of-two number of MiB/],
    [1.5, /power-of-two number of MiB/],
    [-8 * MiB, /power-of-two number of MiB/],
    [4 * MiB, /between 8388608 \(8 MiB\) and 4294967296 \(4 GiB\)/],
    [MiB, /between/],
    [8 * GiB, /between/],
  ])('rejects %d', (size, message) => expect(() => validateChunkSize(size)).toThrow(message));
  test('names the option in the message', () => expect(() => validateChunkSize(3 * MiB, 'chunkSizeMiB')).toThrow(/^chunkSizeMiB must/));
});

describe('planChunks', () => {
  test('defaults to 1 GiB chunks', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(GiB);
    const plan = planChunks(3 * GiB + 1);
    expect(plan).toEqual({ archiveSize: 3 * GiB + 1, chunkSize: GiB, chunkCount: 4, singleRequest: false });
    expect(chunkRange(plan, 4)).toEqual({ partNumber: 4, start: 3 * GiB, end: 3 * GiB });
  });

  test.each([-1, 1.5, NaN, Infinity, 2 ** 53])('rejects archive size %d', (size) =>
    expect(() => planChunks(size)).toThrow(/archive size must be a non-negative integer/),
  );

  test('rejects a bad chunk size', () => {
    expect(() => planChunks(100, 3 * MiB)).toThrow(/power-of-two/);
    expect(() => planChunks(100, 4 * MiB)).toThrow(/between/);
  });

  test('singleRequest when the archive fits in one chunk', () => {
    expect(planChunks(1, MIN_CHUNK_SIZE)).toMatchObject({ chunkCount: 1, singleRequest: true });
    expect(planChunks(MIN_CHUNK_SIZE, MIN_CHUNK_SIZE)).toMatchObject({ chunkCount: 1, singleRequest: true });
    expect(planChunks(MIN_CHUNK_SIZE + 1, MIN_CHUNK_SIZE)).toMatchObject({ chunkCount: 2, singleRequest: false });
    expect(chunkRanges(planChunks(100, MIN_CHUNK_SIZE))).toEqual([{ partNumber: 1, start: 0, end: 99 }]);
  });

  test('empty archive: one empty request', () => {
    const plan = planChunks(0);
    expect(plan).toMatchObject({ chunkCount: 1, singleRequest: true });
    checkPlan(plan, 0, DEFAULT_CHUNK_SIZE);
  });

  test('doubles the chunk size until the archive fits in 10,000 parts', () => {
    expect(planChunks(10_000 * 8 * MiB, 8 * MiB)).toMatchObject({ chunkSize: 8 * MiB, chunkCount: 10_000 });
    expect(planChunks(10_000 * 8 * MiB + 1, 8 * MiB)).toMatchObject({ chunkSize: 16 * MiB, chunkCount: 5001 });
    expect(planChunks(10_000 * GiB + 1)).toMatchObject({ chunkSize: 2 * GiB, chunkCount: 5001 });
    expect(planChunks(25_000 * GiB)).toMatchObject({ chunkSize: 4 * GiB, chunkCount: 6250 });
  });

  test("Glacier's largest archive (10,000 × 4 GiB) plans into 10,000 parts of 4 GiB", () => {
    for (const requested of [MIN_CHUNK_SIZE, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE]) {
      const plan = planChunks(GLACIER_MAX_ARCHIVE, requested);
      expect(plan).toMatchObject({ chunkSize: 4 * GiB, chunkCount: 10_000, singleRequest: false });
      checkPlan(plan, GLACIER_MAX_ARCHIVE, requested);
    }
    // One byte more needs a part above 4 GiB: no power-of-two plan exists.
    expect(() => planChunks(GLACIER_MAX_ARCHIVE + 1)).toThrow(/needs more than 10000 parts of 4294967296 bytes/);
  });

  test('archives larger than the largest S3 object are rejected clearly', () => {
    expect(() => planChunks(MAX_S3_OBJECT_SIZE + 1)).toThrow(/exceeds the largest S3 object/);
  });

  test('property: any size and chunk size gives a valid, exact, S3-compliant plan', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 64 * MiB }),
          fc.integer({ min: 0, max: GLACIER_MAX_ARCHIVE }),
          fc.integer({ min: 1, max: 10_000 }).map((n) => n * 8 * MiB + (n % 3) - 1),
        ),
        fc.integer({ min: 3, max: 12 }).map((k) => 2 ** k * MiB),
        (size, requested) => {
          const plan = planChunks(Math.max(0, size), requested);
          checkPlan(plan, Math.max(0, size), requested);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('chunkRange', () => {
  const plan = planChunks(20 * MiB + 5, 8 * MiB);
  test('inclusive HTTP ranges', () => {
    expect(chunkRanges(plan)).toEqual([
      { partNumber: 1, start: 0, end: 8 * MiB - 1 },
      { partNumber: 2, start: 8 * MiB, end: 16 * MiB - 1 },
      { partNumber: 3, start: 16 * MiB, end: 20 * MiB + 4 },
    ]);
  });
  test.each([0, 4, 1.5, -1, NaN])('rejects part number %d', (n) => expect(() => chunkRange(plan, n)).toThrow(/part number must be an integer from 1 to 3/));
});
