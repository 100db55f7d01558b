import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Environment } from './environment';
import { NAMES } from './environment';
import { resumeInput } from './stages/orchestrator';
import type { GeneratedArchive } from './vault-generator';
import { ArchiveStatus } from '../src/handlers/shared/schema';
import { archivesInStatus } from '../src/handlers/shared/status-query';

/** The run's downloaded archive items by ArchiveId (StatusIndex). */
async function downloadedItems(env: Environment, runId: string): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for await (const page of archivesInStatus(env.doc, NAMES.transferTable, runId, ArchiveStatus.DOWNLOADED)) {
    for (const item of page) out.set(item.archiveId, item as unknown as Record<string, unknown>);
  }
  return out;
}

/*
 * `--faults resume-changes` (issue #16): S3 denies PutObject at two archives' keys for good until
 * both are FAILED; the run is then stopped at an idle moment (or has already ended COMPLETED with
 * them FAILED: with Expedited jobs the rest is often done by then), the denial is lifted and the run
 * resumed with another storage class (S3 Glacier Flexible Retrieval instead of Deep Archive), a
 * naming override (`resumed/<ArchiveId>.bin`) for the two failed archives and two archives not yet
 * downloaded, and RetryFailed YES. At the end every archive must be downloaded: those downloaded
 * before the resume with their first key and Deep Archive, every other one with the new class and,
 * when overridden, the override's key.
 */

export const RESUME_CHANGES_CLASS_BEFORE = 'DEEP_ARCHIVE';
export const RESUME_CHANGES_CLASS_AFTER = 'GLACIER';
const OVERRIDE_KEY = 'rehearsal/resume-changes/naming_override.csv';

export class ResumeChanges {
  /** Archives whose PutObject S3 denies until the resume. */
  public readonly denied: string[];
  /** ArchiveId → key it must end at, for the archives the override renames. */
  public readonly overridden = new Map<string, string>();
  /** ArchiveId → key of the archives already downloaded when the run was resumed. */
  public readonly downloadedBefore = new Map<string, string>();
  private resumed = false;

  constructor(private readonly env: Environment, private readonly archives: readonly GeneratedArchive[],
    private readonly keys: ReadonlyMap<string, string>, private readonly keyPrefix: string) {
    // Two single-request archives (PutObject), the smallest ones.
    const small = [...archives].sort((a, b) => a.size - b.size || (a.archiveId < b.archiveId ? -1 : 1));
    this.denied = small.slice(0, 2).map((a) => a.archiveId);
    for (const id of this.denied) env.faults.deniedS3.set(keys.get(id)!, new Set(['PutObject']));
  }

  /** Stop now? Both denied archives FAILED, some downloaded, nothing in flight. */
  public ready(counts: Record<string, number>, idle: boolean): boolean {
    return !this.resumed && idle && (counts.failed ?? 0) >= this.denied.length;
  }

  /** After the stop: lift the denial, stage the override, return the Resume runbook's input. */
  public async resume(runId: string, vaultName: string): Promise<Record<string, string>> {
    this.resumed = true;
    this.env.faults.deniedS3.clear();
    for (const [id, item] of await downloadedItems(this.env, runId)) this.downloadedBefore.set(id, String(item.objectKey));
    const notYet = this.archives.map((a) => a.archiveId).filter((id) => !this.downloadedBefore.has(id) && !this.denied.includes(id));
    for (const id of [...this.denied, ...notYet.slice(0, 2)]) this.overridden.set(id, `${this.keyPrefix}resumed/${id}.bin`);
    const csv = 'GlacierArchiveID,FileName\n' + [...this.overridden.keys()].map((id) => `${id},resumed/${id}.bin\n`).join('');
    await this.env.s3Client.send(new PutObjectCommand({ Bucket: NAMES.inventoryBucket, Key: OVERRIDE_KEY, Body: csv }));
    return {
      ...resumeInput(runId, vaultName),
      storageClass: 'S3 Glacier Flexible Retrieval',
      namingOverride: `s3://${NAMES.inventoryBucket}/${OVERRIDE_KEY}`,
      retryFailed: 'YES',
    };
  }

  /** The key each archive must end at. */
  public expectedKeys(): Map<string, string> {
    const keys = new Map(this.keys);
    for (const [id, key] of this.downloadedBefore) keys.set(id, key);
    for (const [id, key] of this.overridden) keys.set(id, key);
    return keys;
  }

  /** Problems with the final items: not resumed, an archive not downloaded, the wrong class. */
  public async check(runId: string): Promise<string[]> {
    if (!this.resumed) return ['resume-changes: the run was never stopped and resumed (the denied archives did not both end FAILED first)'];
    const items = await downloadedItems(this.env, runId);
    const problems: string[] = [];
    for (const a of this.archives) {
      const item = items.get(a.archiveId);
      if (item?.status !== ArchiveStatus.DOWNLOADED) {
        problems.push(`resume-changes: archive ${a.archiveId.slice(0, 12)}… ended ${String(item?.status)}${this.denied.includes(a.archiveId) ? ' (FAILED before the resume, must be retried)' : ''}`);
        continue;
      }
      const want = this.downloadedBefore.has(a.archiveId) ? RESUME_CHANGES_CLASS_BEFORE : RESUME_CHANGES_CLASS_AFTER;
      if (item.storageClass !== want) problems.push(`resume-changes: archive ${a.archiveId.slice(0, 12)}… has storage class ${String(item.storageClass)}, expected ${want}`);
    }
    if (this.overridden.size === 0) problems.push('resume-changes: the override renamed no archive');
    return problems;
  }
}
