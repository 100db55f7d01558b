/* eslint-disable @stylistic/max-len */
import { createHash } from 'crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parse as parseCsv } from 'csv-parse/sync';
import { DashboardCheck, formatDashboardCheck } from './dashboard/check';
import { Environment, NAMES } from './environment';
import type { FaultProfile } from './faults';
import { formatHandlerLogCheck, HandlerLogCheck } from './report/handler-logs';
import { explainSdkNoise } from './report/sdk-noise';
import type { TimelinePoint } from './report/timeline';
import { checkExpectations, RunExpectations } from './terminal-faults';
import type { GeneratedArchive } from './vault-generator';
import { bytesAttribute, countAttribute, metricsPk, QUOTA_LEDGER_PK } from '../src/contract/keys';
import { statusMetricName } from '../src/contract/metrics';
import { assignUniqueKeys, keyForArchive } from '../src/core/archive-naming';
import { fmtBytes } from '../src/core/cost';
import { parseInventory } from '../src/core/inventory';
import { TreeHasher } from '../src/core/tree-hash';
import { utcSortKey } from '../src/core/utc-timestamp';
import { INVENTORY_HEADER } from '../src/handlers/orchestration/run-report';
import { ArchiveStatus } from '../src/handlers/shared/schema';

/*
 * The final report of one run: every archive accounted for, every destination object compared
 * byte-for-byte (size, SHA-256, tree hash) with the generator and its metadata with the item,
 * metrics counters compared with the true counts, requests per API, DLQ contents, wall time.
 */

export interface ArchiveResult {
  readonly archiveId: string;
  readonly size: number;
  readonly status: string;
  readonly objectKey?: string;
  readonly problems: string[];
}

/** One archive in report.json / report.html. */
export interface ArchiveRow {
  readonly archiveId: string;
  readonly key?: string;
  readonly size: number;
  readonly status: string;
  readonly reason?: string;
  /** What the rehearsal found wrong with it (empty = verified or accounted for). */
  readonly problems: string[];
  /** Archive-retrieval jobs Glacier accepted for it (more than one: re-requested). */
  readonly jobs: number;
}

/** What the stages did (InventoryRetrieval, InitiateRetrieval, DownloadWindowExtension, the orchestrator). */
export interface StageSummary {
  readonly inventory: { status: string; jobs: number; chunks: number; polls: number; renamed: number };
  readonly orchestrator: string;
  readonly scheduleFirings: { completion: number; dashboard: number; window: number };
  readonly partitions: number;
  readonly partitionFiles: number;
  readonly initiateStatus: string;
  readonly initiate?: { invocations: number; requested: number; failed: number; deferred: number; alreadyHandled: number; invalid: number };
  readonly quotaWaits: number;
  readonly extensionExecutions: number;
  readonly extensionListed: number;
  readonly extended: number;
  /** RecoverLostNotifications (first step of DownloadWindowExtension): overdue jobs found, re-announced, unknown to Glacier. */
  readonly recovery?: { overdue: number; recovered: number; unknownJobs: number };
}

/** Quota check: bytes requested from Glacier in any rolling 24 h (virtual time), all runs of the process. */
export interface QuotaCheck {
  readonly dailyQuotaBytes: number;
  /** Largest rolling-24-h sum of InitiateJob bytes seen at a request of this run. */
  readonly maxWindowBytes: number;
  /** Bytes the ledger item holds in its current 24-h window. */
  readonly ledgerWindowBytes: number;
  readonly requests: number;
}

