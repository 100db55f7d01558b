import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Env } from '../../contract/environment';
import { inventoryJobWaitPk } from '../../contract/keys';
import type { GlacierJobNotification } from '../archive-retrieval/glacier-notification';
import { errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import { createDocumentClient, createSfnClient } from '../shared/clients';
import { requireEnv } from '../shared/env';
import type { Log } from '../shared/logger';

/**
 * Unlocks the InventoryRetrieval state machine waiting for an inventory job: looks the task token
 * up in the async-facilitator table (`pk = inventory-job#<jobId>`, written by the state machine's
 * WaitForInventoryJob task) and sends SendTaskSuccess (or SendTaskFailure for a failed job).
 *
 * Called from two places, both safe to repeat: the notifications processor (SNS path) and the
 * state machine's safety-net poller (DescribeJob). The first caller wins; later ones find the
 * item marked completed, or get TaskTimedOut / TaskDoesNotExist from Step Functions, and return
 * without error.
 */

/** What a completion attempt did. */
export type CompletionOutcome =
  | 'unlocked'
  | 'failed-job-reported'
  | 'not-complete'
  | 'no-waiter'
  | 'already-completed'
  | 'stale-token';

/** The job facts the waiting state machine receives (SendTaskSuccess output). */
export interface InventoryJobResult {
  readonly jobId: string;
  readonly statusCode: string;
  readonly inventorySizeInBytes?: number;
  readonly completionDate?: string;
}

export interface CompletionDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
  readonly tableName: string;
  readonly log?: Log;
}

/** The subset of a notification / DescribeJob result that completion needs. */
export type InventoryJobFacts = Pick<GlacierJobNotification, 'jobId' | 'completed' | 'statusCode' | 'statusMessage' | 'inventorySizeInBytes' | 'completionDate'>;

const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export async function completeInventoryJobWith(deps: CompletionDeps, job: InventoryJobFacts): Promise<CompletionOutcome> {
  if (!job.completed || job.statusCode === 'InProgress') return 'not-complete';
  const pk = inventoryJobWaitPk(job.jobId);
  const out = await deps.ddb.send(new GetCommand({ TableName: deps.tableName, Key: { pk }, ConsistentRead: true }));
  const item = out.Item as { taskToken?: string; completedAt?: string } | undefined;
  if (!item?.taskToken) {
    deps.log?.info('no state machine is waiting for this inventory job (yet); the poller will retry', { jobId: job.jobId });
    return 'no-waiter';
  }
  if (item.completedAt) return 'already-completed';

  const succeeded = job.statusCode === 'Succeeded';
  let outcome: CompletionOutcome = succeeded ? 'unlocked' : 'failed-job-reported';
  try {
    if (succeeded) {
      const result: InventoryJobResult = {
        jobId: job.jobId,
        statusCode: job.statusCode,
        inventorySizeInBytes: job.inventorySizeInBytes,
        completionDate: job.completionDate,
      };
      await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: item.taskToken, output: JSON.stringify(result) }));
    } else {
      await deps.sfn.send(new SendTaskFailureCommand({
        taskToken: item.taskToken,
        error: 'Glacier.InventoryJobFailed',
        cause: `Glacier inventory job ${job.jobId} failed: ${job.statusMessage ?? 'no status message'}`.slice(0, 32_000),
      }));
    }
  } catch (err) {
    if (!STALE_TOKEN_ERRORS.has(errorName(err) ?? '')) throw err;
    outcome = 'stale-token';
  }
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: deps.tableName,
      Key: { pk },
      UpdateExpression: 'SET completedAt = :now, statusCode = :status',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(completedAt)',
      ExpressionAttributeValues: { ':now': new Date().toISOString(), ':status': job.statusCode },
    }));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
  deps.log?.info('inventory job waiter notified', { jobId: job.jobId, outcome, statusCode: job.statusCode });
  return outcome;
}

let defaults: CompletionDeps | undefined;

/**
 * For the notifications processor: `await completeInventoryJob(notification, log)`. Needs
 * `ASYNC_FACILITATOR_TABLE_NAME` and permission to GetItem/UpdateItem that table and to
 * SendTaskSuccess/SendTaskFailure (see InventoryRetrieval.grantJobCompletion).
 */
export async function completeInventoryJob(notification: InventoryJobFacts, log?: Log): Promise<CompletionOutcome> {
  defaults ??= { ddb: createDocumentClient(), sfn: createSfnClient(), tableName: requireEnv(Env.ASYNC_FACILITATOR_TABLE) };
  return completeInventoryJobWith({ ...defaults, log }, notification);
}
