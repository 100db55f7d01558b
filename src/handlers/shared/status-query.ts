import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ArchiveItem, ArchiveStatus } from './schema';
import { runStatusKey, TransferTable } from '../../contract/keys';

/** One page of a run's archives in one status (StatusIndex, oldest status change first). */
export async function queryStatusPage(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  status: ArchiveStatus,
  startKey?: Record<string, unknown>,
  limit = 500,
): Promise<{ items: ArchiveItem[]; nextKey?: Record<string, unknown> }> {
  const out = await ddb.send(new QueryCommand({
    TableName: tableName,
    IndexName: TransferTable.statusIndex,
    KeyConditionExpression: '#p = :p',
    ExpressionAttributeNames: { '#p': TransferTable.statusIndexPartition },
    ExpressionAttributeValues: { ':p': runStatusKey(runId, status) },
    ExclusiveStartKey: startKey,
    Limit: limit,
  }));
  return { items: (out.Items ?? []) as ArchiveItem[], nextKey: out.LastEvaluatedKey };
}

/** Every archive of a run in `status`, page by page. */
export async function* archivesInStatus(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  status: ArchiveStatus,
): AsyncGenerator<ArchiveItem[]> {
  let key: Record<string, unknown> | undefined;
  do {
    const page = await queryStatusPage(ddb, tableName, runId, status, key);
    if (page.items.length > 0) yield page.items;
    key = page.nextKey;
  } while (key);
}

/** Retries `fn` on throttling / 5xx with capped exponential backoff and full jitter. */
export async function withRetries<T>(fn: () => Promise<T>, retryable: (err: unknown) => boolean, attempts = 8, sleep = defaultSleep): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      await sleep(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
    }
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
