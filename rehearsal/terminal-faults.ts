/* eslint-disable @stylistic/max-len */
import { createHash } from 'crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Environment, NAMES } from './environment';
import type { TerminalFaultProfile } from './faults';
import type { ArchiveSource } from './services/glacier-fake';
import type { GeneratedArchive } from './vault-generator';
import { Env, OrchestrationEnv } from '../src/contract/environment';
import { keyForArchive } from '../src/core/archive-naming';
import { planChunks } from '../src/core/chunk-plan';
import { objectMetadata } from '../src/handlers/archive-retrieval/object-metadata';

/*
 * The terminal fault profiles: faults that are persistent for some archives (or rows), so a correct
 * pipeline must end exactly those FAILED with a reason and everything else downloaded and verified.
 * `prepareTerminalFaults` sets a profile up for one run (after the vault is generated, before the
 * launch) and says what the run must end with; `checkExpectations` (called by the report) holds the
 * run to it.
 */

/** An archive the profile makes impossible to copy: it must end FAILED with every fragment in its reason. */
export interface ExpectedFailure {
  /** What was done to it (report lines). */
  readonly fault: string;
  readonly reason: readonly string[];
  /**
   * Or, when a message of the archive reached its DLQ without its last receive reaching the handler
   * (SQS counts receives a throttled or timed-out consumer never processed; under load any stage's
   * message can), every fragment of the DeadLetterReconciler's reason instead ({@link DEAD_LETTER_REASON}).
   */
  readonly deadLetterReason?: readonly string[];
}

/** An unreadable row the profile put into the inventory. */
export interface ExpectedBadRow {
  readonly kind: string;
  /** Line number in the CSV inventory (the header is line 1). */
  readonly row: number;
  /** The FAILED entry's archive id: the id when the engine can recover it, else `row <n>`. */
  readonly label: string;
  /** A fragment of the engine's message the reason must contain. */
  readonly reason: string;
  /** The line as served. */
  readonly raw: string;
}

export interface RunExpectations {
  readonly profile: TerminalFaultProfile;
  /** Generated archives that must end FAILED (ArchiveId → what and why); every other must be downloaded. */
  readonly failed: ReadonlyMap<string, ExpectedFailure>;
  /** Inventory rows that are no archive of the vault: each must be one FAILED entry. */
  readonly badRows: readonly ExpectedBadRow[];
  /** Archives whose verified copy was at their key before the run: downloaded without a Glacier job. */
  readonly foundAtDestination: ReadonlySet<string>;
  /** Keys that held another object before the run: it must still be there, unchanged (key → its SHA-256). */
  readonly keptObjects: ReadonlyMap<string, { readonly archiveId: string; readonly sha256: string }>;
  /** Setup problems (the vault lacks an archive of a kind the profile needs). */
  readonly problems: readonly string[];
  /** Undoes run-scoped settings (the poison run's chunk-queue receive count). */
  restore(): Promise<void>;
}

export interface TerminalFaultSetup {
  readonly profile: TerminalFaultProfile;
  readonly vaultName: string;
  readonly archives: readonly GeneratedArchive[];
  /** ArchiveId → destination key (expectedObjectKeys). */
  readonly keys: ReadonlyMap<string, string>;
  readonly keyPrefix: string;
  readonly chunkSize: number;
}

/**
 * maxReceiveCount of the chunk queue during a poison run (the construct's chunkMaxReceiveCount; 40 by
 * default): an UploadPart denied for good fails its part on every receive, and 40 receives at the
 * rehearsal's 2-s visibility timeout would take 80 s of wall time. Not lower: on a loaded machine
 * an 8-MiB part can outlive the rehearsal's 15-s chunk invocation timeout, and each such receive counts.
 */
export const POISON_CHUNK_MAX_RECEIVES = 10;

/** Fragments of every DeadLetterReconciler reason (src/handlers/archive-retrieval/dead-letters.ts). */
const DEAD_LETTER_REASON = ['dead-lettered after', 'without its last receive being handled'];

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (a: ArchiveSource): Buffer => Buffer.concat([...a.read(0, a.size)]);

/** The archive with one byte flipped in the middle, for every read: its bytes never match its tree hash. */
function rotten(archive: GeneratedArchive): ArchiveSource {
  const at = Math.floor(archive.size / 2);
  return {
    ...archive,
    * read(start: number, endExclusive: number): Iterable<Buffer> {
      let offset = start;
      for (const piece of archive.read(start, endExclusive)) {
        if (at >= offset && at < offset + piece.length) {
          const copy = Buffer.from(piece);
          copy[at - offset] = 255 - copy[at - offset];
          yield copy;
        } else {
          yield piece;
        }
        offset += piece.length;
      }
    },
  };
}

