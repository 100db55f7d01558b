/* eslint-disable @stylistic/max-len */
import { GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { assignUniqueKeys, keyForArchive } from '../../src/core/archive-naming';
import { ARCHIVE_SK, archivePk, ArchiveStatus, runStatusKey, TransferTable } from '../../src/handlers/shared/schema';
import type { Clock } from '../clock';
import type { GeneratedArchive } from '../vault-generator';

/*
 * STAND-IN for the InitiateRetrieval stage and the download-window extension (later issues).
 * It does what those stages will do for the archive-retrieval path: write each archive item
 * (`requested`, with its final object key) and start its Glacier job with the notification
 * topic; and re-request staged archives whose download window is about to close. Replace this
 * module when the real stages exist; nothing else in the harness depends on how it works.
 */

export interface StandInDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly glacier: GlacierClient;
  readonly tableName: string;
  readonly topicArn: string;
  readonly clock: Clock;
}

export interface RequestOptions {
  readonly runId: string;
  readonly vaultName: string;
  readonly archives: readonly GeneratedArchive[];
  readonly keyPrefix: string;
  readonly storageClass: string;
  readonly tier: 'Expedited' | 'Standard' | 'Bulk';
  readonly concurrency?: number;
}

async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]);
  }));
}

/** Writes the archive items and initiates one retrieval job per archive. */
export async function requestArchives(deps: StandInDeps, options: RequestOptions): Promise<void> {
  const { runId, vaultName, keyPrefix } = options;
  const base = options.archives.map((a) => ({ archive: a, named: keyForArchive({ archiveId: a.archiveId, description: a.description, creationDate: a.creationDate }, { prefix: keyPrefix }) }));
  const unique = assignUniqueKeys(base.map((b) => ({ archiveId: b.archive.archiveId, creationDate: b.archive.creationDate, key: b.named.key })), { prefix: keyPrefix });
  const keyOf = new Map(unique.map((u) => [u.archiveId, u.key]));
  await inParallel(base, options.concurrency ?? 8, async ({ archive, named }) => {
    const job = await deps.glacier.send(new InitiateJobCommand({
      accountId: '-',
      vaultName,
      jobParameters: { Type: 'archive-retrieval', ArchiveId: archive.archiveId, Tier: options.tier, SNSTopic: deps.topicArn },
    }));
    const statusTime = deps.clock.isoNow();
    await deps.doc.send(new PutCommand({
      TableName: deps.tableName,
      Item: {
        pk: archivePk(runId, archive.archiveId),
        sk: ARCHIVE_SK,
        runId,
        vaultName,
        archiveId: archive.archiveId,
        size: archive.size,
        treeHash: archive.treeHash,
        creationDate: archive.creationDate,
        description: archive.description,
        objectKey: keyOf.get(archive.archiveId)!,
        lastModified: named.lastModified,
        storageClass: options.storageClass,
        status: ArchiveStatus.REQUESTED,
        runStatus: runStatusKey(runId, ArchiveStatus.REQUESTED),
        statusTime,
        jobId: job.jobId!,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
  });
}

/**
 * Download-window extension: every staged archive whose job output expires within `marginMs`
 * (virtual clock) gets a new retrieval job; the item's jobId is switched so the notification of
 * the new job re-stages it and chunk messages of the old job are recognised as superseded.
 * Returns how many archives were re-requested.
 */
export async function extendDownloadWindows(deps: StandInDeps, runId: string, vaultName: string, tier: RequestOptions['tier'], marginMs: number): Promise<number> {
  const due: { pk: string; archiveId: string; jobId: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await deps.doc.send(new QueryCommand({
      TableName: deps.tableName,
      IndexName: TransferTable.statusIndex,
      KeyConditionExpression: '#rs = :rs',
      ExpressionAttributeNames: { '#rs': TransferTable.statusIndexPartition },
      ExpressionAttributeValues: { ':rs': runStatusKey(runId, ArchiveStatus.STAGED) },
      ExclusiveStartKey: start,
    }));
    for (const item of page.Items ?? []) {
      if (typeof item.jobExpiresAt === 'number' && item.jobExpiresAt - deps.clock.now() < marginMs) {
        due.push({ pk: item.pk as string, archiveId: item.archiveId as string, jobId: item.jobId as string });
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  let extended = 0;
  await inParallel(due, 4, async (d) => {
    const job = await deps.glacier.send(new InitiateJobCommand({
      accountId: '-',
      vaultName,
      jobParameters: { Type: 'archive-retrieval', ArchiveId: d.archiveId, Tier: tier, SNSTopic: deps.topicArn },
    }));
    try {
      await deps.doc.send(new UpdateCommand({
        TableName: deps.tableName,
        Key: { pk: d.pk, sk: ARCHIVE_SK },
        UpdateExpression: 'SET jobId = :new REMOVE jobExpiresAt',
        ConditionExpression: 'jobId = :old AND #status = :staged',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':new': job.jobId!, ':old': d.jobId, ':staged': ArchiveStatus.STAGED },
      }));
      extended++;
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  });
  return extended;
}
