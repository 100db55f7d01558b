import { ERROR_LEVEL, LOG_QUERY_FIELDS } from '../../src/constructs/internal/log-queries';

/*
 * The handlers' structured logs against the saved Logs Insights queries (src/constructs/internal/
 * log-queries.ts). The handlers run in process and log JSON through Powertools to stdout/stderr; the
 * harness captures every such line (INFO and above, whatever --handler-log-level prints), then runs
 * the two queries' logic over one run's lines:
 *  - every line carries the fields the queries use (level, service, message);
 *  - "Archive story": every archive Glacier retrieved and the pipeline downloaded has lines with its
 *    archiveId from each handler it passed through (STORY_SERVICES);
 *  - "Errors by stage": ERROR lines counted per service (shown, not a problem by itself: fault
 *    profiles make handlers log errors on purpose).
 */

/** One captured JSON log line. */
export type HandlerLogLine = Readonly<Record<string, unknown>>;

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];
const rank = (level: string): number => {
  const i = LEVELS.indexOf(level.toUpperCase());
  return i < 0 ? LEVELS.indexOf('INFO') : i;
};

/** POWERTOOLS_LOG_LEVEL of the handlers: INFO (captured for the check), or more verbose when asked. */
export function captureLevel(printLevel: string): string {
  return rank(printLevel) < rank('INFO') ? printLevel.toUpperCase() : 'INFO';
}

/**
 * The handlers every retrieved and downloaded archive passes through (their Powertools service
 * names, `createLogger` in each `*.lambda.ts`), each logging lines with its archiveId:
 * InitiateArchiveRetrieval requests it, NotificationsProcessor stages it (and copies an archive of
 * one chunk in one request). An archive copied in parts (ChunkRetrieval lines) must also have the
 * ArchiveValidation line that completes its upload.
 */
export const STORY_SERVICES = ['InitiateArchiveRetrieval', 'NotificationsProcessor'] as const;
const PART_COPIER = 'ChunkRetrieval';
const UPLOAD_COMPLETER = 'ArchiveValidation';

export interface HandlerLogCapture {
  /** Lines captured since the last call (one run's), then reset. */
  take(): HandlerLogLine[];
  restore(): void;
}

type Write = typeof process.stdout.write;

/**
 * Captures the JSON lines with a `level` written to `streams`; prints those at `printLevel` and
 * above (SILENT: none), everything else passes through.
 */
export function captureHandlerLogs(printLevel: string, streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): HandlerLogCapture {
  let lines: HandlerLogLine[] = [];
  const originals = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    const original = originals[i];
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      if (typeof chunk === 'string' && chunk.startsWith('{')) {
        let line: unknown;
        try {
          line = JSON.parse(chunk);
        } catch {
          line = undefined;
        }
        if (typeof line === 'object' && line !== null && typeof (line as HandlerLogLine)[LOG_QUERY_FIELDS.level] === 'string') {
          lines.push(line as HandlerLogLine);
          if (rank(String((line as HandlerLogLine)[LOG_QUERY_FIELDS.level])) < rank(printLevel)) {
            const callback = rest.find((r): r is () => void => typeof r === 'function');
            callback?.();
            return true;
          }
        }
      }
      return (original as (...args: unknown[]) => boolean).apply(this, [chunk, ...rest]);
    } as Write;
  });
  return {
    take() {
      const out = lines;
      lines = [];
      return out;
    },
    restore() {
      streams.forEach((s, i) => (s.write = originals[i]));
    },
  };
}

export interface HandlerLogCheck {
  readonly lines: number;
  /** Lines per service (Powertools service name). */
  readonly byService: Record<string, number>;
  /** The "Errors by stage" query over the run's lines. */
  readonly errorsByStage: Record<string, number>;
  /** Archives retrieved from Glacier and downloaded, and those whose story names every STORY_SERVICES. */
  readonly stories: { readonly archives: number; readonly complete: number };
  /** The "Archive story" query over the run's lines, for one such archive. */
  readonly example?: { readonly archiveId: string; readonly lines: { timestamp: string; service: string; level: string; message: string }[] };
  readonly problems: string[];
}

