import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Environment } from './environment';
import { NAMES } from './environment';
import { resumeInput } from './stages/orchestrator';
import type { GeneratedArchive } from './vault-generator';
import { ARCHIVE_SK, archivePk } from '../src/contract/keys';
import { planChunks } from '../src/core/chunk-plan';
import { ArchiveStatus } from '../src/handlers/shared/schema';
import { archivesInStatus } from '../src/handlers/shared/status-query';

/** What the stop left of one archive. */
interface AtStop {
  readonly status: ArchiveStatus;
  readonly objectKey: string;
  readonly storageClass: string;
  readonly jobId?: string;
}

/** The run's archive items in `statuses` by ArchiveId (StatusIndex). */
async function itemsIn(env: Environment, runId: string, statuses: readonly ArchiveStatus[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const status of statuses) {
    for await (const page of archivesInStatus(env.doc, NAMES.transferTable, runId, status)) {
      for (const item of page) out.set(item.archiveId, item as unknown as Record<string, unknown>);
    }
  }
  return out;
}

/*
 * `--faults resume-changes` (issue #16): a Stop midway, then a Resume with changes. Until the stop,
 * S3 denies PutObject at the two smallest archives' keys for good (they end FAILED), Glacier never
 * completes the jobs of two other single-request archives (they stay requested) and multipart
 * copying is paused (every multipart archive stays staged); the rest is downloaded. The run is
 * stopped at the first idle moment with archives in each of those states (checked), the denial and
 * the hold are lifted, and the run is resumed with another storage class (S3 Glacier Flexible
 * Retrieval instead of Deep Archive), a naming override (`resumed/<ArchiveId>.bin`) for a failed, a
 * requested and a staged archive, and RetryFailed YES; multipart copying resumes once the Resume has
 * reset the staged archives. At the end every archive must be downloaded: those downloaded before
 * the stop at their first key with Deep Archive, every other one with the new class and, when
 * overridden, the override's key; and no archive paid twice beyond what the model allows: one
 * retrieval job each before the stop, and after the Resume one for every archive not downloaded
 * before it (requested and staged ones start over under a new job), none for the others.
 */

export const RESUME_CHANGES_CLASS_BEFORE = 'DEEP_ARCHIVE';
export const RESUME_CHANGES_CLASS_AFTER = 'GLACIER';
const OVERRIDE_KEY = 'rehearsal/resume-changes/naming_override.csv';
/** The non-terminal statuses the stop must catch archives in. */
const IN_FLIGHT = [ArchiveStatus.REQUESTED, ArchiveStatus.STAGED] as const;

export class ResumeChanges {
  /** Archives whose PutObject S3 denies until the resume. */
  public readonly denied: string[];
  /** Archives whose Glacier jobs never complete until the resume. */
  public readonly held: string[];
  /** Multipart archives: their copy is paused until the Resume has reset them. */
  public readonly multipart: string[];
  /** ArchiveId → key it must end at, for the archives the override renames. */
  public readonly overridden = new Map<string, string>();
  /** ArchiveId → key of the archives already downloaded when the run was stopped. */
  public readonly downloadedBefore = new Map<string, string>();
  /** ArchiveId → its item at the stop. */
  public readonly atStop = new Map<string, AtStop>();
  /** Problems seen at the stop (a state the stop had to catch archives in was empty). */
  private readonly stopProblems: string[] = [];
  /** Retrieval jobs of this vault started before the resume. */
  private jobsBeforeResume = 0;
  private resumed = false;

  constructor(private readonly env: Environment, private readonly archives: readonly GeneratedArchive[],
    private readonly keys: ReadonlyMap<string, string>, private readonly keyPrefix: string,
    private readonly vaultName: string, chunkSize: number) {
    const bySize = [...archives].sort((a, b) => a.size - b.size || (a.archiveId < b.archiveId ? -1 : 1));
    const single = bySize.filter((a) => planChunks(a.size, chunkSize).singleRequest);
    this.multipart = bySize.filter((a) => !planChunks(a.size, chunkSize).singleRequest).map((a) => a.archiveId);
    if (single.length < 5 || this.multipart.length === 0) {
      throw new Error(`--faults resume-changes needs at least 5 single-request archives and one multipart archive (larger than the ${chunkSize}-byte chunk); `
        + `this vault has ${single.length} and ${this.multipart.length} (use --size-profile mixed and enough archives)`);
    }
    this.denied = single.slice(0, 2).map((a) => a.archiveId);
    this.held = single.slice(2, 4).map((a) => a.archiveId);
    for (const id of this.denied) env.faults.deniedS3.set(keys.get(id)!, new Set(['PutObject']));
    for (const id of this.held) env.faults.heldArchives.add(id);
  }

  /**
   * Stop now? Everything requested, both denied archives FAILED, the held ones still requested,
   * the multipart ones staged, some downloaded, and nothing else in flight.
   */
  public ready(counts: Record<string, number>, idle: boolean): boolean {
    return !this.resumed && idle && (counts.pending ?? 0) === 0 && (counts.failed ?? 0) >= this.denied.length
      && (counts.requested ?? 0) >= this.held.length && (counts.staged ?? 0) >= this.multipart.length && (counts.downloaded ?? 0) > 0;
  }

