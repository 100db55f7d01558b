import type { WindowExtensionItem } from './window-scan';
import { archivePk } from '../../contract/keys';
import { ArchiveTransition, checkTransition, DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE, retrievalBoundReached, retrievalBoundReason } from '../../core/archive-lifecycle';
import { InvalidBatchInputError, RequestDeps, requestCandidates } from '../initiate-retrieval/initiate-batch';
import { ArchiveStatus } from '../shared/schema';

/** `BatchInput` of the window-extension Distributed Map. */
export interface ExtendBatchInput {
  readonly runId: string;
  readonly tier: string;
  readonly topicArn: string;
}

export interface ExtendBatchEvent {
  readonly BatchInput: ExtendBatchInput;
  readonly Items: readonly WindowExtensionItem[];
}

export interface ExtendBatchResult {
  /** > 0: quota exhausted for a short while; the state machine waits and calls again. */
  readonly waitSeconds: number;
  /** Re-requested and switched to the new job. */
  readonly extended: number;
  /** Downloaded, failed or already switched to another job since the scan: nothing done. */
  readonly alreadyMoved: number;
  /** InitiateJob failed after retries; the next scan tries again while the window is open. */
  readonly failed: number;
  /** Reached the bound on retrieval jobs per archive: marked FAILED with the reason, not re-requested. */
  readonly boundReached: number;
  /**
   * Reached the bound, but a copy of the archive's last job may still land (its window has not
   * closed long enough ago, or its validation is queued): neither re-requested nor failed; a later
   * scan fails it if it is still not copied.
   */
  readonly boundWaiting: number;
  /** Left for a later call or the next scan (quota). */
  readonly deferred: number;
}

export interface ExtendDeps extends RequestDeps {
  /** Quota waits longer than this are not sat out: the next scheduled scan picks the archives up. */
  readonly maxWaitSeconds: number;
}

const EXTENSIBLE: readonly string[] = [ArchiveStatus.STAGED, ArchiveStatus.REQUESTED];

/**
 * Re-requests archives whose download window is closing (same tier, same SNS topic, same job
 * description format), paying quota like any request. An archive is only switched to the new job
 * while it is still staged (or requested) under the job the scan saw, so a redelivered batch or an
 * archive that finished meanwhile is left alone.
 */
export async function extendBatch(deps: ExtendDeps, event: ExtendBatchEvent): Promise<ExtendBatchResult> {
  const input = event?.BatchInput;
  if (!input || typeof input.runId !== 'string' || typeof input.tier !== 'string' || typeof input.topicArn !== 'string') {
    throw new InvalidBatchInputError('ExtendDownloadWindow needs BatchInput { runId, tier, topicArn }');
  }
  const listed = Array.isArray(event.Items) ? event.Items : [];
  const current = await deps.store.getArchives(listed.map((i) => archivePk(input.runId, i.archiveId)));
  const items = new Map<string, NonNullable<ReturnType<typeof current.get>>>();
  let alreadyMoved = 0;
  let boundReached = 0;
  let boundWaiting = 0;
  const now = (deps.now ?? Date.now)();
  const maxJobs = deps.maxRetrievalJobs ?? DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE;
  for (const entry of listed) {
    const pk = archivePk(input.runId, entry.archiveId);
    const item = current.get(pk);
    if (!item || !EXTENSIBLE.includes(item.status) || item.jobId !== entry.jobId || items.has(pk)) {
      alreadyMoved++;
      continue;
    }
    if (retrievalBoundReached(item.retrievalJobs, maxJobs)) {
      // An archive whose copy keeps failing would otherwise be re-requested (and paid for) forever.
      // It fails only once no copy of its last job can still land: failing it while a copy is in
      // flight would leave that copy's object under a FAILED archive (issue #16).
      const facts = {
        status: item.status,
        retrievalJobs: item.retrievalJobs,
        jobExpiresAt: item.jobExpiresAt,
        validationQueued: item.validationQueuedBy !== undefined,
      };
      const verdict = checkTransition(ArchiveTransition.FAIL_AT_JOB_BOUND, facts, { maxRetrievalJobs: maxJobs, now, reason: 'bound' });
      if (!verdict.allowed) {
        boundWaiting++;
        deps.log.info('retrieval job bound reached; not re-requested, waiting for the copy of the last job', {
          runId: input.runId, archiveId: item.archiveId, jobId: entry.jobId, why: verdict.refusal,
        });
        continue;
      }
      const reason = `${retrievalBoundReason(item.retrievalJobs ?? 0, maxJobs)}; its download window closed before it was copied`
        + (item.lastVerificationFailure ? ` (last verification failure: ${item.lastVerificationFailure})` : '');
      if (await deps.store.failAtJobBound(item, entry.jobId, reason, maxJobs)) {
        boundReached++;
        deps.log.error('archive failed: retrieval job bound reached, not re-requested', { runId: input.runId, archiveId: item.archiveId, reason });
      } else {
        alreadyMoved++;
      }
      continue;
    }
    items.set(pk, item);
  }
  const candidates = [...items.values()].map((item) => ({ pk: item.pk, archiveId: item.archiveId, vaultName: item.vaultName, size: item.size }));
  const outcome = await requestCandidates(
    deps,
    input,
    candidates,
    (candidate, reason) => deps.log.error('could not re-request archive; the next scan retries while its window is open', {
      runId: input.runId, archiveId: candidate.archiveId, reason,
    }),
    async (candidate, jobId) => {
      const item = items.get(candidate.pk)!;
      if (await deps.store.switchToExtendedJob(item, item.jobId!, jobId, deps.maxRetrievalJobs)) {
        deps.log.info('download window extended with a new job', { runId: input.runId, archiveId: item.archiveId, oldJobId: item.jobId, jobId, oldJobExpiresAt: item.jobExpiresAt });
      } else {
        deps.log.warn('archive moved on while it was re-requested; the new job is not used', { runId: input.runId, archiveId: item.archiveId, jobId });
      }
    },
    false,
  );
  const waitSeconds = outcome.waitSeconds <= deps.maxWaitSeconds ? outcome.waitSeconds : 0;
  const result: ExtendBatchResult = {
    waitSeconds, extended: outcome.requested, alreadyMoved, failed: outcome.failed, boundReached, boundWaiting, deferred: outcome.deferred,
  };
  deps.log.info('window-extension batch processed', { runId: input.runId, listed: listed.length, ...result, quotaWaitSeconds: outcome.waitSeconds });
  return result;
}