export async function prepareTerminalFaults(env: Environment, setup: TerminalFaultSetup): Promise<RunExpectations> {
  const failed = new Map<string, ExpectedFailure>();
  const badRows: ExpectedBadRow[] = [];
  const foundAtDestination = new Set<string>();
  const keptObjects = new Map<string, { archiveId: string; sha256: string }>();
  const problems: string[] = [];
  let restore = async (): Promise<void> => {};
  const byIndex = [...setup.archives].sort((a, b) => a.index - b.index);
  const multipart = byIndex.filter((a) => !planChunks(a.size, setup.chunkSize).singleRequest);
  const small = byIndex.filter((a) => planChunks(a.size, setup.chunkSize).singleRequest);
  const need = (list: GeneratedArchive[], n: number, what: string): GeneratedArchive[] => {
    if (list.length < n) problems.push(`${setup.profile}: the vault has ${list.length} ${what} archive(s), the profile needs ${n} (another --seed, more --archives or --size-profile mixed)`);
    return list.slice(0, n);
  };

  if (setup.profile === 'poison') {
    const deny = (a: GeneratedArchive, operation: string, fault: string, reason: string[]): void => {
      env.faults.deniedS3.set(setup.keys.get(a.archiveId)!, new Set([operation]));
      failed.set(a.archiveId, { fault, reason, deadLetterReason: DEAD_LETTER_REASON });
    };
    const rot = (a: GeneratedArchive, fault: string): void => {
      env.glacier.addArchive(setup.vaultName, rotten(a));
      env.faults.note({ kind: 'rotten-archive' });
      // Usually "archive failed verification <maxAttempts> time(s)"; when receives are lost (a throttled
      // poll counts as one), the last receive can come first: "… failed on all N receives (IntegrityError:
      // tree hash mismatch …)". Either way the tree hash is the reason. When a message of it dead-letters
      // unhandled (under load, maybe before any verification ran), the reconciler's reason is the true one.
      failed.set(a.archiveId, { fault, reason: ['tree hash'], deadLetterReason: DEAD_LETTER_REASON });
    };
    const [denyPut, rottenSmall] = need(small, 2, 'single-request');
    const [denyPart, rottenMultipart, denyComplete] = need(multipart, 3, 'multipart');
    if (denyPut) deny(denyPut, 'PutObject', 'PutObject denied for good', ['copy of the staged archive (Glacier job notification) failed on all', 'AccessDenied']);
    if (rottenSmall) rot(rottenSmall, 'rotten (single request)');
    if (denyPart) deny(denyPart, 'UploadPart', 'UploadPart denied for good', ['(copy from Glacier into S3) failed on all', 'AccessDenied']);
    if (rottenMultipart) rot(rottenMultipart, 'rotten (multipart: validation fails)');
    if (denyComplete) deny(denyComplete, 'CompleteMultipartUpload', 'CompleteMultipartUpload denied for good (validation message fails on every receive)', ['validation of the uploaded archive failed on all', 'AccessDenied']);
    // As a deployment with chunkMaxReceiveCount 5: the queue's redrive policy and the handler's setting.
    const previous = process.env[Env.CHUNK_MAX_RECEIVES];
    await env.sqs.setMaxReceiveCount(NAMES.chunkQueue, POISON_CHUNK_MAX_RECEIVES);
    process.env[Env.CHUNK_MAX_RECEIVES] = String(POISON_CHUNK_MAX_RECEIVES);
    restore = async () => {
      await env.sqs.setMaxReceiveCount(NAMES.chunkQueue, Number(previous ?? 40));
      if (previous === undefined) delete process.env[Env.CHUNK_MAX_RECEIVES];
      else process.env[Env.CHUNK_MAX_RECEIVES] = previous;
    };
  }

  if (setup.profile === 'bad-rows') {
    const fresh = (n: number): string => createHash('sha512').update(`bad-row:${setup.vaultName}:${n}`).digest('base64url').slice(0, 86);
    const hash = createHash('sha256').update('bad-row').digest('hex');
    const date = '2014-01-01T00:00:00.000Z';
    const [first] = need(byIndex, 1, 'any');
    // Each: the line, the label of its FAILED entry (undefined: `row <n>`), a fragment of the engine's message.
    const kinds: { kind: string; line: string; id?: string; reason: string }[] = [
      { kind: 'bad CreationDate', line: `${fresh(1)},"bad date",2013-13-45T99:00:00Z,123,${hash}`, id: fresh(1), reason: 'invalid CreationDate' },
      { kind: 'negative Size', line: `${fresh(2)},"",${date},-5,${hash}`, id: fresh(2), reason: 'invalid Size' },
      { kind: 'bad tree hash', line: `${fresh(3)},"",${date},10,not-a-tree-hash`, id: fresh(3), reason: 'invalid SHA256TreeHash' },
      { kind: 'empty ArchiveId', line: `,"no id",${date},10,${hash}`, reason: 'empty ArchiveId' },
      { kind: 'too few columns', line: `${fresh(5)},${date},10`, reason: 'expected 5 columns, found 3' },
      { kind: 'unterminated quote', line: `${fresh(6)},"cut short,${date},10,${hash}`, reason: 'unterminated quoted field' },
    ];
    // Bad row i follows data row i (the rest at the end), then the first archive's row again: the
    // repeat is the unreadable one. Only positions depend on the data rows, so the expectations are
    // known before the inventory is served.
    const layout = (rows: readonly string[]): string[] => {
      const out: string[] = [];
      rows.forEach((r, i) => out.push(r, ...(kinds[i] ? [kinds[i].line] : [])));
      out.push(...kinds.slice(rows.length).map((k) => k.line));
      const repeated = first ? rows.find((r) => r.startsWith(`${first.archiveId},`)) : undefined;
      return repeated === undefined ? out : [...out, repeated];
    };
    const planned = layout(byIndex.map((a) => `${a.archiveId},`));
    planned.forEach((line, i) => {
      const row = i + 2;
      const bad = kinds.find((k) => k.line === line);
      if (bad) badRows.push({ kind: bad.kind, row, label: bad.id ?? `row ${row}`, reason: bad.reason, raw: line });
    });
    if (first) badRows.push({ kind: 'repeated ArchiveId', row: planned.length + 1, label: first.archiveId, reason: 'duplicate ArchiveId', raw: '' });
    env.glacier.rewriteCsvInventory(setup.vaultName, (rows) => {
      env.faults.note({ kind: 'bad-inventory-rows' });
      return layout(rows);
    });
  }

  if (setup.profile === 'existing-objects') {
    const storageClass = process.env[OrchestrationEnv.STORAGE_CLASS] ?? 'DEEP_ARCHIVE';
    const put = async (key: string, body: Buffer, metadata: Record<string, string>): Promise<void> => {
      await env.s3Client.send(new PutObjectCommand({ Bucket: NAMES.bucket, Key: key, Body: body, Metadata: metadata, StorageClass: storageClass as 'DEEP_ARCHIVE' }));
    };
    const metadataOf = (a: GeneratedArchive): Record<string, string> => {
      const named = keyForArchive({ archiveId: a.archiveId, description: a.description, creationDate: a.creationDate }, { prefix: setup.keyPrefix });
      return objectMetadata({ archiveId: a.archiveId, creationDate: a.creationDate, treeHash: a.treeHash, lastModified: named.lastModified, description: a.description } as Parameters<typeof objectMetadata>[0]);
    };
    // This library's verified copy at the key: a multipart-sized one and two small ones.
    const identical = [...need(multipart, 1, 'multipart'), ...need(small, 4, 'single-request').slice(0, 2)];
    for (const a of identical) {
      await put(setup.keys.get(a.archiveId)!, bytesOf(a), metadataOf(a));
      foundAtDestination.add(a.archiveId);
      env.faults.note({ kind: 'seeded-identical-object' });
    }
    // Other objects: one without metadata (a manual copy), one with another archive's metadata.
    const others = [...small.slice(2, 4), ...multipart.slice(1)].slice(0, 2);
    if (others.length < 2) problems.push(`existing-objects: the vault has no 2 archives left for the different objects (${others.length})`);
    for (const [i, a] of others.entries()) {
      const key = setup.keys.get(a.archiveId)!;
      const body = Buffer.from(`another object at ${key}, not archive ${a.archiveId}\n`);
      const donor = byIndex.find((b) => b.archiveId !== a.archiveId)!;
      await put(key, body, i === 0 ? {} : metadataOf(donor));
      keptObjects.set(key, { archiveId: a.archiveId, sha256: sha256(body) });
      failed.set(a.archiveId, { fault: i === 0 ? 'key holds an object without metadata' : 'key holds another archive\'s object', reason: ['destination key holds another object'] });
      env.faults.note({ kind: 'seeded-different-object' });
    }
  }
  return { profile: setup.profile, failed, badRows, foundAtDestination, keptObjects, problems, restore: () => restore() };
}

