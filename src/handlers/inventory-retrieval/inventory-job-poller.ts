import { DescribeJobCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { CompletionDeps, CompletionOutcome, completeInventoryJobWith } from './inventory-job-completion';
import type { Log } from '../shared/logger';

export interface PollEvent {
  readonly jobId: string;
  readonly vaultName: string;
}

export interface PollResult {
  readonly jobId: string;
  readonly statusCode: string;
  readonly outcome: CompletionOutcome;
}

export interface PollDeps {
  readonly glacier: GlacierClient;
  readonly completion: CompletionDeps;
  readonly log: Log;
}

/** DescribeJob; when the job has finished, unlock the waiting task token (idempotent). */
export async function pollInventoryJob(deps: PollDeps, event: PollEvent): Promise<PollResult> {
  const job = await deps.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: event.vaultName, jobId: event.jobId }));
  const statusCode = job.StatusCode ?? 'InProgress';
  const outcome = await completeInventoryJobWith(deps.completion, {
    jobId: event.jobId,
    completed: job.Completed === true,
    statusCode: statusCode as 'InProgress' | 'Succeeded' | 'Failed',
    statusMessage: job.StatusMessage,
    inventorySizeInBytes: job.InventorySizeInBytes,
    completionDate: job.CompletionDate,
  });
  if (outcome === 'unlocked' || outcome === 'failed-job-reported') {
    deps.log.warn('inventory job finished but its notification had not arrived; unlocked by the poller', { jobId: event.jobId, statusCode });
  }
  return { jobId: event.jobId, statusCode, outcome };
}
