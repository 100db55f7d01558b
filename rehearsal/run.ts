/* eslint-disable @stylistic/max-len */
import { ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { parse as parseCsv } from 'csv-parse/sync';
import { checkDashboard } from './dashboard/check';
import type { SynthesizedDashboard } from './dashboard/synth';
import { checkDecommission } from './decommission-check';
import { Environment, NAMES, TiB } from './environment';
import { CRASH_BOUNDARIES, FaultProfile, isTerminalFaultProfile } from './faults';
import { buildReport, expectedObjectKeys, RunReport, StageSummary } from './report';
import type { ProgressSink } from './report/progress';
import { StatusTimeline } from './report/timeline';
import { ResumeChanges } from './resume-changes';
import { sleep } from './services/common';
import { launchInput, OrchestratedRun, resumeInput } from './stages/orchestrator';
import { prepareTerminalFaults } from './terminal-faults';
import { generateVault, SizeProfile } from './vault-generator';
import { InventoryEnv } from '../src/contract/environment';
import { countAttribute, metricsPk, partitionPrefix, runStatusKey, TransferTable } from '../src/contract/keys';
import { maxRetrievalJobsFromEnv } from '../src/handlers/shared/archive-transition';
import { ArchiveStatus } from '../src/handlers/shared/schema';

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
  /**
   * Stop the orchestrator execution (StopExecution) once this fraction of the archives is
   * downloaded, then start it again with the Resume runbook's input for the same run id; a list
   * stops and resumes once per fraction (the `stop-resume-twice` profile: 0.25 and 0.6).
   */
  readonly stopAndResumeAt?: number | readonly number[];
  /**
   * Every downloaded archive's key written exactly once (PutObject/CompleteMultipartUpload). Fault
   * profiles that redeliver work (duplicates, throttling, crash-between-steps) rewrite some keys with
   * the same bytes; the report counts those either way.
   */
  readonly requireExactlyOnce?: boolean;
  /** InitiateRetrieval must pass WaitForQuota at least once (a binding dailyQuotaBytes). */
  readonly requireQuotaWait?: boolean;
  /** After the transfer: tamper with two objects, then a dry and a real VaultDecommission (decommission-check.ts). */
  readonly decommission?: boolean;
  /** The synthesized L3's dashboard: its widgets are evaluated against the metrics the run published (dashboard/check.ts). */
  readonly dashboard?: SynthesizedDashboard;
  /** Samples every loop iteration (the display decides how often to show one) and event lines. */
  readonly progress: ProgressSink;
}

const HOUR = 3_600_000;

