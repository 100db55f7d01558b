import { join } from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatDeployment, runConcurrentVaults, VAULTS_FAULT_PROFILES } from './concurrent';
import { synthesizeDashboard } from './dashboard/synth';
import { startEnvironment } from './environment';
import { FAULT_DESCRIPTIONS, FAULT_PROFILES, FaultProfile } from './faults';
import { formatReport, RunReport } from './report';
import { captureHandlerLogs, checkHandlerLogs } from './report/handler-logs';
import { createOutputFolder, DEFAULT_OUTPUT_ROOT, displayPath, writeJson } from './report/output-folder';
import { plainProgress, terminalProgress } from './report/progress';
import { saveRun } from './report/save-run';
import { captureSdkNoise } from './report/sdk-noise';
import { runRehearsal, RunOptions } from './run';
import { SERVICES_BACKENDS, ServicesBackend } from './services/backend';
import type { SizeProfile } from './vault-generator';
import { OrchestrationEnv } from '../src/contract/environment';
import { validateChunkSize } from '../src/core/chunk-plan';
import { fmtBytes } from '../src/core/cost';

/*
 * Local end-to-end rehearsal: the REAL state machines and handlers against local services.
 *   npx projen rehearse [--archives N] [--size-profile tiny|mixed|large] [--faults PROFILE] …
 *   tsx rehearsal/main.ts --profile ci      (the fixed CI matrix; exit code 1 on any problem)
 *   tsx rehearsal/main.ts --profile faults --archives 200   (every fault profile on a larger vault: npx projen rehearse:faults)
 */

const MiB = 1024 * 1024;

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/** The CI matrix: every fault profile back to back, ~150 MiB in total. */
interface CiRun {
  readonly faults: FaultProfile;
  readonly archives: number;
  readonly sizeProfile: SizeProfile;
  readonly maxTotalBytes: number;
  readonly dailyQuotaBytes?: number;
  /** Run id suffix instead of the fault profile. */
  readonly label?: string;
  /** Vault seed instead of `<--seed>-<matrix index>` (a run that needs a vault of a certain shape). */
  readonly seed?: string;
  /** Stop the orchestrator once this fraction is downloaded, then resume the run. */
  readonly stopAndResumeAt?: number;
  /** Every key written exactly once (profiles without redelivered work). */
  readonly requireExactlyOnce?: boolean;
  /** InitiateRetrieval must wait for quota at least once. */
  readonly requireQuotaWait?: boolean;
  /** Tamper with two objects, then a dry and a real VaultDecommission. */
  readonly decommission?: boolean;
  /** This many vaults (`archives` each) at once: concurrent runs of one deployment (concurrent.ts). */
  readonly vaults?: number;
}

const CI_MATRIX: CiRun[] = [
  { faults: 'none', archives: 24, sizeProfile: 'mixed', maxTotalBytes: 40 * MiB, requireExactlyOnce: true },
  { faults: 'duplicates', archives: 12, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB },
  { faults: 'throttling', archives: 10, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB },
  { faults: '5xx', archives: 10, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB },
  { faults: 'corrupt-chunk', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB },
  { faults: 'crash-between-steps', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB },
  { faults: 'expired-window', archives: 8, sizeProfile: 'mixed', maxTotalBytes: 16 * MiB, requireExactlyOnce: true },
  { faults: 'reordered', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB },
  { faults: 'dynamodb-conflicts', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB },
  // Every boundary at least once (the run checks it): mixed sizes, so some archives are multipart.
  { faults: 'crash-at-boundaries', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB },
  { faults: 'stop-resume-twice', archives: 12, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB, requireExactlyOnce: true },
  // ~30 % of archive-job notifications never published: RecoverLostNotifications must re-announce each of them.
  { faults: 'lost-notifications', archives: 12, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB, requireExactlyOnce: true },
  // A binding DAILY_QUOTA_BYTES (2 MiB for this 3.4 MiB vault): InitiateRetrieval passes WaitForQuota.
  {
    faults: 'none',
    label: 'quota',
    archives: 10,
    sizeProfile: 'tiny',
    maxTotalBytes: 8 * MiB,
    dailyQuotaBytes: 2 * MiB,
    requireQuotaWait: true,
    requireExactlyOnce: true,
  },
  // StopExecution of the orchestrator midway, then the Resume runbook's input for the same run id.
  { faults: 'none', label: 'resume', archives: 12, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB, stopAndResumeAt: 0.3, requireExactlyOnce: true },
  // A transfer, two destination objects tampered with, then a dry and a real VaultDecommission.
  { faults: 'none', label: 'decommission', archives: 6, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB, decommission: true, requireExactlyOnce: true },
  // Persistent faults (terminal-faults.ts): exactly the poisoned archives end FAILED with their reason.
  // This seed's vault has the three multipart archives the profile needs (35 MiB).
  { faults: 'poison', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 40 * MiB, seed: 'poison-28' },
  { faults: 'bad-rows', archives: 8, sizeProfile: 'tiny', maxTotalBytes: 8 * MiB, requireExactlyOnce: true },
  { faults: 'existing-objects', archives: 10, sizeProfile: 'mixed', maxTotalBytes: 28 * MiB, requireExactlyOnce: true },
  // A stop midway (archives downloaded, failed, requested, staged), then a Resume with another storage class,
  // a naming override and RetryFailed YES. 'mixed' for one multipart archive (8 MiB + 1) to catch staged.
  { faults: 'resume-changes', archives: 9, sizeProfile: 'mixed', maxTotalBytes: 12 * MiB },
  // Three vaults at once (three Launches of one deployment) sharing a binding 4 MiB quota: the quota holds
  // over all runs, and each run's counts, metrics and report are exactly its own vault's. This seed's
  // vaults hold 2 MiB each (6 MiB; other seeds' can shrink below the quota).
  {
    faults: 'none',
    label: 'vaults',
    seed: 'vaults-1',
    vaults: 3,
    archives: 8,
    sizeProfile: 'tiny',
    maxTotalBytes: 2 * MiB,
    dailyQuotaBytes: 4 * MiB,
    requireQuotaWait: true,
    requireExactlyOnce: true,
  },
];

