import { evaluateMath, referencedIds, Series } from './math';
import type { DashboardBody, SynthesizedDashboard } from './synth';
import type { MetricDatapoint } from '../services/cloudwatch-fake';

/*
 * The dashboard, rehearsed: every metric widget of the synthesized dashboard evaluated against the
 * data points the handlers really published to the rehearsal's CloudWatch stand-in (same
 * namespace, metric name, dimensions — a metric's dimensions must match exactly, as in CloudWatch —
 * statistic and period), with the dashboard's run variable set to the run, and its metric math
 * evaluated (math.ts).
 *
 * Rules (rehearsal/README.md, "The dashboard, rehearsed"):
 *  - published: a widget with a metric in the construct's own namespace. With traffic it has data
 *    when EVERY such metric of it (hidden ones feeding math too) has a data point in the run and
 *    every visible expression yields one (when an archive was downloaded). A value of 0 is data: DashboardUpdate publishes every
 *    status count, zeros included, so "no failed archives" is a 0, not a gap.
 *  - expected-empty: metrics only a feature the run did not use publishes (EXPECTED_EMPTY, with
 *    the reason); not counted.
 *  - AWS-vended (AWS/Lambda, AWS/SQS): CloudWatch publishes them itself and the rehearsal has no
 *    source for them. Checked against the template instead: the dimension names a resource of the
 *    right type, the metric name is one the service publishes. Not counted as "with data".
 */

/** One series of a widget as evaluated. */
export interface SeriesResult {
  readonly label: string;
  readonly visible: boolean;
  readonly source: 'metric' | 'expression';
  /** `namespace metricName {dims} stat period` or the expression. */
  readonly describe: string;
  /** [ms since the epoch (period start), value], ascending. */
  readonly points: [number, number][];
  readonly error?: string;
}

export type WidgetKind = 'published' | 'vended' | 'expected-empty';

export interface WidgetResult {
  readonly title: string;
  readonly view: string;
  readonly kind: WidgetKind;
  /** Published widgets: every metric and visible expression has a point. Others: false. */
  readonly hasData: boolean;
  readonly series: SeriesResult[];
  /** What lacks data (published widgets) or what is wrong with a vended metric. */
  readonly missing: string[];
  /** Why the widget is not checked against data (vended, expected-empty). */
  readonly reason?: string;
}

export interface DashboardCheck {
  readonly widgets: WidgetResult[];
  /** Published widgets with data / published widgets. */
  readonly withData: number;
  readonly checked: number;
  readonly vended: number;
  readonly expectedEmpty: number;
  readonly problems: string[];
  /** Queried range (ms since the epoch). */
  readonly from: number;
  readonly to: number;
}

/** What the run did, for the expected-empty rules. */
export interface RunFacts {
  /** Archives went through the pipeline (a run with traffic). */
  readonly traffic: boolean;
  /**
   * Some archive was downloaded: the download-rate expressions (throughput, time left) have a point.
   * In a run where every archive failed or was skipped they legitimately have none.
   */
  readonly downloaded: boolean;
  /** VaultDecommission ran after the transfer. */
  readonly decommission: boolean;
}

/** Metrics legitimately without data in a run that did not use the feature publishing them. */
export interface ExpectedEmptyRule {
  readonly matches: (metricName: string) => boolean;
  /** The metric must have data when this fact holds. */
  readonly unless: keyof RunFacts;
  readonly reason: string;
}

export const EXPECTED_EMPTY: readonly ExpectedEmptyRule[] = [
  {
    matches: (name) => name.startsWith('Decommission'),
    unless: 'decommission',
    reason: 'published by DecommissionReport, which runs only when a decommission follows the transfer (--decommission, the CI run `decommission`)',
  },
];

