import type { DashboardCheck, WidgetResult } from './check';
import { fmtBytes } from '../../src/core/cost';
import { escapeHtml, stepChart } from '../report/svg';

/*
 * The dashboard section of report.html: each metric widget of the synthesized dashboard drawn from
 * the data the run published (time series as step charts over virtual hours since the run
 * started, single values as their latest value), with what lacks data and why a widget is not
 * checked against data.
 */

const HOUR = 3_600_000;
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];

const formatValue = (label: string, v: number): string => (/bytes/i.test(label) && !/per hour/i.test(label) ? fmtBytes(v) : String(Math.round(v * 100) / 100));

function widgetHtml(w: WidgetResult, from: number): string {
  const badge = w.kind === 'published'
    ? `<span class="${w.hasData ? 'pass' : 'fail'}">${w.hasData ? 'data' : 'NO DATA'}</span>`
    : `<span class="none">${w.kind === 'vended' ? 'AWS-vended' : 'expected empty'}</span>`;
  const head = `<h3 data-widget="${escapeHtml(w.title)}" data-kind="${w.kind}" data-has-data="${w.hasData}">${escapeHtml(w.title)} — ${badge}</h3>`;
  const notes = [
    ...(w.reason ? [`<p class="none">${escapeHtml(w.reason)}</p>`] : []),
    ...(w.missing.length > 0 ? [`<ul class="problems">${w.missing.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>`] : []),
  ].join('');
  if (w.kind !== 'published') {
    return `${head}${notes}<p class="none">Series: ${w.series.map((s) => `<code>${escapeHtml(s.label)}</code>`).join(', ')}</p>`;
  }
  if (w.view === 'singleValue') {
    const rows = w.series.map((s) => {
      const last = s.points[s.points.length - 1];
      return `<tr><td>${escapeHtml(s.label)}</td><td class="num">${last === undefined ? '–' : escapeHtml(formatValue(s.label, last[1]))}</td><td><code>${escapeHtml(s.describe)}</code></td></tr>`;
    }).join('');
    return `${head}${notes}<table class="plain"><thead><tr><th>series</th><th>latest</th><th>metric</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  const series = w.series.map((s, i) => ({
    name: s.label,
    color: COLORS[i % COLORS.length],
    points: s.points.map(([t, v]) => [(t - from) / HOUR, v] as const),
  }));
  const byteAxis = w.series.every((s) => /bytes/i.test(s.label));
  const sources = `<ul class="none">${w.series.map((s) => `<li>${escapeHtml(s.label)}: <code>${escapeHtml(s.describe)}</code></li>`).join('')}</ul>`;
  return head + notes + sources + stepChart(series, {
    title: `${w.title} (one point per period)`,
    xLabel: 'virtual hours since the run started',
    yLabel: byteAxis ? 'bytes' : 'value',
    formatY: byteAxis ? fmtBytes : undefined,
  });
}

/** The section: summary line, then every metric widget in dashboard order. */
export function renderDashboardSection(check: DashboardCheck): string {
  const intro = '<p>The deployed dashboard (the construct synthesized in a stack), each widget evaluated against the data points the handlers '
    + `published to the rehearsal's CloudWatch stand-in during this run: <b>dashboard widgets with data: ${check.withData}/${check.checked}</b>; `
    + `${check.vended} with AWS-vended metrics only (Lambda, SQS: checked against the template), ${check.expectedEmpty} expected empty in this run. `
    + 'A value of 0 is data (every status count is published, zeros included).</p>';
  return intro + check.widgets.map((w) => widgetHtml(w, check.from)).join('\n');
}
