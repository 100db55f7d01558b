/*
 * The request-stage fakes (test/handlers/initiate-retrieval/fake-aws.ts) adapted to the
 * orchestration handlers: StatusIndex queries keyed the way status-query.ts writes them
 * (`#p = :p`), conditional DeleteItem, and archive items.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ARCHIVE_SK, ArchiveStatus, archivePk, runStatusKey } from '../../../src/handlers/shared/schema';
import { evaluate, FakeDynamo } from '../initiate-retrieval/fake-aws';

export { silentLogger } from '../initiate-retrieval/fake-aws';

export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const FACILITATOR = 'facilitator';
export const BUCKET = 'dest-bucket';
export const OWNER = '111122223333';
const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };

export const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { ...meta, httpStatusCode: 400 } });

/** An error as the SDK raises it (name + HTTP status). */
export function awsError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { ...meta, httpStatusCode: status } });
}

export class OrchestrationDynamo extends FakeDynamo {
  public readonly queries: Array<Record<string, any>> = [];

  constructor() {
    super();
    this.mock.on(QueryCommand).callsFake(async (i) => {
      this.beforeCommand?.('Query', i);
      this.queries.push(i);
      if (i.IndexName !== 'StatusIndex') throw new Error(`unexpected index ${i.IndexName}`);
      const partition = i.ExpressionAttributeValues[':p'];
      const attribute = i.ExpressionAttributeNames['#p'];
      const all = [...this.table(i.TableName).values()]
        .filter((it) => it[attribute] === partition)
        .sort((a, b) => `${a.statusTime}${a.pk}`.localeCompare(`${b.statusTime}${b.pk}`));
      const start = i.ExclusiveStartKey ? all.findIndex((it) => it.pk === i.ExclusiveStartKey.pk) + 1 : 0;
      const limit = Math.min(i.Limit ?? Infinity, this.pageSize);
      const page = all.slice(start, start + limit);
      const last = start + limit < all.length ? { pk: page[page.length - 1].pk, sk: page[page.length - 1].sk } : undefined;
      return { Items: page.map((x) => ({ ...x })), LastEvaluatedKey: last, $metadata: meta };
    });
    this.mock.on(DeleteCommand).callsFake(async (i) => {
      this.beforeCommand?.('Delete', i);
      const t = this.table(i.TableName);
      const k = this.key(i.Key);
      if (i.ConditionExpression && !evaluate(i.ConditionExpression, t.get(k), i.ExpressionAttributeNames, i.ExpressionAttributeValues)) {
        throw conditionFailed();
      }
      t.delete(k);
      return { $metadata: meta };
    });
  }

  /** Archives of `runId` in the transfer table. */
  public archives(runId: string): Array<Record<string, any>> {
    return [...this.table(TRANSFER).values()].filter((it) => it.sk === ARCHIVE_SK && it.runId === runId);
  }
}

let seq = 0;
/** An archive item of `runId` in `status`. */
export function archive(runId: string, status: ArchiveStatus, extra: Record<string, unknown> = {}): Record<string, any> {
  const archiveId = (extra.archiveId as string | undefined) ?? `A${String(++seq).padStart(4, '0')}`;
  return {
    pk: archivePk(runId, archiveId),
    sk: ARCHIVE_SK,
    runId,
    vaultName: 'photos',
    archiveId,
    size: 1000 + seq,
    treeHash: 'ab'.repeat(32),
    creationDate: '2012-05-01T10:00:00Z',
    description: `file ${archiveId}`,
    objectKey: `backup/${archiveId}.bin`,
    storageClass: 'DEEP_ARCHIVE',
    status,
    runStatus: runStatusKey(runId, status),
    statusTime: `2024-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`,
    ...extra,
  };
}
