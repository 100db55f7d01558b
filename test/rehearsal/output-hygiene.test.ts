import { formatRewrites, formatUploads } from '../../rehearsal/report';
import { formatSample, plainProgress, ProgressSample } from '../../rehearsal/report/progress';
import { captureSdkNoise, explainSdkNoise, SDK_STREAMING_WARNING } from '../../rehearsal/report/sdk-noise';

const sample = (over: Partial<ProgressSample> = {}): ProgressSample => ({
  runId: 'r1',
  phase: 'running',
  wallMs: 12_000,
  virtualMs: 4.25 * 3_600_000,
  archives: 10,
  totalBytes: 1024 ** 4,
  counts: { pending: 1, requested: 2, staged: 1, downloaded: 5, failed: 1, skipped: 0 },
  orchestrator: 'RUNNING',
  jobsPending: 3,
  ...over,
});

describe('progress', () => {
  test('a sample line counts final archives and shows sizes in binary units', () => {
    const line = formatSample(sample());
    expect(line).toContain('[r1] running 6/10 archives final (1.00 TiB in all)');
    expect(line).toContain('pending 1, requested 2, staged 1');
    expect(line).toContain('virtual time +4.3 h');
  });

  test('plain lines: first sample and phase changes always, otherwise at most one per interval', () => {
    let now = 0;
    const out: string[] = [];
    const display = plainProgress((t) => out.push(t), 10_000, () => now);
    display.sample(sample());
    now = 5_000;
    display.sample(sample());
    now = 10_000;
    display.sample(sample());
    now = 10_001;
    display.sample(sample({ phase: 'finished' }));
    display.event('r1', 'orchestrator stopped');
    expect(out.map((l) => l.split(' ')[1])).toEqual(['running', 'running', 'finished', 'orchestrator']);
  });
});

describe('SDK streaming-request warning', () => {
  test('is counted per run instead of printed; other warnings pass through', () => {
    const seen: unknown[][] = [];
    const target = { warn: (...args: unknown[]) => void seen.push(args) };
    const noise = captureSdkNoise(target);
    target.warn(SDK_STREAMING_WARNING);
    target.warn(SDK_STREAMING_WARNING);
    target.warn('something else', 1);
    expect(noise.take()).toBe(2);
    expect(noise.take()).toBe(0);
    expect(seen).toEqual([['something else', 1]]);
    noise.restore();
    target.warn(SDK_STREAMING_WARNING);
    expect(seen).toHaveLength(2);
    expect(explainSdkNoise(0)).toBeUndefined();
    expect(explainSdkNoise(27)).toMatch(/warnings: 27 .*SQS delivers it again/);
  });
});

describe('summary counts add up', () => {
  test('every key written more than once is explained', () => {
    expect(formatRewrites({ rewritten: 0, rewrittenAfterReset: 0 })).toBe('every key written once');
    expect(formatRewrites({ rewritten: 18, rewrittenAfterReset: 13 })).toBe('keys written more than once 18 (same bytes, verified): '
      + '13 reset by a resume while their copy was in flight, 5 copied again by redelivered or duplicated work');
    expect(formatRewrites({ rewritten: 4, rewrittenAfterReset: 0 })).toMatch(/: 4 copied again/);
  });

  test('CreateMultipartUpload requests split into this run\'s uploads, other buckets and refused ones', () => {
    const uploads = { created: 3, completed: 3, aborted: 0, createRequests: 5, createdElsewhere: 1, createRefused: 1 };
    const line = formatUploads({ openUploads: 0, uploads });
    expect(line).toContain('created 3 (the requests line\'s CreateMultipartUpload:5 = 3 here + 1 in other buckets (inventory download, run report) + 1 refused)');
  });
});
