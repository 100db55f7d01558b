import { parseGcLog } from '../../bench/spark-engine.bench';

describe('spark-engine benchmark: driver heap from the JVM GC log', () => {
  test('peak used, live after GC and committed heap are the largest of each over every collection', () => {
    const log = [
      '[0.004s][info][gc] Using G1',
      '[2.113s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 25M->6M(260M) 7.215ms',
      '[9.870s][info][gc] GC(1) Pause Young (Concurrent Start) (Metadata GC Threshold) 412M->388M(877M) 31.002ms',
      '[9.901s][info][gc] GC(2) Concurrent Mark Cycle 28.433ms',
      '[14.002s][info][gc] GC(3) Pause Full (G1 Compaction Pause) 684M->120M(640M) 210.448ms',
    ].join('\n');
    expect(parseGcLog(log)).toEqual({ peakUsedMiB: 684, peakAfterGcMiB: 388, peakCommittedMiB: 877, collections: 3 });
  });

  test('a log without collections gives zeros, not NaN', () => {
    expect(parseGcLog('[0.004s][info][gc] Using G1\n')).toEqual({ peakUsedMiB: 0, peakAfterGcMiB: 0, peakCommittedMiB: 0, collections: 0 });
  });
});
