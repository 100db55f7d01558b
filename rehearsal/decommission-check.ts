import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Environment, NAMES } from './environment';
import { DecommissionRun, runDecommission } from './stages/decommission';
import { runStatusKey, TransferTable } from '../src/contract/keys';
import { KeepReason } from '../src/core/decommission-plan';
import { ArchiveStatus } from '../src/handlers/shared/schema';

/*
 * After a verified transfer: tamper with two destination objects (one overwritten with other bytes
 * and other metadata, one deleted), then run the REAL VaultDecommission machine twice: a dry run
 * (deletes nothing, its plan keeps exactly those two, each with a reason) and a real run (the
 * vault keeps exactly those two archives and is not deleted; the deletion log lists the others).
 */

export interface DecommissionCheck {
  readonly problems: string[];
  readonly lines: string[];
}

async function downloadedItems(env: Environment, runId: string): Promise<{ archiveId: string; objectKey: string }[]> {
  const items: { archiveId: string; objectKey: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await env.doc.send(new QueryCommand({
      TableName: NAMES.transferTable,
      IndexName: TransferTable.statusIndex,
      KeyConditionExpression: '#rs = :rs',
      ExpressionAttributeNames: { '#rs': TransferTable.statusIndexPartition },
      ExpressionAttributeValues: { ':rs': runStatusKey(runId, ArchiveStatus.DOWNLOADED) },
      ExclusiveStartKey: start,
    }));
    for (const item of page.Items ?? []) items.push({ archiveId: String(item.archiveId), objectKey: String(item.objectKey) });
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => a.archiveId.localeCompare(b.archiveId));
}

async function readJson<T>(env: Environment, key: string | undefined): Promise<T | undefined> {
  if (!key) return undefined;
  const out = await env.s3Client.send(new GetObjectCommand({ Bucket: NAMES.inventoryBucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as T;
}

type PlanLine = { archiveId: string; reason?: string };

const short = (id: string): string => `${id.slice(0, 10)}…`;

function describe(run: DecommissionRun): string {
  const t = run.totals;
  const reasons = Object.entries(t.keptByReason).map(([r, n]) => `${r}=${n}`).join(' ');
  return `${run.status}, ${t.batches} batch(es), to delete ${t.toDelete}, kept ${t.kept} (${reasons}), deferred ${t.deferred}`;
}

export async function checkDecommission(env: Environment, runId: string, vaultName: string): Promise<DecommissionCheck> {
  const problems: string[] = [];
  const lines: string[] = [];
  const items = await downloadedItems(env, runId);
  const total = env.glacier.archiveIds(vaultName)?.length ?? 0;
  if (items.length < 3 || items.length !== total) {
    problems.push(`decommission: ${items.length} downloaded archive(s) of ${total} in the vault, need all and at least 3`);
    return { problems, lines };
  }
  const [replaced, removed] = items;
  // HeadObject, not GetObject: the object is in DEEP_ARCHIVE, which S3 refuses to GetObject (InvalidObjectState).
  const current = await env.s3Client.send(new HeadObjectCommand({ Bucket: NAMES.bucket, Key: replaced.objectKey }));
  // Same size, other bytes (generated archives are keystream, never all one byte), other metadata:
  // only the identity checks can tell.
  const other = Buffer.alloc(current.ContentLength ?? 0, 0x5a);
  await env.s3Client.send(new PutObjectCommand({
    Bucket: NAMES.bucket,
    Key: replaced.objectKey,
    Body: other,
    StorageClass: current.StorageClass,
    Metadata: { 'archive-id': 'someone-else', 'note': 'overwritten by the rehearsal' },
  }));
  await env.s3Client.send(new DeleteObjectCommand({ Bucket: NAMES.bucket, Key: removed.objectKey }));
  const tampered = new Set([replaced.archiveId, removed.archiveId]);
  const expectedReason: Record<string, string> = {
    [replaced.archiveId]: KeepReason.OBJECT_REPLACED,
    [removed.archiveId]: KeepReason.OBJECT_MISSING,
  };

  const deletesBefore = env.stats.get('Glacier', 'DeleteArchive');
  const dry = await runDecommission(env, { runId, vaultName, dryRun: 'YES' });
  lines.push(`dry run ${describe(dry)}`);
  if (dry.status !== 'SUCCEEDED') problems.push(`decommission dry run ended ${dry.status}: ${dry.error ?? ''} ${(dry.cause ?? '').slice(0, 200)}`);
  if (env.stats.get('Glacier', 'DeleteArchive') !== deletesBefore) problems.push('decommission dry run called DeleteArchive');
  if ((env.glacier.archiveIds(vaultName)?.length ?? 0) !== total) problems.push('decommission dry run removed archives from the vault');
  const kept = await readJson<PlanLine[]>(env, dry.report?.keptKey) ?? [];
  const keptIds = new Set(kept.map((l) => l.archiveId));
  if (kept.length !== 2 || [...tampered].some((id) => !keptIds.has(id))) {
    problems.push(`decommission dry run kept ${kept.map((l) => short(l.archiveId)).join(', ') || 'nothing'}, expected exactly `
      + `${short(replaced.archiveId)} (overwritten) and ${short(removed.archiveId)} (deleted)`);
  }
  for (const line of kept) {
    if (!line.reason) {
      problems.push(`decommission dry run kept ${short(line.archiveId)} without a reason`);
    } else if (expectedReason[line.archiveId] && line.reason !== expectedReason[line.archiveId]) {
      problems.push(`decommission dry run kept ${short(line.archiveId)} as ${line.reason}, expected ${expectedReason[line.archiveId]}`);
    }
  }
  lines.push(`dry run plan keeps ${kept.map((l) => `${short(l.archiveId)} (${l.reason})`).join(', ')}`);
  const toDelete = await readJson<PlanLine[]>(env, dry.report?.toDeleteKey) ?? [];
  if (toDelete.length !== total - 2) problems.push(`decommission dry run plans ${toDelete.length} deletion(s), expected ${total - 2}`);

  const real = await runDecommission(env, { runId, vaultName, dryRun: 'NO' });
  lines.push(`real run ${describe(real)}`);
  if (real.status !== 'SUCCEEDED') problems.push(`decommission real run ended ${real.status}: ${real.error ?? ''} ${(real.cause ?? '').slice(0, 200)}`);
  const left = env.glacier.archiveIds(vaultName);
  if (left === undefined) {
    problems.push('decommission real run deleted the vault although archives were kept');
  } else if (left.length !== 2 || left.some((id) => !tampered.has(id))) {
    problems.push(`decommission real run left ${left.length} archive(s) in the vault (${left.map(short).join(', ')}), expected exactly the 2 tampered ones`);
  }
  const log = await readJson<PlanLine[]>(env, real.report?.deletionLogKey);
  if (!log) {
    problems.push('decommission real run wrote no deletion log');
  } else {
    const logged = new Set(log.map((l) => l.archiveId));
    if (log.length !== total - 2 || logged.size !== total - 2 || [...tampered].some((id) => logged.has(id))) {
      problems.push(`decommission deletion log lists ${log.length} entr(y/ies), expected the ${total - 2} untampered archives`);
    }
  }
  lines.push(`vault ${left === undefined ? 'DELETED' : `kept with ${left.length} archive(s)`}, deletion log ${log?.length ?? 0} entr(y/ies)`
    + `, DeleteArchive calls ${env.stats.get('Glacier', 'DeleteArchive') - deletesBefore}`);
  return { problems, lines };
}
