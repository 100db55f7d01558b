import * as fc from 'fast-check';
import { PacingStrategy, simulatePacing, TiB, worstWindow } from '../../bench/pacing-simulator';
import { QUOTA_WINDOW_SECONDS, RequestLedger } from '../../src/core/pacing';

const DAY = QUOTA_WINDOW_SECONDS;
const GiB = 1024 ** 3;

describe('worstWindow', () => {
  test('sums over half-open 24-h windows', () => {
    // Window (T - 24 h, T]: ending at DAY + 10 it holds 4 + 8 + 16 (t = 10 has just left).
    expect(worstWindow([0, 10, DAY - 1, DAY, DAY + 10], [1, 2, 4, 8, 16])).toBe(4 + 8 + 16);
    expect(worstWindow([], [])).toBe(0);
  });
});

describe('simulatePacing (sliding window)', () => {
  test('property: no rolling 24-h window exceeds the quota (or the one oversize archive)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 * GiB }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 10 * GiB, max: 200 * GiB }),
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.double({ min: 0.01, max: 100, noNaN: true }), { nil: undefined }),
        (sizes, quota, batchSize, requestRate) => {
          const r = simulatePacing({ archiveSizes: sizes, dailyQuota: quota, batchSize, requestRate });
          const total = sizes.reduce((a, b) => a + b, 0);
          expect(r.requestedArchives).toBe(sizes.length);
          expect(r.requestedBytes).toBe(total);
          expect(r.worstWindowBytes).toBeLessThanOrEqual(Math.max(quota, ...sizes));
          expect(r.timeToFirstRequestSeconds).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('the quota is used: a 10-quota vault of small archives takes about 10 days', () => {
    const sizes = new Array(10_000).fill(GiB);
    const quota = 1000 * GiB;
    const r = simulatePacing({ archiveSizes: sizes, dailyQuota: quota, batchSize: 10 });
    expect(r.worstWindowBytes).toBeLessThanOrEqual(quota);
    expect(r.totalDays).toBeGreaterThanOrEqual(10);
    expect(r.totalDays).toBeLessThan(10.1);
    expect(r.utilisation).toBeGreaterThan(0.99);
  });

  test('resume of a 90%-finished vault starts immediately (copied archives are not paced)', () => {
    const sizes = new Array(1000).fill(100 * GiB); // ~97.7 TiB
    const copied = sizes.map((_, i) => i < 900);
    const r = simulatePacing({ archiveSizes: sizes, alreadyCopied: copied, dailyQuota: 100 * TiB, requestRate: 100 });
    expect(r.timeToFirstRequestSeconds).toBe(0);
    expect(r.requestedArchives).toBe(100);
    expect(r.requestedBytes).toBe(100 * 100 * GiB);
  });

  test('a shared ledger with another vault delays this vault instead of overrunning the quota', () => {
    const ledger = new RequestLedger();
    ledger.record(0, 90 * GiB); // another vault used 90% of the day
    const r = simulatePacing({ archiveSizes: [20 * GiB], dailyQuota: 100 * GiB, ledger, startTime: 10 });
    expect(r.timeToFirstRequestSeconds).toBe(60 + DAY - 10);
    expect(ledger.windowBytes(DAY + 60)).toBe(20 * GiB);
  });

  test('an archive larger than the quota is requested alone and the next waits for it to leave the window', () => {
    const r = simulatePacing({ archiveSizes: [1, 300, 1], dailyQuota: 100, batchSize: 10 });
    // 1 at t=0; 300 once the window is empty (after the first minute bucket expires); then 1.
    expect(r.requestedArchives).toBe(3);
    expect(r.worstWindowBytes).toBe(300);
    expect(r.lastRequestSeconds).toBe(2 * (DAY + 60));
  });

  test('validates its input', () => {
    expect(() => simulatePacing({ archiveSizes: [1], dailyQuota: 0 })).toThrow(/dailyQuota/);
    expect(() => simulatePacing({ archiveSizes: [1], dailyQuota: 1, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => simulatePacing({ archiveSizes: [1], dailyQuota: 1, requestRate: -1 })).toThrow(/requestRate/);
  });

  test('empty inventory', () => {
    const r = simulatePacing({ archiveSizes: [], dailyQuota: 1 });
    expect(r).toMatchObject({ requestedArchives: 0, timeToFirstRequestSeconds: undefined, totalDays: 0, utilisation: 0 });
  });
});

describe('simulatePacing (reference per-partition formula)', () => {
  const Q = 100 * TiB;

  test('waits 86400 × partition bytes ÷ quota between 40 TiB partitions', () => {
    const sizes = new Array(100).fill(TiB); // 100 TiB → partitions of 40, 40, 20
    const r = simulatePacing({ archiveSizes: sizes, dailyQuota: Q, strategy: PacingStrategy.REFERENCE_PARTITIONS });
    expect(r.lastRequestSeconds).toBeCloseTo(2 * 0.4 * DAY, 6);
    expect(r.worstWindowBytes).toBe(100 * TiB);
  });

  test('bursts of three partitions inside 24 h overrun a rolling quota on larger vaults', () => {
    const sizes = new Array(200).fill(TiB);
    const ref = simulatePacing({ archiveSizes: sizes, dailyQuota: Q, strategy: PacingStrategy.REFERENCE_PARTITIONS });
    expect(ref.worstWindowRatio).toBeCloseTo(1.2, 6);
    const ours = simulatePacing({ archiveSizes: sizes, dailyQuota: Q });
    expect(ours.worstWindowRatio).toBeLessThanOrEqual(1);
  });

  test('resume of a 90%-finished vault waits for the bytes it does not request', () => {
    const sizes = new Array(100).fill(TiB);
    const copied = sizes.map((_, i) => i < 90);
    const ref = simulatePacing({ archiveSizes: sizes, alreadyCopied: copied, dailyQuota: Q, strategy: PacingStrategy.REFERENCE_PARTITIONS });
    expect(ref.timeToFirstRequestSeconds).toBeCloseTo(0.8 * DAY, 6);
    const ours = simulatePacing({ archiveSizes: sizes, alreadyCopied: copied, dailyQuota: Q });
    expect(ours.timeToFirstRequestSeconds).toBe(0);
  });
});