export interface RunReport {
  readonly runId: string;
  readonly faults: FaultProfile;
  readonly archives: number;
  /** Unreadable rows of the inventory (each a FAILED entry of its own, counted in `failed`). */
  readonly unreadableRows?: number;
  readonly bytes: number;
  readonly downloaded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly lost: number;
  readonly verified: number;
  /** Bytes of the verified archives (size, SHA-256, tree hash and metadata checked). */
  readonly verifiedBytes: number;
  readonly unverified: number;
  /** Conditional-write conflicts the DynamoDB proxy answered (writers that raced and lost). */
  readonly conflicts: { conditionalCheckFailed: number; transactionCanceled: number; total: number };
  /** Downloaded archives whose key was written more than once (same bytes; a problem only with requireExactlyOnce). */
  readonly rewritten: number;
  /**
   * Of those, archives a resume reset (ArchivesStatusCleanup, `statusResetAt`) while their copy was
   * in flight: the background copy finished, the re-request copied again. Accepted under requireExactlyOnce.
   */
  readonly rewrittenAfterReset: number;
  readonly metricsMismatches: string[];
  /** Messages left in each DLQ at the end (the DeadLetterReconciler empties them), and in the unreconciled queue (`unreconciled`). */
  readonly dlq: Record<string, number>;
  /** Dead-lettered messages the DeadLetterReconciler kept under `<run>/dead_letters/` (each reconciled once at least). */
  readonly deadLettersReconciled: number;
  /** The dead-lettered messages (first 20 per queue, bodies cut at 2,000 characters). */
  readonly dlqMessages?: { queue: string; body: string }[];
  readonly strayObjects: string[];
  readonly openUploads: number;
  /** Per open upload: its key and id, the archive item's final state and the upload's history (diagnostics). */
  readonly openUploadDetails: string[];
  /**
   * Multipart uploads at the run's keys in the destination bucket: created, completed, aborted
   * (successful requests); with how the run's CreateMultipartUpload requests split (the requests
   * line counts every request the local S3 answered: other buckets and refused ones too).
   */
  readonly uploads: { created: number; completed: number; aborted: number; createRequests?: number; createdElsewhere?: number; createRefused?: number };
  /** The SDK's "non-retryable streaming request" warnings during the run (sdk-noise.ts). */
  readonly sdkStreamingWarnings?: number;
  /**
   * Requests each local service answered, by service and operation; `Lambda.Invoke` counts every
   * handler invocation (SQS and stream pollers, state machine tasks).
   */
  readonly requests: Record<string, Record<string, number>>;
  /** The copy chunk (S3 part) size of the run. */
  readonly chunkSizeBytes?: number;
  /** Step Functions states entered in every execution of the run (children and Map iterations too): the billed state transitions. */
  readonly stateTransitions?: number;
  readonly injectedFaults: Record<string, number>;
  readonly handlerErrors: Record<string, number>;
  readonly streamRecordsDiscarded: number;
  readonly timedOut: boolean;
  readonly wallTimeMs: number;
  readonly problems: string[];
  readonly failures: { archiveId: string; status: string; reason?: string }[];
  /** Archives recorded failed WITH a reason: accounted for (not lost). */
  readonly failedWithReason: number;
  readonly quota: QuotaCheck;
  readonly stages?: StageSummary;
  /** Lines describing the decommission check (runs with `decommission`). */
  readonly decommission?: string[];
  /** Every archive of the inventory: key, final status, failure reason, the rehearsal's findings, Glacier jobs initiated for it. */
  readonly archiveRows?: ArchiveRow[];
  /** The run's archive-retrieval InitiateJob requests Glacier accepted (virtual time, bytes). */
  readonly glacierJobs?: { at: number; bytes: number; archiveId: string }[];
  /** Every fault injected, in order (virtual time, kind). */
  readonly faultEvents?: { at: number; kind: string }[];
  /** Archives by status over virtual time (the harness's samples of the metrics item), from the run's start on the rehearsal clock. */
  readonly timeline?: { virtualStartMs: number; points: TimelinePoint[] };
  /** The handlers' captured log lines against the saved Logs Insights queries (report/handler-logs.ts). */
  readonly handlerLogs?: HandlerLogCheck;
  /** The synthesized dashboard's widgets evaluated against the metrics the run published (dashboard/check.ts). */
  readonly dashboard?: DashboardCheck;
  /** Where the orchestrator wrote the pipeline's run report (inventory bucket key prefix); absent when it wrote none. */
  readonly pipelineReportPrefix?: string;
  readonly ok: boolean;
}

const DAY = 86_400_000;

/**
 * The ledger promise: at no request did the bytes requested in the 24 h up to it exceed the daily
 * quota (an archive larger than the whole quota may be requested alone). Uses every InitiateJob of
 * the process on the virtual clock, as Glacier saw them.
 */
export function checkQuota(env: Environment, vaultName: string | undefined, sinceMs: number, ledger: Record<string, unknown> | undefined, problems: string[]): QuotaCheck {
  const quota = env.dailyQuotaBytes;
  const jobs = [...env.initiatedJobs].sort((a, b) => a.at - b.at);
  let maxWindowBytes = 0;
  let requests = 0;
  let reported = 0;
  let from = 0;
  let windowBytes = 0;
  for (const [i, job] of jobs.entries()) {
    windowBytes += job.bytes;
    while (jobs[from].at <= job.at - DAY) windowBytes -= jobs[from++].bytes;
    // Earlier runs of the process stay in the window (they share the ledger) but were requested
    // under their own DAILY_QUOTA_BYTES: only this run's (or group's) requests are checked.
    if (job.at < sinceMs || (vaultName !== undefined && job.vaultName !== vaultName)) continue;
    requests++;
    maxWindowBytes = Math.max(maxWindowBytes, windowBytes);
    const alone = job.bytes > quota && i - from === 0;
    if (windowBytes > quota && !alone && reported++ < 3) {
      problems.push(`quota: ${windowBytes} bytes requested in the 24 h up to ${new Date(job.at).toISOString()} > DAILY_QUOTA_BYTES ${quota}`);
    }
  }
  let ledgerWindowBytes = 0;
  if (ledger?.buckets !== undefined) {
    const now = env.clock.now() / 1000;
    for (const [start, bytes] of JSON.parse(String(ledger.buckets)) as [number, number][]) {
      if (start > now - 86_400) ledgerWindowBytes += bytes;
    }
    if (ledgerWindowBytes > quota) problems.push(`quota: the ledger holds ${ledgerWindowBytes} bytes in its 24-h window > DAILY_QUOTA_BYTES ${quota}`);
  }
  return { dailyQuotaBytes: quota, maxWindowBytes, ledgerWindowBytes, requests };
}

/**
 * The run's CloudWatch metrics as CloudWatchDashboardUpdate last published them (to `namespace`,
 * the handlers' METRICS_NAMESPACE; dimension RunId = the run): `<Status>Count`/`<Status>Bytes` of every
 * status and `TotalCount`/`TotalBytes` must equal the run's own archives at the end (the cleanup
 * publishes once more after the last archive became final). Problems, or none.
 */
