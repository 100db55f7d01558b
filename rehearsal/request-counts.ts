/*
 * Refreshes test/fixtures/rehearsal/request-counts.json, the requests a fault-free rehearsal run
 * recorded, which test/core/cost-request-counts.test.ts compares with the cost model:
 *
 *   npx projen rehearse -- --archives 16 --seed request-counts --timeout 1800 --output /tmp/request-counts
 *   npx tsx rehearsal/request-counts.ts /tmp/request-counts
 *
 * The argument is the rehearsal's output folder (or one run's report.json); the run must have
 * passed without faults.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { RunReport } from './report';

/** What the cost-model test needs from a run. */
export interface RequestCountsFixture {
  readonly recorded: {
    readonly runId: string;
    readonly faults: string;
    readonly archives: number;
    readonly bytes: number;
    readonly chunkSizeBytes: number;
    readonly inventoryJobs: number;
    /** Virtual hours from the start to the last archive status change. */
    readonly virtualHours: number;
  };
  /** Sizes of the vault's archives (the cost model's input). */
  readonly archiveSizes: number[];
  /** Requests per service and operation, as report.json gives them (`Harness` = the rehearsal's own). */
  readonly requests: Record<string, Record<string, number>>;
  readonly stateTransitions: number;
}

function reportPath(arg: string): string {
  if (!statSync(arg).isDirectory()) return arg;
  const runs = (JSON.parse(readFileSync(join(arg, 'rehearsal.json'), 'utf8')) as { runs: { folder: string }[] }).runs;
  if (runs.length !== 1) throw new Error(`${arg}: expected one run, found ${runs.length}`);
  return join(arg, runs[0].folder, 'report.json');
}

function main(): void {
  const [arg, option, mib] = process.argv.slice(2);
  if (!arg || !existsSync(arg)) throw new Error('usage: tsx rehearsal/request-counts.ts <rehearsal output folder | report.json>');
  const path = reportPath(arg);
  const report = JSON.parse(readFileSync(path, 'utf8')) as RunReport;
  if (!report.ok || report.faults !== 'none') throw new Error(`${path}: the run must pass without faults (ok ${report.ok}, faults ${report.faults})`);
  // A report without chunkSizeBytes (older rehearsal): `--chunk-size-mib N` as the run was given it.
  const chunkSizeBytes = report.chunkSizeBytes ?? (option === '--chunk-size-mib' ? Number(mib) * 1024 * 1024 : undefined);
  if (report.stateTransitions === undefined || chunkSizeBytes === undefined || !report.archiveRows) {
    throw new Error(`${path}: no stateTransitions, chunk size or archiveRows: recorded by an older rehearsal`);
  }
  const points = report.timeline?.points ?? [];
  const lastPoint = points[points.length - 1];
  const fixture: RequestCountsFixture = {
    recorded: {
      runId: report.runId,
      faults: report.faults,
      archives: report.archives,
      bytes: report.bytes,
      chunkSizeBytes,
      inventoryJobs: report.stages?.inventory.jobs ?? 0,
      // Timeline points are virtual milliseconds since the run started.
      virtualHours: lastPoint ? Math.round((lastPoint.virtualMs / 3_600_000) * 10) / 10 : 0,
    },
    archiveSizes: report.archiveRows.map((r) => r.size),
    requests: report.requests,
    stateTransitions: report.stateTransitions,
  };
  const out = join(__dirname, '..', 'test', 'fixtures', 'rehearsal', 'request-counts.json');
  writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
  process.stdout.write(`wrote ${out} from ${path}\n`);
}

main();
