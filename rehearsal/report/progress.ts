import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { fmtBytes } from '../../src/core/cost';

/*
 * Progress of a rehearsal run. On a terminal: a progress bar (cli-progress) with the archives by
 * status, redrawn in place, event lines printed above it. Otherwise (CI, a pipe, a file): plain
 * lines, one when the phase changes and at most one per `plainEveryMs` in between.
 */

/** The harness's view of a run at one moment (the metrics item's counts: archives currently in each status). */
export interface ProgressSample {
  readonly runId: string;
  readonly phase: 'running' | 'finished' | 'timed out';
  readonly wallMs: number;
  /** Virtual time since the run started (the rehearsal clock jumps while the pipeline is idle). */
  readonly virtualMs: number;
  readonly archives: number;
  readonly totalBytes: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly orchestrator: string;
  /** Glacier jobs not completed yet. */
  readonly jobsPending: number;
}

/** What the run loop reports to: samples as often as it likes, event lines when something happens. */
export interface ProgressSink {
  sample(sample: ProgressSample): void;
  event(runId: string, line: string): void;
}

export interface ProgressDisplay extends ProgressSink {
  /** Ends the run's display (the bar stops) before its report is printed. */
  endRun(runId: string): void;
}

const HOUR = 3_600_000;

const count = (s: ProgressSample, status: string): number => s.counts[status] ?? 0;

/** One line describing a sample (plain mode, and the final line of a run in either mode). */
export function formatSample(s: ProgressSample): string {
  const done = count(s, 'downloaded') + count(s, 'failed') + count(s, 'skipped');
  return `[${s.runId}] ${s.phase} ${done}/${s.archives} archives final (${fmtBytes(s.totalBytes)} in all): `
    + `downloaded ${count(s, 'downloaded')}, failed ${count(s, 'failed')}, skipped ${count(s, 'skipped')}; `
    + `in progress: pending ${count(s, 'pending')}, requested ${count(s, 'requested')}, staged ${count(s, 'staged')}; `
    + `Glacier jobs not completed ${s.jobsPending}; orchestrator ${s.orchestrator}; `
    + `virtual time +${(s.virtualMs / HOUR).toFixed(1)} h, wall ${(s.wallMs / 1000).toFixed(0)} s`;
}

/** Plain lines: a phase change (or the first sample) always, otherwise at most one per `everyMs`. */
export function plainProgress(write: (text: string) => void, everyMs: number, now: () => number = Date.now): ProgressDisplay {
  const last = new Map<string, { at: number; phase: string }>();
  return {
    sample(s) {
      const previous = last.get(s.runId);
      if (previous && previous.phase === s.phase && now() - previous.at < everyMs) return;
      last.set(s.runId, { at: now(), phase: s.phase });
      write(`${formatSample(s)}\n`);
    },
    event(runId, line) {
      write(`[${runId}] ${line}\n`);
    },
    endRun(runId) {
      last.delete(runId);
    },
  };
}

/** A redrawn progress bar per run (cli-progress); event lines and the final sample are printed above it. */
export function terminalProgress(stream: NodeJS.WriteStream): ProgressDisplay {
  let multi: MultiBar | undefined;
  let bar: SingleBar | undefined;
  let final: ProgressSample | undefined;
  const start = (s: ProgressSample): SingleBar => {
    multi = new MultiBar({
      stream,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      format: '{runId} {bar} {value}/{total} final | downloaded {downloaded} failed {failed} | pending {pending} requested {requested} staged {staged} | +{virtualHours} h virtual | {wallSeconds} s',
    }, Presets.shades_classic);
    return multi.create(s.archives, 0);
  };
  return {
    sample(s) {
      bar ??= start(s);
      const done = count(s, 'downloaded') + count(s, 'failed') + count(s, 'skipped');
      bar.update(done, {
        runId: s.runId,
        downloaded: count(s, 'downloaded'),
        failed: count(s, 'failed'),
        pending: count(s, 'pending'),
        requested: count(s, 'requested'),
        staged: count(s, 'staged'),
        virtualHours: (s.virtualMs / HOUR).toFixed(1),
        wallSeconds: (s.wallMs / 1000).toFixed(0),
      });
      if (s.phase !== 'running') final = s;
    },
    event(runId, line) {
      if (multi) multi.log(`[${runId}] ${line}\n`);
      else stream.write(`[${runId}] ${line}\n`);
    },
    endRun() {
      multi?.stop();
      if (final) stream.write(`${formatSample(final)}\n`);
      multi = undefined;
      bar = undefined;
      final = undefined;
    },
  };
}
