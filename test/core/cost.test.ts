import { ArchiveSizeSummary, CostEstimate, estimateCost, formatEstimate, formatUsd, GB, REQUEST_MODEL, RequestKind } from '../../src/core/cost';
import { PRICES_AS_OF, RetrievalTier, DestinationStorageClass, US_EAST_1_PRICES } from '../../src/core/prices';

const KiB = 1024;
const MiB = 1024 * KiB;
const TiB = 1024 ** 4;

function line(e: CostEstimate, group: string, itemStart: string) {
  const found = e.lines.find((l) => l.group === group && l.item.startsWith(itemStart));
  if (!found) throw new Error(`no line ${group} / ${itemStart}: ${e.lines.map((l) => `${l.group}/${l.item}`).join(', ')}`);
  return found;
}

describe('estimateCost: hand-computed small case (1 MiB + 20 MiB, 8 MiB chunks, Bulk → DEEP_ARCHIVE)', () => {
  const e = estimateCost({
    archives: [1 * MiB, 20 * MiB],
    tier: RetrievalTier.BULK,
    storageClass: DestinationStorageClass.DEEP_ARCHIVE,
    chunkSizeBytes: 8 * MiB,
  });
  const totalGB = (21 * MiB) / GB;

  test('copy plan: one PutObject, one multipart upload of 3 parts', () => {
    expect(e).toMatchObject({ archiveCount: 2, totalBytes: 21 * MiB, singlePutCount: 1, multipartCount: 1, multipartParts: 3 });
  });

  test('Glacier retrieval: per 1,000 requests and per GB', () => {
    expect(line(e, 'Glacier retrieval', 'Bulk retrieval requests').usd).toBeCloseTo((2 / 1000) * 0.025, 12);
    expect(line(e, 'Glacier retrieval', 'Bulk data').usd).toBeCloseTo(totalGB * 0.0025, 12);
  });

  // 2 archives, 4 copy pieces (1 PutObject + 3 parts), 1 multipart upload, 1 run of duration.totalHours.
  const requests = (kind: RequestKind) => {
    const c = REQUEST_MODEL[kind];
    return Math.ceil(2 * c.perArchive + 4 * c.perPiece + 1 * c.perMultipart + c.perRun + c.perHour * e.duration.totalHours);
  };

  test('S3 requests as REQUEST_MODEL counts them: PutObject = 1, multipart = create + 3 parts + complete, plus per run', () => {
    const put = line(e, 'S3 requests', 'PUT-class');
    expect(REQUEST_MODEL.s3PutClass).toMatchObject({ perArchive: 0, perPiece: 1, perMultipart: 2 });
    expect(put.quantity).toBe(requests('s3PutClass'));
    expect(put.usd).toBeCloseTo((requests('s3PutClass') / 1000) * 0.05, 12);
    expect(line(e, 'S3 requests', 'GET-class').usd).toBeCloseTo((requests('s3GetClass') / 1000) * 0.0004, 12);
  });

  test('storage: data + 32 KB per object at class rate + 8 KB per object at STANDARD rate', () => {
    const expected = totalGB * 0.00099 + ((2 * 32 * KiB) / GB) * 0.00099 + ((2 * 8 * KiB) / GB) * 0.023;
    expect(e.firstMonthStorageUsd).toBeCloseTo(expected, 12);
    expect(e.minimumStorageDays).toBe(180);
    expect(e.minimumStorageCommitmentUsd).toBeCloseTo(expected * 6, 12);
  });

  test('Lambda GB-seconds by path and invocations', () => {
    expect(line(e, 'Lambda', 'initiate').quantity).toBeCloseTo(2 * 0.05 * 0.25, 12);
    expect(line(e, 'Lambda', 'notification').quantity).toBeCloseTo(2 * 0.2 * 0.25, 12);
    // 21 MiB at 64 MiB/s + 4 copy invocations × 0.5 s, at 1 GB.
    expect(line(e, 'Lambda', 'copy').quantity).toBeCloseTo(21 / 64 + 4 * 0.5, 12);
    expect(line(e, 'Lambda', 'finalize').quantity).toBeCloseTo(0.2 * 0.25, 12);
    const inv = line(e, 'Lambda', 'invocations');
    const invocations = requests('lambdaInvocations');
    expect(inv.quantity).toBe(invocations);
    expect(inv.usd).toBeCloseTo((invocations / 1e6) * 0.2, 15);
    expect(e.byGroup.Lambda).toBeCloseTo((0.025 + 0.1 + (21 / 64 + 2) + 0.05) * 0.0000166667 + (invocations / 1e6) * 0.2, 15);
  });

  test('Step Functions, SQS, SNS, DynamoDB', () => {
    expect(line(e, 'Step Functions', 'state transitions').quantity).toBe(requests('stateTransitions'));
    expect(line(e, 'SQS', '').quantity).toBe(requests('sqsRequests'));
    expect(line(e, 'SNS', '').quantity).toBe(requests('snsPublishes'));
    expect(line(e, 'DynamoDB', 'write').quantity).toBe(requests('dynamoWriteUnits'));
    expect(line(e, 'DynamoDB', 'read').quantity).toBe(requests('dynamoReadUnits'));
    expect(e.requests.glacierRetrievalRequests).toBe(2);
  });

  test('totals add up', () => {
    const sum = e.lines.reduce((s, l) => s + l.usd, 0);
    expect(e.totalUsd).toBeCloseTo(sum, 12);
    expect(e.transferUsd + e.firstMonthStorageUsd).toBeCloseTo(e.totalUsd, 12);
    expect(Object.values(e.byGroup).reduce((s, v) => s + v, 0)).toBeCloseTo(sum, 12);
    expect(e.pricesAsOf).toBe(PRICES_AS_OF);
    expect(e.region).toBe('us-east-1');
  });
});

