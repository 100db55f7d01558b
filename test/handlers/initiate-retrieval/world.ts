import { ARCHIVE_SK, archivePk, QUOTA_LEDGER_PK, runSpendPk, runStatusKey } from '../../../src/contract/keys';
import { PartitionRow } from '../../../src/contract/messages';
import type { RunSpendCaps } from '../../../src/core/run-spend';
import { InitiateBatchEvent, RequestDeps } from '../../../src/handlers/initiate-retrieval/initiate-batch';
import { QuotaLedgerStore } from '../../../src/handlers/initiate-retrieval/quota-ledger';
import { RequestStore } from '../../../src/handlers/initiate-retrieval/request-store';
import { RunSpendLedger } from '../../../src/handlers/initiate-retrieval/run-spend-ledger';
import { ArchiveStatus } from '../../../src/handlers/shared/schema';
import { FakeDynamo } from '../../doubles/dynamodb';
import { FakeGlacier } from '../../doubles/glacier';
import { silentLogger } from '../archive-retrieval/fakes';

export const RUN = 'run-2026-11-25';
export const VAULT = 'photos-2012';
export const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:glacier-jobs';
export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const GiB = 1024 ** 3;
export const START = Date.parse('2026-11-25T00:00:00Z');

/** A 64-hex tree hash derived from a number. */
export const hashOf = (n: number) => n.toString(16).padStart(64, '0');

export function row(n: number, size = GiB, overrides: Partial<PartitionRow> = {}): PartitionRow {
  return {
    ArchiveId: `archive-${String(n).padStart(6, '0')}`,
    CreationDate: new Date(Date.UTC(2012, 0, 1) + n * 1000).toISOString(),
    Size: String(size),
    SHA256TreeHash: hashOf(n),
    ObjectKey: `photos/${n}.jpg`,
    LastModified: '',
    ArchiveDescription: `photo ${n}`,
    ...overrides,
  };
}

export function batch(rows: PartitionRow[]): InitiateBatchEvent {
  return { BatchInput: { runId: RUN, vaultName: VAULT, tier: 'Bulk', storageClass: 'DEEP_ARCHIVE', topicArn: TOPIC }, Items: rows };
}

/** Fakes, a virtual clock (sleeps advance it instantly) and the deps the request stages take. */
export class World {
  public readonly dynamo = new FakeDynamo();
  public readonly glacier = new FakeGlacier();
  public readonly logger = silentLogger();
  public now = START;
  public readonly sleeps: number[] = [];

  constructor(public dailyQuota = 100 * 1024 * GiB) {}

  public readonly clock = () => this.now;
  public readonly sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.now += ms;
  };

  public ledger(): QuotaLedgerStore {
    return new QuotaLedgerStore(this.dynamo.client, {
      tableName: METRICS,
      dailyQuotaBytes: this.dailyQuota,
      log: this.logger,
      clock: this.clock,
      sleep: this.sleep,
    });
  }

  /** The per-run spend ledger with these caps. */
  public runSpend(caps: RunSpendCaps): RunSpendLedger {
    return new RunSpendLedger(this.dynamo.client, { tableName: METRICS, caps, log: this.logger });
  }

  /** What the run's spend item holds (zeros when it does not exist). */
  public spent(): { requests: number; microUsd: number } {
    const item = this.dynamo.get(METRICS, runSpendPk(RUN));
    return { requests: item?.spentRequests ?? 0, microUsd: item?.spentMicroUsd ?? 0 };
  }

  public deps(overrides: Partial<RequestDeps> = {}): RequestDeps {
    return {
      store: new RequestStore(this.dynamo.client, TRANSFER, () => new Date(this.now)),
      ledger: this.ledger(),
      glacier: this.glacier.client,
      requestsPerSecond: 100,
      concurrency: 10,
      maxAttempts: 3,
      log: this.logger,
      now: this.clock,
      sleep: this.sleep,
      retryBaseDelayMs: 100,
      ...overrides,
    };
  }

  public archive(n: number): Record<string, any> | undefined {
    return this.dynamo.get(TRANSFER, archivePk(RUN, row(n).ArchiveId), ARCHIVE_SK);
  }

  /** Seeds an archive item of row `n` with `status` (and extra attributes). */
  public seedArchive(n: number, status: ArchiveStatus, extra: Record<string, unknown> = {}, size = GiB): void {
    const r = row(n, size);
    this.dynamo.seed(TRANSFER, {
      pk: archivePk(RUN, r.ArchiveId),
      sk: ARCHIVE_SK,
      runId: RUN,
      vaultName: VAULT,
      archiveId: r.ArchiveId,
      size,
      treeHash: r.SHA256TreeHash,
      creationDate: r.CreationDate,
      objectKey: r.ObjectKey,
      storageClass: 'DEEP_ARCHIVE',
      status,
      runStatus: runStatusKey(RUN, status),
      statusTime: new Date(this.now).toISOString(),
      ...extra,
    });
  }

  /** Bytes the shared ledger item holds. */
  public ledgerBytes(): number {
    const item = this.dynamo.get(METRICS, QUOTA_LEDGER_PK);
    if (!item) return 0;
    return (JSON.parse(item.buckets) as Array<[number, number]>).reduce((sum, [, bytes]) => sum + bytes, 0);
  }

  public reset(): void {
    this.dynamo.mock.restore();
    this.glacier.mock.restore();
  }
}
