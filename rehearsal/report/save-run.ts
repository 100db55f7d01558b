import { writeFileSync } from 'fs';
import { join } from 'path';
import { renderHtmlReport } from './html-report';
import { PipelineReportFile, runFolder, writeJson, writePipelineReport } from './output-folder';
import { Environment, NAMES } from '../environment';
import type { RunReport } from '../report';

/** The run report objects the orchestrator wrote under `prefix` in the inventory bucket. */
export function pipelineReportFiles(env: Environment, prefix: string): PipelineReportFile[] {
  return env.s3.listKeys(NAMES.inventoryBucket)
    .filter((key) => key.startsWith(prefix))
    .map((key) => ({ key, bytes: env.s3.objectBytes(NAMES.inventoryBucket, key)! }));
}

/**
 * Saves one finished run into the invocation folder (before the next run clears the local S3):
 * `<runId>/pipeline-report/*`, `<runId>/report.json` and `<runId>/report.html`. Returns the run folder.
 */
export function saveRun(env: Environment, outputDir: string, report: RunReport): string {
  const folder = runFolder(outputDir, report.runId);
  const pipelineReport = report.pipelineReportPrefix === undefined
    ? []
    : writePipelineReport(folder, pipelineReportFiles(env, report.pipelineReportPrefix));
  writeJson(join(folder, 'report.json'), {
    ...report,
    pipelineReport: report.pipelineReportPrefix === undefined
      ? null
      : { source: `s3://${NAMES.inventoryBucket}/${report.pipelineReportPrefix}`, files: pipelineReport },
  });
  writeFileSync(join(folder, 'report.html'), renderHtmlReport(report));
  return folder;
}