async function main(): Promise<number> {
  const program = new Command()
    .name('rehearse')
    .description('End-to-end rehearsal of the whole pipeline (Launch runbook input to run report) on a generated vault against local services (no AWS account, no Docker)')
    .option('--archives <n>', 'number of archives in the generated vault', positiveInt, 24)
    .addOption(new Option('--size-profile <profile>', 'archive size mix').choices(['tiny', 'mixed', 'large']).default('mixed'))
    .option('--seed <seed>', 'seed of the generated vault and of the fault decisions', '1')
    .option('--chunk-size-mib <mib>', 'chunk (S3 part) size in MiB, a power of two >= 8', positiveInt, 8)
    .addOption(new Option('--faults <profile>', 'fault profile').choices([...FAULT_PROFILES]).default('none'))
    .addOption(new Option('--profile <profile>', 'run a matrix instead of one run: ci (fixed, small), faults (every fault profile with --archives/--size-profile/--max-total-mib)').choices(['ci', 'faults']))
    .option('--max-total-mib <mib>', 'cap on the generated vault size', positiveInt)
    .option('--only <runs>', 'with --profile ci: only these CI runs, comma-separated, each its number (7) or label (expired-window, quota); seeds as in the full matrix', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--daily-quota-mib <mib>', 'DAILY_QUOTA_BYTES of the request stages in MiB (default 1 TiB)', positiveInt)
    .option('--vaults <n>', `transfer this many generated vaults (--archives each) at once: concurrent runs of one deployment sharing one daily quota (2 to 5; faults: ${VAULTS_FAULT_PROFILES.join(', ')})`, positiveInt)
    .option('--decommission', 'after the transfer, tamper with two objects and run a dry and a real VaultDecommission')
    .option('--output <dir>', `folder for this invocation's results (default: a new time-stamped folder under ${displayPath(DEFAULT_OUTPUT_ROOT)}/)`)
    .option('--speed <factor>', 'virtual clock speed (virtual ms per wall ms); the clock also jumps when the pipeline is idle', Number, 60)
    .option('--timeout <seconds>', 'give up on a run after this many wall seconds (default 300 per run, 1200 with --profile faults)', positiveInt)
    .option('--handler-log-level <level>', 'print the handlers\' log lines from this level on (SILENT: none); INFO and above are captured anyway for the log-field check', 'SILENT')
    .addOption(new Option('--services <backend>', 'who serves S3, DynamoDB (streams), SQS and SNS: the project\'s own local services or a moto server (npx projen rehearse:setup)').choices(SERVICES_BACKENDS).default('own'))
    .addOption(new Option('--engine <engine>', 'inventory engine: lambda, or glue (every inventory through a local Spark run of glue/inventory_job.py\'s engine; needs `npx projen spark:install`)').choices(['lambda', 'glue']).default('lambda'))
    .addHelpText('after', `\nFault profiles:\n${FAULT_PROFILES.map((p) => `  ${p.padEnd(20)} ${FAULT_DESCRIPTIONS[p]}`).join('\n')}`);
  // `npx projen rehearse -- --archives 40` hands the separator through; options follow it.
  const argv = process.argv.slice(2);
  program.parse(argv[0] === '--' ? argv.slice(1) : argv, { from: 'user' });
  const opts = program.opts<{
    archives: number;
    sizeProfile: SizeProfile;
    seed: string;
    chunkSizeMib: number;
    faults: FaultProfile;
    profile?: 'ci' | 'faults';
    maxTotalMib?: number;
    dailyQuotaMib?: number;
    decommission?: boolean;
    vaults?: number;
    output?: string;
    speed: number;
    timeout?: number;
    handlerLogLevel: string;
    services: ServicesBackend;
    engine: 'lambda' | 'glue';
    only?: string[];
  }>();
  if (opts.only !== undefined && opts.profile !== 'ci') program.error('error: --only picks runs of --profile ci');
  const ciRuns = CI_MATRIX.map(({ label, ...m }, i) => ({ runId: `ci${i + 1}-${label ?? m.faults}`, seed: `${opts.seed}-${i}`, requireAllDownloaded: true, ...m }));
  const isNamed = (runId: string, name: string): boolean => runId.startsWith(`ci${name}-`) || runId.endsWith(`-${name}`);
  const unknownRuns = (opts.only ?? []).filter((name) => !ciRuns.some((r) => isNamed(r.runId, name)));
  if (unknownRuns.length > 0) program.error(`error: --only ${unknownRuns.join(',')}: expected CI run numbers or labels (${ciRuns.map((r) => r.runId).join(', ')})`);
  if (opts.vaults !== undefined) {
    if (opts.profile !== undefined || opts.decommission) program.error('error: --vaults runs one group of concurrent runs: it cannot be combined with --profile or --decommission');
    if (opts.vaults < 2 || opts.vaults > 5) program.error(`error: --vaults ${opts.vaults}: expected 2 to 5 (a deployment holds at most five active runs)`);
    if (!VAULTS_FAULT_PROFILES.includes(opts.faults)) program.error(`error: --faults ${opts.faults} is not supported with --vaults; use one of ${VAULTS_FAULT_PROFILES.join(', ')}`);
  }
  // Read by rehearsal/services/glue-local.ts when the state machines are built.
  process.env.REHEARSAL_INVENTORY_ENGINE = opts.engine;
  // Under `--faults all` a 40-archive run through the orchestrator takes about two minutes.
  // A local Spark run (JVM start-up, then the job) adds minutes of wall time on a busy machine.
  const timeoutSeconds = opts.timeout ?? (opts.profile === 'faults' ? 1200 : 300) + (opts.engine === 'glue' ? 900 : 0);
  const chunkSize = opts.chunkSizeMib * MiB;
  validateChunkSize(chunkSize, '--chunk-size-mib');

  // A progress bar on a terminal; plain lines every 10 s in CI or when piped.
  const display = process.env.CI !== 'true' && process.stdout.isTTY
    ? terminalProgress(process.stdout)
    : plainProgress((text) => process.stdout.write(text), 10_000);
  const sdkNoise = captureSdkNoise();
  const handlerLogs = captureHandlerLogs(opts.handlerLogLevel);
  const wallStart = Date.now();
  const outputDir = createOutputFolder(opts.output);
  // The dashboard as deployed (the L3 synthesized): the handlers publish to the namespace the
  // template gives them, and every run's widgets are evaluated against what they published.
  const dashboard = synthesizeDashboard();
  const env = await startEnvironment({ chunkSize, speed: opts.speed, handlerLogLevel: opts.handlerLogLevel, services: opts.services });
  process.env[OrchestrationEnv.METRICS_NAMESPACE] = dashboard.metricsNamespace;
  const reports: RunReport[] = [];
  try {
    const runs: (Omit<RunOptions, 'progress' | 'chunkSize' | 'timeoutMs'> & { vaults?: number })[] = opts.profile === 'ci'
      ? ciRuns.filter((r) => opts.only === undefined || opts.only.some((name) => isNamed(r.runId, name)))
      : opts.profile === 'faults'
        ? FAULT_PROFILES.map((faults, i) => ({
          runId: `faults${i + 1}-${faults}-${Date.now().toString(36)}`,
          seed: `${opts.seed}-${i}`,
          archives: opts.archives,
          sizeProfile: opts.sizeProfile,
          faults,
          maxTotalBytes: opts.maxTotalMib ? opts.maxTotalMib * MiB : undefined,
          // Every injected fault is transient: everything must be downloaded.
          requireAllDownloaded: true,
        }))
        : [{
          runId: `${opts.vaults ? 'vaults' : 'run'}-${opts.faults}-${Date.now().toString(36)}`,
          vaults: opts.vaults,
          seed: opts.seed,
          archives: opts.archives,
          sizeProfile: opts.sizeProfile,
          faults: opts.faults,
          maxTotalBytes: opts.maxTotalMib ? opts.maxTotalMib * MiB : undefined,
          dailyQuotaBytes: opts.dailyQuotaMib ? opts.dailyQuotaMib * MiB : undefined,
          requireQuotaWait: opts.dailyQuotaMib !== undefined,
          decommission: opts.decommission,
        }];
    for (const run of runs) {
      if (run.vaults !== undefined) {
        // One deployment, `vaults` Launches at once: a report per run, then the deployment's line.
        const group = await runConcurrentVaults(env, {
          runIds: Array.from({ length: run.vaults }, (_, i) => `${run.runId}-${i + 1}`),
          label: run.runId,
          seed: run.seed,
          archives: run.archives,
          sizeProfile: run.sizeProfile,
          chunkSize,
          faults: run.faults,
          maxTotalBytes: run.maxTotalBytes,
          dailyQuotaBytes: run.dailyQuotaBytes,
          // The default timeout is per run; a group of N concurrent runs gets N times it (an explicit --timeout is the group's).
          timeoutMs: timeoutSeconds * 1000 * (opts.timeout === undefined ? run.vaults : 1),
          requireAllDownloaded: run.requireAllDownloaded,
          requireExactlyOnce: run.requireExactlyOnce,
          requireQuotaWait: run.requireQuotaWait,
          progress: display,
          dashboard,
        });
        display.endRun(run.runId);
        const sdkStreamingWarnings = sdkNoise.take();
        // The runs' lines interleave: each run's archive stories are found by archiveId among all of them.
        const groupLines = handlerLogs.take();
        for (const result of group.reports) {
          const logCheck = checkHandlerLogs(groupLines, result.archiveRows ?? []);
          const report = {
            ...result,
            sdkStreamingWarnings,
            handlerLogs: logCheck,
            problems: [...result.problems, ...logCheck.problems],
            ok: result.ok && logCheck.problems.length === 0,
          };
          reports.push(report);
          saveRun(env, outputDir, report);
          process.stdout.write(`${formatReport(report)}\n`);
        }
        process.stdout.write(`${formatDeployment(run.runId, group.deployment)}\n`);
        continue;
      }
      const result = await runRehearsal(env, { ...run, chunkSize, timeoutMs: timeoutSeconds * 1000, progress: display, dashboard });
      // The saved Logs Insights queries' fields, checked on the lines the handlers logged in this run.
      const logCheck = checkHandlerLogs(handlerLogs.take(), result.archiveRows ?? []);
      const report = {
        ...result,
        sdkStreamingWarnings: sdkNoise.take(),
        handlerLogs: logCheck,
        problems: [...result.problems, ...logCheck.problems],
        ok: result.ok && logCheck.problems.length === 0,
      };
      display.endRun(report.runId);
      reports.push(report);
      saveRun(env, outputDir, report);
      process.stdout.write(`${formatReport(report)}\n`);
    }
  } finally {
    await env.stop();
    sdkNoise.restore();
    handlerLogs.restore();
  }
  const wallMs = Date.now() - wallStart;
  const failed = reports.filter((r) => !r.ok);
  process.stdout.write(`\nrehearsal: ${reports.length - failed.length}/${reports.length} run(s) passed, `
    + `${reports.reduce((n, r) => n + r.archives, 0)} archives, ${fmtBytes(reports.reduce((n, r) => n + r.bytes, 0))}, wall time ${(wallMs / 1000).toFixed(1)} s\n`);
  writeJson(join(outputDir, 'rehearsal.json'), { wallTimeMs: wallMs, runs: reports.map((r) => ({ runId: r.runId, ok: r.ok, folder: r.runId })) });
  process.stdout.write(`results: ${displayPath(outputDir)}/ (per run: report.html, report.json, pipeline-report/)\n`);
  return failed.length === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
  // Handlers' SDK clients keep sockets alive; do not wait for them.
  setTimeout(() => process.exit(code), 200).unref();
}, (e: unknown) => {
  process.stderr.write(`rehearsal failed to run: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(2);
});
