import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { runSpendPk } from '../../contract/keys';
import { RunSpendCaps, spendPrefix } from '../../core/run-spend';
import { describeError, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

/** Seconds a run paused at its spend cap waits before its batch looks at the cap again. */
export const SPEND_CAP_RECHECK_SECONDS = 900;

/** Outcome of {@link RunSpendLedger.reservePrefix}. */
export interface SpendReservation {
  /** How many of the given sizes (a prefix) were reserved. */
  readonly count: number;
  readonly microUsd: number;
  /** Some sizes did not fit: the run is at its cap. */
  readonly capReached: boolean;
}

export interface RunSpendLedgerOptions {
  readonly tableName: string;
  readonly caps: RunSpendCaps;
  readonly log: Log;
  /** Attempts when another writer changed the run's spend between our read and write. Default 10. */
  readonly maxConflictRetries?: number;
}

/**
 * A run's spend against the deployment's per-run caps (one item per run in the metrics table,
 * {@link runSpendPk}). A reservation reads the item, takes the longest prefix that fits and adds
 * it with a condition that nobody wrote in between (retried otherwise), so concurrent request
 * stages of one run (InitiateRetrieval, the download-window extension) never pass the cap together.
 * Callers release what they reserved but did not request.
 */
export class RunSpendLedger {
  constructor(private readonly ddb: DynamoDBDocumentClient, private readonly options: RunSpendLedgerOptions) {}

  public async reservePrefix(runId: string, tier: string, sizes: readonly number[]): Promise<SpendReservation> {
    const attempts = this.options.maxConflictRetries ?? 10;
    const Key = { pk: runSpendPk(runId) };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const { Item } = await this.ddb.send(new GetCommand({
        TableName: this.options.tableName,
        Key,
        ConsistentRead: true,
        ProjectionExpression: '#r, #u',
        ExpressionAttributeNames: { '#r': 'spentRequests', '#u': 'spentMicroUsd' },
      }));
      const spent = { requests: Number(Item?.spentRequests ?? 0), microUsd: Number(Item?.spentMicroUsd ?? 0) };
      const prefix = spendPrefix(sizes, tier, spent, this.options.caps);
      if (prefix.capReached) {
        this.options.log.warn('per-run spend cap reached: the run waits until the cap is raised', {
          runId, spentRequests: spent.requests, spentMicroUsd: spent.microUsd, ...this.options.caps, fitting: prefix.count, wanted: sizes.length,
        });
      }
      if (prefix.count === 0) return { count: 0, microUsd: 0, capReached: prefix.capReached };
      try {
        await this.ddb.send(new UpdateCommand({
          TableName: this.options.tableName,
          Key,
          UpdateExpression: 'ADD #r :n, #u :d SET updatedAt = :at',
          ConditionExpression: Item ? '#r = :r0 AND #u = :u0' : 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#r': 'spentRequests', '#u': 'spentMicroUsd' },
          ExpressionAttributeValues: {
            ':n': prefix.count,
            ':d': prefix.microUsd,
            ':at': new Date().toISOString(),
            ...(Item ? { ':r0': spent.requests, ':u0': spent.microUsd } : {}),
          },
        }));
        return { count: prefix.count, microUsd: prefix.microUsd, capReached: prefix.capReached };
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        this.options.log.debug('run spend changed concurrently; retrying', { runId, attempt });
      }
    }
    // Constant contention: request nothing now; the batch is called again later.
    this.options.log.warn('run spend item kept changing; nothing reserved in this call', { runId, attempts });
    return { count: 0, microUsd: 0, capReached: false };
  }

  /** Gives back requests (and their estimated cost) reserved but not sent. */
  public async release(runId: string, requests: number, microUsd: number): Promise<void> {
    if (requests <= 0 && microUsd <= 0) return;
    try {
      await this.ddb.send(new UpdateCommand({
        TableName: this.options.tableName,
        Key: { pk: runSpendPk(runId) },
        UpdateExpression: 'ADD #r :n, #u :d',
        ExpressionAttributeNames: { '#r': 'spentRequests', '#u': 'spentMicroUsd' },
        ExpressionAttributeValues: { ':n': -requests, ':d': -microUsd },
      }));
    } catch (err) {
      // Keeping spend that was never requested only pauses the run earlier.
      this.options.log.warn('could not release unused run spend; it stays counted', { runId, requests, microUsd, ...describeError(err) });
    }
  }
}