describe('estimateCost: storage class rules', () => {
  test('GLACIER_IR bills 128 KB minimum per object and has a 90-day minimum', () => {
    const e = estimateCost({ archives: [{ sizeBytes: KiB, count: 10 }], storageClass: DestinationStorageClass.GLACIER_IR });
    expect(line(e, 'First-month storage', 'GLACIER_IR data').quantity).toBeCloseTo((10 * 128 * KiB) / GB, 15);
    expect(e.firstMonthStorageUsd).toBeCloseTo(((10 * 128 * KiB) / GB) * 0.004, 15);
    expect(e.minimumStorageDays).toBe(90);
    expect(line(e, 'S3 requests', 'PUT').usd).toBeCloseTo((e.requests.s3PutClass / 1000) * 0.02, 12);
  });

  test('objects above 128 KB are billed by size', () => {
    const e = estimateCost({ archives: [MiB], storageClass: DestinationStorageClass.STANDARD_IA });
    expect(line(e, 'First-month storage', 'STANDARD_IA data').quantity).toBeCloseTo(MiB / GB, 15);
    expect(e.minimumStorageDays).toBe(30);
  });

  test('GLACIER: 40 KB overhead, 90 days', () => {
    const e = estimateCost({ archives: [{ sizeBytes: 0, count: 1000 }], storageClass: DestinationStorageClass.GLACIER });
    expect(e.firstMonthStorageUsd).toBeCloseTo(((1000 * 32 * KiB) / GB) * 0.0036 + ((1000 * 8 * KiB) / GB) * 0.023, 12);
    expect(e.minimumStorageDays).toBe(90);
  });

  test('INTELLIGENT_TIERING charges monitoring only for objects of 128 KB or more', () => {
    const e = estimateCost({ archives: [KiB, 128 * KiB, MiB], storageClass: DestinationStorageClass.INTELLIGENT_TIERING });
    const mon = line(e, 'First-month storage', 'monitoring');
    expect(mon.quantity).toBe(2);
    expect(mon.usd).toBeCloseTo((2 / 1000) * 0.0025, 15);
  });

  test('STANDARD: plain storage, no minimums', () => {
    const e = estimateCost({ archives: [GB], storageClass: DestinationStorageClass.STANDARD });
    expect(e.firstMonthStorageUsd).toBeCloseTo(0.023, 12);
    expect(e.minimumStorageDays).toBe(0);
    expect(e.minimumStorageCommitmentUsd).toBe(0);
  });

  test('every storage class and tier is priced', () => {
    for (const storageClass of Object.values(DestinationStorageClass)) {
      for (const tier of Object.values(RetrievalTier)) {
        const e = estimateCost({ archives: [5 * MiB, 3 * GB], storageClass, tier });
        expect(e.totalUsd).toBeGreaterThan(0);
        expect(formatEstimate(e)).toContain(storageClass);
      }
    }
  });
});

