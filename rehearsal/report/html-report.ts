import { renderHandlerLogsSection } from './handler-logs';
import { barChart, escapeHtml, Series, stepChart } from './svg';
import { fmtBytes } from '../../src/core/cost';
import { renderDashboardSection } from '../dashboard/render';
import type { RunReport } from '../report';

/*
 * report.html of one rehearsal run: a single self-contained file (inline SVG and CSS, a few lines
 * of inline script for the archive table; nothing fetched), written next to report.json.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Colours per archive status (the legend's order is the pipeline's order). */
export const STATUS_COLORS: Readonly<Record<string, string>> = {
  pending: '#bab0ac',
  requested: '#f28e2b',
  staged: '#edc948',
  downloaded: '#59a14f',
  failed: '#e15759',
  skipped: '#76b7b2',
};

/** What each injected fault kind hits (rehearsal/faults.ts); kinds not listed are shown by name. */
export const FAULT_TARGETS: Readonly<Record<string, string>> = {
  'throttle': 'Glacier InitiateJob/DescribeJob/GetJobOutput answered 400 ThrottlingException',
  'server-error': 'Glacier GetJobOutput answered 500 ServiceUnavailableException',
  'corrupt': 'Glacier GetJobOutput of an archive range: one byte flipped (checksum header kept)',
  'truncate': 'Glacier GetJobOutput of an archive range: body cut short',
  'lost-notification': 'SNS notification of a finished archive job never published',
  's3-slowdown': 'S3 UploadPart/PutObject answered 503 SlowDown',
  'dynamodb-500': 'DynamoDB PutItem/UpdateItem/TransactWriteItems answered 500',
  'crash-between-steps': 'archive-item write after an S3 write refused (the function died between the two)',
  'crash@before-s3-write': 'UploadPart/PutObject refused before it reached S3',
  'crash@after-s3-write': 'stored in S3, then the next archive-item write refused',
  'crash@before-ddb-write': 'archive or chunk item write refused, not applied',
  'crash@after-ddb-write': 'archive or chunk item write applied, then an error instead of the answer',
  'crash@before-complete': 'CompleteMultipartUpload refused before it ran',
  'crash@after-complete': 'CompleteMultipartUpload applied, then an error instead of the answer',
  'sqs-duplicate': 'processed SQS message not deleted (delivered again)',
  'sqs-late-chunk-copy': 'chunk message delivered once more after it succeeded',
  'sqs-delayed': 'sent SQS message delayed 1–2 s (later ones overtake it)',
  'sqs-batch-reversed': 'SendMessageBatch entries stored in reverse order',
  'sqs-batch-shuffled': 'received SQS batch handed to the handler shuffled',
  'twin-invocation': 'SQS batch handed to a second invocation at the same moment',
};

/** Rolling 24-h sum of requested bytes after each request: [virtual hours since start, bytes]. */
export function rollingRequestedBytes(jobs: readonly { at: number; bytes: number }[], startMs: number): [number, number][] {
  const sorted = [...jobs].sort((a, b) => a.at - b.at);
  const out: [number, number][] = [];
  let from = 0;
  let sum = 0;
  for (const job of sorted) {
    sum += job.bytes;
    while (sorted[from].at <= job.at - DAY) sum -= sorted[from++].bytes;
    out.push([(job.at - startMs) / HOUR, sum]);
  }
  return out;
}

function statusChart(report: RunReport): string {
  const timeline = report.timeline;
  if (!timeline || timeline.points.length === 0) return '<p class="none">No status samples were recorded.</p>';
  // Final statuses at the bottom of the stack, so the downloaded area grows from the axis.
  const stackOrder = ['downloaded', 'skipped', 'failed', 'staged', 'requested', 'pending'];
  const series: Series[] = stackOrder.map((status) => [status, STATUS_COLORS[status]] as const).map(([status, color]) => ({
    name: status,
    color,
    points: timeline.points.map((p) => [p.virtualMs / HOUR, p.counts[status] ?? 0] as const),
  }));
  return stepChart(series, {
    title: 'Archives by status over virtual time (the harness samples the run\'s metrics item)',
    xLabel: 'virtual hours since the run started',
    yLabel: 'archives',
    stacked: true,
    yMax: report.archives,
  });
}