/** Metric names the services publish (AWS documentation), for the vended metrics' names. */
export const VENDED_METRICS: Readonly<Record<string, { dimension: string; resourceType: string; attribute?: string; names: readonly string[] }>> = {
  'AWS/Lambda': {
    dimension: 'FunctionName',
    resourceType: 'AWS::Lambda::Function',
    names: ['Invocations', 'Errors', 'DeadLetterErrors', 'DestinationDeliveryFailures', 'Throttles', 'OversizedRecordCount', 'ProvisionedConcurrencySpilloverInvocations',
      'RecursiveInvocationsDropped', 'Duration', 'PostRuntimeExtensionsDuration', 'IteratorAge', 'OffsetLag', 'ConcurrentExecutions', 'UnreservedConcurrentExecutions',
      'ProvisionedConcurrentExecutions', 'ProvisionedConcurrencyUtilization', 'AsyncEventsReceived', 'AsyncEventAge', 'AsyncEventsDropped'],
  },
  'AWS/SQS': {
    dimension: 'QueueName',
    resourceType: 'AWS::SQS::Queue',
    attribute: 'QueueName',
    names: ['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible',
      'NumberOfEmptyReceives', 'NumberOfDeduplicatedSentMessages', 'NumberOfMessagesDeleted', 'NumberOfMessagesReceived', 'NumberOfMessagesSent', 'SentMessageSize'],
  },
};

interface MetricEntry {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly stat: string;
  readonly period: number;
  readonly id?: string;
  readonly label?: string;
  readonly visible: boolean;
}

interface ExpressionEntry {
  readonly expression: string;
  readonly id?: string;
  readonly label?: string;
  readonly visible: boolean;
}

interface EntryOptions {
  expression?: string;
  id?: string;
  label?: string;
  visible?: boolean;
  stat?: string;
  period?: number;
}

/** The metrics array of a widget (CloudWatch's dashboard body format, "." = same as the entry above). */
export function parseMetrics(metrics: readonly unknown[][], widgetPeriod = 300): (MetricEntry | ExpressionEntry)[] {
  const out: (MetricEntry | ExpressionEntry)[] = [];
  let previous: unknown[] = [];
  for (const raw of metrics) {
    const last = raw[raw.length - 1];
    const options = (typeof last === 'object' && last !== null ? last : {}) as EntryOptions;
    const fields = typeof last === 'object' && last !== null ? raw.slice(0, -1) : raw;
    if (options.expression !== undefined) {
      out.push({ expression: options.expression, id: options.id, label: options.label, visible: options.visible !== false });
      continue;
    }
    const resolved = fields.map((f, i) => (f === '.' ? previous[i] : f)) as string[];
    previous = resolved;
    if (resolved.length < 2 || resolved.length % 2 !== 0) throw new Error(`dashboard metric ${JSON.stringify(raw)}: expected [namespace, name, (dimension, value)*, options?]`);
    const dimensions: Record<string, string> = {};
    for (let i = 2; i < resolved.length; i += 2) dimensions[resolved[i]] = resolved[i + 1];
    out.push({
      namespace: resolved[0],
      name: resolved[1],
      dimensions,
      stat: options.stat ?? 'Average',
      period: options.period ?? widgetPeriod,
      id: options.id,
      label: options.label,
      visible: options.visible !== false,
    });
  }
  return out;
}

const isExpression = (e: MetricEntry | ExpressionEntry): e is ExpressionEntry => 'expression' in e;

function statistic(values: number[], stat: string): number {
  switch (stat) {
    case 'Maximum': return Math.max(...values);
    case 'Minimum': return Math.min(...values);
    case 'Sum': return values.reduce((a, b) => a + b, 0);
    case 'Average': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount': return values.length;
    default: throw new Error(`statistic ${stat}: the rehearsal evaluates Maximum, Minimum, Sum, Average and SampleCount`);
  }
}

const sameDimensions = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
};

