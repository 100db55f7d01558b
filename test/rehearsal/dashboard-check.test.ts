import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { checkDashboard, formatDashboardCheck } from '../../rehearsal/dashboard/check';
import { evaluateMath } from '../../rehearsal/dashboard/math';
import { renderDashboardSection } from '../../rehearsal/dashboard/render';
import { SynthesizedDashboard, synthesizeDashboard } from '../../rehearsal/dashboard/synth';
import { CloudWatchFake, startCloudWatchFake } from '../../rehearsal/services/cloudwatch-fake';
import { bytesAttribute, countAttribute, metricsPk } from '../../src/contract/keys';
import { updateDashboard } from '../../src/handlers/orchestration/dashboard-update';
import { ArchiveStatus } from '../../src/handlers/shared/schema';
import { FakeDynamo } from '../doubles/dynamodb';

const RUN = 'run-1';
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A metrics item of a 10-archive, 10 MiB run with `done` archives downloaded, the rest staged. */
function metricsItem(done: number): Record<string, number> {
  const MiB = 1024 * 1024;
  return {
    [countAttribute('total')]: 10,
    [bytesAttribute('total')]: 10 * MiB,
    [countAttribute(ArchiveStatus.DOWNLOADED)]: done,
    [bytesAttribute(ArchiveStatus.DOWNLOADED)]: done * MiB,
    [countAttribute(ArchiveStatus.STAGED)]: 10 - done,
    [bytesAttribute(ArchiveStatus.STAGED)]: (10 - done) * MiB,
  };
}

/**
 * Publishes through the REAL DashboardUpdate handler code to the rehearsal's CloudWatch stand-in,
 * once every 5 minutes: `progress[k]` archives downloaded at the k-th update.
 */
async function publish(fake: CloudWatchFake, namespace: string, progress: number[]): Promise<void> {
  const cloudwatch = new CloudWatchClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const dynamo = new FakeDynamo(); // the run's metrics item; no run record
  for (const [k, done] of progress.entries()) {
    dynamo.seed('metrics', { pk: metricsPk(RUN), ...metricsItem(done) });
    await updateDashboard({
      ddb: dynamo.client, cloudwatch, transferTable: 'transfer', metricsTable: 'metrics', namespace, log: quiet, now: () => new Date(T0 + k * 5 * MIN),
    }, { runId: RUN });
  }
  dynamo.reset();
  cloudwatch.destroy();
}

const range = { from: T0, to: T0 + 60 * MIN };
const facts = { traffic: true, downloaded: true, decommission: false };
const PROGRESS = [0, 0, 1, 3, 3, 3, 6, 8, 10, 10];

