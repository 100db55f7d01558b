/* eslint-disable @stylistic/max-len */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Environment, NAMES } from './environment';
import type { FaultProfile } from './faults';
import { buildReport, RunReport } from './report';
import { sleep } from './services/common';
import { extendDownloadWindows, requestArchives, StandInDeps } from './stand-ins/initiate-retrieval';
import { generateVault, SizeProfile } from './vault-generator';
import { ArchiveStatus, runStatusKey, TransferTable } from '../src/handlers/shared/schema';

export interface RunOptions {
  readonly runId: string;
  readonly seed: string | number;
  readonly archives: number;
  readonly sizeProfile: SizeProfile;
  readonly chunkSize: number;
  readonly faults: FaultProfile;
  readonly maxTotalBytes?: number;
  readonly timeoutMs: number;
  readonly tier?: 'Expedited' | 'Standard' | 'Bulk';
  readonly progress: (line: string) => void;
  /** Minimum wall milliseconds between progress lines. */
  readonly progressEveryMs: number;
}

const HOUR = 3_600_000;
/** Re-request staged archives whose output expires within this (like the AWS solution's 5 h). */
const EXTENSION_MARGIN_MS = 5 * HOUR;

async function countStatus(env: Environment, runId: string, status: ArchiveStatus): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await env.doc.send(new QueryCommand({
      TableName: NAMES.transferTable,
      IndexName: TransferTable.statusIndex,
      Select: 'COUNT',
      KeyConditionExpression: '#rs = :rs',
      ExpressionAttributeNames: { '#rs': TransferTable.statusIndexPartition },
      ExpressionAttributeValues: { ':rs': runStatusKey(runId, status) },
      ExclusiveStartKey: start,
    }));
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}

async function idle(env: Environment, ignoreQueue?: string): Promise<boolean> {
  const { pollers } = env;
  if (pollers.notifications.busy + pollers.chunks.busy + pollers.validation.busy + pollers.metrics.busy > 0) return false;
  if (pollers.metrics.pending > 0 || env.sns.pending > 0) return false;
  for (const queue of env.sqs.queues.values()) {
    if (queue.name !== ignoreQueue && await env.sqs.depth(queue.url) > 0) return false;
  }
  return true;
}

/** One rehearsal run: generate, request, let the real handlers work, then report. */
export async function runRehearsal(env: Environment, options: RunOptions): Promise<RunReport> {
  const startedAt = Date.now();
  const { runId } = options;
  env.stats.reset();
  env.handlerErrors.clear();
  env.uncaught.length = 0;
  env.s3.clear();
  env.glacier.clear();
  env.faults.setProfile(options.faults, options.seed);
  const tier = options.tier ?? 'Bulk';
  const vaultName = `rehearsal-${runId}`;
  const keyPrefix = `runs/${runId}/`;

  const vault = generateVault({
    seed: options.seed, count: options.archives, sizeProfile: options.sizeProfile, chunkSize: options.chunkSize, maxTotalBytes: options.maxTotalBytes,
  });
  env.glacier.createVault(vaultName);
  for (const archive of vault.archives) env.glacier.addArchive(vaultName, archive);

  const deps: StandInDeps = { doc: env.doc, glacier: env.glacierClient, tableName: NAMES.transferTable, topicArn: NAMES.topicArn, clock: env.clock };
  const expiredWindow = env.faults.has('expired-window');
  let windowPhase: 'copy-paused' | 'done' = expiredWindow ? 'copy-paused' : 'done';
  if (expiredWindow) await env.pollers.chunks.stop();

  await requestArchives(deps, { runId, vaultName, archives: vault.archives, keyPrefix, storageClass: 'DEEP_ARCHIVE', tier });

  const deadline = startedAt + options.timeoutMs;
  let lastProgress = 0;
  let extended = 0;
  let timedOut = false;
  const report = (phase: string, c: Record<string, number>): void => {
    const elapsed = (Date.now() - startedAt) / 1000;
    const bytes = env.stats.get('Glacier', 'GetJobOutput');
    options.progress(`[${runId}] ${phase} ${elapsed.toFixed(1)}s requested=${c.requested} staged=${c.staged} downloaded=${c.downloaded} failed=${c.failed}`
      + ` / ${options.archives} (${(vault.totalBytes / 1048576).toFixed(1)} MiB) GetJobOutput=${bytes} jobs-pending=${env.glacier.pendingJobs()}`
      + ` virtual-clock=+${((env.clock.now() - startedAt) / HOUR).toFixed(1)}h`);
  };
  for (;;) {
    const counts: Record<string, number> = {};
    for (const s of [ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED]) {
      counts[s] = await countStatus(env, runId, s);
    }
    const finished = counts.downloaded + counts.failed + counts.skipped;
    const isIdle = await idle(env, windowPhase === 'copy-paused' ? NAMES.chunkQueue : undefined);
    if (Date.now() - lastProgress >= options.progressEveryMs) {
      report('running', counts);
      lastProgress = Date.now();
    }
    if (finished === options.archives && isIdle && windowPhase === 'done') break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    if (isIdle) {
      if (windowPhase === 'copy-paused' && counts.requested === 0) {
        // Everything is staged (or copied in one request); jump close to the end of the window.
        env.clock.advance(22 * HOUR);
        extended += await extendDownloadWindows(deps, runId, vaultName, tier, EXTENSION_MARGIN_MS);
        env.pollers.chunks.start();
        windowPhase = 'done';
        options.progress(`[${runId}] expired-window: clock +22 h, ${extended} archive(s) re-requested, chunk copying resumed`);
        continue;
      }
      const next = env.clock.nextEventAt();
      if (next !== undefined) env.clock.advanceTo(next);
    }
    extended += await extendDownloadWindows(deps, runId, vaultName, tier, EXTENSION_MARGIN_MS).catch(() => 0);
    await sleep(isIdle ? 20 : 100);
  }
  if (windowPhase !== 'done') env.pollers.chunks.start();
  const final: Record<string, number> = {};
  for (const s of [ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED]) final[s] = await countStatus(env, runId, s);
  report(timedOut ? 'TIMED OUT' : 'finished', final);
  const result = await buildReport(env, { runId, faults: options.faults, archives: vault.archives, keyPrefix, timedOut, startedAt });
  if (env.uncaught.length > 0) {
    result.problems.push(`${env.uncaught.length} exception(s) escaped the handlers (each would crash the Lambda runtime), first: ${env.uncaught[0]}`);
  }
  if (expiredWindow && extended === 0) result.problems.push('expired-window: no archive was re-requested, the fault did not exercise the extension');
  return { ...result, ok: result.problems.length === 0 };
}