/** One metric's statistic per period over [from, to] from the recorded data points. */
export function metricSeries(points: readonly MetricDatapoint[], m: Pick<MetricEntry, 'namespace' | 'name' | 'dimensions' | 'stat' | 'period'>, from: number, to: number): Series {
  const periodMs = m.period * 1000;
  const buckets = new Map<number, number[]>();
  for (const p of points) {
    if (p.namespace !== m.namespace || p.name !== m.name || p.value === undefined || p.timestamp === undefined) continue;
    if (p.timestamp < from || p.timestamp > to || !sameDimensions(p.dimensions, m.dimensions)) continue;
    const start = Math.floor(p.timestamp / periodMs) * periodMs;
    buckets.set(start, [...(buckets.get(start) ?? []), p.value]);
  }
  return new Map([...buckets].sort((a, b) => a[0] - b[0]).map(([t, vs]) => [t, statistic(vs, m.stat)]));
}

const describeMetric = (m: MetricEntry): string => `${m.namespace} ${m.name} ${JSON.stringify(m.dimensions)} ${m.stat} ${m.period}s`;

function vendedProblems(m: MetricEntry, dashboard: SynthesizedDashboard): string[] {
  const spec = VENDED_METRICS[m.namespace];
  if (!spec) return [`${describeMetric(m)}: namespace ${m.namespace} is not one the rehearsal knows (${Object.keys(VENDED_METRICS).join(', ')})`];
  const problems: string[] = [];
  if (!spec.names.includes(m.name)) problems.push(`${describeMetric(m)}: ${m.namespace} publishes no metric named ${m.name}`);
  const value = m.dimensions[spec.dimension];
  const [logicalId, attribute] = (value ?? '').split('.');
  const resource = dashboard.resources[logicalId];
  if (Object.keys(m.dimensions).join() !== spec.dimension || resource?.Type !== spec.resourceType || attribute !== spec.attribute) {
    problems.push(`${describeMetric(m)}: its ${spec.dimension} should name an ${spec.resourceType} of the template${spec.attribute ? ` (its ${spec.attribute})` : ''}`);
  }
  return problems;
}

/**
 * Evaluates every metric widget of `dashboard` for `runId` over [from, to] against `points`
 * (the CloudWatch stand-in's data points). Problems: vended metrics that name nothing the
 * template has, and — with traffic — published widgets without data.
 */
