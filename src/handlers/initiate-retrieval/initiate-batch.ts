import type { GlacierClient } from '@aws-sdk/client-glacier';
import { DestinationCheck, inspectDestination, keyTakenReason } from './existing-objects';
import { paced, requestArchiveJob } from './glacier-request';
import type { QuotaLedgerStore, Reservation } from './quota-ledger';
import { NewArchiveItem, RequestStore } from './request-store';
import { RunSpendLedger, SPEND_CAP_RECHECK_SECONDS } from './run-spend-ledger';
import { archivePk } from '../../contract/keys';
import { PartitionRow, retrievalJobDescription } from '../../contract/messages';
import { DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE, retrievalBoundReached, retrievalBoundReason } from '../../core/archive-lifecycle';
import { retrievalMicroUsd } from '../../core/run-spend';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';

/** `BatchInput` of InitiateRetrieval's ItemBatcher: the run-wide facts of every archive in the batch. */
export interface InitiateBatchInput {
  readonly runId: string;
  readonly vaultName: string;
  /** Glacier retrieval tier: Bulk, Standard or Expedited. */
  readonly tier: string;
  /** S3 storage class of the destination objects. */
  readonly storageClass: string;
  /** SNS topic Glacier announces finished jobs on. */
  readonly topicArn: string;
}

/** What the Distributed Map hands the batch Lambda (rows of one partition CSV). */
export interface InitiateBatchEvent {
  readonly BatchInput: InitiateBatchInput;
  readonly Items: readonly PartitionRow[];
}

/** What the batch Lambda returns; the state machine waits `waitSeconds` and calls again when > 0. */
export interface InitiateBatchResult {
  /** > 0: some archives could not be requested yet (quota, or the request deadline); call again after this wait. */
  readonly waitSeconds: number;
  readonly requested: number;
  readonly requestedBytes: number;
  /** Already requested, staged, downloaded, failed or skipped in this run: nothing done, nothing counted. */
  readonly alreadyHandled: number;
  /** Recorded as failed in this invocation (unusable row, archive gone, retries exhausted). */
  readonly failed: number;
  /** Rows without an archive id: nothing can be recorded for them; logged as errors. */
  readonly invalid: number;
  /** Left pending for the next call (quota or deadline). */
  readonly deferred: number;
  /** The destination already held the archive's verified copy: downloaded without a retrieval or quota. */
  readonly alreadyAtDestination?: number;
  /** Present (true) when the run is paused at its per-run spend cap: deferred archives wait for a raised cap. */
  readonly spendCapReached?: boolean;
  /** Pending archives that took this execution's object key or storage class (Resume with changes). */
  readonly retargeted?: number;
}

/** The batch input is unusable (a wiring error, not an archive problem): the batch fails without retries. */
export class InvalidBatchInputError extends Error {
  constructor(detail: string) {
    super(`invalid InitiateRetrieval batch input: ${detail}`);
    this.name = 'InvalidBatchInputError';
  }
}

export interface RequestDeps {
  readonly store: RequestStore;
  readonly ledger: QuotaLedgerStore;
  readonly glacier: GlacierClient;
  readonly requestsPerSecond: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly log: Log;
  /** Epoch millis (tests use a virtual clock). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Backoff base between own InitiateJob attempts (ms). */
  readonly retryBaseDelayMs?: number;
  /** Bound on Glacier retrieval jobs per archive (default DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE). */
  readonly maxRetrievalJobs?: number;
  /** Look at each archive's destination key before requesting it (absent: no look, as before). */
  readonly destinationCheck?: DestinationCheck;
  /** The per-run spend caps (absent: no cap). */
  readonly runSpend?: RunSpendLedger;
}

const TIERS = ['Bulk', 'Standard', 'Expedited'];
const TREE_HASH = /^[0-9a-fA-F]{64}$/;
const VAULT_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

