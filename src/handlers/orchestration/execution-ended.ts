import { EventBridgeClient, PutEventsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getRun } from './run-record';
import { activeVaultPk, completionWaitPk, RUN_ID_PATTERN, RUN_SK, runPk } from '../../contract/keys';
import { ENDED_STATUSES } from '../../contract/messages';
import { describeError, errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { RunRecord, RunState } from '../shared/schema';

export { ENDED_STATUSES };

/*
 * OrchestratorExecutionEnded: the backstop for orchestrator executions that end without running
 * their own cleanup: stopped from the console or the API (ABORTED), failed outside a Catch
 * (FAILED), or timed out (TIMED_OUT). EventBridge delivers Step Functions' "Execution Status
 * Change" event for the orchestrator; this closes the run the way the ASL's cleanup would have:
 *
 * 1. the run record goes ACTIVE → STOPPED (aborted) or FAILED (failed, timed out) with the reason,
 *    only while it is still ACTIVE for exactly this execution: a Resume that already started a
 *    newer execution owns the record (and the schedule targets, which share the run id), so
 *    nothing is touched for it;
 * 2. the run's targets are removed from the three schedule rules (download window, completion,
 *    dashboard), as the ASL's Cleanup*Schedule states do;
 * 3. the run's InitiateRetrieval execution is stopped (no more archives are requested), the
 *    vault lock of this execution is released and its completion wait deleted, so the Resume
 *    runbook (which wants a non-ACTIVE run and no lock) accepts the run;
 * 4. a "Transfer Run Stopped/Failed" event is published for the notification e-mails.
 *
 * A record already closed by this execution's own FinishRun (e.g. a FAILED execution that went
 * through cleanup and ended in RunFailed) only gets steps 2-3 again, which are idempotent.
 * Requested and staged archives are not reset here: Resume's first step does that.
 */


/** The `detail` of a Step Functions "Execution Status Change" event (fields used here). */
export interface ExecutionStatusChangeDetail {
  readonly executionArn: string;
  readonly stateMachineArn?: string;
  readonly name?: string;
  readonly status: string;
  /** Execution input as a JSON string; null when it was too large to include. */
  readonly input?: string | null;
  readonly error?: string | null;
  readonly cause?: string | null;
  readonly stopDate?: number | null;
}

export interface ExecutionStatusChangeEvent {
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'detail': ExecutionStatusChangeDetail;
}

export interface ExecutionEndedDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly events: EventBridgeClient;
  readonly sfn: SFNClient;
  readonly transferTable: string;
  readonly asyncFacilitatorTable: string;
  /** Names of the rules holding per-run targets (Id = run id). */
  readonly scheduleRules: readonly string[];
  /** `source` of the run events; none are published when absent. */
  readonly eventSource?: string;
  /** Inventory bucket (the run report location in the run event). */
  readonly inventoryBucket?: string;
  readonly log: Log;
  readonly now?: () => Date;
}

export type ExecutionEndedOutcome =
  /** This handler closed the run. */
  | 'closed'
  /** The execution's own cleanup had closed the run; the idempotent steps were repeated. */
  | 'already-closed'
  /** A newer execution owns the run: nothing was touched. */
  | 'superseded'
  /** Not an ended orchestrator execution of a recorded run (e.g. rejected before the record was written). */
  | 'ignored';

export interface ExecutionEndedResult {
  readonly outcome: ExecutionEndedOutcome;
  readonly runId?: string;
  readonly state?: RunState;
}

/** STOPPED for an execution stopped from outside, FAILED for one that failed or timed out. */
export function runStateFor(status: string): RunState {
  return status === 'ABORTED' ? RunState.STOPPED : RunState.FAILED;
}

/** The reason kept on the run record. */
export function endReason(detail: ExecutionStatusChangeDetail): string {
  const what = detail.status === 'ABORTED'
    ? 'orchestrator execution was stopped outside the Stop runbook (StopExecution)'
    : detail.status === 'TIMED_OUT' ? 'orchestrator execution timed out' : 'orchestrator execution failed without running its cleanup';
  const error = [detail.error, detail.cause].filter((x) => typeof x === 'string' && x !== '').join(': ');
  return `${detail.status}: ${what}${error ? ` (${error.slice(0, 1500)})` : ''}; Resume continues the run`;
}

async function runIdOf(deps: ExecutionEndedDeps, detail: ExecutionStatusChangeDetail): Promise<string | undefined> {
  let input = detail.input;
  if (typeof input !== 'string' || input === '') {
    // Inputs above the event size limit are left out of the event; the execution still has it.
    input = (await deps.sfn.send(new DescribeExecutionCommand({ executionArn: detail.executionArn }))).input;
  }
  try {
    const runId = (JSON.parse(input ?? '') as { runId?: unknown })?.runId;
    return typeof runId === 'string' && RUN_ID_PATTERN.test(runId) ? runId : undefined;
  } catch {
    return undefined;
  }
}

/** ACTIVE → `state`, only while this execution owns the record. False when it no longer does. */
async function closeRecord(deps: ExecutionEndedDeps, runId: string, executionArn: string, state: RunState, reason: string): Promise<boolean> {
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: deps.transferTable,
      Key: { pk: runPk(runId), sk: RUN_SK },
      UpdateExpression: 'SET #state = :state, endedAt = :now, #error = :error',
      ConditionExpression: '#state = :active AND executionArn = :me',
      ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
      ExpressionAttributeValues: {
        ':state': state,
        ':now': (deps.now?.() ?? new Date()).toISOString(),
        ':error': reason,
        ':active': RunState.ACTIVE,
        ':me': executionArn,
      },
    }));
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