  /** After the stop: note what it left, lift the denial and the hold, stage the override, return the Resume runbook's input. */
  public async resume(runId: string, vaultName: string): Promise<Record<string, string>> {
    this.resumed = true;
    const items = await itemsIn(this.env, runId, Object.values(ArchiveStatus));
    for (const [id, item] of items) {
      this.atStop.set(id, {
        status: item.status as ArchiveStatus,
        objectKey: String(item.objectKey),
        storageClass: String(item.storageClass),
        jobId: item.jobId as string | undefined,
      });
      if (item.status === ArchiveStatus.DOWNLOADED) this.downloadedBefore.set(id, String(item.objectKey));
    }
    for (const status of [...IN_FLIGHT, ArchiveStatus.FAILED, ArchiveStatus.DOWNLOADED]) {
      if (![...this.atStop.values()].some((s) => s.status === status)) this.stopProblems.push(`resume-changes: no archive was ${status} at the stop`);
    }
    this.jobsBeforeResume = this.vaultJobs().length;
    this.env.faults.deniedS3.clear();
    this.env.faults.heldArchives.clear();
    // One archive of each kind the Resume must rename: failed, requested, staged.
    const pick = (status: ArchiveStatus) => [...this.atStop].find(([, s]) => s.status === status)?.[0];
    for (const id of [pick(ArchiveStatus.FAILED), pick(ArchiveStatus.REQUESTED), pick(ArchiveStatus.STAGED)]) {
      if (id !== undefined) this.overridden.set(id, `${this.keyPrefix}resumed/${id}.bin`);
    }
    const csv = 'GlacierArchiveID,FileName\n' + [...this.overridden.keys()].map((id) => `${id},resumed/${id}.bin\n`).join('');
    await this.env.s3Client.send(new PutObjectCommand({ Bucket: NAMES.inventoryBucket, Key: OVERRIDE_KEY, Body: csv }));
    return {
      ...resumeInput(runId, vaultName),
      storageClass: 'S3 Glacier Flexible Retrieval',
      namingOverride: `s3://${NAMES.inventoryBucket}/${OVERRIDE_KEY}`,
      retryFailed: 'YES',
    };
  }

  /** What the stop left and what the Resume changes, for the progress line. */
  public stopSummary(): string {
    const counts = new Map<string, number>();
    for (const s of this.atStop.values()) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    return `resume-changes: at the stop ${[...counts].map(([status, n]) => `${status} ${n}`).join(', ')}; resumed with ${RESUME_CHANGES_CLASS_AFTER}, `
      + `a naming override for ${this.overridden.size} archive(s) (failed, requested, staged) and RetryFailed YES`;
  }

  /** True once the Resume has reset every archive that was staged at the stop (its paused copy may go on). */
  public async stagedWereReset(runId: string): Promise<boolean> {
    for (const [id, stop] of this.atStop) {
      if (stop.status !== ArchiveStatus.STAGED) continue;
      const key = { pk: archivePk(runId, id), sk: ARCHIVE_SK };
      const { Item } = await this.env.doc.send(new GetCommand({ TableName: NAMES.transferTable, Key: key, ConsistentRead: true }));
      if (Item?.status === ArchiveStatus.STAGED && Item.jobId === stop.jobId) return false;
    }
    return true;
  }

  /** The key each archive must end at. */
  public expectedKeys(): Map<string, string> {
    const keys = new Map(this.keys);
    for (const [id, key] of this.downloadedBefore) keys.set(id, key);
    for (const [id, key] of this.overridden) keys.set(id, key);
    return keys;
  }

  /** Problems with the final items and objects: not resumed, an archive not downloaded, the wrong key or class, a job too many. */
  public async check(runId: string): Promise<string[]> {
    if (!this.resumed) return ['resume-changes: the run was never stopped and resumed (the stop never found archives failed, requested and staged at once)'];
    const problems = [...this.stopProblems];
    const items = await itemsIn(this.env, runId, [ArchiveStatus.DOWNLOADED]);
    const keys = this.expectedKeys();
    const jobs = this.vaultJobs();
    const count = (list: readonly { archiveId: string }[], id: string) => list.filter((j) => j.archiveId === id).length;
    for (const a of this.archives) {
      const label = `resume-changes: archive ${a.archiveId.slice(0, 12)}… (${this.atStop.get(a.archiveId)?.status ?? 'unknown'} at the stop)`;
      const item = items.get(a.archiveId);
      if (item?.status !== ArchiveStatus.DOWNLOADED) {
        problems.push(`${label} did not end downloaded`);
        continue;
      }
      const before = this.downloadedBefore.has(a.archiveId);
      const wantClass = before ? RESUME_CHANGES_CLASS_BEFORE : RESUME_CHANGES_CLASS_AFTER;
      const wantKey = keys.get(a.archiveId)!;
      if (item.storageClass !== wantClass) problems.push(`${label} has storage class ${String(item.storageClass)} in the table, expected ${wantClass}`);
      if (item.objectKey !== wantKey) problems.push(`${label} ended at key ${String(item.objectKey)}, expected ${wantKey}`);
      const object = this.env.s3.getObject(NAMES.bucket, wantKey);
      if (object?.storageClass !== wantClass) problems.push(`${label}: the object at ${wantKey} is ${object ? object.storageClass : 'missing'}, expected ${wantClass}`);
      const jobsBefore = count(jobs.slice(0, this.jobsBeforeResume), a.archiveId);
      const jobsAfter = count(jobs.slice(this.jobsBeforeResume), a.archiveId);
      const wantAfter = before ? 0 : 1;
      if (jobsBefore !== 1 || jobsAfter !== wantAfter) {
        problems.push(`${label}: ${jobsBefore} retrieval job(s) before the resume and ${jobsAfter} after, expected 1 and ${wantAfter}`);
      }
    }
    if (this.overridden.size < 3) problems.push(`resume-changes: the override renamed ${this.overridden.size} archive(s), expected a failed, a requested and a staged one`);
    return problems;
  }

  private vaultJobs() {
    return this.env.initiatedJobs.filter((j) => j.vaultName === this.vaultName);
  }
}
