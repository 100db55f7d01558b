/* The orchestration handlers' tests: names, archive items and the shared DynamoDB double. */
import { ARCHIVE_SK, archivePk, runStatusKey } from '../../../src/contract/keys';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeDynamo } from '../../doubles/dynamodb';

export { silentLogger } from '../archive-retrieval/fakes';
export { awsError } from '../../doubles/service';

export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const FACILITATOR = 'facilitator';
export const BUCKET = 'dest-bucket';
export const OWNER = '111122223333';

/** The shared DynamoDB double with the archives of a run at hand. */
export class OrchestrationDynamo extends FakeDynamo {
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
