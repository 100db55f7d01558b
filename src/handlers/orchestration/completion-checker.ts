import { SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isComplete, readRunCounts, RunCounts } from './run-counts';
import { getRun } from './run-record';
import { completionWaitPk } from '../../contract/keys';
import { errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { RunState } from '../shared/schema';

/*
 * CompletionChecker. Two callers:
 *  - the orchestrator's WaitForCompletion task (`lambda:invoke.waitForTaskToken`) registers its task
 *    token in the async-facilitator table and gets an immediate check (an empty or already finished
 *    run completes at once);
 *  - the per-run schedule target (`{ "runId": … }`) re-checks every few minutes, and heartbeats
 *    the waiting task while the run is still in progress.
 * Complete means downloaded + failed + skipped = total. A stop request ends the wait early:
 * RESET at once, FINISH once nothing is requested or staged any more.
 */

export interface CompletionDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
  readonly transferTable: string;
  readonly metricsTable: string;
  readonly asyncFacilitatorTable: string;
  readonly log: Log;
  readonly now?: () => Date;
}

export interface CompletionEvent {
  readonly runId: string;
  /** Present when the orchestrator starts waiting. */
  readonly taskToken?: string;
  readonly executionArn?: string;
}

export type CompletionOutcome = 'COMPLETE' | 'STOPPED';

export interface CompletionResult {
  readonly runId: string;
  readonly status: 'COMPLETE' | 'STOPPED' | 'IN_PROGRESS' | 'NOT_WAITING';
  readonly counts: RunCounts['count'];
  readonly bytes: RunCounts['bytes'];
}

export async function checkCompletion(deps: CompletionDeps, event: CompletionEvent): Promise<CompletionResult> {
  const { runId } = event;
  const key = { pk: completionWaitPk(runId) };
  if (event.taskToken) {
    await deps.ddb.send(new PutCommand({
      TableName: deps.asyncFacilitatorTable,
      Item: {
        ...key,
        runId,
        taskToken: event.taskToken,
        executionArn: event.executionArn ?? '',
        createdAt: (deps.now?.() ?? new Date()).toISOString(),
        // Kept at most 400 days (longer than any execution can live).
        expiresAt: Math.floor((deps.now?.() ?? new Date()).getTime() / 1000) + 400 * 86400,
      },
    }));
  }
  const wait = event.taskToken
    ? { taskToken: event.taskToken }
    : (await deps.ddb.send(new GetCommand({ TableName: deps.asyncFacilitatorTable, Key: key, ConsistentRead: true })))
      .Item as { taskToken: string } | undefined;

  const [counts, run] = await Promise.all([readRunCounts(deps.ddb, deps.metricsTable, runId), getRun(deps, runId)]);
  let status: CompletionResult['status'] = 'IN_PROGRESS';
  if (run?.stopRequested === 'RESET') status = 'STOPPED';
  else if (run?.stopRequested === 'FINISH' && counts.count.requested + counts.count.staged === 0) status = 'STOPPED';
  else if (isComplete(counts)) status = 'COMPLETE';
  const summary = { runId, counts: counts.count, bytes: counts.bytes };
  deps.log.info('completion check', { runId, status, waiting: wait !== undefined, terminal: counts.terminalCount, total: counts.count.total });

  if (!wait) return { ...summary, status: status === 'IN_PROGRESS' ? 'NOT_WAITING' : status };
  if (run && run.state !== RunState.ACTIVE) deps.log.warn('run is not active but a wait is registered', { runId, state: run.state });

  try {
    if (status === 'IN_PROGRESS') {
      await deps.sfn.send(new SendTaskHeartbeatCommand({ taskToken: wait.taskToken }));
      return { ...summary, status };
    }
    const output = JSON.stringify({ outcome: status as CompletionOutcome, ...summary });
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: wait.taskToken, output }));
  } catch (err) {
    const name = errorName(err);
    if (name !== 'TaskTimedOut' && name !== 'TaskDoesNotExist' && name !== 'InvalidToken') throw err;
    deps.log.warn('the waiting task is gone; dropping its token', { runId, error: name });
  }
  try {
    await deps.ddb.send(new DeleteCommand({
      TableName: deps.asyncFacilitatorTable,
      Key: key,
      ConditionExpression: 'taskToken = :t',
      ExpressionAttributeValues: { ':t': wait.taskToken },
    }));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
  return { ...summary, status };
}
