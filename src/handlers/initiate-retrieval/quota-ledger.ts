import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { QUOTA_LEDGER_PK } from '../../contract/keys';
import { availableBytes, LedgerBucket, nextRequestDelay, RequestLedger } from '../../core/pacing';
import { describeError, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';

/**
 * Seconds between a reservation and the latest moment a request paid by it may be sent. Bytes are
 * recorded at `now + RESERVATION_LEAD_SECONDS`, i.e. no earlier than any request they cover, so
 * the ledger never lets bytes leave the 24-h window before the requests that spent them do.
 * Requests not sent by then are released and retried in a later invocation.
 */
export const RESERVATION_LEAD_SECONDS = 120;

/** Outcome of {@link QuotaLedgerStore.reservePrefix}. */
export interface Reservation {
  /** How many of the given sizes (a prefix) were reserved. */
  readonly count: number;
  readonly bytes: number;
  /** Epoch seconds the bytes were recorded at (pass to `release`). */
  readonly at: number;
  /** Requests may be sent until this epoch-millis deadline. */
  readonly deadlineMs: number;
  /** When `count` < sizes given: seconds (≥ 1) until the next of the remaining sizes may fit. 0 otherwise. */
  readonly waitSeconds: number;
}

export interface QuotaLedgerOptions {
  readonly tableName: string;
  readonly dailyQuotaBytes: number;
  readonly bucketSeconds?: number;
  readonly log: Log;
  /** Epoch millis (tests use a virtual clock). */
  readonly clock?: () => number;
  /** Attempts when another writer changed the ledger between our read and write. Default 25. */
  readonly maxConflictRetries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface StoredLedger {
  readonly ledger: RequestLedger;
  /** `undefined` when the item does not exist yet. */
  readonly version: number | undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown when the ledger could not be updated because of constant write conflicts. */
export class LedgerContentionError extends Error {
  constructor(attempts: number) {
    super(`quota ledger changed under ${attempts} consecutive updates; giving up for this invocation`);
    this.name = 'LedgerContentionError';
  }
}

/**
 * The deployment-wide request ledger (one DynamoDB item, {@link QUOTA_LEDGER_PK}) shared by every
 * run and vault: reservations are read-modify-write cycles guarded by a `version` attribute, retried
 * with jitter when another invocation wrote in between. Only bytes actually requested are kept:
 * callers release what they reserved but did not request.
 */
export class QuotaLedgerStore {
  private readonly clock: () => number;
  private readonly bucketSeconds: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly ddb: DynamoDBDocumentClient, private readonly options: QuotaLedgerOptions) {
    this.clock = options.clock ?? Date.now;
    this.bucketSeconds = options.bucketSeconds ?? 60;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /**
   * Reserves the longest prefix of `sizes` that fits in the rolling 24-h quota now. When not even
   * the first size fits, nothing is reserved and `waitSeconds` says when it (with the sizes after
   * it, up to one quota) will. An archive larger than the whole quota is reserved alone, once the
   * window is empty.
   */
  public async reservePrefix(sizes: readonly number[]): Promise<Reservation> {
    const quota = this.options.dailyQuotaBytes;
    return this.mutate((ledger, nowSeconds) => {
      ledger.prune(nowSeconds);
      const room = availableBytes(ledger, nowSeconds, quota);
      let count = 0;
      let bytes = 0;
      for (const size of sizes) {
        const fits = bytes + size <= room || (count === 0 && size > quota && room === quota);
        if (!fits) break;
        count++;
        bytes += size;
      }
      const at = nowSeconds + RESERVATION_LEAD_SECONDS;
      if (bytes > 0) ledger.record(at, bytes);
      const waitSeconds = count < sizes.length ? this.waitFor(ledger, nowSeconds, sizes.slice(count)) : 0;
      const reservation: Reservation = { count, bytes, at, deadlineMs: Math.floor(at * 1000), waitSeconds };
      return { changed: bytes > 0, result: reservation };
    });
  }

  /** Gives back `bytes` of a reservation recorded at `at` (requests that were not sent or failed). */
  public async release(at: number, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    try {
      await this.mutate((ledger) => {
        const snapshot = ledger.toJSON();
        const start = Math.floor(at / snapshot.bucketSeconds) * snapshot.bucketSeconds;
        const buckets: LedgerBucket[] = [];
        for (const b of snapshot.buckets) {
          const left = b.start === start ? b.bytes - bytes : b.bytes;
          if (left > 0) buckets.push({ start: b.start, bytes: left });
        }
        return { changed: true, result: undefined, replacement: RequestLedger.fromSnapshot({ bucketSeconds: snapshot.bucketSeconds, buckets }) };
      });
    } catch (err) {
      // Keeping bytes that were never requested only makes pacing more conservative.
      this.options.log.warn('could not release unused quota; it stays counted until it leaves the 24-h window', { bytes, ...describeError(err) });
    }
  }

  /** Seconds (≥ 1) until the head of `remaining` (up to one quota of it) fits. */
  private waitFor(ledger: RequestLedger, nowSeconds: number, remaining: readonly number[]): number {
    const quota = this.options.dailyQuotaBytes;
    let wanted = 0;
    for (let i = 0; i < remaining.length; i++) {
      if (i > 0 && wanted + remaining[i] > quota) break;
      wanted += remaining[i];
    }
    return Math.max(1, Math.ceil(nextRequestDelay(ledger, nowSeconds, wanted, quota)));
  }

  private async mutate<T>(
    change: (ledger: RequestLedger, nowSeconds: number) => { changed: boolean; result: T; replacement?: RequestLedger },
  ): Promise<T> {
    const attempts = this.options.maxConflictRetries ?? 25;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const stored = await this.load();
      const nowSeconds = this.clock() / 1000;
      const { changed, result, replacement } = change(stored.ledger, nowSeconds);
      if (!changed) return result;
      const ledger = replacement ?? stored.ledger;
      ledger.prune(nowSeconds);
      try {
        await this.save(ledger, stored.version);
        return result;
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
        this.options.log.debug('quota ledger changed concurrently; retrying', { attempt });
        await this.sleep(Math.min(1000, 10 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
    throw new LedgerContentionError(attempts);
  }

  private async load(): Promise<StoredLedger> {
    const { Item } = await this.ddb.send(new GetCommand({
      TableName: this.options.tableName,
      Key: { pk: QUOTA_LEDGER_PK },
      ConsistentRead: true,
    }));
    if (!Item) return { ledger: new RequestLedger(this.bucketSeconds), version: undefined };
    const buckets = (JSON.parse(String(Item.buckets ?? '[]')) as Array<[number, number]>).map(([start, bytes]) => ({ start, bytes }));
    return {
      ledger: RequestLedger.fromSnapshot({ bucketSeconds: Number(Item.bucketSeconds ?? this.bucketSeconds), buckets }),
      version: Number(Item.version),
    };
  }

  private async save(ledger: RequestLedger, version: number | undefined): Promise<void> {
    const snapshot = ledger.toJSON();
    await this.ddb.send(new PutCommand({
      TableName: this.options.tableName,
      Item: {
        pk: QUOTA_LEDGER_PK,
        version: (version ?? 0) + 1,
        bucketSeconds: snapshot.bucketSeconds,
        buckets: JSON.stringify(snapshot.buckets.map((b) => [b.start, b.bytes])),
        dailyQuotaBytes: this.options.dailyQuotaBytes,
        updatedAt: new Date(this.clock()).toISOString(),
      },
      ConditionExpression: version === undefined ? 'attribute_not_exists(pk)' : 'version = :version',
      ExpressionAttributeValues: version === undefined ? undefined : { ':version': version },
    }));
  }
}