export function checkPublishedMetrics(env: Environment, namespace: string, runId: string, rows: readonly { status: string; size: number }[]): string[] {
  const last = new Map<string, number | undefined>();
  for (const d of env.cloudWatch.datapoints) {
    const dims = Object.entries(d.dimensions);
    if (d.namespace === namespace && dims.length === 1 && d.dimensions.RunId === runId) last.set(d.name, d.value);
  }
  if (last.size === 0) return [`CloudWatch: no metric published to ${namespace} with RunId=${runId}`];
  const problems: string[] = [];
  const expect = (name: string, value: number): void => {
    if (last.get(name) !== value) problems.push(`CloudWatch: last ${name} (RunId=${runId}) = ${last.get(name)}, true ${value}`);
  };
  expect(statusMetricName('total', 'Count'), rows.length);
  expect(statusMetricName('total', 'Bytes'), rows.reduce((n, r) => n + r.size, 0));
  for (const status of Object.values(ArchiveStatus)) {
    const inStatus = rows.filter((r) => r.status === status);
    expect(statusMetricName(status, 'Count'), inStatus.length);
    expect(statusMetricName(status, 'Bytes'), inStatus.reduce((n, r) => n + r.size, 0));
  }
  return problems;
}

/** The key every archive must get: src/core/archive-naming in inventory order (CreationDate, ArchiveId). */
export function expectedObjectKeys(archives: readonly GeneratedArchive[], prefix: string): Map<string, string> {
  const sorted = [...archives].sort((a, b) => {
    const ka = utcSortKey(a.creationDate) ?? '';
    const kb = utcSortKey(b.creationDate) ?? '';
    return ka < kb ? -1 : ka > kb ? 1 : a.archiveId < b.archiveId ? -1 : a.archiveId > b.archiveId ? 1 : 0;
  });
  const unique = assignUniqueKeys(sorted.map((a) => ({
    archiveId: a.archiveId,
    creationDate: a.creationDate,
    key: keyForArchive({ archiveId: a.archiveId, description: a.description, creationDate: a.creationDate }, { prefix }).key,
  })), { prefix });
  return new Map(sorted.map((a, i) => [a.archiveId, unique[i].key]));
}

async function readText(env: Environment, key: string): Promise<string> {
  return (await env.s3Client.send(new GetObjectCommand({ Bucket: NAMES.inventoryBucket, Key: key }))).Body!.transformToString();
}

/**
 * The run report the orchestrator wrote: manifest.csv lists every archive with its final status and
 * key; failed_archives.csv parses as a Glacier inventory and lists exactly the failed archives;
 * summary.json counts match.
 */
