import * as fc from 'fast-check';
import {
  nextRequestDelay,
  PacingStrategy,
  QUOTA_WINDOW_SECONDS,
  RequestLedger,
  simulatePacing,
  TiB,
  worstWindow,
} from '../../src/core/pacing';

const DAY = QUOTA_WINDOW_SECONDS;
const GiB = 1024 ** 3;

describe('RequestLedger', () => {
  test('merges requests into per-minute buckets, in any order', () => {
    const ledger = new RequestLedger();
    ledger.record(125, 10);
    ledger.record(179.9, 5);
    ledger.record(30, 1); // earlier, e.g. another vault's clock
    ledger.record(200, 0); // nothing
    expect(ledger.toJSON()).toEqual({
      bucketSeconds: 60,
      buckets: [
        { start: 0, bytes: 1 },
        { start: 120, bytes: 15 },
      ],
    });
  });

  test('a bucket counts until 24 h after the END of its minute, then is pruned', () => {
    const ledger = new RequestLedger();
    ledger.record(0, 7);
    expect(ledger.windowBytes(DAY + 59)).toBe(7);
    expect(ledger.windowBytes(DAY + 60)).toBe(0);
    ledger.prune(DAY + 59);
    expect(ledger.size).toBe(1);
    ledger.prune(DAY + 60);
    expect(ledger.size).toBe(0);
  });

  test('stays small over weeks: at most one day of buckets survives pruning', () => {
    const ledger = new RequestLedger();
    for (let t = 0; t < 21 * DAY; t += 7) {
      ledger.record(t, 1);
      ledger.prune(t);
    }
    expect(ledger.size).toBeLessThanOrEqual(DAY / 60 + 1);
  });

  test('round-trips through JSON', () => {
    const ledger = new RequestLedger(300);
    ledger.record(1000, 3);
    ledger.record(5000, 4);
    const copy = RequestLedger.fromSnapshot(JSON.parse(JSON.stringify(ledger)));
    expect(copy.toJSON()).toEqual(ledger.toJSON());
    expect(copy.bucketSeconds).toBe(300);
  });

  test('rejects bad input', () => {
    expect(() => new RequestLedger(0)).toThrow(/bucketSeconds/);
    expect(() => new RequestLedger().record(NaN, 1)).toThrow(/request time/);
    expect(() => new RequestLedger().record(0, -1)).toThrow(/non-negative/);
  });
});

describe('nextRequestDelay', () => {
  const Q = 100;

  test('empty ledger: request at once', () => {
    expect(nextRequestDelay(new RequestLedger(), 1000, 100, Q)).toBe(0);
  });

  test('room left in the window: no wait', () => {
    const ledger = new RequestLedger();
    ledger.record(0, 60);
    expect(nextRequestDelay(ledger, 10, 40, Q)).toBe(0);
  });

  test('window full: wait until enough old bytes leave it', () => {
    const ledger = new RequestLedger();
    ledger.record(0, 30); // expires at 60 + DAY
    ledger.record(3600, 30); // expires at 3660 + DAY
    ledger.record(7200, 30); // expires at 7260 + DAY
    // 90 in the window; 20 more fit only once the first 30 are gone.
    expect(nextRequestDelay(ledger, 8000, 20, Q)).toBe(60 + DAY - 8000);
    // 50 more need the first two gone.
    expect(nextRequestDelay(ledger, 8000, 50, Q)).toBe(3660 + DAY - 8000);
    // 10 more fit now.
    expect(nextRequestDelay(ledger, 8000, 10, Q)).toBe(0);
  });

  test('an archive larger than the quota goes alone, once the window is empty', () => {
    const ledger = new RequestLedger();
    ledger.record(0, 1);
    ledger.record(600, 1);
    expect(nextRequestDelay(ledger, 1000, 5 * Q, Q)).toBe(660 + DAY - 1000);
    expect(nextRequestDelay(new RequestLedger(), 1000, 5 * Q, Q)).toBe(0);
    // And anything after it waits until it has left the window.
    const after = new RequestLedger();
    after.record(0, 5 * Q);
    expect(nextRequestDelay(after, 10, 1, Q)).toBe(60 + DAY - 10);
  });

  test('one ledger shared by several vaults paces them together (account-wide quota)', () => {
    const shared = new RequestLedger();
    shared.record(0, 70); // vault A
    expect(nextRequestDelay(shared, 5, 30, Q)).toBe(0);
    shared.record(5, 30); // vault B
    expect(nextRequestDelay(shared, 6, 1, Q)).toBe(60 + DAY - 6);
  });

  test('rejects a non-positive quota', () => {
    expect(() => nextRequestDelay(new RequestLedger(), 0, 1, 0)).toThrow(/daily quota/);
  });
});

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