export function validateBatchInput(input: Partial<InitiateBatchInput> | undefined): InitiateBatchInput {
  if (!input) throw new InvalidBatchInputError('BatchInput is missing');
  const { runId, vaultName, tier, storageClass, topicArn } = input;
  if (typeof runId !== 'string' || runId === '' || runId.length > 200) throw new InvalidBatchInputError(`runId must be 1-200 characters, got ${JSON.stringify(runId)}`);
  if (typeof vaultName !== 'string' || !VAULT_NAME.test(vaultName)) throw new InvalidBatchInputError(`vaultName ${JSON.stringify(vaultName)} is not a vault name`);
  if (typeof tier !== 'string' || !TIERS.includes(tier)) throw new InvalidBatchInputError(`tier must be one of ${TIERS.join(', ')}, got ${JSON.stringify(tier)}`);
  if (typeof storageClass !== 'string' || storageClass === '') throw new InvalidBatchInputError('storageClass is missing');
  if (typeof topicArn !== 'string' || !topicArn.startsWith('arn:')) throw new InvalidBatchInputError(`topicArn ${JSON.stringify(topicArn)} is not an ARN`);
  retrievalJobDescription(runId, 'x'); // throws for a run id that cannot travel in a job description
  return { runId, vaultName, tier, storageClass, topicArn };
}

interface ParsedRow {
  readonly pk: string;
  readonly item: NewArchiveItem;
  /** Why the row cannot be requested (it is recorded as failed). */
  readonly problem?: string;
}

/** Turns one partition CSV row into the archive item it describes (all CSV fields are strings). */
export function parseRow(row: PartitionRow, input: InitiateBatchInput): ParsedRow | undefined {
  const archiveId = (row.ArchiveId ?? '').trim();
  if (archiveId === '') return undefined;
  const problems: string[] = [];
  const sizeText = (row.Size ?? '').trim();
  const size = /^\d+$/.test(sizeText) ? Number(sizeText) : NaN;
  if (!Number.isSafeInteger(size)) problems.push(`Size ${JSON.stringify(row.Size)} is not a whole number of bytes`);
  const treeHash = (row.SHA256TreeHash ?? '').trim();
  if (!TREE_HASH.test(treeHash)) problems.push(`SHA256TreeHash ${JSON.stringify(row.SHA256TreeHash)} is not 64 hex digits`);
  const creationDate = (row.CreationDate ?? '').trim();
  if (Number.isNaN(Date.parse(creationDate))) problems.push(`CreationDate ${JSON.stringify(row.CreationDate)} is not a date`);
  const objectKey = row.ObjectKey ?? '';
  if (objectKey === '' || Buffer.byteLength(objectKey, 'utf8') > 1024) problems.push('ObjectKey is empty or longer than 1,024 UTF-8 bytes');
  const lastModified = (row.LastModified ?? '').trim();
  const item: NewArchiveItem = {
    runId: input.runId,
    vaultName: input.vaultName,
    archiveId,
    size: Number.isSafeInteger(size) ? size : 0,
    treeHash: treeHash.toLowerCase(),
    creationDate,
    description: row.ArchiveDescription === '' ? undefined : row.ArchiveDescription,
    objectKey,
    lastModified: lastModified === '' ? undefined : lastModified,
    storageClass: input.storageClass,
  };
  return { pk: archivePk(input.runId, archiveId), item, problem: problems.length > 0 ? `unusable inventory row: ${problems.join('; ')}` : undefined };
}

interface Candidate {
  readonly pk: string;
  readonly archiveId: string;
  readonly vaultName: string;
  readonly size: number;
}

/**
 * Requests one batch of archives of one partition CSV, idempotently.
 *
 * 1. Every row's archive item is read (consistent BatchGetItem). Archives already requested,
 *    staged, downloaded, failed or skipped in this run are left alone and cost no quota; missing
 *    items are written first (`pending`, conditional put), so a crash later cannot lose them.
 * 2. The bytes of the pending archives are reserved in the shared quota ledger (longest prefix
 *    that fits the rolling 24-h quota now).
 * 3. The reserved archives are requested concurrently (bounded, paced to the configured rate);
 *    each success moves the item pending → requested with its job id, each archive-specific
 *    failure records it failed with the reason. Bytes not actually requested are released.
 * 4. When archives are left pending (quota, deadline), `waitSeconds` tells the state machine when
 *    to call again with the same batch.
 */