function quotaChart(report: RunReport): string {
  const jobs = report.glacierJobs ?? [];
  if (jobs.length === 0) return '<p class="none">No archive retrieval was requested.</p>';
  const points = rollingRequestedBytes(jobs, report.timeline?.virtualStartMs ?? jobs[0].at);
  const max = Math.max(...points.map((p) => p[1]));
  const quota = report.quota.dailyQuotaBytes;
  // A quota far above what was requested would flatten the curve: it is named, not drawn.
  const drawQuota = quota <= max * 4;
  return stepChart([{ name: 'requested in the 24 h up to each request', color: '#4e79a7', points }], {
    title: `Bytes requested from Glacier in every rolling 24 h (max ${fmtBytes(max)}) against DAILY_QUOTA_BYTES ${fmtBytes(quota)}`
      + (drawQuota ? '' : ' (the quota is above the chart)'),
    xLabel: 'virtual hours since the run started',
    yLabel: 'bytes',
    formatY: fmtBytes,
    hLines: drawQuota ? [{ y: quota, label: `DAILY_QUOTA_BYTES ${fmtBytes(quota)}`, color: '#e15759' }] : [],
  });
}

function jobsChart(report: RunReport): string {
  const rows = report.archiveRows ?? [];
  if (rows.length === 0) return '';
  const byJobs = new Map<number, number>();
  for (const r of rows) byJobs.set(r.jobs, (byJobs.get(r.jobs) ?? 0) + 1);
  const bars = [...byJobs.entries()].sort((a, b) => a[0] - b[0]).map(([jobs, archives]) => ({
    label: `${jobs} retrieval job${jobs === 1 ? '' : 's'}`,
    value: archives,
    color: jobs <= 1 ? '#59a14f' : '#f28e2b',
    note: `${archives} archive(s) with ${jobs} archive-retrieval job(s)`,
  }));
  return barChart(bars, { title: 'Archives by number of Glacier retrieval jobs (more than one: re-requested, e.g. an expired download window)' });
}

function faultsSection(report: RunReport): string {
  const kinds = Object.entries(report.injectedFaults);
  if (kinds.length === 0) return '<p class="none">No fault was injected in this run.</p>';
  const start = report.timeline?.virtualStartMs ?? 0;
  const events = report.faultEvents ?? [];
  const rows = kinds.sort((a, b) => b[1] - a[1]).map(([kind, n]) => {
    const at = events.filter((e) => e.kind === kind).map((e) => (e.at - start) / HOUR);
    const span = at.length > 0 ? `+${Math.min(...at).toFixed(1)} h … +${Math.max(...at).toFixed(1)} h` : '';
    return `<tr><td><code>${escapeHtml(kind)}</code></td><td class="num">${n}</td><td>${escapeHtml(FAULT_TARGETS[kind] ?? 'see rehearsal/faults.ts')}</td><td>${span}</td></tr>`;
  });
  return '<table class="plain"><thead><tr><th>fault</th><th>injected</th><th>what it hits</th><th>when (virtual)</th></tr></thead>'
    + `<tbody>${rows.join('')}</tbody></table>`;
}

function archiveTable(report: RunReport): string {
  const rows = report.archiveRows ?? [];
  const body = rows.map((r) => {
    const note = [r.reason, ...r.problems].filter((x) => x).join('; ');
    return `<tr data-status="${escapeHtml(r.status)}"><td class="id" title="${escapeHtml(r.archiveId)}">${escapeHtml(r.archiveId.slice(0, 16))}…</td>`
      + `<td>${escapeHtml(r.key ?? '')}</td><td><span class="st" style="background:${STATUS_COLORS[r.status] ?? '#999'}">${escapeHtml(r.status)}</span></td>`
      + `<td class="num" data-sort="${r.size}">${escapeHtml(fmtBytes(r.size))}</td><td class="num">${r.jobs}</td><td>${escapeHtml(note)}</td></tr>`;
  }).join('');
  const statuses = [...new Set(rows.map((r) => r.status))].sort();
  return '<div class="filters"><input id="filter" type="search" placeholder="filter by id, key or reason" size="40">'
    + ` <select id="status"><option value="">every status</option>${statuses.map((s) => `<option>${escapeHtml(s)}</option>`).join('')}</select>`
    + ' <span id="shown"></span></div>'
    + '<table id="archives" class="plain"><thead><tr><th data-col="0">archive id</th><th data-col="1">key</th><th data-col="2">status</th>'
    + '<th data-col="3" data-type="num">size</th><th data-col="4" data-type="num">jobs</th><th data-col="5">reason / findings</th></tr></thead>'
    + `<tbody>${body}</tbody></table>`;
}

