import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { RunReport } from '../../rehearsal/report';
import { findChromium, renderPage, screenshot } from '../../rehearsal/report/headless-chromium';
import { renderHtmlReport, rollingRequestedBytes } from '../../rehearsal/report/html-report';
import { fmtBytes } from '../../src/core/cost';

/*
 * report.html in a real browser. The fixture is the report.json of a real rehearsal run
 * (`--faults all --archives 14`), so the page is checked against a run's own numbers.
 * UPDATE_SCREENSHOT=1 also rewrites docs/rehearsal-report.png (the README's picture).
 */

const report = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'rehearsal', 'run-report.json'), 'utf8')) as RunReport;
const dir = mkdtempSync(join(tmpdir(), 'report-html-'));
const HOUR = 3_600_000;

describe('report.html', () => {
  const html = renderHtmlReport(report);
  const path = join(dir, 'report.html');
  writeFileSync(path, html);

  test('is self-contained: nothing is fetched (CSP forbids it) and no URL outside the page', () => {
    expect(html).toContain('default-src \'none\'');
    const urls = html.match(/(?:src|href)\s*=\s*["'][^"']+/gi) ?? [];
    expect(urls).toEqual([]);
    expect(html.match(/https?:\/\/[^"' ]+/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
  });

  test('the rolling 24-h sum drops requests older than a day', () => {
    const start = 1_000_000;
    expect(rollingRequestedBytes([{ at: start + 25 * HOUR, bytes: 5 }, { at: start, bytes: 10 }, { at: start + HOUR, bytes: 1 }], start))
      .toEqual([[0, 10], [1, 11], [25, 5]]);
  });

  const chromium = findChromium();
  if (!chromium) {
    test('headless Chromium is installed (apt-get install -y chromium; .ci/run installs it)', () => {
      throw new Error('no chromium on PATH and no $CHROMIUM: install Debian\'s chromium package (.ci/run does) to run the browser checks');
    });
    return;
  }

  test('the console capture sees script errors (control page)', () => {
    const bad = join(dir, 'bad.html');
    writeFileSync(bad, '<!DOCTYPE html><html><body><script>notAFunction();</script></body></html>');
    expect(renderPage(chromium, bad).console.join('\n')).toMatch(/Uncaught ReferenceError: notAFunction/);
  });

  test('renders in headless Chromium without a script error and shows the run\'s numbers', () => {
    const page = renderPage(chromium, path);
    expect(page.console).toEqual([]);
    // The page's script ran to its end: it marks the body and fills the table counter.
    expect(page.dom).toMatch(/<body[^>]*data-ready="yes"/);
    const archives = report.archiveRows!.length;
    expect(page.dom).toContain(`<span id="shown">${archives} of ${archives} archives</span>`);
    expect(page.dom).toContain(`archives<b>${report.archives}</b>`);
    expect(page.dom).toContain(`downloaded<b>${report.downloaded}</b>`);
    expect(page.dom).toContain(`verified<b>${report.verified}</b>`);
    expect(page.dom).toContain(`vault size<b>${fmtBytes(report.bytes)}</b>`);
    expect(page.dom).toContain(`Glacier jobs<b>${report.glacierJobs!.length}</b>`);
    // Every archive is a row, with its key; every injected fault kind with its count.
    expect(page.dom.match(/<tr data-status=/g)).toHaveLength(archives);
    for (const row of report.archiveRows!) expect(page.dom).toContain(row.archiveId.slice(0, 16));
    for (const [kind, n] of Object.entries(report.injectedFaults)) expect(page.dom).toMatch(new RegExp(`<code>${kind}</code></td><td class="num">${n}</td>`));
    // Four charts: status areas, rolling quota, jobs per archive (+ the legend-less bar chart).
    expect(page.dom.match(/<svg /g)!.length).toBeGreaterThanOrEqual(3);
  });

  test('screenshot', () => {
    const png = join(dir, 'report.png');
    screenshot(chromium, path, png, { width: 1200, height: 2400 });
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(png, join(__dirname, '..', '..', 'docs', 'rehearsal-report.png'));
  });
});
