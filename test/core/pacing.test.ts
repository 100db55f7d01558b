import { nextRequestDelay, QUOTA_WINDOW_SECONDS, RequestLedger } from '../../src/core/pacing';

const DAY = QUOTA_WINDOW_SECONDS;

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