/** Sorting (click a header) and filtering of the archive table; marks the page ready when it ran. */
const SCRIPT = `
(function () {
  var table = document.getElementById('archives');
  if (!table) { document.body.setAttribute('data-ready', 'yes'); return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var filter = document.getElementById('filter');
  var status = document.getElementById('status');
  var shown = document.getElementById('shown');
  function apply() {
    var text = filter.value.toLowerCase();
    var want = status.value;
    var n = 0;
    rows.forEach(function (row) {
      var ok = (!want || row.getAttribute('data-status') === want) && (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.style.display = ok ? '' : 'none';
      if (ok) n++;
    });
    shown.textContent = n + ' of ' + rows.length + ' archives';
  }
  filter.addEventListener('input', apply);
  status.addEventListener('change', apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener('click', function () {
      var col = Number(th.getAttribute('data-col'));
      var num = th.getAttribute('data-type') === 'num';
      var dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
      th.setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
      var key = function (row) {
        var cell = row.cells[col];
        return num ? Number(cell.getAttribute('data-sort') || cell.textContent) : cell.textContent.toLowerCase();
      };
      rows.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -dir : x > y ? dir : 0; });
      rows.forEach(function (row) { tbody.appendChild(row); });
    });
  });
  apply();
  document.body.setAttribute('data-ready', 'yes');
})();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.pass { color: #2e7d32; } .fail { color: #c62828; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 110px; }
.figure b { display: block; font-size: 20px; }
h3 { font-size: 14px; margin: 18px 0 4px; }
figure { margin: 12px 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
.tick { font-size: 11px; fill: #555; } .axis { font-size: 12px; fill: #333; }
table.plain { border-collapse: collapse; width: 100%; font-size: 13px; }
table.plain th, table.plain td { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; vertical-align: top; }
table.plain th { cursor: pointer; background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.id { font-family: monospace; }
.st { color: #fff; border-radius: 3px; padding: 0 5px; }
.none { color: #777; } .problems li { color: #c62828; }
.filters { margin: 8px 0; }
`;

/** The whole page of one run. */
export function renderHtmlReport(report: RunReport, extraSections: readonly { title: string; html: string }[] = []): string {
  const virtualHours = report.timeline && report.timeline.points.length > 0
    ? report.timeline.points[report.timeline.points.length - 1].virtualMs / HOUR
    : undefined;
  const figure = (label: string, value: string | number, note = ''): string =>
    `<div class="figure" title="${escapeHtml(note)}">${escapeHtml(label)}<b>${escapeHtml(value)}</b></div>`;
  const figures = [
    figure('archives', report.archives, 'archives in the generated vault (its inventory)'),
    figure('vault size', fmtBytes(report.bytes)),
    figure('downloaded', report.downloaded, 'archives the pipeline recorded downloaded'),
    figure('verified', report.verified, 'downloaded archives whose object matched the generator: size, SHA-256, tree hash, metadata'),
    figure('failed', report.failed, 'recorded failed (with a reason: accounted for)'),
    figure('skipped', report.skipped),
    figure('lost', report.lost, 'in no final status at the end: always a problem'),
    figure('Glacier jobs', report.glacierJobs?.length ?? 0, 'archive-retrieval jobs Glacier accepted'),
    figure('faults injected', Object.values(report.injectedFaults).reduce((n, v) => n + v, 0)),
    figure('virtual time', virtualHours === undefined ? '–' : `${virtualHours.toFixed(1)} h`, 'the rehearsal clock jumps while the pipeline is idle'),
    figure('wall time', `${(report.wallTimeMs / 1000).toFixed(1)} s`),
  ];
  const problems = report.problems.length === 0
    ? '<p class="pass">No problem found: every archive accounted for and verified, counters and run report match.</p>'
    : `<ul class="problems">${report.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`;
  const sections = [
    { title: 'Archives by status', html: statusChart(report) },
    { title: 'Retrieval quota', html: quotaChart(report) },
    { title: 'Retrieval jobs per archive', html: jobsChart(report) },
    { title: 'Fault injections', html: faultsSection(report) },
    ...(report.dashboard ? [{ title: 'The dashboard, rehearsed', html: renderDashboardSection(report.dashboard) }] : []),
    ...(report.handlerLogs ? [{ title: 'Handler logs (the saved Logs Insights queries)', html: renderHandlerLogsSection(report.handlerLogs, escapeHtml) }] : []),
    ...extraSections,
    { title: 'Every archive', html: archiveTable(report) },
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Rehearsal ${escapeHtml(report.runId)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>${STYLE}</style></head>
<body>
<h1>Rehearsal run <code>${escapeHtml(report.runId)}</code> — <span class="${report.ok ? 'pass' : 'fail'}">${report.ok ? 'PASS' : 'FAIL'}</span></h1>
<p>Fault profile <code>${escapeHtml(report.faults)}</code>. Generated by <code>npx projen rehearse</code>; the pipeline's own run report is in <code>pipeline-report/</code> next to this file, every figure in <code>report.json</code>.</p>
<div class="figures">${figures.join('')}</div>
<h2>Problems</h2>${problems}
${sections.map((s) => `<h2>${escapeHtml(s.title)}</h2>${s.html}`).join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}
