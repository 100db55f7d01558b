import { CostEstimate, fmtBytes } from '../core/cost';

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained SVG bar chart of the bytes requested per day (no script, no network). */
export function bytesPerDaySvg(e: CostEstimate): string {
  const days = e.duration.requestedBytesPerDay;
  const width = 640;
  const height = 240;
  const left = 70;
  const bottom = 30;
  const max = Math.max(e.dailyQuotaBytes, ...days);
  const barWidth = days.length === 0 ? 0 : (width - left - 10) / days.length;
  const y = (bytes: number) => height - bottom - ((height - bottom - 10) * bytes) / max;
  const bars = days.map((bytes, i) => `<rect x="${(left + i * barWidth + 1).toFixed(1)}" y="${y(bytes).toFixed(1)}" width="${Math.max(1, barWidth - 2).toFixed(1)}" `
    + `height="${(height - bottom - y(bytes)).toFixed(1)}" fill="#3b7dd8"><title>day ${i + 1}: ${esc(fmtBytes(bytes))}</title></rect>`);
  const quota = y(e.dailyQuotaBytes);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="bytes requested per day">`
    + `<line x1="${left}" y1="${quota.toFixed(1)}" x2="${width - 10}" y2="${quota.toFixed(1)}" stroke="#c33" stroke-dasharray="4 3"/>`
    + `<text x="${left - 4}" y="${(quota + 4).toFixed(1)}" text-anchor="end" font-size="11">${esc(fmtBytes(e.dailyQuotaBytes))}</text>`
    + `<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#333"/>`
    + bars.join('')
    + `<text x="${left}" y="${height - 8}" font-size="11">day 1</text>`
    + (days.length > 1 ? `<text x="${width - 10}" y="${height - 8}" font-size="11" text-anchor="end">day ${days.length}</text>` : '')
    + '</svg>';
}

/** The estimate as one self-contained HTML page: the chart of bytes requested per day and the text report. */
export function estimateHtml(e: CostEstimate, text: string): string {
  return '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Glacier vault transfer estimate</title>'
    + '<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}</style></head><body>'
    + '<h1>Glacier vault transfer estimate</h1>'
    + `<h2>Bytes requested per day (the transfer's pacing; dashed: the ${esc(fmtBytes(e.dailyQuotaBytes))} rolling 24-h quota)</h2>`
    + bytesPerDaySvg(e)
    + `<pre>${esc(text)}</pre></body></html>\n`;
}