async function checkRunReport(env: Environment, report: { prefix: string; manifestKey: string; failedArchivesKey: string } | undefined,
  archives: readonly GeneratedArchive[], items: Map<string, Record<string, unknown>>, rowItems: readonly Record<string, unknown>[]): Promise<string[]> {
  if (!report) return ['run report: the orchestrator did not write one (no $.report.prefix in its output)'];
  const problems: string[] = [];
  try {
    const allRows = parseCsv(await readText(env, report.manifestKey), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    // An unreadable inventory row's entry (its id may repeat a readable archive's): matched by id and reason.
    const manifest = [...allRows];
    let rowEntriesMissing = 0;
    for (const item of rowItems) {
      const at = manifest.findIndex((r) => r.ArchiveId === item.archiveId && r.Status === item.status && r.Reason === item.failureReason);
      if (at < 0) rowEntriesMissing++;
      else manifest.splice(at, 1);
    }
    if (rowEntriesMissing > 0) problems.push(`run report: manifest.csv lacks ${rowEntriesMissing} of the ${rowItems.length} unreadable inventory row(s) (id, status, reason)`);
    const byId = new Map(manifest.map((r) => [r.ArchiveId, r]));
    if (manifest.length !== archives.length || byId.size !== archives.length) problems.push(`run report: manifest.csv has ${manifest.length} archive row(s) (${byId.size} distinct) for ${archives.length} archives`);
    const own = new Set(archives.map((a) => a.archiveId));
    const foreign = manifest.filter((r) => !own.has(r.ArchiveId));
    if (foreign.length > 0) problems.push(`run report: manifest.csv lists ${foreign.length} archive(s) not in the run's vault, e.g. ${String(foreign[0].ArchiveId).slice(0, 12)}…`);
    let wrong = 0;
    for (const a of archives) {
      const row = byId.get(a.archiveId);
      const item = items.get(a.archiveId);
      if (!row || row.Status !== item?.status || row.ObjectKey !== item?.objectKey || Number(row.Size) !== a.size || row.SHA256TreeHash !== a.treeHash) wrong++;
    }
    if (wrong > 0) problems.push(`run report: ${wrong} manifest row(s) missing or not matching the archive (status, key, size, tree hash)`);
    const failedIds: string[] = [];
    const rowErrors: string[] = [];
    for await (const record of parseInventory([await readText(env, report.failedArchivesKey)])) {
      if (record.kind === 'archive') failedIds.push(record.archiveId);
      else rowErrors.push(JSON.stringify(record).slice(0, 120));
    }
    // Unreadable rows are given back as the inventory had them, in unreadable_rows.csv; only items
    // without the raw row (none in a fresh run) keep a `<archive id or row n>,,,0,` line here.
    const raws = rowItems.filter((i) => typeof i.inventoryRaw === 'string').map((i) => String(i.inventoryRaw));
    const oldRowLines = rowItems.length - raws.length;
    if (rowErrors.length > oldRowLines) problems.push(`run report: failed_archives.csv does not parse as a Glacier inventory: ${rowErrors[0]}`);
    const failed = archives.filter((a) => items.get(a.archiveId)?.status === ArchiveStatus.FAILED).map((a) => a.archiveId);
    const missing = failed.filter((id) => !failedIds.includes(id));
    if (missing.length > 0 || failedIds.length + rowErrors.length !== failed.length + oldRowLines) {
      problems.push(`run report: failed_archives.csv lists ${failedIds.length} archive(s) and ${rowErrors.length} unreadable row(s), the table has ${failed.length} failed archive(s) and ${oldRowLines} unreadable row(s) without their raw text${missing.length > 0 ? ` (${missing.length} failed archive(s) missing)` : ''}`);
    }
    if (raws.length > 0) {
      const [header, ...lines] = (await readText(env, `${report.prefix}unreadable_rows.csv`)).replace(/\n$/, '').split('\n');
      if (header !== INVENTORY_HEADER || JSON.stringify([...lines].sort()) !== JSON.stringify([...raws].sort())) {
        problems.push(`run report: unreadable_rows.csv has ${lines.length} row(s) under ${JSON.stringify(header)}, not the ${raws.length} unreadable row(s) as the inventory had them`);
      }
    }
    const summary = JSON.parse(await readText(env, `${report.prefix}summary.json`)) as { counts: Record<string, number> };
    for (const status of Object.values(ArchiveStatus)) {
      const n = archives.filter((a) => items.get(a.archiveId)?.status === status).length + rowItems.filter((i) => i.status === status).length;
      if ((summary.counts[status] ?? 0) !== n) problems.push(`run report: summary.json ${status} = ${summary.counts[status]}, true ${n}`);
    }
  } catch (e) {
    problems.push(`run report: cannot read it: ${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 300));
  }
  return problems;
}

function digestOf(bytes: Buffer): { sha256: string; treeHash: string } {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), treeHash: new TreeHasher().update(bytes).digest() };
}

export async function buildReport(env: Environment, input: {
  runId: string;
  faults: FaultProfile;
  archives: readonly GeneratedArchive[];
  keyPrefix: string;
  timedOut: boolean;
  startedAt: number;
  /** The run's start on the rehearsal clock: only requests from then on are checked against this run's quota. */
  virtualStartMs: number;
  vaultName?: string;
  /** A `failed` archive is a problem even with a reason (every injected fault is transient). */
  requireAllDownloaded?: boolean;
  /** ArchiveId → partition file ordinal: first requests must follow file order. */
  fileOf?: Record<string, number>;
  /** More than one successful PutObject/CompleteMultipartUpload at a key is a problem. */
  requireExactlyOnce?: boolean;
  /** The orchestrator's run report (CleanupRunReport output); absent = not written. */
  runReport?: { prefix: string; manifestKey: string; failedArchivesKey: string };
  /** A terminal fault profile's expectations (terminal-faults.ts): exactly these archives and rows may fail. */
  expectations?: RunExpectations;
  /** Glacier jobs one archive may take in this run (maxRetrievalJobsPerArchive); absent = not checked (a resume resets the count). */
  retrievalJobBound?: number;
  /**
   * Keys of the archives of other runs under the same prefix (`--vaults`: one deployment, one
   * destination prefix): not stray objects of this run, and their uploads are not this run's.
   */
  otherRunsKeys?: ReadonlySet<string>;
  /** ArchiveId → key it must end at, when not the launch naming (`resume-changes`: kept and overridden keys). */
  expectedKeys?: ReadonlyMap<string, string>;
}): Promise<RunReport> {
  const { runId, archives } = input;
  const items = new Map<string, Record<string, unknown>>();
  /** FAILED entries of unreadable inventory rows (keyed by row: their id may repeat a readable archive's). */
  const rowItems: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await env.doc.send(new ScanCommand({
      TableName: NAMES.transferTable,
      ExclusiveStartKey: start,
      FilterExpression: 'sk = :sk AND runId = :run',
      ExpressionAttributeValues: { ':sk': 'archive', ':run': runId },
    }));
    for (const item of page.Items ?? []) {
      if (item.inventoryRow !== undefined) rowItems.push(item);
      else items.set(item.archiveId as string, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);

  const problems: string[] = [];
  const ownIds = new Set(archives.map((a) => a.archiveId));
  const foreignItems = [...items.keys()].filter((id) => !ownIds.has(id));
  if (foreignItems.length > 0) problems.push(`transfer table: ${foreignItems.length} archive item(s) of run ${runId} not in its vault, e.g. ${foreignItems[0].slice(0, 12)}…`);
  const results: ArchiveResult[] = [];
  const runJobs = env.initiatedJobs.filter((j) => input.vaultName === undefined || j.vaultName === input.vaultName);
  const runJobsOf = (archiveId: string): typeof runJobs => runJobs.filter((j) => j.archiveId === archiveId);
  const namedKeys = input.expectedKeys ?? expectedObjectKeys(archives, input.keyPrefix);
  let rewritten = 0;
  let rewrittenAfterReset = 0;
  const expectedKeys = new Set<string>();
  let verified = 0;
  let verifiedBytes = 0;
  for (const archive of archives) {
    const item = items.get(archive.archiveId);
    const status = (item?.status as string | undefined) ?? 'missing';
    const own: string[] = [];
    const expectedKey = namedKeys.get(archive.archiveId);
    if (item && item.objectKey !== expectedKey) own.push(`object key ${JSON.stringify(item.objectKey)} != ${JSON.stringify(expectedKey)} (keyForArchive + assignUniqueKeys)`);
    if (item && status === ArchiveStatus.DOWNLOADED) {
      // The key the pipeline chose (transfer table); bytes are still compared with the generator.
      const key = item.objectKey as string;
      const writes = env.objectWrites.get(`${NAMES.bucket}/${key}`) ?? 0;
      if (writes > 1) rewritten++;
      const resetInFlight = writes > 1 && item.statusResetAt !== undefined;
      if (resetInFlight) rewrittenAfterReset++;
      if (writes === 0 || (writes > 1 && input.requireExactlyOnce && !resetInFlight)) own.push(`${writes} successful PutObject/CompleteMultipartUpload at its key, expected exactly 1`);
      expectedKeys.add(key);
      const object = env.s3.getObject(NAMES.bucket, key);
      if (!object) {
        own.push(`no object at ${JSON.stringify(key)}`);
      } else {
        const bytes = Buffer.concat(object.data);
        const got = digestOf(bytes);
        if (bytes.length !== archive.size) own.push(`size ${bytes.length} != ${archive.size}`);
        if (got.sha256 !== archive.sha256) own.push('SHA-256 differs from the generated archive');
        if (got.treeHash !== archive.treeHash) own.push('tree hash differs from the generated archive');
        if (object.storageClass !== item.storageClass) own.push(`storage class ${object.storageClass} != ${String(item.storageClass)}`);
        const m = object.metadata;
        if (m['archive-id'] !== archive.archiveId) own.push('metadata archive-id missing or wrong');
        if (m['glacier-tree-hash'] !== archive.treeHash) own.push('metadata glacier-tree-hash missing or wrong');
        if (m['creation-date'] !== archive.creationDate) own.push('metadata creation-date missing or wrong');
        if (archive.description && m['description-truncated'] !== 'true') {
          let decoded: string | undefined;
          try {
            decoded = m.description === undefined ? undefined : decodeURIComponent(m.description);
          } catch {
            decoded = undefined;
          }
          if (decoded !== archive.description) own.push('metadata description does not decode to the archive description');
        }
        if (object.metadata && item.lastModified !== undefined && m['last-modified'] !== item.lastModified) own.push('metadata last-modified wrong');
      }
      if (own.length === 0) {
        verified++;
        verifiedBytes += archive.size;
      }
    }
    results.push({ archiveId: archive.archiveId, size: archive.size, status, objectKey: item?.objectKey as string | undefined, problems: own });
  }
  const count = (s: string): number => results.filter((r) => r.status === s).length + rowItems.filter((i) => i.status === s).length;
  const downloaded = count(ArchiveStatus.DOWNLOADED);
  const failed = count(ArchiveStatus.FAILED);
  const skipped = count(ArchiveStatus.SKIPPED);
  // Every row of the inventory: the vault's archives and the unreadable rows the profile put in.
  const unreadableRows = Math.max(rowItems.length, input.expectations?.badRows.length ?? 0);
  const lost = archives.length + unreadableRows - downloaded - failed - skipped;
  const unverified = downloaded - verified;
  for (const r of results.filter((x) => x.problems.length > 0)) problems.push(`archive ${r.archiveId.slice(0, 12)}…: ${r.problems.join('; ')}`);
  for (const r of results.filter((x) => ![ArchiveStatus.DOWNLOADED, ArchiveStatus.FAILED, ArchiveStatus.SKIPPED].includes(x.status as ArchiveStatus))) {
    problems.push(`archive ${r.archiveId.slice(0, 12)}… LOST: ended in status ${r.status}`);
  }
  const hasReason = (item: Record<string, unknown> | undefined): boolean => typeof item?.failureReason === 'string' && item.failureReason !== '';
  const failedWithReason = results.filter((r) => r.status === ArchiveStatus.FAILED && hasReason(items.get(r.archiveId))).length
    + rowItems.filter((i) => i.status === ArchiveStatus.FAILED && hasReason(i)).length;
  if (failed > failedWithReason) problems.push(`${failed - failedWithReason} archive(s) recorded failed WITHOUT a failureReason`);
  const unexpectedFailures = results.filter((r) => r.status === ArchiveStatus.FAILED && !input.expectations?.failed.has(r.archiveId)).length;
  if (unexpectedFailures > 0 && input.requireAllDownloaded) {
    problems.push(`${unexpectedFailures} archive(s) failed (with a reason) although ${input.expectations ? 'the profile poisoned other ones' : 'every injected fault is transient'}`);
  }
  if (input.expectations) {
    problems.push(...checkExpectations(env, input.expectations, { archives, items, rowItems, jobsOf: (id) => runJobsOf(id).length }));
  } else if (rowItems.length > 0) {
    problems.push(`${rowItems.length} unreadable inventory row(s) recorded, the generated inventory has none: ${String(rowItems[0].failureReason).slice(0, 160)}`);
  }
  problems.push(...checkRequestsOfFailedArchives(env, items, runJobsOf, input.retrievalJobBound));

  // Request order: partition files are requested one after the other, in key order.
  if (input.fileOf && input.vaultName) {
    const firstRequest = new Map<string, number>();
    for (const job of env.initiatedJobs) {
      if (job.vaultName === input.vaultName && !firstRequest.has(job.archiveId)) firstRequest.set(job.archiveId, firstRequest.size);
    }
    const files = [...firstRequest.keys()].map((id) => input.fileOf![id]);
    const back = files.findIndex((f, i) => i > 0 && f < files[i - 1]);
    if (back > 0) problems.push(`request order: an archive of partition file #${files[back]} was requested after one of file #${files[back - 1]}`);
  }

  // Metrics: counters are "archives currently in status X" (+1 on entry, −1 on exit).
  const metricsMismatches: string[] = [];
  const metrics = (await env.doc.send(new GetCommand({ TableName: NAMES.metricsTable, Key: { pk: metricsPk(runId) }, ConsistentRead: true }))).Item ?? {};
  const ledger = (await env.doc.send(new GetCommand({ TableName: NAMES.metricsTable, Key: { pk: QUOTA_LEDGER_PK }, ConsistentRead: true }))).Item;
  const quota = checkQuota(env, input.vaultName, input.virtualStartMs, ledger, problems);
  for (const status of Object.values(ArchiveStatus)) {
    const inStatus = archives.filter((a) => items.get(a.archiveId)?.status === status);
    const rowsInStatus = rowItems.filter((i) => i.status === status);
    const trueCount = inStatus.length + rowsInStatus.length;
    const trueBytes = inStatus.reduce((n, a) => n + a.size, 0) + rowsInStatus.reduce((n, i) => n + Number(i.size ?? 0), 0);
    const gotCount = Number(metrics[countAttribute(status)] ?? 0);
    const gotBytes = Number(metrics[bytesAttribute(status)] ?? 0);
    if (gotCount !== trueCount) metricsMismatches.push(`${countAttribute(status)} = ${gotCount}, true ${trueCount}`);
    if (gotBytes !== trueBytes) metricsMismatches.push(`${bytesAttribute(status)} = ${gotBytes}, true ${trueBytes}`);
  }
  problems.push(...metricsMismatches.map((m) => `metrics: ${m}`));

  const dlq: Record<string, number> = {};
  const dlqMessages: { queue: string; body: string }[] = [];
  for (const queue of env.sqs.queues.values()) {
    const bodies = await env.sqs.drain(queue.dlqUrl);
    dlq[queue.name] = bodies.length;
    dlqMessages.push(...bodies.slice(0, 20).map((body) => ({ queue: queue.name, body: body.slice(0, 2000) })));
    if (bodies.length > 0) problems.push(`DLQ ${queue.name}-dlq holds ${bodies.length} message(s) the DeadLetterReconciler never settled, e.g. ${bodies[0].slice(0, 160)}`);
  }
  const unreconciled = env.sqs.unreconciled ? await env.sqs.drain(env.sqs.unreconciled.url) : [];
  dlq.unreconciled = unreconciled.length;
  dlqMessages.push(...unreconciled.slice(0, 20).map((body) => ({ queue: 'unreconciled', body: body.slice(0, 2000) })));
  if (unreconciled.length > 0) problems.push(`the unreconciled queue holds ${unreconciled.length} dead-lettered message(s) naming no archive, or whose reconciling kept failing, e.g. ${unreconciled[0].slice(0, 160)}`);
  const deadLettersReconciled = env.s3.listKeys(NAMES.inventoryBucket).filter((k) => k.startsWith(`${runId}/dead_letters/`)).length;
  for (const key of input.expectations?.keptObjects.keys() ?? []) expectedKeys.add(key);
  const ours = (k: string): boolean => k.startsWith(input.keyPrefix) && !input.otherRunsKeys?.has(k);
  const strayObjects = env.s3.listKeys(NAMES.bucket).filter((k) => ours(k) && !expectedKeys.has(k));
  if (strayObjects.length > 0) problems.push(`${strayObjects.length} object(s) in the bucket that belong to no downloaded archive`);
  const open = env.s3.openUploads(NAMES.bucket).filter((u) => ours(u.key));
  const openUploads = open.length;
  const uploadEvents = env.s3.uploadEvents(NAMES.bucket).filter((e) => ours(e.key));
  const countEvents = (op: string): number => uploadEvents.filter((e) => e.op === op).length;
  const created = countEvents('CreateMultipartUpload');
  const createdElsewhere = [...env.s3.buckets.keys()]
    .flatMap((bucket) => env.s3.uploadEvents(bucket).filter((e) => e.op === 'CreateMultipartUpload' && !(bucket === NAMES.bucket && ours(e.key))))
    .length;
  const createRequests = env.stats.get('S3', 'CreateMultipartUpload');
  const uploads = {
    created,
    completed: countEvents('CompleteMultipartUpload'),
    aborted: countEvents('AbortMultipartUpload'),
    createRequests,
    createdElsewhere,
    createRefused: createRequests - created - createdElsewhere,
  };
  const openUploadDetails = open.map((u) => describeOpenUpload(env, u, [...items.values()].find((i) => i.objectKey === u.key), input.startedAt));
  if (openUploads > 0 && lost === 0) problems.push(`${openUploads} multipart upload(s) left open (storage leak)`);
  problems.push(...await checkRunReport(env, input.runReport, archives, items, rowItems));
  const discarded = env.pollers.metrics.discarded.length;
  if (discarded > 0) problems.push(`${discarded} stream record(s) given up by the metrics event source`);
  if (input.timedOut) problems.push('the run timed out before every archive reached a final status');

  return {
    runId,
    faults: input.faults,
    archives: archives.length,
    unreadableRows,
    bytes: archives.reduce((n, a) => n + a.size, 0),
    downloaded,
    failed,
    skipped,
    lost,
    verified,
    unverified,
    rewritten,
    rewrittenAfterReset,
    metricsMismatches,
    dlq,
    deadLettersReconciled,
    dlqMessages,
    strayObjects,
    openUploads,
    openUploadDetails,
    uploads,
    verifiedBytes,
    conflicts: {
      conditionalCheckFailed: env.stats.get('Conflicts', 'ConditionalCheckFailedException'),
      transactionCanceled: env.stats.get('Conflicts', 'TransactionCanceledException'),
      total: env.stats.get('Conflicts', 'ConditionalCheckFailedException') + env.stats.get('Conflicts', 'TransactionCanceledException'),
    },
    requests: Object.fromEntries(Object.entries(env.stats.snapshot()).filter(([service]) => service !== 'Conflicts')),
    injectedFaults: Object.fromEntries(env.faults.injected),
    handlerErrors: Object.fromEntries(env.handlerErrors),
    streamRecordsDiscarded: discarded,
    timedOut: input.timedOut,
    wallTimeMs: Date.now() - input.startedAt,
    problems,
    failures: [
      ...results.filter((r) => r.status !== ArchiveStatus.DOWNLOADED).map((r) => ({
        archiveId: r.archiveId, status: r.status, reason: items.get(r.archiveId)?.failureReason as string | undefined,
      })),
      ...rowItems.map((i) => ({ archiveId: String(i.archiveId), status: String(i.status), reason: i.failureReason as string | undefined })),
    ],
    failedWithReason,
    quota,
    archiveRows: results.map((r) => ({
      archiveId: r.archiveId,
      key: r.objectKey,
      size: r.size,
      status: r.status,
      reason: items.get(r.archiveId)?.failureReason as string | undefined,
      problems: r.problems,
      jobs: runJobsOf(r.archiveId).length,
    })),
    glacierJobs: runJobs.map((j) => ({ at: j.at, bytes: j.bytes, archiveId: j.archiveId })),
    faultEvents: [...env.faults.events],
    pipelineReportPrefix: input.runReport?.prefix,
    ok: problems.length === 0,
  };
}

/**
 * No archive took more Glacier jobs than the bound, and none that ended FAILED was requested from
 * Glacier after the write that made it FAILED (wall clock: Glacier's InitiateJob and the DynamoDB
 * proxy's applied write).
 */
function checkRequestsOfFailedArchives(env: Environment, items: ReadonlyMap<string, Record<string, unknown>>,
  jobsOf: (archiveId: string) => readonly { wallAt: number }[], bound: number | undefined): string[] {
  const problems: string[] = [];
  for (const [archiveId, item] of items) {
    const jobs = jobsOf(archiveId);
    if (bound !== undefined && jobs.length > bound) problems.push(`archive ${archiveId.slice(0, 12)}… took ${jobs.length} Glacier jobs, more than maxRetrievalJobsPerArchive ${bound}`);
    if (item.status !== ArchiveStatus.FAILED) continue;
    const failedAt = env.archiveWrites.filter((w) => w.pk === item.pk && w.toStatus === ArchiveStatus.FAILED && w.outcome.startsWith('applied'))
      .reduce((last, w) => Math.max(last, w.at.getTime()), -Infinity);
    const after = jobs.filter((j) => j.wallAt > failedAt).length;
    if (failedAt > -Infinity && after > 0) problems.push(`archive ${archiveId.slice(0, 12)}… was requested from Glacier ${after} time(s) after it became FAILED`);
  }
  return problems;
}

const short = (id: unknown): string => (typeof id === 'string' ? `${id.slice(0, 8)}…` : String(id));

/**
 * One open upload for the report: key, id, parts, the archive item's final state, then the upload
 * events at its key (S3 Create/Abort/Complete) and the archive item's writes that name or drop an
 * upload id, in time order (seconds since the run started), so the step that left it open shows.
 */
function describeOpenUpload(env: Environment, upload: { key: string; uploadId: string; parts: number; initiated: Date },
  item: Record<string, unknown> | undefined, startedAt: number): string {
  const at = (d: Date): string => `+${((d.getTime() - startedAt) / 1000).toFixed(2)}s`;
  const head = `open upload ${upload.uploadId.slice(0, 8)}… at ${JSON.stringify(upload.key)} (${upload.parts} part(s), initiated ${upload.initiated.toISOString()}); `
    + (item
      ? `archive ${String(item.archiveId).slice(0, 12)}… ${String(item.status)}, recorded uploadId ${short(item.uploadId)}, jobId ${short(item.jobId)}`
        + `${item.previousJobId ? `, previousJobId ${short(item.previousJobId)}` : ''}${item.downloadAttempts ? `, downloadAttempts ${String(item.downloadAttempts)}` : ''}`
        + `${item.statusResetAt ? `, statusResetAt ${String(item.statusResetAt)}` : ''}`
      : 'no archive item has this key');
  const events: { at: Date; line: string }[] = env.s3.uploadEvents(NAMES.bucket, upload.key)
    .map((e) => ({ at: e.at, line: `S3 ${e.op} ${short(e.uploadId)}` }));
  if (item) {
    for (const w of env.archiveWrites.filter((x) => x.pk === item.pk && /uploadId|#status|status =/.test(`${x.update} ${x.condition}`))) {
      const update = w.update.replace(/ExpressionAttributeValues.*/, '').slice(0, 70);
      events.push({ at: w.at, line: `DDB ${w.operation} [${update}]${w.uploadId ? ` uploadId=${short(w.uploadId)}` : ''} → ${w.outcome}` });
    }
  }
  events.sort((a, b) => a.at.getTime() - b.at.getTime());
  return [head, ...events.map((e) => `      ${at(e.at)} ${e.line}`)].join('\n');
}

function formatStages(s: StageSummary): string {
  const i = s.initiate;
  const f = s.scheduleFirings;
  return `   stages: orchestrator ${s.orchestrator}; InventoryRetrieval ${s.inventory.status} (${s.inventory.jobs} job(s), ${s.inventory.chunks} chunk(s), `
    + `${s.inventory.polls} poll(s), ${s.inventory.renamed} renamed) → ${s.partitions} partition(s)/${s.partitionFiles} file(s); InitiateRetrieval ${s.initiateStatus}`
    + (i ? ` (${i.invocations} batch call(s), requested ${i.requested}, failed ${i.failed}, deferred ${i.deferred}, already handled ${i.alreadyHandled})` : '')
    + `, ${s.quotaWaits} quota wait(s); DownloadWindowExtension ${s.extensionExecutions} execution(s), listed ${s.extensionListed}, extended ${s.extended}`
    + (s.recovery ? `, overdue jobs polled ${s.recovery.overdue}, re-announced ${s.recovery.recovered}, unknown to Glacier ${s.recovery.unknownJobs}` : '')
    + `; schedules fired: completion ${f.completion}, dashboard ${f.dashboard}, window ${f.window}`;
}

/** "written more than once": every rewritten key accounted for (a resume's reset, or work delivered again). */
export function formatRewrites(report: Pick<RunReport, 'rewritten' | 'rewrittenAfterReset'>): string {
  if (report.rewritten === 0) return 'every key written once';
  const again = report.rewritten - report.rewrittenAfterReset;
  const parts = [
    ...(report.rewrittenAfterReset > 0 ? [`${report.rewrittenAfterReset} reset by a resume while their copy was in flight`] : []),
    ...(again > 0 ? [`${again} copied again by redelivered or duplicated work`] : []),
  ];
  return `keys written more than once ${report.rewritten} (same bytes, verified): ${parts.join(', ')}`;
}

export function formatUploads(report: Pick<RunReport, 'uploads' | 'openUploads'>): string {
  const u = report.uploads;
  const split = u.createRequests === undefined
    ? ''
    : ` (the requests line's CreateMultipartUpload:${u.createRequests} = ${u.created} here + ${u.createdElsewhere ?? 0} in other buckets `
      + `(inventory download, run report) + ${u.createRefused ?? 0} refused)`;
  return `multipart uploads at the run's keys: created ${u.created}${split}, completed ${u.completed}, aborted ${u.aborted}, left open ${report.openUploads}`;
}

export function formatReport(report: RunReport): string {
  const lines = [
    `── run ${report.runId} (faults: ${report.faults}) ${report.ok ? 'PASS' : 'FAIL'} in ${(report.wallTimeMs / 1000).toFixed(1)} s`,
    `   archives ${report.archives} (${fmtBytes(report.bytes)})${report.unreadableRows ? ` + ${report.unreadableRows} unreadable inventory row(s)` : ''}: downloaded ${report.downloaded} (verified ${report.verified}), `
      + `failed ${report.failed} (with a reason ${report.failedWithReason}), skipped ${report.skipped}, lost ${report.lost}, unverified ${report.unverified}; `
      + `bytes verified ${report.verifiedBytes} of ${report.bytes}; ${formatRewrites(report)}`,
    `   conditional-write conflicts answered: ${report.conflicts.total} (ConditionalCheckFailed ${report.conflicts.conditionalCheckFailed}, `
      + `TransactionCanceled ${report.conflicts.transactionCanceled})`,
    `   metrics counters: ${report.metricsMismatches.length === 0 ? 'match the table' : report.metricsMismatches.join(', ')}`,
    ...(report.stages ? [formatStages(report.stages)] : []),
    ...(report.decommission ?? []).map((l) => `   decommission: ${l}`),
    `   quota: max ${fmtBytes(report.quota.maxWindowBytes)} in any rolling 24 h at this run's ${report.quota.requests} request(s); `
      + `ledger window ${fmtBytes(report.quota.ledgerWindowBytes)}; DAILY_QUOTA_BYTES ${fmtBytes(report.quota.dailyQuotaBytes)}`,
    `   DLQs: ${Object.entries(report.dlq).map(([q, n]) => `${q}=${n}`).join(' ')} (dead-lettered and reconciled: ${report.deadLettersReconciled}); ${formatUploads(report)}; stray objects ${report.strayObjects.length}`,
    ...(report.dashboard ? [formatDashboardCheck(report.dashboard)] : []),
    ...(report.handlerLogs ? [formatHandlerLogCheck(report.handlerLogs)] : []),
    `   injected faults: ${Object.entries(report.injectedFaults).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`,
    `   handler errors (retried): ${Object.entries(report.handlerErrors).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`,
    ...[explainSdkNoise(report.sdkStreamingWarnings ?? 0)].filter((l): l is string => l !== undefined),
    '   requests (every request the local services answered, failed ones and the harness\'s own included): '
      + `${Object.entries(report.requests).map(([svc, ops]) => `${svc}{${Object.entries(ops).map(([o, n]) => `${o}:${n}`).join(' ')}}`).join(' ')}`,
  ];
  for (const p of report.problems.slice(0, 20)) lines.push(`   ✗ ${p}`);
  for (const d of report.openUploadDetails ?? []) lines.push(`   · ${d}`);
  if (report.problems.length > 20) lines.push(`   … and ${report.problems.length - 20} more problem(s)`);
  for (const f of report.failures.slice(0, 10)) lines.push(`   · ${f.archiveId.slice(0, 12)}… ${f.status}${f.reason ? `: ${f.reason}` : ''}`);
  return lines.join('\n');
}