export async function initiateBatch(deps: RequestDeps, event: InitiateBatchEvent): Promise<InitiateBatchResult> {
  const input = validateBatchInput(event?.BatchInput);
  const rows = Array.isArray(event?.Items) ? event.Items : [];
  const log = deps.log;

  let invalid = 0;
  const parsed: ParsedRow[] = [];
  const seen = new Set<string>();
  for (const [index, row] of rows.entries()) {
    const p = parseRow(row, input);
    if (!p) {
      invalid++;
      log.error('partition row without ArchiveId: nothing can be recorded for it; fix the sorted inventory', { runId: input.runId, index, row });
      continue;
    }
    if (seen.has(p.pk)) continue;
    seen.add(p.pk);
    parsed.push(p);
  }

  const existing = await deps.store.getArchives(parsed.map((p) => p.pk));
  let alreadyHandled = 0;
  let failed = 0;
  let retargeted = 0;
  const toRequest: Array<Candidate | undefined> = new Array(parsed.length).fill(undefined);
  const keyOf = new Map<string, { objectKey: string; treeHash: string }>();
  const maxJobs = deps.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
  const classify = async (i: number, status: ArchiveStatus | undefined, retrievalJobs?: number): Promise<void> => {
    if (status === ArchiveStatus.PENDING && retrievalBoundReached(retrievalJobs, maxJobs)) {
      const reason = retrievalBoundReason(retrievalJobs ?? 0, maxJobs);
      if (await deps.store.markRequestFailed(parsed[i].pk, input.runId, reason)) {
        failed++;
        log.error('archive recorded as failed: retrieval job bound reached', { runId: input.runId, archiveId: parsed[i].item.archiveId, reason });
      } else {
        alreadyHandled++;
      }
    } else if (status === ArchiveStatus.PENDING) {
      const p = parsed[i];
      toRequest[i] = { pk: p.pk, archiveId: p.item.archiveId, vaultName: p.item.vaultName, size: p.item.size };
    } else {
      alreadyHandled++;
    }
  };
  await paced(parsed.map((_, i) => i), { concurrency: 25, perSecond: 100_000, deadlineMs: Infinity }, async (i) => {
    const p = parsed[i];
    const found = existing.get(p.pk);
    if (found) {
      // Resume: a pending archive (new, reset, or retried) takes this execution's key and class.
      const moved = found.status === ArchiveStatus.PENDING && !p.problem
        && (found.objectKey !== p.item.objectKey || found.storageClass !== p.item.storageClass);
      if (moved && !(await deps.store.retarget(p.pk, p.item))) {
        const written = await deps.store.getArchive(p.pk);
        if (written) keyOf.set(p.pk, { objectKey: written.objectKey, treeHash: written.treeHash });
        return classify(i, written?.status, written?.retrievalJobs);
      }
      if (moved) {
        retargeted++;
        log.info('archive takes the object key and storage class of this execution', {
          runId: input.runId,
          archiveId: p.item.archiveId,
          objectKey: p.item.objectKey,
          storageClass: p.item.storageClass,
          previousObjectKey: found.objectKey,
          previousStorageClass: found.storageClass,
        });
      }
      keyOf.set(p.pk, { objectKey: moved ? p.item.objectKey : found.objectKey, treeHash: found.treeHash });
      return classify(i, found.status, found.retrievalJobs);
    }
    if (p.problem) {
      if (await deps.store.createArchive(p.pk, { ...p.item, failureReason: p.problem }, ArchiveStatus.FAILED)) {
        failed++;
        log.error('archive recorded as failed: unusable inventory row', { runId: input.runId, archiveId: p.item.archiveId, reason: p.problem });
        return;
      }
    } else if (await deps.store.createArchive(p.pk, p.item, ArchiveStatus.PENDING)) {
      return classify(i, ArchiveStatus.PENDING);
    }
    // Written concurrently by another invocation: go by what it wrote.
    const written = await deps.store.getArchive(p.pk);
    return classify(i, written?.status, written?.retrievalJobs);
  });

  let pending = toRequest.filter((c): c is Candidate => c !== undefined);
  let alreadyAtDestination = 0;
  if (deps.destinationCheck && pending.length > 0) {
    const check = deps.destinationCheck;
    const byPk = new Map(parsed.map((p) => [p.pk, p.item]));
    const keep = new Set<string>();
    // Before anything is requested: an archive already at its key costs no retrieval and no quota,
    // and another object at the key is never overwritten (unless the policy says OVERWRITE).
    const pacing = { concurrency: check.headConcurrency, perSecond: check.headsPerSecond, deadlineMs: Infinity, now: deps.now, sleep: deps.sleep };
    await paced(pending, pacing,
      async (candidate) => {
        const item = byPk.get(candidate.pk)!;
        const key = keyOf.get(candidate.pk) ?? { objectKey: item.objectKey, treeHash: item.treeHash };
        const verdict = await inspectDestination(check, { ...key, archiveId: candidate.archiveId, size: candidate.size });
        if (verdict.kind === 'identical') {
          if (await deps.store.markFoundAtDestination(candidate.pk, input.runId, verdict.versionId)) alreadyAtDestination++;
          log.info('archive already at its destination key (same archive id and tree hash): downloaded without a retrieval',
            { runId: input.runId, archiveId: candidate.archiveId });
        } else if (verdict.kind === 'different' && check.policy === 'FAIL') {
          const reason = keyTakenReason(key.objectKey, verdict.detail);
          if (await deps.store.markRequestFailed(candidate.pk, input.runId, reason)) failed++;
          log.error('archive recorded as failed: its destination key holds another object', { runId: input.runId, archiveId: candidate.archiveId, reason });
        } else {
          keep.add(candidate.pk);
        }
      });
    pending = pending.filter((c) => keep.has(c.pk));
  }
  const outcome = await requestCandidates(deps, input, pending, (candidate, reason) => {
    log.error('archive recorded as failed: could not be requested', { runId: input.runId, archiveId: candidate.archiveId, reason });
  });
  const result: InitiateBatchResult = {
    waitSeconds: outcome.waitSeconds,
    requested: outcome.requested,
    requestedBytes: outcome.requestedBytes,
    alreadyHandled,
    failed: failed + outcome.failed,
    invalid,
    deferred: outcome.deferred,
    alreadyAtDestination,
    ...(outcome.spendCapReached ? { spendCapReached: true } : {}),
    retargeted,
  };
  log.info('batch processed', { runId: input.runId, vaultName: input.vaultName, rows: rows.length, ...result });
  return result;
}