async function deleteIfMine(
  deps: ExecutionEndedDeps,
  table: string,
  key: Record<string, string>,
  condition: string,
  values: Record<string, string>,
): Promise<void> {
  try {
    await deps.ddb.send(new DeleteCommand({ TableName: table, Key: key, ConditionExpression: condition, ExpressionAttributeValues: values }));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
}

/**
 * Closes the run of an orchestrator execution that ended ABORTED, FAILED or TIMED_OUT (see the
 * module comment). Throws after trying every cleanup step when one of them failed, so the
 * asynchronous invocation is retried; every step is safe to repeat.
 */
export async function handleExecutionEnded(deps: ExecutionEndedDeps, event: ExecutionStatusChangeEvent): Promise<ExecutionEndedResult> {
  const detail = event?.detail;
  if (!detail || typeof detail.executionArn !== 'string' || !(ENDED_STATUSES as readonly string[]).includes(detail.status)) {
    deps.log.info('not an ended orchestrator execution; ignoring', { status: detail?.status, executionArn: detail?.executionArn });
    return { outcome: 'ignored' };
  }
  const { executionArn } = detail;
  const runId = await runIdOf(deps, detail);
  if (runId === undefined) {
    deps.log.warn('execution input names no valid run id; nothing to close', { executionArn });
    return { outcome: 'ignored' };
  }
  const log = {
    info: (m: string, x: object = {}) => deps.log.info(m, { runId, executionArn, ...x }),
    warn: (m: string, x: object = {}) => deps.log.warn(m, { runId, executionArn, ...x }),
  };

  let record: RunRecord | undefined = await getRun(deps, runId);
  if (!record) {
    log.info('no run record: the execution ended before it recorded the run');
    return { outcome: 'ignored', runId };
  }
  if (record.executionArn !== executionArn) {
    log.info('a newer execution owns the run; leaving it alone', { ownerExecutionArn: record.executionArn });
    return { outcome: 'superseded', runId };
  }
  const state = runStateFor(detail.status);
  let outcome: ExecutionEndedOutcome = 'already-closed';
  if (record.state === RunState.ACTIVE) {
    if (await closeRecord(deps, runId, executionArn, state, endReason(detail))) {
      outcome = 'closed';
      log.warn('run closed after its orchestrator execution ended without cleanup', { status: detail.status, state });
    } else {
      record = await getRun(deps, runId);
      if (!record || record.executionArn !== executionArn) {
        log.info('a newer execution took the run over meanwhile; leaving it alone', { ownerExecutionArn: record?.executionArn });
        return { outcome: 'superseded', runId };
      }
    }
  }

  const failures: string[] = [];
  const attempt = async (step: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      failures.push(`${step}: ${errorName(err) ?? 'Error'}: ${String((err as Error)?.message ?? err).slice(0, 300)}`);
      log.warn(`cleanup step failed: ${step}`, describeError(err));
    }
  };
  // Same Ids the orchestrator's EnableXSchedule states used, so the same removal as its cleanup.
  for (const rule of deps.scheduleRules) {
    await attempt(`remove schedule target from ${rule}`, async () => {
      const out = await deps.events.send(new RemoveTargetsCommand({ Rule: rule, Ids: [runId] }));
      const failed = (out.FailedEntries ?? []).filter((e) => e.ErrorCode !== 'ResourceNotFoundException');
      if (failed.length > 0) throw Object.assign(new Error(failed.map((e) => `${e.ErrorCode}: ${e.ErrorMessage}`).join('; ')), { name: 'RemoveTargetsFailed' });
    });
  }
  if (outcome === 'closed' && record.initiateExecutionArn) {
    await attempt('stop InitiateRetrieval', async () => {
      try {
        await deps.sfn.send(new StopExecutionCommand({
          executionArn: record!.initiateExecutionArn,
          error: 'OrchestratorEnded',
          cause: `orchestrator execution ${detail.status}`,
        }));
      } catch (err) {
        // Never started, or already ended: nothing is requesting archives.
        if (errorName(err) !== 'ExecutionDoesNotExist') throw err;
      }
    });
  }
  await attempt('release vault lock', () => deleteIfMine(deps, deps.transferTable, { pk: activeVaultPk(record!.vaultName), sk: RUN_SK },
    'runId = :runId AND executionArn = :me', { ':runId': runId, ':me': executionArn }));
  await attempt('delete completion wait', () => deleteIfMine(deps, deps.asyncFacilitatorTable, { pk: completionWaitPk(runId) },
    'attribute_not_exists(executionArn) OR executionArn = :me OR executionArn = :none', { ':me': executionArn, ':none': '' }));
  if (outcome === 'closed' && deps.eventSource) {
    await attempt('publish run event', async () => {
      await deps.events.send(new PutEventsCommand({
        Entries: [{
          Source: deps.eventSource,
          DetailType: state === RunState.STOPPED ? 'Transfer Run Stopped' : 'Transfer Run Failed',
          Detail: JSON.stringify({
            runId,
            vaultName: record!.vaultName,
            state,
            error: { Error: `Execution${detail.status === 'TIMED_OUT' ? 'TimedOut' : detail.status === 'ABORTED' ? 'Aborted' : 'Failed'}`, Cause: endReason(detail) },
            reportBucket: deps.inventoryBucket ?? '',
            reportPrefix: record!.reportPrefix ?? '',
            counts: {},
            executionArn,
          }),
        }],
      }));
    });
  }
  if (failures.length > 0) {
    throw Object.assign(new Error(`closing run ${runId} after ${detail.status}: ${failures.join('; ')}`), { name: 'RunCleanupIncomplete' });
  }
  return { outcome, runId, state: outcome === 'closed' ? state : record.state };
}
