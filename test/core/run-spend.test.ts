import { hasSpendCap, retrievalMicroUsd, spendPrefix, validateSpendCaps } from '../../src/core/run-spend';

const GiB = 1024 ** 3;

describe('per-run spend cap', () => {
  test('estimated cost per tier: request price plus per-GB price, micro-dollars rounded up', () => {
    expect(retrievalMicroUsd('Bulk', GiB)).toBe(25 + 2500);
    expect(retrievalMicroUsd('Standard', 2 * GiB)).toBe(50 + 20_000);
    expect(retrievalMicroUsd('Expedited', 0)).toBeGreaterThan(0);
    expect(() => retrievalMicroUsd('Fast', 1)).toThrow(/tier must be one of Bulk, Standard, Expedited/);
  });

  test('the longest prefix within both caps, counting what the run already spent', () => {
    const sizes = [GiB, GiB, GiB, GiB];
    expect(spendPrefix(sizes, 'Bulk', { requests: 0, microUsd: 0 }, {})).toEqual({ count: 4, microUsd: 4 * 2525, capReached: false });
    expect(spendPrefix(sizes, 'Bulk', { requests: 8, microUsd: 0 }, { maxRequests: 10 })).toEqual({ count: 2, microUsd: 2 * 2525, capReached: true });
    expect(spendPrefix(sizes, 'Bulk', { requests: 0, microUsd: 5000 }, { maxMicroUsd: 10_100 })).toMatchObject({ count: 2, capReached: true });
    expect(spendPrefix(sizes, 'Bulk', { requests: 10, microUsd: 0 }, { maxRequests: 10 })).toEqual({ count: 0, microUsd: 0, capReached: true });
    // A prefix: a small archive after a big one that does not fit waits too (CreationDate order is kept).
    expect(spendPrefix([100 * GiB, 1], 'Bulk', { requests: 0, microUsd: 0 }, { maxMicroUsd: 100_000 })).toMatchObject({ count: 0, capReached: true });
  });

  test('caps are validated with the prop names; dollars become micro-dollars', () => {
    expect(validateSpendCaps({})).toEqual({ maxRequests: undefined, maxMicroUsd: undefined });
    expect(hasSpendCap(validateSpendCaps({}))).toBe(false);
    expect(validateSpendCaps({ maxRetrievalRequestsPerRun: 7, maxRetrievalDollarsPerRun: 1.25 })).toEqual({ maxRequests: 7, maxMicroUsd: 1_250_000 });
    expect(() => validateSpendCaps({ maxRetrievalRequestsPerRun: 1.5 })).toThrow(/maxRetrievalRequestsPerRun/);
    expect(() => validateSpendCaps({ maxRetrievalDollarsPerRun: Number.NaN })).toThrow(/maxRetrievalDollarsPerRun/);
  });
});
