import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { ARCHIVE_SK, bytesAttribute, countAttribute, metricsPk, MetricsTable, streamEventPk } from '../../contract/keys';
import { describeError, isTransactionConditionFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { ArchiveStatus } from '../shared/schema';

/** DynamoDB allows 100 items per transaction. */
export const MAX_TRANSACTION_ITEMS = 100;
/** Stream records live 24 h; markers outlive any redelivery comfortably. */
export const MARKER_TTL_SECONDS = 7 * 24 * 60 * 60;

const STATUSES = new Set<string>(Object.values(ArchiveStatus));

/** Counter changes caused by one stream record. */
export interface StatusDelta {
  readonly eventId: string;
  readonly sequenceNumber: string;
  readonly runId: string;
  /** attribute name → increment (negative to decrement). */
  readonly changes: Readonly<Record<string, number>>;
}

function str(image: Record<string, AttributeValue> | undefined, name: string): string | undefined {
  return image?.[name]?.S;
}

function num(image: Record<string, AttributeValue> | undefined, name: string): number {
  const raw = image?.[name]?.N;
  const value = raw === undefined ? 0 : Number(raw);
  return Number.isFinite(value) ? value : 0;
}

function status(image: Record<string, AttributeValue> | undefined): ArchiveStatus | undefined {
  const value = str(image, 'status');
  return value !== undefined && STATUSES.has(value) ? (value as ArchiveStatus) : undefined;
}

/**
 * The counter changes of one stream record, or `undefined` when it changes no count: not an
 * archive item, a REMOVE (TTL expiry keeps the run's history), or no status change.
 */
export function statusDelta(record: DynamoDBRecord): StatusDelta | undefined {
  const data = record.dynamodb;
  if (!data || !record.eventID || !data.SequenceNumber) return undefined;
  if ((data.Keys?.sk?.S ?? str(data.NewImage, 'sk') ?? str(data.OldImage, 'sk')) !== ARCHIVE_SK) return undefined;
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') return undefined;

  const oldStatus = record.eventName === 'MODIFY' ? status(data.OldImage) : undefined;
  const newStatus = status(data.NewImage);
  if (oldStatus === newStatus) return undefined;
  const runId = str(data.NewImage, 'runId') ?? str(data.OldImage, 'runId');
  if (!runId) return undefined;

  const changes: Record<string, number> = {};
  const add = (attribute: string, value: number): void => {
    changes[attribute] = (changes[attribute] ?? 0) + value;
  };
  if (oldStatus !== undefined) {
    add(countAttribute(oldStatus), -1);
    add(bytesAttribute(oldStatus), -num(data.OldImage, 'size'));
  }
  if (newStatus !== undefined) {
    add(countAttribute(newStatus), 1);
    add(bytesAttribute(newStatus), num(data.NewImage, 'size'));
  }
  return { eventId: record.eventID, sequenceNumber: data.SequenceNumber, runId, changes };
}

/** One transaction: a marker per record (fails if already counted) and one ADD per run counter. */
function transaction(tableName: string, deltas: readonly StatusDelta[], nowSeconds: number): TransactWriteCommand {
  const perRun = new Map<string, Record<string, number>>();
  for (const delta of deltas) {
    const sums = perRun.get(delta.runId) ?? {};
    for (const [attribute, value] of Object.entries(delta.changes)) sums[attribute] = (sums[attribute] ?? 0) + value;
    perRun.set(delta.runId, sums);
  }
  const items: NonNullable<TransactWriteCommand['input']['TransactItems']> = deltas.map((delta) => ({
    Put: {
      TableName: tableName,
      Item: {
        [MetricsTable.partitionKey]: streamEventPk(delta.eventId),
        [MetricsTable.ttlAttribute]: nowSeconds + MARKER_TTL_SECONDS,
        runId: delta.runId,
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': MetricsTable.partitionKey },
    },
  }));
  for (const [runId, sums] of perRun) {
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds: string[] = [];
    Object.entries(sums).forEach(([attribute, value], i) => {
      names[`#a${i}`] = attribute;
      values[`:v${i}`] = value;
      adds.push(`#a${i} :v${i}`);
    });
    items.push({
      Update: {
        TableName: tableName,
        Key: { [MetricsTable.partitionKey]: metricsPk(runId) },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    });
  }
  return new TransactWriteCommand({ TransactItems: items });
}

/** True when a transaction was cancelled only because a marker already existed. */
function alreadyCounted(err: unknown): boolean {
  return isTransactionConditionFailed(err);
}

/** Groups consecutive deltas so that markers + distinct run counters fit in one transaction. */
function groups(deltas: readonly StatusDelta[]): StatusDelta[][] {
  const result: StatusDelta[][] = [];
  let current: StatusDelta[] = [];
  let runs = new Set<string>();
  for (const delta of deltas) {
    const nextRuns = runs.has(delta.runId) ? runs.size : runs.size + 1;
    if (current.length > 0 && current.length + 1 + nextRuns > MAX_TRANSACTION_ITEMS) {
      result.push(current);
      current = [];
      runs = new Set();
    }
    current.push(delta);
    runs.add(delta.runId);
  }
  if (current.length > 0) result.push(current);
  return result;
}

export interface MetricsDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly log: Log;
  readonly clock?: () => Date;
}

/**
 * Applies the status transitions of a stream batch to the per-run counters, exactly once per
 * stream record. Records are processed in stream order; at the first record that cannot be
 * counted, it and every later record are reported in `batchItemFailures` (so ordering holds).
 */
export async function processStatusStream(deps: MetricsDeps, records: readonly DynamoDBRecord[]): Promise<DynamoDBBatchResponse> {
  const nowSeconds = Math.floor((deps.clock ?? (() => new Date()))().getTime() / 1000);
  const deltas: StatusDelta[] = [];
  const indexOf = new Map<StatusDelta, number>();
  records.forEach((record, index) => {
    const delta = statusDelta(record);
    if (delta) {
      deltas.push(delta);
      indexOf.set(delta, index);
    }
  });

  const failFrom = (delta: StatusDelta, err: unknown): DynamoDBBatchResponse => {
    const index = indexOf.get(delta)!;
    deps.log.error('could not count a status change; it and every later record will be retried', {
      eventId: delta.eventId,
      runId: delta.runId,
      failedRecords: records.length - index,
      ...describeError(err),
    });
    return {
      batchItemFailures: records.slice(index).map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' })),
    };
  };

  let counted = 0;
  let skipped = 0;
  for (const group of groups(deltas)) {
    try {
      await deps.ddb.send(transaction(deps.tableName, group, nowSeconds));
      counted += group.length;
      continue;
    } catch (err) {
      if (group.length === 1) {
        if (alreadyCounted(err)) {
          skipped++;
          continue;
        }
        return failFrom(group[0], err);
      }
      deps.log.info('grouped metrics transaction cancelled; counting its records one by one', describeError(err));
    }
    for (const delta of group) {
      try {
        await deps.ddb.send(transaction(deps.tableName, [delta], nowSeconds));
        counted++;
      } catch (err) {
        if (alreadyCounted(err)) {
          skipped++;
          continue;
        }
        return failFrom(delta, err);
      }
    }
  }
  deps.log.info('status changes counted', { records: records.length, counted, alreadyCounted: skipped });
  return { batchItemFailures: [] };
}
