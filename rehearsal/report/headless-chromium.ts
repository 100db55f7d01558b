import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { pathToFileURL } from 'url';

/*
 * Headless Chromium (Debian's `chromium` package, installed by .ci/run) as a page checker for
 * report.html: the DOM after the page's script ran, the console messages it logged, a screenshot.
 */

/** The browser binary: $CHROMIUM, else the first of the usual names found on PATH. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() && existsSync(found.stdout.trim())) return found.stdout.trim();
  }
  return undefined;
}

const BASE_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--hide-scrollbars', '--mute-audio'];

export interface RenderedPage {
  /** The serialized DOM after load (scripts have run). */
  readonly dom: string;
  /** Console messages and uncaught errors the page produced (Chromium's CONSOLE log lines). */
  readonly console: string[];
}

/** Loads a local HTML file and returns its DOM after load and its console output. */
export function renderPage(chromium: string, htmlPath: string, timeoutMs = 30_000): RenderedPage {
  const result = spawnSync(chromium, [...BASE_FLAGS, '--enable-logging=stderr', '--v=0', '--dump-dom', pathToFileURL(htmlPath).href], {
    encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${chromium} --dump-dom ${htmlPath}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${chromium} --dump-dom ${htmlPath} exited ${result.status}: ${result.stderr.slice(-500)}`);
  const consoleLines = result.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));
  return { dom: result.stdout, console: consoleLines };
}

/** Writes a PNG of the page at the given window size. */
export function screenshot(chromium: string, htmlPath: string, pngPath: string, size: { width: number; height: number }, timeoutMs = 30_000): void {
  const result = spawnSync(chromium, [...BASE_FLAGS, `--window-size=${size.width},${size.height}`, `--screenshot=${pngPath}`, pathToFileURL(htmlPath).href], {
    encoding: 'utf8', timeout: timeoutMs,
  });
  if (result.error || result.status !== 0) throw new Error(`${chromium} --screenshot ${htmlPath}: ${result.error?.message ?? result.stderr.slice(-500)}`);
}
