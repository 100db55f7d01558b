/* eslint-disable @stylistic/max-len */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { checkDashboard } from './dashboard/check';
import { Environment, MACHINES, NAMES } from './environment';
import type { FaultProfile } from './faults';
import { buildReport, checkPublishedMetrics, checkQuota, expectedObjectKeys, QuotaCheck, RunReport, StageSummary } from './report';
import { StatusTimeline } from './report/timeline';
import { countStatus, idle, LOOP_STATUSES, loopCounts, readPartitions, resetForRun, RunOptions } from './run';
import { sleep } from './services/common';
import type { ExecutionRecord } from './sfn/runner';
import { launchInput, OrchestratedRun } from './stages/orchestrator';
import { GeneratedVault, generateVault } from './vault-generator';
import { InventoryEnv, OrchestrationEnv } from '../src/contract/environment';
import { QUOTA_LEDGER_PK } from '../src/contract/keys';
import { fmtBytes } from '../src/core/cost';

/*
 * `--vaults N`: N generated vaults transferred at once by N concurrent runs (N Launches, N run ids)
 * of ONE deployment: one SfnRuntime with the four state machines (an OrchestratedRun started N
 * times), one transfer/metrics table, one set of queues and pollers, one destination prefix, one
 * schedule rule per kind holding N targets, one quota ledger. Each run gets its own report, checked
 * against its own vault only; the deployment checks cover what the runs share.
 */

/** Fault profiles `--vaults` accepts: transient faults the harness only injects (no choreography of its own, no profile-specific check). */
export const VAULTS_FAULT_PROFILES: readonly FaultProfile[] = ['none', 'duplicates', 'throttling', '5xx', 'corrupt-chunk', 'crash-between-steps', 'reordered', 'dynamodb-conflicts'];

/** The destination prefix of the deployment: every vault's keys live under it. */
export const VAULTS_KEY_PREFIX = 'vaults/';

/** Added to the archive index in each vault's generated names (vault i: i × this), so keys never collide across vaults. */
const NAME_OFFSET = 100_000;

/**
 * A `--vaults` group. As for one run, except: `archives` and `maxTotalBytes` are per vault,
 * `dailyQuotaBytes` is the deployment's (every run shares its ledger), `timeoutMs` covers all runs
 * together, and `requireQuotaWait` asks that some run pass WaitForQuota and that the vaults together
 * exceed the quota.
 */
export interface VaultsOptions extends Pick<RunOptions, 'seed' | 'archives' | 'sizeProfile' | 'chunkSize' | 'faults' | 'maxTotalBytes' | 'dailyQuotaBytes'
| 'timeoutMs' | 'requireAllDownloaded' | 'requireExactlyOnce' | 'requireQuotaWait' | 'progress' | 'dashboard'> {
  /** Run id of each vault's run; as many vaults as ids. */
  readonly runIds: readonly string[];
  /** Label of the whole group (progress line, deployment summary). */
  readonly label: string;
}

export interface VaultsResult {
  /** One report per run, in `runIds` order; deployment-wide problems are in every run's problems. */
  readonly reports: RunReport[];
  /** What the runs share, for the printed output. */
  readonly deployment: {
    readonly runs: number;
    readonly archives: number;
    readonly bytes: number;
    /** Rolling-24-h check over every run's requests together. */
    readonly quota: QuotaCheck;
    readonly quotaWaits: Record<string, number>;
    readonly problems: string[];
    readonly wallTimeMs: number;
  };
}

interface VaultRun {
  readonly runId: string;
  readonly vaultName: string;
  readonly vault: GeneratedVault;
  readonly timeline: StatusTimeline;
  orchestrator?: ExecutionRecord;
}

const byRun = (runId: string) => (e: ExecutionRecord): boolean => (e.input as { runId?: unknown } | undefined)?.runId === runId;

/** Keys two vaults would both write under one destination prefix: the harness's naming must prevent any. */
export function sharedKeys(vaults: readonly GeneratedVault[], prefix: string): string[] {
  const owner = new Map<string, number>();
  const shared: string[] = [];
  vaults.forEach((vault, i) => {
    for (const key of expectedObjectKeys(vault.archives, prefix).values()) {
      if (owner.has(key) && owner.get(key) !== i) shared.push(key);
      owner.set(key, i);
    }
  });
  return shared;
}

