/* eslint-disable @stylistic/max-len */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Environment, NAMES, TiB } from './environment';
import type { FaultProfile } from './faults';
import { buildReport, RunReport, StageSummary } from './report';
import { sleep } from './services/common';
import { runWindowExtension, WindowExtensionRun } from './stages/download-window-extension';
import { InitiateRetrievalRun, runInitiateRetrieval } from './stages/initiate-retrieval';
import { writeInventoryPartitions } from './stand-ins/inventory-partitions';
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
  /** DAILY_QUOTA_BYTES for this run (the ledger is shared with earlier runs of the process). */
  readonly dailyQuotaBytes?: number;
  /** Archives recorded `failed` (even with a reason) are problems (the CI matrix: faults are transient). */
  readonly requireAllDownloaded?: boolean;
  readonly progress: (line: string) => void;
  /** Minimum wall milliseconds between progress lines. */
  readonly progressEveryMs: number;
}

const HOUR = 3_600_000;
/** The construct's default schedule for DownloadWindowExtension (one execution per active run). */
const EXTENSION_INTERVAL_MS = 30 * 60_000;

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
  if (pollers.metrics.pending > 0 || env.sns.pending > 0 || env.activity.busy > 0) return false;
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
  env.dailyQuotaBytes = options.dailyQuotaBytes ?? TiB;
  const tier = options.tier ?? 'Bulk';
  const vaultName = `rehearsal-${runId}`;
  const keyPrefix = `runs/${runId}/`;

  const vault = generateVault({
    seed: options.seed, count: options.archives, sizeProfile: options.sizeProfile, chunkSize: options.chunkSize, maxTotalBytes: options.maxTotalBytes,
  });
  env.glacier.createVault(vaultName);
  for (const archive of vault.archives) env.glacier.addArchive(vaultName, archive);

  const expiredWindow = env.faults.has('expired-window');
  let windowPhase: 'copy-paused' | 'done' = expiredWindow ? 'copy-paused' : 'done';
  if (expiredWindow) await env.pollers.chunks.stop();

  // Inventory stage (stand-in) → sorted partitions; then the real InitiateRetrieval state machine,
  // running alongside the pipeline (its quota Waits are on the rehearsal clock).
  const partitions = await writeInventoryPartitions(env.s3Client, { bucket: NAMES.inventoryBucket, runId, keyPrefix, archives: vault.archives });
  let initiation: InitiateRetrievalRun | undefined;
  let initiationError: unknown;
  const initiating = runInitiateRetrieval(env, { runId, vaultName, tier, storageClass: 'DEEP_ARCHIVE' }).then(
    (r) => { initiation = r; },
    (e: unknown) => { initiationError = e; },
  );
  const initiationDone = (): boolean => initiation !== undefined || initiationError !== undefined;

  // DownloadWindowExtension every 30 virtual minutes, like the construct's schedule. The no-op
  // clock event keeps the idle jumps from skipping a scheduled check.
  const extensions: WindowExtensionRun[] = [];
  const extensionErrors: string[] = [];
  const extend = async (): Promise<void> => {
    try {
      const r = await runWindowExtension(env, { runId, tier });
      extensions.push(r);
      if (r.status !== 'SUCCEEDED') extensionErrors.push(`${r.status} ${r.error ?? ''}: ${(r.cause ?? '').slice(0, 200)}`);
    } catch (e) {
      extensionErrors.push(String((e as Error)?.stack ?? e).slice(0, 300));
    }
  };
  let nextExtensionAt = env.clock.now() + EXTENSION_INTERVAL_MS;
  env.clock.schedule(nextExtensionAt, () => undefined);

  const deadline = startedAt + options.timeoutMs;
  let lastProgress = 0;
  let timedOut = false;
  const extended = (): number => extensions.reduce((n, r) => n + r.totals.extended, 0);
  const report = (phase: string, c: Record<string, number>): void => {
    const elapsed = (Date.now() - startedAt) / 1000;
    const bytes = env.stats.get('Glacier', 'GetJobOutput');
    options.progress(`[${runId}] ${phase} ${elapsed.toFixed(1)}s pending=${c.pending} requested=${c.requested} staged=${c.staged} downloaded=${c.downloaded} failed=${c.failed}`
      + ` / ${options.archives} (${(vault.totalBytes / 1048576).toFixed(1)} MiB) GetJobOutput=${bytes} jobs-pending=${env.glacier.pendingJobs()}`
      + ` virtual-clock=+${((env.clock.now() - startedAt) / HOUR).toFixed(1)}h`);
  };
  for (;;) {
    const counts: Record<string, number> = {};
    for (const s of [ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED]) {
      counts[s] = await countStatus(env, runId, s);
    }
    const finished = counts.downloaded + counts.failed + counts.skipped;
    const isIdle = await idle(env, windowPhase === 'copy-paused' ? NAMES.chunkQueue : undefined);
    if (Date.now() - lastProgress >= options.progressEveryMs) {
      report('running', counts);
      lastProgress = Date.now();
    }
    if (finished === options.archives && isIdle && windowPhase === 'done' && initiationDone()) break;
    if (initiationError !== undefined && isIdle) break; // nothing more will be requested
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    if (isIdle) {
      if (windowPhase === 'copy-paused' && initiationDone() && counts.pending === 0 && counts.requested === 0) {
        // Everything is staged (or copied in one request); jump close to the end of the window
        // and run the scheduled extension check there.
        env.clock.advance(22 * HOUR);
        await extend();
        nextExtensionAt = env.clock.now() + EXTENSION_INTERVAL_MS;
        env.clock.schedule(nextExtensionAt, () => undefined);
        env.pollers.chunks.start();
        windowPhase = 'done';
        options.progress(`[${runId}] expired-window: clock +22 h, ${extended()} archive(s) re-requested by DownloadWindowExtension, chunk copying resumed`);
        continue;
      }
      const next = env.clock.nextEventAt();
      if (next !== undefined) env.clock.advanceTo(next);
    }
    if (env.clock.now() >= nextExtensionAt) {
      await extend();
      nextExtensionAt = env.clock.now() + EXTENSION_INTERVAL_MS;
      env.clock.schedule(nextExtensionAt, () => undefined);
    }
    await sleep(isIdle ? 20 : 100);
  }
  if (windowPhase !== 'done') env.pollers.chunks.start();
  if (!initiationDone()) await Promise.race([initiating, sleep(5_000)]);
  const final: Record<string, number> = {};
  for (const s of [ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED]) final[s] = await countStatus(env, runId, s);
  report(timedOut ? 'TIMED OUT' : 'finished', final);
  const result = await buildReport(env, {
    runId,
    faults: options.faults,
    archives: vault.archives,
    keyPrefix,
    timedOut,
    startedAt,
    vaultName,
    requireAllDownloaded: options.requireAllDownloaded,
    fileOf: partitions.fileOf,
  });
  const stages: StageSummary = {
    partitions: partitions.partitions,
    partitionFiles: partitions.keys.filter((k) => k.endsWith('.csv')).length,
    initiateStatus: initiation?.status ?? 'not finished',
    initiate: initiation?.totals,
    quotaWaits: initiation?.transitions.filter((t) => t === 'WaitForQuota').length ?? 0,
    extensionExecutions: extensions.length,
    extended: extended(),
    extensionListed: extensions.reduce((n, r) => n + r.totals.listed, 0),
  };
  if (initiationError !== undefined) {
    result.problems.push(`InitiateRetrieval could not run: ${String((initiationError as Error)?.stack ?? initiationError).slice(0, 300)}`);
  } else if (initiation && initiation.status !== 'SUCCEEDED') {
    result.problems.push(`InitiateRetrieval ended ${initiation.status}: ${initiation.error ?? ''} ${(initiation.cause ?? '').slice(0, 300)}`);
  }
  if (initiation && initiation.totals.invalid > 0) result.problems.push(`InitiateRetrieval saw ${initiation.totals.invalid} partition row(s) without ArchiveId (CSV quoting?)`);
  for (const e of extensionErrors.slice(0, 3)) result.problems.push(`DownloadWindowExtension: ${e}`);
  if (env.uncaught.length > 0) {
    result.problems.push(`${env.uncaught.length} exception(s) escaped the handlers (each would crash the Lambda runtime), first: ${env.uncaught[0]}`);
  }
  if (expiredWindow && extended() === 0) result.problems.push('expired-window: no archive was re-requested, the fault did not exercise the extension');
  return { ...result, stages, ok: result.problems.length === 0 };
}