describe('the synthesized dashboard against the metrics the handler publishes', () => {
  let dashboard: SynthesizedDashboard;
  let fake: CloudWatchFake;
  beforeAll(async () => {
    dashboard = synthesizeDashboard();
    fake = await startCloudWatchFake();
    await publish(fake, dashboard.metricsNamespace, PROGRESS);
  });
  afterAll(async () => fake.stop());

  test('every widget on the construct\'s own metrics has data; vended and decommission widgets are classified', () => {
    const check = checkDashboard(dashboard, fake.datapoints, RUN, range, facts);
    const byTitle = Object.fromEntries(check.widgets.map((w) => [w.title, w]));
    expect(check.problems).toEqual([]);
    expect(check.checked).toBeGreaterThanOrEqual(5);
    expect(check.withData).toBe(check.checked);
    for (const title of ['Archives', 'Bytes', 'Progress (archives)', 'Throughput', 'Estimated time left (hours)']) expect(byTitle[title]).toMatchObject({ kind: 'published', hasData: true });
    expect(byTitle['Lambda errors and throttles'].kind).toBe('vended');
    expect(byTitle['Dead-letter messages'].kind).toBe('vended');
    expect(byTitle['Decommission plan (dry run)'].kind).toBe('expected-empty');
    expect(formatDashboardCheck(check)).toContain(`dashboard widgets with data: ${check.checked}/${check.checked}`);
    // The throughput is the real downloaded-bytes rate: 2 MiB in the 5 minutes to the 4th update.
    const throughput = byTitle.Throughput.series.find((s) => s.source === 'expression')!;
    expect(throughput.points).toContainEqual([T0 + 15 * MIN, (2 * 1024 * 1024 / 300) * 3600]);
    // report.html's section: one heading per metric widget, a chart per time-series widget with data.
    const html = renderDashboardSection(check);
    expect(html.match(/<h3 data-widget=/g)).toHaveLength(check.widgets.length);
    expect(html).toContain('data-widget="Throughput" data-kind="published" data-has-data="true"');
    expect(html).toContain('<svg');
  });

  test('estimated time left: no "0 hours left" while nothing downloads; a period a gauge lacks does not drop it', () => {
    const eta = (points: typeof fake.datapoints) => checkDashboard(dashboard, points, RUN, range, facts).widgets
      .find((w) => w.title === 'Estimated time left (hours)')!.series.find((s) => s.source === 'expression')!.points;
    const MiB = 1024 * 1024;
    // Downloads happen in the periods ending at updates 2, 3, 6, 7, 8; at 4 and 5 nothing moves with 7 archives left (staging).
    expect(eta(fake.datapoints).map(([t]) => (t - T0) / (5 * MIN))).toEqual([2, 3, 6, 7, 8]);
    expect(eta(fake.datapoints)).toContainEqual([T0 + 15 * MIN, (7 * MiB) / (2 * MiB / 300) / 3600]);
    // The update at 30 min lost its TotalBytes data point: FILL(t, REPEAT) keeps the estimate there.
    const lossy = fake.datapoints.filter((p) => !(p.name === 'TotalBytes' && p.timestamp === T0 + 30 * MIN));
    expect(lossy.length).toBe(fake.datapoints.length - 1);
    expect(eta(lossy).map(([t]) => (t - T0) / (5 * MIN))).toContain(6);
  });

  test('a misspelled metric name in a widget fails the check, naming the widget and the metric', () => {
    const body = JSON.parse(JSON.stringify(dashboard.body).replace(/"DownloadedBytes"/, '"DownloadBytes"'));
    const check = checkDashboard({ ...dashboard, body }, fake.datapoints, RUN, range, facts);
    expect(check.withData).toBe(check.checked - 1);
    expect(check.problems.join('\n')).toMatch(/dashboard widget "Bytes": no data for .* DownloadBytes /);
    expect(formatDashboardCheck(check)).toContain('(no data: "Bytes")');
  });

  test('a widget on another namespace than the functions publish to has no data', async () => {
    const other = await startCloudWatchFake();
    try {
      await publish(other, 'GlacierVaultToS3', PROGRESS);
      const check = checkDashboard(dashboard, other.datapoints, RUN, range, facts);
      expect(check.withData).toBe(0);
      expect(check.problems.length).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
  });

  test('without traffic a widget without data is not a problem; another run id is not this run\'s data', () => {
    const check = checkDashboard(dashboard, fake.datapoints, 'run-2', range, { traffic: false, downloaded: false, decommission: false });
    expect(check.withData).toBe(0);
    expect(check.problems).toEqual([]);
  });

  test('a misspelled AWS-vended metric or a dimension naming no template resource fails', () => {
    const body = JSON.parse(JSON.stringify(dashboard.body).replace('"ApproximateAgeOfOldestMessage"', '"ApproximateAgeOfOldestMesage"'));
    expect(checkDashboard({ ...dashboard, body }, fake.datapoints, RUN, range, facts).problems.join('\n'))
      .toMatch(/"Queue age \(oldest message, s\)": AWS\/SQS ApproximateAgeOfOldestMesage .* publishes no metric named/);
    const fn = Object.keys(dashboard.resources).find((id) => dashboard.resources[id].Type === 'AWS::Lambda::Function')!;
    const body2 = JSON.parse(JSON.stringify(dashboard.body).replace(`"FunctionName","${fn}"`, '"FunctionName","NoSuchFunction"'));
    expect(checkDashboard({ ...dashboard, body: body2 }, fake.datapoints, RUN, range, facts).problems.join('\n')).toMatch(/NoSuchFunction.*should name an AWS::Lambda::Function/);
  });
});

describe('metric math', () => {
  const s = (pts: [number, number][]) => new Map(pts);
  const periods = [0, 300_000, 600_000, 900_000];
  test('a sum yields points only where both series have one; FILL gives every period one', () => {
    const series = { a: s([[0, 1], [300_000, 2], [600_000, 3]]), b: s([[0, 10], [600_000, 30]]) };
    expect([...evaluateMath('a + b', { periods, series })]).toEqual([[0, 11], [600_000, 33]]);
    expect([...evaluateMath('FILL(a, 0) + FILL(b, 0)', { periods, series })]).toEqual([[0, 11], [300_000, 2], [600_000, 33], [900_000, 0]]);
    expect([...evaluateMath('FILL(b, REPEAT)', { periods, series })]).toEqual([[0, 10], [300_000, 10], [600_000, 30], [900_000, 30]]);
  });
  test('RATE per second between consecutive points; IF without a false value drops the point', () => {
    const series = { d: s([[0, 0], [300_000, 300], [600_000, 300]]) };
    expect([...evaluateMath('RATE(d)', { periods, series })]).toEqual([[300_000, 1], [600_000, 0]]);
    expect([...evaluateMath('IF(RATE(d) > 0, 100 / RATE(d))', { periods, series })]).toEqual([[300_000, 100]]);
    expect([...evaluateMath('IF(RATE(d) > 0, 100 / RATE(d), 0)', { periods, series })]).toEqual([[300_000, 100], [600_000, 0]]);
  });
  test('unknown functions and ids are errors, never an empty series', () => {
    expect(() => evaluateMath('ANOMALY_DETECTION_BAND(d)', { periods, series: { d: s([]) } })).toThrow(/does not evaluate ANOMALY_DETECTION_BAND/);
    expect(() => evaluateMath('x + 1', { periods, series: {} })).toThrow(/no metric or expression with id x/);
  });
});