/** Result of {@link requestCandidates}. */
export interface RequestOutcome {
  readonly requested: number;
  readonly requestedBytes: number;
  readonly failed: number;
  readonly deferred: number;
  readonly waitSeconds: number;
  /** Archives were left because the run reached its spend cap (waitSeconds is then the cap's recheck interval). */
  readonly spendCapReached?: boolean;
}

/**
 * Reserves the run's spend (when a per-run cap is set) and quota for `candidates` (in order),
 * requests what fits both, records each outcome, releases what was not requested. Shared by InitiateArchiveRetrieval (pending → requested) and, through
 * `onRequested`, by ExtendDownloadWindow (switch to the new job).
 */
export async function requestCandidates(
  deps: RequestDeps,
  input: Pick<InitiateBatchInput, 'runId' | 'tier' | 'topicArn'>,
  candidates: readonly Candidate[],
  onFailed: (candidate: Candidate, reason: string) => void,
  onRequested?: (candidate: Candidate, jobId: string) => Promise<void>,
  recordFailure = true,
): Promise<RequestOutcome> {
  if (candidates.length === 0) return { requested: 0, requestedBytes: 0, failed: 0, deferred: 0, waitSeconds: 0 };
  const now = deps.now ?? Date.now;
  // The run's cap first: what it leaves out is not even offered to the shared quota.
  const spend = deps.runSpend ? await deps.runSpend.reservePrefix(input.runId, input.tier, candidates.map((c) => c.size)) : undefined;
  const affordable = spend ? candidates.slice(0, spend.count) : candidates;
  let reservation: Reservation;
  try {
    reservation = await deps.ledger.reservePrefix(affordable.map((c) => c.size));
  } catch (err) {
    if (spend) await deps.runSpend!.release(input.runId, spend.count, spend.microUsd);
    throw err;
  }
  const chosen = affordable.slice(0, reservation.count);
  let requested = 0;
  let requestedBytes = 0;
  let requestedMicroUsd = 0;
  let failed = 0;
  let started = 0;
  try {
    await paced(chosen, {
      concurrency: deps.concurrency,
      perSecond: deps.requestsPerSecond,
      deadlineMs: reservation.deadlineMs,
      now,
      sleep: deps.sleep,
    }, async (candidate) => {
      started++;
      const result = await requestArchiveJob(deps.glacier, {
        vaultName: candidate.vaultName,
        archiveId: candidate.archiveId,
        tier: input.tier,
        topicArn: input.topicArn,
        description: retrievalJobDescription(input.runId, candidate.archiveId),
      }, { maxAttempts: deps.maxAttempts, baseDelayMs: deps.retryBaseDelayMs, sleep: deps.sleep }, deps.log);
      if (result.kind === 'requested') {
        requested++;
        requestedBytes += candidate.size;
        if (spend) requestedMicroUsd += retrievalMicroUsd(input.tier, candidate.size);
        // The first line of an archive's story in the logs (the saved "Archive story" query), logged
        // before the item is written: a crash in that write must not leave the job unlogged.
        deps.log.info('Glacier retrieval job started', { runId: input.runId, archiveId: candidate.archiveId, jobId: result.jobId });
        if (onRequested) {
          await onRequested(candidate, result.jobId);
        } else if (!(await deps.store.markRequested(candidate.pk, input.runId, result.jobId, deps.maxRetrievalJobs))) {
          deps.log.warn('archive stopped being pending while it was requested; the new job is a duplicate and its notification will not match',
            { runId: input.runId, archiveId: candidate.archiveId, jobId: result.jobId });
        }
        return;
      }
      failed++;
      if (recordFailure && !(await deps.store.markRequestFailed(candidate.pk, input.runId, result.reason))) {
        deps.log.warn('archive stopped being pending; failure not recorded', { runId: input.runId, archiveId: candidate.archiveId });
      }
      onFailed(candidate, result.reason);
    });
  } finally {
    await deps.ledger.release(reservation.at, reservation.bytes - requestedBytes);
    if (spend) await deps.runSpend!.release(input.runId, spend.count - requested, spend.microUsd - requestedMicroUsd);
  }
  const deferred = candidates.length - started;
  // At the cap (and nothing else left to do now), the run waits for a raised cap.
  const capped = spend !== undefined && spend.capReached && started === affordable.length;
  let waitSeconds = capped ? Math.max(reservation.waitSeconds, SPEND_CAP_RECHECK_SECONDS) : reservation.waitSeconds;
  if (waitSeconds === 0 && deferred > 0) waitSeconds = 1;
  if (deferred > 0) {
    const reason = capped ? 'per-run spend cap' : reservation.count < affordable.length ? 'daily quota' : 'request deadline';
    deps.log.info('archives left pending for a later call', { runId: input.runId, deferred, waitSeconds, reason });
  }
  return { requested, requestedBytes, failed, deferred, waitSeconds, ...(capped ? { spendCapReached: true } : {}) };
}
