import { captureHandlerLogs, captureLevel, checkHandlerLogs, HandlerLogCapture, STORY_SERVICES } from '../../rehearsal/report/handler-logs';
import { createLogger, withKeys } from '../../src/handlers/shared/logger';

const ARCHIVE = 'a'.repeat(138);
const OTHER = 'b'.repeat(138);

describe('handler log capture and the saved queries\' fields', () => {
  let capture: HandlerLogCapture;
  const before = process.env.POWERTOOLS_LOG_LEVEL;
  beforeEach(() => {
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    capture = captureHandlerLogs('SILENT');
  });
  afterEach(() => {
    capture.restore();
    process.env.POWERTOOLS_LOG_LEVEL = before;
  });

  /** Lines as the handlers write them: the real Powertools logger, keys added the handlers' way. */
  function logStory(services: readonly string[], archiveId: string): void {
    for (const service of services) withKeys(createLogger(service), { archiveId, runId: 'run-1', jobId: 'job-1' }).info(`${service} did its part`);
  }

  test('an archive without its request line is a problem too', () => {
    logStory(['NotificationsProcessor'], ARCHIVE);
    expect(checkHandlerLogs(capture.take(), [{ archiveId: ARCHIVE, status: 'downloaded', jobs: 1 }]).problems.join('\n')).toMatch(/no line from InitiateArchiveRetrieval/);
  });

  test('the real Powertools lines carry level, service, message and archiveId at the top level; SILENT prints none', () => {
    logStory(STORY_SERVICES, ARCHIVE);
    createLogger('ExtendDownloadWindow').error('boom', { archiveId: ARCHIVE });
    const lines = capture.take();
    expect(lines).toHaveLength(STORY_SERVICES.length + 1);
    expect(lines[0]).toMatchObject({ level: 'INFO', service: STORY_SERVICES[0], message: `${STORY_SERVICES[0]} did its part`, archiveId: ARCHIVE, runId: 'run-1' });
    const check = checkHandlerLogs(lines, [{ archiveId: ARCHIVE, status: 'downloaded', jobs: 1 }]);
    expect(check.problems).toEqual([]);
    expect(check.stories).toEqual({ archives: 1, complete: 1 });
    expect(check.errorsByStage).toEqual({ ExtendDownloadWindow: 1 });
    expect(check.example?.lines.map((l) => l.service)).toEqual(expect.arrayContaining([...STORY_SERVICES, 'ExtendDownloadWindow']));
    expect(capture.take()).toEqual([]);
  });

  test('an archive whose story misses a handler, or a line without service, is a problem', () => {
    logStory(STORY_SERVICES, ARCHIVE);
    // Copied in parts, but no line from the handler completing the upload.
    logStory([...STORY_SERVICES, 'ChunkRetrieval'], OTHER);
    process.stdout.write(`${JSON.stringify({ level: 'INFO', message: 'no service' })}\n`);
    const check = checkHandlerLogs(capture.take(), [
      { archiveId: ARCHIVE, status: 'downloaded', jobs: 1 },
      { archiveId: OTHER, status: 'downloaded', jobs: 2 },
      // Downloaded without a retrieval (already at its key) or failed: no story required.
      { archiveId: 'c'.repeat(138), status: 'downloaded', jobs: 0 },
      { archiveId: 'd'.repeat(138), status: 'failed', jobs: 1 },
    ]);
    expect(check.stories).toEqual({ archives: 2, complete: 1 });
    expect(check.problems.join('\n')).toMatch(/misses a handler for 1 of 2 retrieved archive\(s\): bbbbbbbbbbbb… \(no line from ArchiveValidation\)/);
    expect(check.problems.join('\n')).toMatch(/1 line\(s\) without a string service/);
  });

  test('lines at or above the print level are printed as well; other output passes through', () => {
    capture.restore();
    const written: string[] = [];
    const stream = { write: (chunk: string) => written.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
    capture = captureHandlerLogs('WARN', [stream]);
    stream.write('{"level":"INFO","service":"x","message":"quiet"}\n');
    stream.write('{"level":"ERROR","service":"x","message":"loud"}\n');
    stream.write('progress line\n');
    expect(written).toEqual(['{"level":"ERROR","service":"x","message":"loud"}\n', 'progress line\n']);
    expect(capture.take().map((l) => l.message)).toEqual(['quiet', 'loud']);
    expect(captureLevel('SILENT')).toBe('INFO');
    expect(captureLevel('debug')).toBe('DEBUG');
  });
});