export async function countStatus(env: Environment, runId: string, status: ArchiveStatus): Promise<number> {
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

export const LOOP_STATUSES = [ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED];

/**
 * Status counts for the control loop from the run's metrics item (one GetItem instead of a Query per
 * status); the stream keeps it current, and it is exact whenever the pipeline is idle (the stream is
 * drained then). The report checks it against the table.
 */
export async function loopCounts(env: Environment, runId: string): Promise<Record<string, number>> {
  const item = (await env.doc.send(new GetCommand({ TableName: NAMES.metricsTable, Key: { pk: metricsPk(runId) }, ConsistentRead: true }))).Item ?? {};
  return Object.fromEntries(LOOP_STATUSES.map((s) => [s, Number(item[countAttribute(s)] ?? 0)]));
}

export async function idle(env: Environment, ignoreQueue?: string): Promise<boolean> {
  const { pollers } = env;
  if (pollers.notifications.busy + pollers.chunks.busy + pollers.validation.busy + pollers.metrics.busy > 0) return false;
  // A dead-lettered message waiting for (or in) the DeadLetterReconciler is work in progress too.
  if (pollers.deadLetters.some((p) => p.busy > 0)) return false;
  if (pollers.metrics.pending > 0 || (env.dynamo.streamBacklog ?? 0) > 0 || env.sns.pending > 0 || env.activity.busy > 0) return false;
  for (const queue of env.sqs.queues.values()) {
    if (queue.name !== ignoreQueue && await env.sqs.depth(queue.url) > 0) return false;
    if (await env.sqs.depth(queue.dlqUrl) > 0) return false;
  }
  return true;
}

/** The partition files InventoryRetrieval wrote: ArchiveId → file ordinal in key order. */
export async function readPartitions(env: Environment, runId: string): Promise<{ files: number; partitions: number; fileOf: Record<string, number> }> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await env.s3Client.send(new ListObjectsV2Command({ Bucket: NAMES.inventoryBucket, Prefix: partitionPrefix(runId), ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.csv')));
    token = page.NextContinuationToken;
  } while (token);
  keys.sort();
  const fileOf: Record<string, number> = {};
  for (const [i, key] of keys.entries()) {
    const text = await (await env.s3Client.send(new GetObjectCommand({ Bucket: NAMES.inventoryBucket, Key: key }))).Body!.transformToString();
    for (const row of parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[]) fileOf[row.ArchiveId] = i;
  }
  return { files: keys.length, partitions: new Set(keys.map((k) => k.split('/')[2])).size, fileOf };
}

/**
 * Clears what one run (or one `--vaults` group) reads back from the previous one: request counts,
 * handler errors, both local stores, write logs; sets the fault profile and DAILY_QUOTA_BYTES.
 */
export async function resetForRun(env: Environment, options: Pick<RunOptions, 'faults' | 'seed' | 'dailyQuotaBytes'>): Promise<void> {
  env.stats.reset();
  env.handlerErrors.clear();
  env.uncaught.length = 0;
  await env.s3.clear();
  env.glacier.clear();
  env.objectWrites.clear();
  env.archiveWrites.length = 0;
  env.faults.setProfile(options.faults, options.seed);
  env.dailyQuotaBytes = options.dailyQuotaBytes ?? TiB;
}

/** One rehearsal run: generate, launch the real orchestrator, fire its schedules, then report. */
export async function runRehearsal(env: Environment, options: RunOptions): Promise<RunReport> {
  const startedAt = Date.now();
  const virtualStart = env.clock.now();
  const { runId } = options;
  await resetForRun(env, options);
  // poison: its messages are retried in wall time (2-s visibility), during which the clock cannot
  // jump, so Bulk jobs completing hours apart would cost minutes of wall time each; Expedited jobs
  // complete minutes apart.
  const tier = options.tier ?? (options.faults === 'poison' || options.faults === 'resume-changes' ? 'Expedited' : 'Bulk');
  const vaultName = `rehearsal-${runId}`;
  const keyPrefix = `runs/${runId}/`;

  const vault = generateVault({
    seed: options.seed, count: options.archives, sizeProfile: options.sizeProfile, chunkSize: options.chunkSize, maxTotalBytes: options.maxTotalBytes,
  });
  env.glacier.createVault(vaultName);
  for (const archive of vault.archives) env.glacier.addArchive(vaultName, archive);
  // The construct's destinationPrefix, per run here so runs never share keys; partitions of about a
  // third of the vault (≥ 2 partitions, 5 rows per file) so partition and file order are exercised.
  process.env[InventoryEnv.DESTINATION_PREFIX] = keyPrefix;
  process.env[InventoryEnv.PARTITION_SIZE] = String(Math.max(1, Math.ceil(vault.totalBytes / 3)));
  // poison, bad-rows, existing-objects: the faults that exactly some archives or rows must fail on.
  const expectations = isTerminalFaultProfile(options.faults)
    ? await prepareTerminalFaults(env, {
      profile: options.faults, vaultName, archives: vault.archives, keys: expectedObjectKeys(vault.archives, keyPrefix), keyPrefix, chunkSize: options.chunkSize,
    })
    : undefined;

  // resume-changes: archives failed, requested and staged at a stop midway, then a resume with another class and override.
  const resumeChanges = options.faults === 'resume-changes'
    ? new ResumeChanges(env, vault.archives, expectedObjectKeys(vault.archives, keyPrefix), keyPrefix, vaultName, options.chunkSize)
    : undefined;

  const expiredWindow = env.faults.has('expired-window');
  let windowPhase: 'copy-paused' | 'done' = expiredWindow ? 'copy-paused' : 'done';
  // resume-changes: multipart copying waits until the Resume has reset the archives staged at the stop.
  let resumeCopyPaused = resumeChanges !== undefined;
  if (expiredWindow || resumeCopyPaused) await env.pollers.chunks.stop();

  // The Launch runbook's StartExecution; the orchestrator runs InventoryRetrieval and
  // InitiateRetrieval (.sync:2), adds the per-run schedule targets, waits for CompletionChecker.
  const run = new OrchestratedRun(env);
  const startErrors: string[] = [];
  await run.start(launchInput(runId, vaultName, { tier }));
  const stops = options.stopAndResumeAt !== undefined ? [options.stopAndResumeAt].flat()
    : env.faults.has('stop-resume-twice') ? [0.25, 0.6] : resumeChanges ? [0] : [];
  let stopsDone = 0;
  let resumePhase: 'armed' | 'resumed' | 'off' = stops.length > 0 ? 'armed' : 'off';
  const scheduled: Promise<unknown>[] = [];
  const initiateDone = (): boolean => run.executionsOf('InitiateRetrieval').some((e) => e.status !== 'RUNNING');

  const deadline = startedAt + options.timeoutMs;
  let timedOut = false;
  const timeline = new StatusTimeline();
  const report = (phase: 'running' | 'finished' | 'timed out', c: Record<string, number>): void => {
    timeline.record(env.clock.now() - virtualStart, c);
    options.progress.sample({
      runId,
      phase,
      wallMs: Date.now() - startedAt,
      virtualMs: env.clock.now() - virtualStart,
      // Every row of the inventory: the bad-rows profile adds unreadable ones (each ends a FAILED entry).
      archives: options.archives + (expectations?.badRows.length ?? 0),
      totalBytes: vault.totalBytes,
      counts: c,
      orchestrator: run.current?.status ?? 'not started',
      jobsPending: env.glacier.pendingJobs(),
    });
  };
  const event = (line: string): void => options.progress.event(runId, line);
  for (;;) {
    const counts = await loopCounts(env, runId);
    let isIdle = await idle(env, windowPhase === 'copy-paused' || resumeCopyPaused ? NAMES.chunkQueue : undefined);
    if (resumeCopyPaused && resumePhase === 'resumed' && await resumeChanges!.stagedWereReset(runId)) {
      env.pollers.chunks.start();
      resumeCopyPaused = false;
      event('resume-changes: the archives staged at the stop were reset by the Resume; multipart copying resumed');
      continue;
    }
    // Idle until a schedule fires: jump from firing to firing (they touch no queue, and the
    // window extension's Glacier jobs are clock events) while nothing else happens; not past a
    // planned stop that is due now (resume-changes holds jobs that would never let it end).
    const stopDue = (): boolean => resumePhase === 'armed' && resumeChanges !== undefined && resumeChanges.ready(counts, isIdle);
    while (isIdle && !stopDue() && run.current!.status === 'RUNNING' && env.clock.nextEventAt() === run.nextFiringAt() && Date.now() <= deadline) {
      env.clock.advanceTo(run.nextFiringAt());
      await Promise.all(run.fireDueSchedules());
      isIdle = env.activity.busy === 0;
    }
    report('running', counts);
    const current = run.current!;
    if (current.status !== 'RUNNING' && isIdle && windowPhase === 'done' && resumePhase !== 'armed') break;
    if (current.status !== 'RUNNING' && resumePhase === 'armed' && !resumeChanges?.ready(counts, isIdle)) {
      startErrors.push(`the orchestrator ended ${current.status} before the planned stop`);
      resumePhase = 'off';
    }
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const stopNow = resumeChanges ? resumeChanges.ready(counts, isIdle)
      : counts.downloaded >= Math.max(stopsDone + 1, Math.ceil(options.archives * stops[stopsDone]));
    if (resumePhase === 'armed' && stopNow) {
      // Stopped from the console midway, then the Resume runbook's StartExecution.
      if (current.status === 'RUNNING') run.runtime.stopExecution(current.executionArn, 'Rehearsal.Stopped', 'stopped midway by the rehearsal');
      event(`orchestrator stopped (${stopsDone + 1}/${stops.length}) with ${counts.downloaded} archive(s) downloaded; resuming`);
      await run.runtime.whenDone(current.executionArn);
      await run.start(resumeChanges ? await resumeChanges.resume(runId, vaultName) : resumeInput(runId, vaultName));
      if (resumeChanges) event(resumeChanges.stopSummary());
      stopsDone++;
      resumePhase = stopsDone < stops.length ? 'armed' : 'resumed';
      continue;
    }
    if (isIdle) {
      if (windowPhase === 'copy-paused' && initiateDone() && counts.pending === 0 && counts.requested === 0) {
        // Everything is staged (or copied in one request); jump close to the end of the window,
        // fire the extension schedule there and let copying go on.
        env.clock.advance(22 * HOUR);
        await Promise.all(run.fire('window'));
        env.pollers.chunks.start();
        windowPhase = 'done';
        event(`expired-window: clock +22 h, ${run.totals.extension.extended} archive(s) re-requested by DownloadWindowExtension, chunk copying resumed`);
        continue;
      }
      const next = env.clock.nextEventAt();
      if (next !== undefined) env.clock.advanceTo(next);
    }
    scheduled.push(...run.fireDueSchedules());
    await sleep(isIdle ? 20 : 40);
  }
  if (windowPhase !== 'done' || resumeCopyPaused) env.pollers.chunks.start();
  await expectations?.restore();
  await Promise.race([Promise.allSettled(scheduled), sleep(5_000)]);
  const final: Record<string, number> = {};
  for (const s of [ArchiveStatus.PENDING, ArchiveStatus.REQUESTED, ArchiveStatus.STAGED, ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED]) final[s] = await countStatus(env, runId, s);
  report(timedOut ? 'timed out' : 'finished', final);
  const partitions = await readPartitions(env, runId);
  const last = run.current!;
  const runReport = (last.output as { report?: { manifestKey?: string; failedArchivesKey?: string; prefix?: string } } | undefined)?.report;
  // The report and the saved run read both buckets through the local S3's views.
  await env.s3.refresh([NAMES.bucket, NAMES.inventoryBucket]);
  const result = await buildReport(env, {
    runId,
    faults: options.faults,
    archives: vault.archives,
    keyPrefix,
    timedOut,
    startedAt,
    virtualStartMs: virtualStart,
    vaultName,
    requireAllDownloaded: options.requireAllDownloaded,
    requireExactlyOnce: options.requireExactlyOnce ?? options.faults === 'stop-resume-twice',
    fileOf: partitions.fileOf,
    runReport: runReport?.prefix ? { prefix: runReport.prefix, manifestKey: runReport.manifestKey!, failedArchivesKey: runReport.failedArchivesKey! } : undefined,
    expectations,
    // A resume resets each archive's job count, so the bound holds per attempt: checked in runs without one.
    retrievalJobBound: stops.length === 0 ? maxRetrievalJobsFromEnv() : undefined,
    expectedKeys: resumeChanges?.expectedKeys(),
  });
  if (resumeChanges) result.problems.push(...await resumeChanges.check(runId));
  const initiations = run.executionsOf('InitiateRetrieval');
  const windows = run.windowExecutions();
  const stages: StageSummary = {
    inventory: {
      status: run.executionsOf('InventoryRetrieval').map((e) => e.status).join('+') || 'not started',
      jobs: run.totals.inventory.jobsInitiated,
      chunks: run.totals.inventory.chunks,
      polls: run.totals.inventory.polls,
      renamed: run.totals.inventory.summary?.renamedCount ?? 0,
    },
    partitions: partitions.partitions,
    partitionFiles: partitions.files,
    orchestrator: run.executions.map((e) => e.status).join('+'),
    initiateStatus: initiations.map((e) => e.status).join('+') || 'not started',
    initiate: run.totals.initiate,
    quotaWaits: initiations.reduce((n, e) => n + run.runtime.transitions(e.executionArn, { nested: true }).filter((t) => t === 'WaitForQuota').length, 0),
    extensionExecutions: windows.length,
    extended: run.totals.extension.extended,
    extensionListed: run.totals.extension.listed,
    recovery: {
      overdue: run.totals.extension.overdue ?? 0, recovered: run.totals.extension.recovered ?? 0, unknownJobs: run.totals.extension.unknownJobs ?? 0,
    },
    scheduleFirings: run.totals.scheduleFirings,
  };
  for (const e of startErrors) result.problems.push(e);
  if (last.status !== 'SUCCEEDED') {
    result.problems.push(`Orchestrator ended ${last.status}: ${last.error ?? ''} ${(last.cause ?? '').slice(0, 300)}`);
  }
  for (const e of initiations.filter((x) => x.status !== 'SUCCEEDED' && x.status !== 'ABORTED')) {
    result.problems.push(`InitiateRetrieval ended ${e.status}: ${e.error ?? ''} ${(e.cause ?? '').slice(0, 300)}`);
  }
  if (run.totals.initiate.invalid > 0) result.problems.push(`InitiateRetrieval saw ${run.totals.initiate.invalid} partition row(s) without ArchiveId (CSV quoting?)`);
  for (const w of windows.filter((x) => x.status !== 'SUCCEEDED' && x.status !== 'ABORTED').slice(0, 3)) {
    result.problems.push(`DownloadWindowExtension ${w.status} ${w.error ?? ''}: ${(w.cause ?? '').slice(0, 200)}`);
  }
  for (const e of run.scheduleErrors.slice(0, 3)) result.problems.push(e);
  for (const e of run.statusChangeProblems()) result.problems.push(e);
  if (run.targets(NAMES.completionRule).length + run.targets(NAMES.dashboardRule).length + run.targets(NAMES.downloadWindowRule).length > 0) {
    result.problems.push('schedule targets left on the shared rules after the run ended');
  }
  if (resumePhase === 'resumed' && run.executions.length !== stops.length + 1) {
    result.problems.push(`resume: ${run.executions.length} orchestrator execution(s), expected ${stops.length + 1}`);
  }
  if (stops.length > 0 && resumePhase !== 'resumed') result.problems.push(`resume: the run was stopped and resumed ${stopsDone} time(s), planned ${stops.length}`);
  if (options.faults === 'crash-at-boundaries') {
    const missed = CRASH_BOUNDARIES.filter((b) => !result.injectedFaults[`crash@${b}`]);
    if (missed.length > 0) result.problems.push(`crash-at-boundaries: no crash injected at ${missed.join(', ')} (the run never reached that boundary)`);
  }
  if (options.faults === 'dynamodb-conflicts' && (!result.injectedFaults['twin-invocation'] || result.conflicts.total === 0)) {
    result.problems.push(`dynamodb-conflicts: ${result.injectedFaults['twin-invocation'] ?? 0} twin invocation(s), ${result.conflicts.total} conflict(s): the fault did not make writers race`);
  }
  if (options.faults === 'reordered' && !result.injectedFaults['sqs-batch-reversed']) result.problems.push('reordered: no batch of messages was sent, nothing was reversed');
  if (env.uncaught.length > 0) {
    result.problems.push(`${env.uncaught.length} exception(s) escaped the handlers (each would crash the Lambda runtime), first: ${env.uncaught[0]}`);
  }
  if (options.faults === 'lost-notifications') {
    // Every dropped notification must have been re-announced (each archive job completes once; none expires in this profile).
    const lost = result.injectedFaults['lost-notification'] ?? 0;
    const recovered = run.totals.extension.recovered ?? 0;
    if (lost === 0) result.problems.push('lost-notifications: no notification was dropped, the fault did not exercise the recovery');
    else if (recovered < lost) result.problems.push(`lost-notifications: ${lost} notification(s) dropped, only ${recovered} re-announced by RecoverLostNotifications`);
  }
  if (expiredWindow && run.totals.extension.extended === 0) result.problems.push('expired-window: no archive was re-requested, the fault did not exercise the extension');
  if (options.requireQuotaWait && stages.quotaWaits === 0) result.problems.push('quota: InitiateRetrieval never passed WaitForQuota, the quota was not exercised');
  if (options.requireQuotaWait && result.quota.maxWindowBytes > result.quota.dailyQuotaBytes) {
    result.problems.push(`quota: ${result.quota.maxWindowBytes} bytes in a rolling 24 h > DAILY_QUOTA_BYTES ${result.quota.dailyQuotaBytes}`);
  }
  const stateTransitions = run.runtime.events.filter((e) => e.type === 'StateEntered').length;
  run.close();
  let decommission: string[] | undefined;
  if (options.decommission) {
    if (result.problems.length > 0) {
      result.problems.push('decommission: not run, the transfer has problems');
    } else {
      const check = await checkDecommission(env, runId, vaultName);
      result.problems.push(...check.problems);
      decommission = check.lines;
    }
  }
  // The dashboard, rehearsed: its widgets against what the handlers published during this run.
  const dashboard = options.dashboard === undefined ? undefined : checkDashboard(options.dashboard, env.cloudWatch.datapoints, runId, { from: virtualStart, to: env.clock.now() }, {
    traffic: result.downloaded + result.failed + result.skipped > 0,
    downloaded: result.downloaded > 0,
    decommission: options.decommission === true && decommission !== undefined,
  });
  result.problems.push(...dashboard?.problems ?? []);
  return { ...result, chunkSizeBytes: options.chunkSize, stateTransitions, stages, decommission, dashboard, timeline: { virtualStartMs: virtualStart, points: timeline.points }, ok: result.problems.length === 0 };
}