/** Runs the saved queries' logic over one run's captured lines. */
export function checkHandlerLogs(lines: readonly HandlerLogLine[],
  archives: readonly { archiveId: string; status: string; jobs: number }[]): HandlerLogCheck {
  const F = LOG_QUERY_FIELDS;
  const problems: string[] = [];
  const str = (line: HandlerLogLine, field: string): string | undefined => (typeof line[field] === 'string' ? line[field] as string : undefined);
  for (const field of [F.level, F.service, F.message]) {
    const without = lines.filter((l) => str(l, field) === undefined);
    if (without.length > 0) {
      problems.push(`handler logs: ${without.length} line(s) without a string ${field} (the saved queries filter on it), e.g. ${JSON.stringify(without[0]).slice(0, 200)}`);
    }
  }
  const count = (key: (l: HandlerLogLine) => string | undefined, of: readonly HandlerLogLine[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const l of of) {
      const k = key(l) ?? '(none)';
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const byArchive = new Map<string, HandlerLogLine[]>();
  for (const l of lines) {
    const id = str(l, F.archiveId);
    if (id !== undefined) byArchive.set(id, [...byArchive.get(id) ?? [], l]);
  }
  const retrieved = archives.filter((a) => a.status === 'downloaded' && a.jobs > 0);
  const incomplete: string[] = [];
  for (const a of retrieved) {
    const services = new Set((byArchive.get(a.archiveId) ?? []).map((l) => str(l, F.service)));
    const missing: string[] = STORY_SERVICES.filter((s) => !services.has(s));
    if (services.has(PART_COPIER) && !services.has(UPLOAD_COMPLETER)) missing.push(UPLOAD_COMPLETER);
    if (missing.length > 0) incomplete.push(`${a.archiveId.slice(0, 12)}… (no line from ${missing.join(', ')})`);
  }
  if (incomplete.length > 0) {
    problems.push(`handler logs: the archive story (lines with its ${F.archiveId}) misses a handler for ${incomplete.length} of ${retrieved.length} retrieved archive(s): ${incomplete.slice(0, 3).join('; ')}`);
  }
  const exampleId = retrieved.find((a) => !incomplete.some((i) => i.startsWith(a.archiveId.slice(0, 12))))?.archiveId;
  const example = exampleId === undefined ? undefined : {
    archiveId: exampleId,
    // In capture order: the request stages log on the rehearsal clock, the SQS-driven handlers on real time.
    lines: byArchive.get(exampleId)!.map((l) => ({ timestamp: String(l.timestamp ?? ''), service: str(l, F.service) ?? '', level: str(l, F.level) ?? '', message: str(l, F.message) ?? '' })),
  };
  return {
    lines: lines.length,
    byService: count((l) => str(l, F.service), lines),
    errorsByStage: count((l) => str(l, F.service), lines.filter((l) => str(l, F.level) === ERROR_LEVEL)),
    stories: { archives: retrieved.length, complete: retrieved.length - incomplete.length },
    example,
    problems,
  };
}

/** The summary line. */
export function formatHandlerLogCheck(c: HandlerLogCheck): string {
  const errors = Object.entries(c.errorsByStage).map(([s, n]) => `${s}=${n}`).join(' ') || 'none';
  return `   handler logs: ${c.lines} JSON line(s) from ${Object.keys(c.byService).length} handler(s); archive story (saved query) complete for `
    + `${c.stories.complete}/${c.stories.archives} retrieved archive(s); errors by stage (saved query): ${errors}`;
}

/** report.html's section: lines per handler with the errors-by-stage count, and one archive's story. */
export function renderHandlerLogsSection(c: HandlerLogCheck, escape: (text: unknown) => string): string {
  const rows = Object.entries(c.byService).sort((a, b) => a[0].localeCompare(b[0]))
    .map(([s, n]) => `<tr><td>${escape(s)}</td><td class="num">${n}</td><td class="num">${c.errorsByStage[s] ?? 0}</td></tr>`).join('');
  const story = c.example === undefined
    ? '<p class="none">No retrieved archive has a complete story in this run.</p>'
    : `<p>The saved query <i>Archive story</i> run over this run's lines for archive <code>${escape(c.example.archiveId)}</code>:</p>`
      + '<table class="plain" id="archive-story"><thead><tr><th>time (virtual)</th><th>service</th><th>level</th><th>message</th></tr></thead><tbody>'
      + c.example.lines.map((l) => `<tr><td>${escape(l.timestamp)}</td><td>${escape(l.service)}</td><td>${escape(l.level)}</td><td>${escape(l.message)}</td></tr>`).join('')
      + '</tbody></table>';
  return `<p>${c.lines} JSON line(s) logged by the handlers in this run (INFO and above). The deployed construct saves two Logs Insights queries over every handler's `
    + `log group: <i>Errors by stage</i> and <i>Archive story</i>; here they run over the captured lines. Archive story complete for ${c.stories.complete}/${c.stories.archives} `
    + `retrieved archive(s) (a line with its archiveId from each of ${STORY_SERVICES.join(', ')}, and from ${UPLOAD_COMPLETER} when ${PART_COPIER} copied it in parts). `
    + 'Lines in the order they were logged; the request stages\' timestamps are on the rehearsal clock, the queue-driven handlers\' on real time.</p>'
    + `<table class="plain"><thead><tr><th>service</th><th>lines</th><th>ERROR lines (errors by stage)</th></tr></thead><tbody>${rows}</tbody></table>${story}`;
}