describe('estimateCost: tiers, duration, options', () => {
  test('Expedited requests cost $10 per 1,000', () => {
    const e = estimateCost({ archives: [{ sizeBytes: MiB, count: 1000 }], tier: RetrievalTier.EXPEDITED });
    expect(line(e, 'Glacier retrieval', 'Expedited retrieval requests').usd).toBeCloseTo(10, 10);
    expect(line(e, 'Glacier retrieval', 'Expedited data').usd).toBeCloseTo(((1000 * MiB) / GB) * 0.03, 12);
  });

  test('Standard: $0.05 per 1,000 requests + $0.01 per GB (re:Post worked example: 15M objects / 100 TB)', () => {
    const e = estimateCost({ archives: [{ sizeBytes: Math.round((102_400 * GB) / 15_000_000), count: 15_000_000 }], tier: RetrievalTier.STANDARD });
    expect(line(e, 'Glacier retrieval', 'Standard retrieval requests').usd).toBeCloseTo(750, 6);
    expect(line(e, 'Glacier retrieval', 'Standard data').usd).toBeCloseTo(1024, 0);
  });

  test('duration: the quota paces 250 TiB at 100 TiB per rolling 24 h (first quota at once)', () => {
    const e = estimateCost({ archives: [{ sizeBytes: TiB, count: 250 }], dailyQuotaBytes: 100 * TiB, tier: RetrievalTier.BULK });
    const d = e.duration;
    // 100 at once, 100 when the first minute's bucket has left the window (24 h + 1 min), 50 a day later.
    expect(d.requestingHours).toBeGreaterThan(48);
    expect(d.requestingHours).toBeLessThan(48 + 3 / 60);
    expect(d.requestRateHours).toBeCloseTo(250 / 100 / 3600, 12);
    expect(d.requestedBytesPerDay).toEqual([100 * TiB, 100 * TiB, 50 * TiB]);
    expect(d.totalHours).toBeCloseTo(4 + d.requestingHours + 12, 12);
    const small = estimateCost({ archives: [GB], tier: RetrievalTier.STANDARD });
    expect(small.duration.requestingHours).toBeCloseTo(0.01 / 3600, 12);
    expect(small.duration.totalHours).toBeCloseTo(4 + 5 + 0.01 / 3600, 9);
  });

  test('duration: 10 M archives of 10 MiB take ~28 h of requests at 100/s, not half a day', () => {
    const e = estimateCost({ archives: [{ sizeBytes: 10 * MiB, count: 10_000_000 }], tier: RetrievalTier.BULK });
    const d = e.duration;
    expect(d.requestsPerSecond).toBe(100);
    expect(d.requestRateHours).toBeCloseTo(10_000_000 / 100 / 3600, 9);
    // 95.4 TiB fit in the 100 TiB quota: the rate alone decides.
    expect(d.requestingHours).toBeCloseTo(d.requestRateHours, 6);
    expect(d.totalDays).toBeCloseTo((4 + 10_000_000 / 100 / 3600 + 12) / 24, 6);
    expect(d.totalDays).toBeGreaterThan(1.8);
    expect(d.requestedBytesPerDay).toHaveLength(2);
    expect(Math.abs(d.requestedBytesPerDay[0] - 8_640_000 * 10 * MiB)).toBeLessThanOrEqual(10 * MiB);
    expect(d.requestedBytesPerDay[0] + d.requestedBytesPerDay[1]).toBe(e.totalBytes);
    expect(formatEstimate(e)).toMatch(/requesting: +27\.8 h \(10,000,000 InitiateJob at 100\/s in batches of 100: 27\.8 h\)/);
  });

  test('duration: rate and quota together (10 M archives of 20 MiB, 190.7 TiB)', () => {
    const e = estimateCost({ archives: [{ sizeBytes: 20 * MiB, count: 10_000_000 }], assumptions: { inventoryJobHours: 0 } });
    const d = e.duration;
    const firstQuota = (100 * TiB) / (20 * MiB);
    // The first quota goes out at the rate (14.6 h), the rest once it starts leaving the window 24 h later.
    expect(d.requestingHours).toBeGreaterThan(24 + (10_000_000 - firstQuota) / 100 / 3600);
    expect(d.requestingHours).toBeLessThan(24 + (10_000_000 - firstQuota) / 100 / 3600 + 0.1);
    expect(d.totalHours).toBeCloseTo(d.requestingHours + 12, 9);
    expect(formatEstimate(e)).toMatch(/waiting for the 100 TiB rolling 24-h quota/);
    const faster = estimateCost({ archives: [{ sizeBytes: 20 * MiB, count: 10_000_000 }], assumptions: { requestsPerSecond: 1000 } });
    expect(faster.duration.requestingHours).toBeLessThan(24 + 2);
  });

  test('cross-region transfer is priced only when asked for', () => {
    expect(estimateCost({ archives: [GB] }).byGroup['Cross-region transfer']).toBeUndefined();
    expect(estimateCost({ archives: [GB], crossRegion: true }).byGroup['Cross-region transfer']).toBeCloseTo(0.02, 12);
  });

  test('assumptions can be overridden', () => {
    const e = estimateCost({ archives: [GB], assumptions: { copyBytesPerSecond: GB, copyOverheadSeconds: 0, copyLambdaMemoryMB: 2048 } });
    expect(line(e, 'Lambda', 'copy').quantity).toBeCloseTo(2, 12);
  });

  test('a streamed summary gives the same estimate as the sizes', () => {
    const sizes = [1, 5 * MiB, 3 * GB + 1, 129 * KiB];
    const summary = new ArchiveSizeSummary(64 * MiB);
    sizes.forEach((s) => summary.add(s));
    expect(estimateCost({ archives: summary })).toEqual(estimateCost({ archives: sizes, chunkSizeBytes: 64 * MiB }));
    expect(() => estimateCost({ archives: summary, chunkSizeBytes: 8 * MiB })).toThrow(/differs/);
  });

  test('archives larger than one S3 object are counted, not priced', () => {
    const e = estimateCost({ archives: [MiB, 50 * TiB] });
    expect(e.archiveCount).toBe(1);
    expect(e.unplannableCount).toBe(1);
    expect(formatEstimate(e)).toMatch(/NOT PRICED: +1 archive/);
  });

  test('rejects bad input', () => {
    expect(() => estimateCost({ archives: [-1] })).toThrow(/non-negative/);
    expect(() => estimateCost({ archives: [1], chunkSizeBytes: 3 * MiB })).toThrow(/power-of-two/);
    expect(() => estimateCost({ archives: [1], dailyQuotaBytes: 0 })).toThrow(/daily quota/);
    expect(() => estimateCost({ archives: [1], tier: 'Slow' as RetrievalTier })).toThrow(/unknown retrieval tier/);
    expect(() => estimateCost({ archives: [1], storageClass: 'TAPE' as DestinationStorageClass })).toThrow(/unknown storage class/);
  });

  test('empty inventory costs nothing but is well-formed', () => {
    const e = estimateCost({ archives: [] });
    expect(e.totalUsd).toBe(0);
    expect(e.duration).toMatchObject({ requestingHours: 0, totalHours: 4, requestedBytesPerDay: [] });
    expect(formatEstimate(e)).toContain('Archives:        0');
  });
});

