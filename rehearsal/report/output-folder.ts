import { mkdirSync, writeFileSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';

/*
 * Where a rehearsal invocation leaves what a user can look at afterwards: one folder per
 * invocation, one sub-folder per run, holding the pipeline's own run report files exactly as the
 * orchestrator wrote them to the inventory bucket, and the rehearsal's report of the run.
 */

/** The project root (this file is rehearsal/report/output-folder.ts). */
const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** Default parent of the per-invocation folders (git-ignored and npm-ignored in .projenrc.ts). */
export const DEFAULT_OUTPUT_ROOT = join(PROJECT_ROOT, 'rehearsal-output');

/** A file system-safe, sortable name for an invocation started at `at`: 2026-12-03T12-45-07Z. */
export function invocationFolderName(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/**
 * The folder of this invocation: `dir` as given (created when missing), or a new time-stamped
 * folder under `rehearsal-output/` of the project.
 */
export function createOutputFolder(dir: string | undefined, now: Date = new Date()): string {
  const path = dir === undefined ? join(DEFAULT_OUTPUT_ROOT, invocationFolderName(now)) : resolve(dir);
  mkdirSync(path, { recursive: true });
  return path;
}

/** The folder of one run inside the invocation folder (run ids are made of [A-Za-z0-9-]). */
export function runFolder(outputDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new Error(`run id ${JSON.stringify(runId)} cannot name a folder: expected letters, digits, '.', '_' or '-'`);
  const path = join(outputDir, runId);
  mkdirSync(path, { recursive: true });
  return path;
}

/** One object of the pipeline's run report as it was stored. */
export interface PipelineReportFile {
  readonly key: string;
  readonly bytes: Buffer;
}

/**
 * Writes the pipeline's run report files under `<runFolder>/pipeline-report/`, named after the
 * last segment of their key (manifest.csv, failed_archives.csv, summary.json), byte for byte.
 * Returns the paths written, relative to the run folder.
 */
export function writePipelineReport(folder: string, files: readonly PipelineReportFile[]): string[] {
  const written: string[] = [];
  for (const file of files) {
    const name = file.key.split('/').pop();
    if (!name || name === '.' || name === '..') throw new Error(`run report object key ${JSON.stringify(file.key)} has no file name`);
    const path = join(folder, 'pipeline-report', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.bytes);
    written.push(relative(folder, path));
  }
  return written;
}

/** Writes `value` as indented JSON; returns the path. */
export function writeJson(path: string, value: unknown): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/** The path to print: relative to the working directory when it is inside it. */
export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}