const short = (id: string): string => `${id.slice(0, 12)}…`;

/** What the run must end with under a terminal profile; one line per violation. */
export function checkExpectations(env: Environment, x: RunExpectations, input: {
  readonly archives: readonly GeneratedArchive[];
  /** ArchiveId → archive item (generated archives only). */
  readonly items: ReadonlyMap<string, Record<string, unknown>>;
  /** FAILED items of unreadable inventory rows (`inventoryRow` set). */
  readonly rowItems: readonly Record<string, unknown>[];
  /** Archive-retrieval jobs Glacier accepted for an archive in this run. */
  readonly jobsOf: (archiveId: string) => number;
}): string[] {
  const problems = [...x.problems];
  const p = x.profile;
  for (const a of input.archives) {
    const item = input.items.get(a.archiveId);
    const status = String(item?.status ?? 'missing');
    const expected = x.failed.get(a.archiveId);
    if (expected) {
      const reason = String(item?.failureReason ?? '');
      const explained = (fragments: readonly string[] | undefined): boolean => fragments !== undefined && fragments.every((f) => reason.includes(f));
      if (status !== 'failed') {problems.push(`${p}: archive ${short(a.archiveId)} (${expected.fault}) ended ${status}, expected failed`);} else if (!explained(expected.reason) && !explained(expected.deadLetterReason)) {
        const alternatives = [expected.reason, ...(expected.deadLetterReason ? [expected.deadLetterReason] : [])].map((r) => r.map((f) => JSON.stringify(f)).join(' and '));
        problems.push(`${p}: archive ${short(a.archiveId)} (${expected.fault}) failed with ${JSON.stringify(reason.slice(0, 240))}, expected a reason with ${alternatives.join(', or with ')}`);
      }
    } else if (status !== 'downloaded') {
      problems.push(`${p}: archive ${short(a.archiveId)} ended ${status}${item?.failureReason ? ` (${String(item.failureReason).slice(0, 200)})` : ''}; only the ${x.failed.size + x.badRows.length} poisoned/bad/taken ones may fail`);
    }
    const jobs = input.jobsOf(a.archiveId);
    if (x.foundAtDestination.has(a.archiveId) && jobs > 0) problems.push(`${p}: archive ${short(a.archiveId)} was requested from Glacier (${jobs} job(s)) although its verified copy was at its key`);
    if (p === 'existing-objects' && expected && jobs > 0) problems.push(`${p}: archive ${short(a.archiveId)} was requested from Glacier (${jobs} job(s)) although its key holds another object`);
  }
  for (const a of input.archives.filter((x2) => x.foundAtDestination.has(x2.archiveId))) {
    const key = input.items.get(a.archiveId)?.objectKey as string | undefined;
    const writes = key === undefined ? 0 : env.objectWrites.get(`${NAMES.bucket}/${key}`) ?? 0;
    if (writes !== 1) problems.push(`${p}: the verified copy of ${short(a.archiveId)} at its key was written ${writes - 1} more time(s) after the seed`);
  }
  const byRow = new Map(input.rowItems.map((i) => [Number(i.inventoryRow), i]));
  for (const r of x.badRows) {
    const item = byRow.get(r.row);
    const reason = String(item?.failureReason ?? '');
    if (!item) {problems.push(`${p}: no FAILED entry for unreadable row ${r.row} (${r.kind})`);} else if (item.status !== 'failed' || item.archiveId !== r.label || !reason.includes(r.reason)) {
      problems.push(`${p}: unreadable row ${r.row} (${r.kind}) ended ${String(item.status)} as ${JSON.stringify(String(item.archiveId).slice(0, 40))} with ${JSON.stringify(reason.slice(0, 200))}; expected failed as ${JSON.stringify(r.label.slice(0, 40))} with ${JSON.stringify(r.reason)}`);
    } else if (r.raw !== '' && item.inventoryRaw !== r.raw) {
      // The run report gives this text back (unreadable_rows.csv) for the user to mend.
      problems.push(`${p}: unreadable row ${r.row} (${r.kind}) was recorded as ${JSON.stringify(String(item.inventoryRaw ?? '(nothing)').slice(0, 120))}, served as ${JSON.stringify(r.raw.slice(0, 120))}`);
    }
  }
  for (const [key, kept] of x.keptObjects) {
    const bytes = env.s3.objectBytes(NAMES.bucket, key);
    const writes = env.objectWrites.get(`${NAMES.bucket}/${key}`) ?? 0;
    if (!bytes) problems.push(`${p}: the other object at ${JSON.stringify(key)} is gone`);
    else if (sha256(bytes) !== kept.sha256 || writes !== 1) problems.push(`${p}: the other object at ${JSON.stringify(key)} was overwritten (${writes} write(s) with the seed)`);
  }
  return problems;
}