export function checkDashboard(dashboard: SynthesizedDashboard, datapoints: readonly MetricDatapoint[], runId: string,
  range: { from: number; to: number }, facts: RunFacts): DashboardCheck {
  const body: DashboardBody = dashboard.body;
  // Property variables (the run selector) set that dimension in every widget.
  const variables = (body.variables ?? []).filter((v) => v.type === 'property').map((v) => v.property!);
  for (const v of variables) if (v !== 'RunId') throw new Error(`dashboard variable on ${v}: the rehearsal can only set RunId`);
  const widgets: WidgetResult[] = [];
  const problems: string[] = [];
  for (const w of body.widgets.filter((x) => x.type === 'metric')) {
    const title = w.properties.title ?? '(untitled)';
    const entries = parseMetrics(w.properties.metrics ?? [], w.properties.period).map((e) => (isExpression(e) || !variables.includes('RunId') || !('RunId' in e.dimensions)
      ? e
      : { ...e, dimensions: { ...e.dimensions, RunId: runId } }));
    const metrics = entries.filter((e): e is MetricEntry => !isExpression(e));
    const vended = metrics.filter((m) => m.namespace.startsWith('AWS/'));
    const own = metrics.filter((m) => !m.namespace.startsWith('AWS/'));
    const emptyRule = (m: MetricEntry) => EXPECTED_EMPTY.find((r) => r.matches(m.name) && !facts[r.unless]);
    const checked = own.filter((m) => !emptyRule(m));
    const missing: string[] = [];
    for (const m of vended) missing.push(...vendedProblems(m, dashboard));
    const label = (e: MetricEntry | ExpressionEntry): string => e.label ?? e.id ?? (isExpression(e) ? e.expression : e.name);

    if (checked.length === 0) {
      const rule = own.map(emptyRule).find((r) => r !== undefined);
      const kind: WidgetKind = own.length > 0 && vended.length === 0 ? 'expected-empty' : 'vended';
      const reason = kind === 'expected-empty'
        ? rule!.reason
        : 'AWS-vended metrics: CloudWatch publishes them itself, the rehearsal has no source for them; checked against the template (resource and metric name)';
      widgets.push({
        title,
        view: w.properties.view ?? 'timeSeries',
        kind,
        hasData: false,
        reason,
        missing,
        series: entries.filter((e) => e.visible).map((e) => ({
          label: label(e), visible: true, source: isExpression(e) ? 'expression' : 'metric', describe: isExpression(e) ? e.expression : describeMetric(e), points: [],
        })),
      });
      problems.push(...missing.map((m) => `dashboard widget "${title}": ${m}`));
      continue;
    }

    const ctx: Record<string, Series> = {};
    const series: SeriesResult[] = [];
    const periods = (period: number): number[] => {
      const ms = period * 1000;
      const out: number[] = [];
      for (let t = Math.floor(range.from / ms) * ms; t <= range.to; t += ms) out.push(t);
      return out;
    };
    for (const m of metrics) {
      const s = m.namespace.startsWith('AWS/') ? new Map<number, number>() : metricSeries(datapoints, m, range.from, range.to);
      if (m.id) ctx[m.id] = s;
      if (checked.includes(m) && s.size === 0) missing.push(`no data for ${describeMetric(m)}${m.label ? ` (${m.label})` : ''}`);
      if (m.visible) series.push({ label: label(m), visible: true, source: 'metric', describe: describeMetric(m), points: [...s] });
    }
    const widgetPeriod = metrics[0]?.period ?? 300;
    for (const e of entries.filter(isExpression)) {
      let points: [number, number][] = [];
      let error: string | undefined;
      try {
        const s = evaluateMath(e.expression, { periods: periods(widgetPeriod), series: ctx });
        if (e.id) ctx[e.id] = s;
        points = [...s].filter(([, v]) => Number.isFinite(v));
      } catch (err) {
        error = (err as Error).message;
      }
      const inputsHaveData = referencedIds(e.expression).every((id) => (ctx[id]?.size ?? 0) > 0);
      if (error) missing.push(`expression ${JSON.stringify(e.expression)}: ${error}`);
      else if (e.visible && points.length === 0 && inputsHaveData && facts.downloaded) missing.push(`expression ${JSON.stringify(e.expression)} (${label(e)}) yields no data point from inputs that have data`);
      if (e.visible) series.push({ label: label(e), visible: true, source: 'expression', describe: e.expression, points, error });
    }
    const hasData = missing.length === 0;
    widgets.push({ title, view: w.properties.view ?? 'timeSeries', kind: 'published', hasData, series, missing });
    if (!hasData && facts.traffic) problems.push(...missing.map((m) => `dashboard widget "${title}": ${m}`));
  }
  const published = widgets.filter((w) => w.kind === 'published');
  return {
    widgets,
    withData: published.filter((w) => w.hasData).length,
    checked: published.length,
    vended: widgets.filter((w) => w.kind === 'vended').length,
    expectedEmpty: widgets.filter((w) => w.kind === 'expected-empty').length,
    problems,
    from: range.from,
    to: range.to,
  };
}

/** The summary line. */
export function formatDashboardCheck(c: DashboardCheck): string {
  const missing = c.widgets.filter((w) => w.kind === 'published' && !w.hasData).map((w) => `"${w.title}"`);
  return `   dashboard widgets with data: ${c.withData}/${c.checked}${missing.length > 0 ? ` (no data: ${missing.join(', ')})` : ''}; `
    + `${c.vended} with AWS-vended metrics only (checked against the template), ${c.expectedEmpty} expected empty in this run (see report.html)`;
}