/** Vault i of a `--vaults` group: its own seed, and file names offset so no two vaults share a key. */
export function groupVault(options: Pick<VaultsOptions, 'seed' | 'archives' | 'sizeProfile' | 'chunkSize' | 'maxTotalBytes'>, i: number): GeneratedVault {
  return generateVault({
    seed: `${options.seed}-vault${i + 1}`,
    count: options.archives,
    sizeProfile: options.sizeProfile,
    chunkSize: options.chunkSize,
    maxTotalBytes: options.maxTotalBytes,
    nameOffset: i * NAME_OFFSET,
  });
}

/** Runs N vaults at once through one deployment; a report per run plus the deployment's checks. */
export async function runConcurrentVaults(env: Environment, options: VaultsOptions): Promise<VaultsResult> {
  if (!VAULTS_FAULT_PROFILES.includes(options.faults)) {
    throw new Error(`--vaults: fault profile ${options.faults} is not supported with concurrent runs; use one of ${VAULTS_FAULT_PROFILES.join(', ')}`);
  }
  if (options.runIds.length < 2 || options.runIds.length > 5) {
    throw new Error(`--vaults: ${options.runIds.length} vault(s); expected 2 to 5 (a deployment holds at most five active runs: five targets per EventBridge rule)`);
  }
  const startedAt = Date.now();
  const virtualStart = env.clock.now();
  await resetForRun(env, options);

  const runs: VaultRun[] = options.runIds.map((runId, i) => ({
    runId,
    vaultName: `rehearsal-${runId}`,
    vault: groupVault(options, i),
    timeline: new StatusTimeline(),
  }));
  const deploymentProblems: string[] = [];
  const collisions = sharedKeys(runs.map((r) => r.vault), VAULTS_KEY_PREFIX);
  if (collisions.length > 0) deploymentProblems.push(`${collisions.length} key(s) expected from two vaults at once (the harness's naming must keep vaults apart), e.g. ${JSON.stringify(collisions[0])}`);
  for (const r of runs) {
    env.glacier.createVault(r.vaultName);
    for (const archive of r.vault.archives) env.glacier.addArchive(r.vaultName, archive);
  }
  // One deployment: one destination prefix; partitions of about a third of the smallest vault (≥ 2 partitions each).
  process.env[InventoryEnv.DESTINATION_PREFIX] = VAULTS_KEY_PREFIX;
  process.env[InventoryEnv.PARTITION_SIZE] = String(Math.max(1, Math.ceil(Math.min(...runs.map((r) => r.vault.totalBytes)) / 3)));
  const totalArchives = runs.reduce((n, r) => n + r.vault.archives.length, 0);
  const totalBytes = runs.reduce((n, r) => n + r.vault.totalBytes, 0);

  // One deployment = one runtime with the four machines; each Launch is its own orchestrator execution.
  const deployment = new OrchestratedRun(env);
  for (const r of runs) r.orchestrator = await deployment.start(launchInput(r.runId, r.vaultName, { tier: 'Bulk' }));
  const running = (): boolean => runs.some((r) => r.orchestrator!.status === 'RUNNING');
  const scheduled: Promise<unknown>[] = [];
  const deadline = startedAt + options.timeoutMs;
  let timedOut = false;
  const sample = (phase: 'running' | 'finished' | 'timed out', perRun: Record<string, number>[]): void => {
    const summed: Record<string, number> = {};
    runs.forEach((r, i) => {
      r.timeline.record(env.clock.now() - virtualStart, perRun[i]);
      for (const [s, n] of Object.entries(perRun[i])) summed[s] = (summed[s] ?? 0) + n;
    });
    options.progress.sample({
      runId: options.label,
      phase,
      wallMs: Date.now() - startedAt,
      virtualMs: env.clock.now() - virtualStart,
      archives: totalArchives,
      totalBytes,
      counts: summed,
      orchestrator: runs.map((r) => r.orchestrator!.status).join('+'),
      jobsPending: env.glacier.pendingJobs(),
    });
  };
  for (;;) {
    const counts = await Promise.all(runs.map(async (r) => loopCounts(env, r.runId)));
    let isIdle = await idle(env);
    // Idle until a schedule fires: jump from firing to firing while nothing else happens.
    while (isIdle && running() && env.clock.nextEventAt() === deployment.nextFiringAt() && Date.now() <= deadline) {
      env.clock.advanceTo(deployment.nextFiringAt());
      await Promise.all(deployment.fireDueSchedules());
      isIdle = env.activity.busy === 0;
    }
    sample('running', counts);
    if (!running() && isIdle) break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    if (isIdle) {
      const next = env.clock.nextEventAt();
      if (next !== undefined) env.clock.advanceTo(next);
    }
    scheduled.push(...deployment.fireDueSchedules());
    await sleep(isIdle ? 20 : 40);
  }
  await Promise.race([Promise.allSettled(scheduled), sleep(5_000)]);
  const finals: Record<string, number>[] = [];
  for (const r of runs) {
    const final: Record<string, number> = {};
    for (const s of LOOP_STATUSES) final[s] = await countStatus(env, r.runId, s);
    finals.push(final);
  }
  sample(timedOut ? 'timed out' : 'finished', finals);

  await env.s3.refresh([NAMES.bucket, NAMES.inventoryBucket]);
  const keysOf = new Map(runs.map((r) => [r.runId, new Set(expectedObjectKeys(r.vault.archives, VAULTS_KEY_PREFIX).values())]));
  const quotaWaits: Record<string, number> = {};
  const reports: RunReport[] = [];
  for (const r of runs) {
    const partitions = await readPartitions(env, r.runId);
    const record = r.orchestrator!;
    const pipelineReport = (record.output as { report?: { manifestKey?: string; failedArchivesKey?: string; prefix?: string } } | undefined)?.report;
    const otherRunsKeys = new Set(runs.filter((o) => o !== r).flatMap((o) => [...keysOf.get(o.runId)!]));
    const result = await buildReport(env, {
      runId: r.runId,
      faults: options.faults,
      archives: r.vault.archives,
      keyPrefix: VAULTS_KEY_PREFIX,
      timedOut,
      startedAt,
      virtualStartMs: virtualStart,
      vaultName: r.vaultName,
      requireAllDownloaded: options.requireAllDownloaded,
      requireExactlyOnce: options.requireExactlyOnce,
      fileOf: partitions.fileOf,
      runReport: pipelineReport?.prefix ? { prefix: pipelineReport.prefix, manifestKey: pipelineReport.manifestKey!, failedArchivesKey: pipelineReport.failedArchivesKey! } : undefined,
      otherRunsKeys,
    });
    const initiations = deployment.executionsOf(MACHINES.initiate).filter(byRun(r.runId));
    const windows = deployment.windowExecutions().filter(byRun(r.runId));
    quotaWaits[r.runId] = initiations.reduce((n, e) => n + deployment.runtime.transitions(e.executionArn, { nested: true }).filter((t) => t === 'WaitForQuota').length, 0);
    const stages: StageSummary = {
      // Batch calls, chunks, polls and schedule firings are the deployment's (summed over its runs); statuses and quota waits are this run's.
      inventory: {
        status: deployment.executionsOf(MACHINES.inventory).filter(byRun(r.runId)).map((e) => e.status).join('+') || 'not started',
        jobs: deployment.totals.inventory.jobsInitiated,
        chunks: deployment.totals.inventory.chunks,
        polls: deployment.totals.inventory.polls,
        renamed: 0,
      },
      partitions: partitions.partitions,
      partitionFiles: partitions.files,
      orchestrator: record.status,
      initiateStatus: initiations.map((e) => e.status).join('+') || 'not started',
      initiate: deployment.totals.initiate,
      quotaWaits: quotaWaits[r.runId],
      extensionExecutions: windows.length,
      extended: deployment.totals.extension.extended,
      extensionListed: deployment.totals.extension.listed,
      scheduleFirings: deployment.totals.scheduleFirings,
    };
    if (record.status !== 'SUCCEEDED') result.problems.push(`Orchestrator ended ${record.status}: ${record.error ?? ''} ${(record.cause ?? '').slice(0, 300)}`);
    for (const e of initiations.filter((x) => x.status !== 'SUCCEEDED' && x.status !== 'ABORTED')) {
      result.problems.push(`InitiateRetrieval ended ${e.status}: ${e.error ?? ''} ${(e.cause ?? '').slice(0, 300)}`);
    }
    for (const w of windows.filter((x) => x.status !== 'SUCCEEDED' && x.status !== 'ABORTED').slice(0, 3)) {
      result.problems.push(`DownloadWindowExtension ${w.status} ${w.error ?? ''}: ${(w.cause ?? '').slice(0, 200)}`);
    }
    // The dashboard's data for this run: its RunId dimension carries exactly its own archives, and
    // the synthesized dashboard's widgets with the run selector set to it have their data.
    result.problems.push(...checkPublishedMetrics(env, process.env[OrchestrationEnv.METRICS_NAMESPACE]!, r.runId, result.archiveRows ?? []));
    const dashboard = options.dashboard === undefined ? undefined : checkDashboard(options.dashboard, env.cloudWatch.datapoints, r.runId, { from: virtualStart, to: env.clock.now() }, {
      traffic: result.downloaded + result.failed + result.skipped > 0,
      downloaded: result.downloaded > 0,
      decommission: false,
    });
    result.problems.push(...dashboard?.problems ?? []);
    reports.push({ ...result, stages, dashboard, timeline: { virtualStartMs: virtualStart, points: r.timeline.points } });
  }

  // What the runs share: schedules, handler exceptions, the quota over all of them.
  for (const e of deployment.scheduleErrors.slice(0, 3)) deploymentProblems.push(e);
  for (const e of deployment.statusChangeProblems()) deploymentProblems.push(e);
  if (deployment.targets(NAMES.completionRule).length + deployment.targets(NAMES.dashboardRule).length + deployment.targets(NAMES.downloadWindowRule).length > 0) {
    deploymentProblems.push('schedule targets left on the shared rules after the runs ended');
  }
  if (env.uncaught.length > 0) deploymentProblems.push(`${env.uncaught.length} exception(s) escaped the handlers (each would crash the Lambda runtime), first: ${env.uncaught[0]}`);
  const ledger = (await env.doc.send(new GetCommand({ TableName: NAMES.metricsTable, Key: { pk: QUOTA_LEDGER_PK }, ConsistentRead: true }))).Item;
  const quota = checkQuota(env, undefined, virtualStart, ledger, deploymentProblems);
  if (options.requireQuotaWait) {
    if (totalBytes <= quota.dailyQuotaBytes) deploymentProblems.push(`quota: the vaults hold ${fmtBytes(totalBytes)}, not more than DAILY_QUOTA_BYTES ${fmtBytes(quota.dailyQuotaBytes)}: the quota cannot bind`);
    if (Object.values(quotaWaits).every((n) => n === 0)) deploymentProblems.push('quota: no run\'s InitiateRetrieval passed WaitForQuota, the shared quota was not exercised');
  }
  deployment.close();
  const tagged = deploymentProblems.map((p) => `deployment (${runs.length} runs): ${p}`);
  return {
    reports: reports.map((r) => {
      const problems = [...r.problems, ...tagged];
      return { ...r, problems, ok: problems.length === 0 };
    }),
    deployment: {
      runs: runs.length,
      archives: totalArchives,
      bytes: totalBytes,
      quota,
      quotaWaits,
      problems: deploymentProblems,
      wallTimeMs: Date.now() - startedAt,
    },
  };
}

/** The deployment's summary line, printed once after the runs' reports. */
export function formatDeployment(label: string, d: VaultsResult['deployment']): string {
  const lines = [
    `── deployment ${label}: ${d.runs} concurrent runs, ${d.archives} archives (${fmtBytes(d.bytes)}) in ${(d.wallTimeMs / 1000).toFixed(1)} s; `
      + `quota: max ${fmtBytes(d.quota.maxWindowBytes)} in any rolling 24 h over all ${d.quota.requests} request(s) of the runs, DAILY_QUOTA_BYTES ${fmtBytes(d.quota.dailyQuotaBytes)}; `
      + `quota waits ${Object.entries(d.quotaWaits).map(([run, n]) => `${run}=${n}`).join(' ')}`,
    ...d.problems.map((p) => `   ✗ ${p}`),
  ];
  return lines.join('\n');
}