describe('price table', () => {
  test('every figure is dated, sourced and flagged', () => {
    const figures: unknown[] = [];
    const walk = (o: unknown) => {
      if (o && typeof o === 'object') {
        if ('usd' in o) figures.push(o);
        else Object.values(o).forEach(walk);
      }
    };
    walk(US_EAST_1_PRICES);
    expect(figures.length).toBeGreaterThan(30);
    for (const f of figures as Array<{ usd: number; source: string; verified: boolean; unit: string }>) {
      expect(f.usd).toBeGreaterThan(0);
      expect(f.source.length).toBeGreaterThan(5);
      expect(typeof f.verified).toBe('boolean');
    }
    expect(US_EAST_1_PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('formatEstimate', () => {
  test('readable breakdown with groups, totals, minimum duration and unverified prices', () => {
    const text = formatEstimate(estimateCost({ archives: [{ sizeBytes: 100 * MiB, count: 1000 }] }));
    expect(text).toContain('Cost estimate (us-east-1 list prices as of');
    expect(text).toMatch(/Glacier retrieval: \$/);
    expect(text).toMatch(/S3 requests: \$/);
    expect(text).toMatch(/Total \(transfer \+ 1 month\): +\$/);
    expect(text).toMatch(/Minimum storage duration: +180 days/);
    expect(text).toMatch(/Estimated duration: +16\.0 h \(0\.67 days\)/);
    expect(text).toMatch(/not verified/);
  });

  test.each(Object.values(DestinationStorageClass))('binary units throughout; GB only on quantities AWS bills per GB, and said so (%s)', (storageClass) => {
    const e = estimateCost({ archives: [1000, 200 * KiB, 3 * GB + 5, 20 * TiB], storageClass, crossRegion: true, chunkSizeBytes: 64 * MiB });
    const lines = formatEstimate(e).split('\n');
    const note = lines.filter((l) => l.startsWith('Units:'));
    expect(note).toHaveLength(1);
    expect(note[0]).toMatch(/AWS's billing GB is 2\^30 bytes = 1 GiB/);
    for (const l of lines.filter((x) => !x.startsWith('Units:'))) {
      // Decimal size units never appear; GB only as the unit of a billed quantity ("<n> GB × $", "GB-month", "GB-s").
      expect(l).not.toMatch(/\b(KB|MB|TB|PB)\b/);
      for (const m of l.matchAll(/\bGB\b(-month|-s)?/g)) {
        expect(l.slice(0, m.index! + m[0].length)).toMatch(/[\d.,]+ GB(-month|-s)?$/);
        expect(l.slice(m.index! + m[0].length)).toMatch(/^ × \$/);
      }
    }
    expect(lines.some((l) => /\d GB(-month)? × \$/.test(l))).toBe(true);
    expect(e.billingGbBytes).toBe(2 ** 30);
  });

  test('formatUsd', () => {
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.00123)).toBe('$0.0012');
  });
});
