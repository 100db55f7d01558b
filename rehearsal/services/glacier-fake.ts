/* eslint-disable @stylistic/max-len */
import { randomBytes } from 'crypto';
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { TreeHasher } from '../../src/core/tree-hash';
import { Clock } from '../clock';
import { ApiStats, closeServer, listenLocal, readBody, requestId, RunningService } from './common';

/*
 * Our own Amazon S3 Glacier (vault API) fake: no emulator exists anywhere. The UNMODIFIED
 * @aws-sdk/client-glacier talks to it through its endpoint. Jobs complete on the rehearsal clock,
 * notify their SNS topic with the DescribeJob JSON, and their output expires after the download
 * window. Archive bytes are never stored: they are read from each archive's `read` function.
 */

const MiB = 1024 * 1024;

/** One archive of a fake vault. `read` yields the bytes of [start, endExclusive) in pieces. */
export interface ArchiveSource {
  readonly archiveId: string;
  readonly size: number;
  readonly treeHash: string;
  readonly description: string;
  readonly creationDate: string;
  read(start: number, endExclusive: number): Iterable<Buffer>;
}

export type Tier = 'Expedited' | 'Standard' | 'Bulk';

/** What a fault hook can do to one request. */
export type GlacierFault =
  | { kind: 'throttle' }
  | { kind: 'server-error' }
  | { kind: 'not-found' }
  /** Flip one byte of the body (at this offset inside the response); checksum header stays true. */
  | { kind: 'corrupt'; offset?: number }
  /** Send only this many bytes of the body, then cut the connection. */
  | { kind: 'truncate'; after?: number };

export interface GlacierRequestInfo {
  readonly operation: string;
  readonly vaultName: string;
  readonly job?: FakeJob;
  /** For InitiateJob: the archive requested (archive-retrieval jobs). */
  readonly archiveId?: string;
  /** For GetJobOutput: the requested range inside the job output. */
  readonly range?: { start: number; end: number };
}

export interface GlacierFakeHooks {
  /** Decide a fault for this request (undefined = serve normally). */
  fault?(info: GlacierRequestInfo): GlacierFault | undefined;
  /** How many SNS notifications to publish for a completed job (Glacier may send two). */
  notificationCopies?(job: FakeJob): number;
  /** Called after a job completed and its notifications were published. */
  onJobCompleted?(job: FakeJob): void;
  /** Called when InitiateJob accepted a job (virtual time in `job.createdAt`). */
  onJobInitiated?(job: FakeJob): void;
  /** True: the job is accepted but never completes (it stays InProgress; no notification). */
  holdJob?(job: FakeJob): boolean;
}

export interface GlacierFakeOptions {
  readonly clock: Clock;
  /** Publishes a job notification (the SNS fake). */
  readonly publish: (topicArn: string, message: string) => Promise<unknown>;
  readonly accountId?: string;
  readonly region?: string;
  readonly stats?: ApiStats;
  readonly hooks?: GlacierFakeHooks;
  /** Virtual milliseconds from InitiateJob to completion, per tier (a ±25 % spread is added). */
  readonly tierDelayMs?: Partial<Record<Tier, number>>;
  readonly inventoryDelayMs?: number;
  /** How long job output stays downloadable after completion (virtual ms, 24 h like Glacier). */
  readonly downloadWindowMs?: number;
}

export interface FakeJob {
  readonly jobId: string;
  readonly vaultName: string;
  readonly action: 'ArchiveRetrieval' | 'InventoryRetrieval';
  readonly archive?: ArchiveSource;
  readonly tier?: Tier;
  readonly snsTopic?: string;
  readonly format?: 'CSV' | 'JSON';
  readonly description?: string;
  /** Absolute inclusive byte range of the archive this job retrieves. */
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly createdAt: number;
  readonly completesAt: number;
  completedAt?: number;
  /** Output of inventory jobs, fixed at completion. */
  inventory?: Buffer;
  /** Overrides the default window for this job (fault injection). */
  expiresAt?: number;
}

export interface GlacierFake extends RunningService {
  readonly accountId: string;
  readonly jobs: Map<string, FakeJob>;
  readonly downloadWindowMs: number;
  createVault(name: string): void;
  addArchive(vaultName: string, archive: ArchiveSource): void;
  /** Jobs not yet completed. */
  pendingJobs(): number;
  /** Makes a job's output expire now (or at `at`). */
  expireJob(jobId: string, at?: number): void;
  isExpired(job: FakeJob): boolean;
  /** Archive ids a vault holds now (undefined when the vault does not exist). */
  archiveIds(vaultName: string): string[] | undefined;
  /**
   * Rewrites the data rows of the vault's CSV inventory (one line per archive, in vault order, no
   * header) before they are served: the `bad-rows` profile inserts unreadable rows.
   */
  rewriteCsvInventory(vaultName: string, rewrite: (rows: string[]) => string[]): void;
  /** Removes all vaults and jobs (between runs). */
  clear(): void;
}

class GlacierError extends Error {
  constructor(public readonly status: number, public readonly code: string, message: string, public readonly type = 'Client') {
    super(message);
  }
}

/**
 * True when [start, end] (absolute, inclusive) is a node of the archive's tree: the start is a
 * multiple of a power-of-two number of MiB and the range covers exactly that block, or runs to the
 * archive end inside that block. The whole archive is always aligned.
 */
export function isTreeHashAligned(start: number, end: number, size: number): boolean {
  if (start === 0 && end === size - 1) return true;
  if (start % MiB !== 0 || end >= size || end < start) return false;
  const length = end - start + 1;
  for (let block = MiB; start % block === 0; block *= 2) {
    if (length === block) return true;
    if (end === size - 1 && length < block) return true;
    if (block > size) break;
  }
  return false;
}

function treeHashOfRange(archive: ArchiveSource, start: number, endExclusive: number): string {
  const hasher = new TreeHasher();
  for (const piece of archive.read(start, endExclusive)) hasher.update(piece);
  return hasher.digest();
}

function newJobId(): string {
  // Real job ids are ~92 characters of URL-safe base64.
  return randomBytes(69).toString('base64url');
}

export async function startGlacierFake(options: GlacierFakeOptions): Promise<GlacierFake> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const clock = options.clock;
  const stats = options.stats;
  const delays: Record<Tier, number> = {
    Expedited: 3 * 60_000, Standard: 4 * 3_600_000, Bulk: 8 * 3_600_000, ...options.tierDelayMs,
  };
  const inventoryDelayMs = options.inventoryDelayMs ?? 4 * 3_600_000;
  const windowMs = options.downloadWindowMs ?? 24 * 3_600_000;
  const vaults = new Map<string, { name: string; createdAt: string; archives: Map<string, ArchiveSource>; rewriteCsvRows?: (rows: string[]) => string[] }>();
  const jobs = new Map<string, FakeJob>();
  const rangeHashes = new Map<string, string>();
  let spread = 0;

  const vaultArn = (name: string): string => `arn:aws:glacier:${region}:${accountId}:vaults/${name}`;
  const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
  const expiresAt = (job: FakeJob): number | undefined => job.expiresAt ?? (job.completedAt === undefined ? undefined : job.completedAt + windowMs);
  const isExpired = (job: FakeJob): boolean => {
    const at = expiresAt(job);
    return at !== undefined && clock.now() >= at;
  };

  const rangeHash = (job: FakeJob, start: number, end: number): string | null => {
    const archive = job.archive!;
    if (!isTreeHashAligned(start, end, archive.size)) return null;
    if (start === 0 && end === archive.size - 1) return archive.treeHash;
    const key = `${archive.archiveId}:${start}:${end}`;
    let hash = rangeHashes.get(key);
    if (!hash) {
      hash = treeHashOfRange(archive, start, end + 1);
      rangeHashes.set(key, hash);
    }
    return hash;
  };

  const describe = (job: FakeJob): Record<string, unknown> => {
    const done = job.completedAt !== undefined;
    const base = {
      JobId: job.jobId,
      JobDescription: job.description ?? null,
      Action: job.action,
      VaultARN: vaultArn(job.vaultName),
      CreationDate: iso(job.createdAt),
      Completed: done,
      StatusCode: done ? 'Succeeded' : 'InProgress',
      StatusMessage: done ? 'Succeeded' : null,
      CompletionDate: iso(job.completedAt),
      SNSTopic: job.snsTopic ?? null,
    };
    if (job.action === 'InventoryRetrieval') {
      return {
        ...base,
        ArchiveId: null,
        ArchiveSizeInBytes: null,
        ArchiveSHA256TreeHash: null,
        SHA256TreeHash: null,
        InventorySizeInBytes: job.inventory?.length ?? null,
        InventoryRetrievalParameters: { Format: job.format, StartDate: null, EndDate: null, Limit: null, Marker: null },
      };
    }
    const archive = job.archive!;
    return {
      ...base,
      ArchiveId: archive.archiveId,
      ArchiveSizeInBytes: archive.size,
      ArchiveSHA256TreeHash: archive.treeHash,
      SHA256TreeHash: done ? rangeHash(job, job.rangeStart, job.rangeEnd) : null,
      RetrievalByteRange: `${job.rangeStart}-${job.rangeEnd}`,
      Tier: job.tier,
    };
  };

  const inventoryOf = (vaultName: string, format: 'CSV' | 'JSON'): Buffer => {
    const archives = [...vaults.get(vaultName)!.archives.values()];
    if (format === 'JSON') {
      return Buffer.from(JSON.stringify({
        VaultARN: vaultArn(vaultName),
        InventoryDate: clock.isoNow().replace(/\.\d{3}Z$/, 'Z'),
        ArchiveList: archives.map((a) => ({
          ArchiveId: a.archiveId, ArchiveDescription: a.description, CreationDate: a.creationDate, Size: a.size, SHA256TreeHash: a.treeHash,
        })),
      }));
    }
    // Glacier's CSV: a quote inside a quoted field is escaped with a backslash (not doubled).
    const quote = (text: string): string => `"${text.replace(/"/g, '\\"')}"`;
    const listed = archives.map((a) => [a.archiveId, quote(a.description), a.creationDate, String(a.size), a.treeHash].join(','));
    const rows = vaults.get(vaultName)!.rewriteCsvRows?.(listed) ?? listed;
    return Buffer.from(['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash', ...rows].join('\n') + '\n');
  };

  const complete = (job: FakeJob): void => {
    if (jobs.get(job.jobId) !== job) return; // cleared between runs
    job.completedAt = clock.now();
    if (job.action === 'InventoryRetrieval') job.inventory = inventoryOf(job.vaultName, job.format ?? 'JSON');
    const copies = job.snsTopic ? options.hooks?.notificationCopies?.(job) ?? 1 : 0;
    const message = JSON.stringify(describe(job));
    void (async () => {
      for (let i = 0; i < copies; i++) {
        try {
          await options.publish(job.snsTopic!, message);
        } catch (e) {
          process.stderr.write(`glacier-fake: SNS publish for job ${job.jobId} failed: ${String(e)}\n`);
        }
      }
      options.hooks?.onJobCompleted?.(job);
    })();
  };

  const findJob = (vaultName: string, jobId: string): FakeJob => {
    const job = jobs.get(jobId);
    if (!job || job.vaultName !== vaultName || isExpired(job)) {
      throw new GlacierError(404, 'ResourceNotFoundException', `The job ID was not found: ${jobId}`);
    }
    return job;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };

  const applyFault = (info: GlacierRequestInfo): GlacierFault | undefined => {
    const fault = options.hooks?.fault?.(info);
    if (!fault) return undefined;
    stats?.count('Glacier', `injected:${fault.kind}`);
    if (fault.kind === 'throttle') throw new GlacierError(400, 'ThrottlingException', 'Rate exceeded (rehearsal fault injection)');
    if (fault.kind === 'server-error') throw new GlacierError(500, 'ServiceUnavailableException', 'Service is unavailable (rehearsal fault injection)', 'Server');
    if (fault.kind === 'not-found') throw new GlacierError(404, 'ResourceNotFoundException', 'The job ID was not found (rehearsal fault injection)');
    return fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    res.setHeader('x-amzn-requestid', requestId());
    if (req.headers['x-amz-glacier-version'] !== '2012-06-01') {
      throw new GlacierError(400, 'MissingParameterValueException', 'Required header x-amz-glacier-version is missing');
    }
    const [account, vaultsWord, vaultName, jobsWord, jobId, outputWord] = segments;
    if (account !== '-' && account !== accountId) throw new GlacierError(403, 'AccessDeniedException', `account ${account} is not the fake's account`);
    if (vaultsWord !== 'vaults' || !vaultName) throw new GlacierError(400, 'InvalidParameterValueException', `unsupported path ${url.pathname}`);
    const vault = vaults.get(vaultName);

    // ---- Decommission stage: DeleteArchive and DeleteVault (added for src/handlers/decommission) ----
    // DELETE /<account>/vaults/<vault>/archives/<archiveId> → 204; an archive the vault no longer
    // has → 404 ResourceNotFoundException (as Glacier answers for a deleted archive).
    // DELETE /<account>/vaults/<vault> → 204; refused with 400 InvalidParameterValueException while
    // the vault holds archives (Glacier refuses a vault its last inventory shows as non-empty; this
    // fake's inventory is always current, so "holds archives" is that check).
    if (method === 'DELETE') {
      const deleteOp = jobsWord === undefined ? 'DeleteVault' : jobsWord === 'archives' && jobId && outputWord === undefined ? 'DeleteArchive' : undefined;
      if (!deleteOp) throw new GlacierError(400, 'InvalidParameterValueException', `unsupported path ${url.pathname}`);
      stats?.count('Glacier', deleteOp);
      if (!vault) throw new GlacierError(404, 'ResourceNotFoundException', `Vault not found for ARN: ${vaultArn(vaultName)}`);
      applyFault({ operation: deleteOp, vaultName, archiveId: deleteOp === 'DeleteArchive' ? jobId : undefined });
      if (deleteOp === 'DeleteArchive') {
        if (!vault.archives.delete(jobId)) throw new GlacierError(404, 'ResourceNotFoundException', `Archive not found: ${jobId}`);
      } else {
        if (vault.archives.size > 0) throw new GlacierError(400, 'InvalidParameterValueException', `Vault not empty or recently written to: ${vaultArn(vaultName)}`);
        vaults.delete(vaultName);
      }
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return;
    }
    // ---- end of the decommission block ----
    const op = jobsWord === undefined ? 'DescribeVault'
      : method === 'POST' && jobId === undefined ? 'InitiateJob'
        : jobId === undefined ? 'ListJobs'
          : outputWord === 'output' ? 'GetJobOutput' : 'DescribeJob';
    stats?.count('Glacier', op);
    if (!vault) throw new GlacierError(404, 'ResourceNotFoundException', `Vault not found for ARN: ${vaultArn(vaultName)}`);

    switch (op) {
      case 'DescribeVault': {
        const archives = [...vault.archives.values()];
        sendJson(res, 200, {
          VaultARN: vaultArn(vaultName),
          VaultName: vaultName,
          CreationDate: vault.createdAt,
          LastInventoryDate: vault.createdAt,
          NumberOfArchives: archives.length,
          SizeInBytes: archives.reduce((n, a) => n + a.size, 0),
        });
        return;
      }
      case 'InitiateJob': {
        const params = body.length ? JSON.parse(body.toString('utf8')) as Record<string, string | undefined> : {};
        applyFault({ operation: op, vaultName, archiveId: params.ArchiveId });
        const now = clock.now();
        spread = (spread + 0.37) % 1;
        let job: FakeJob;
        if (params.Type === 'archive-retrieval') {
          const archive = vault.archives.get(params.ArchiveId ?? '');
          if (!params.ArchiveId) throw new GlacierError(400, 'MissingParameterValueException', 'ArchiveId is required for archive-retrieval');
          if (!archive) throw new GlacierError(404, 'ResourceNotFoundException', `Archive not found: ${params.ArchiveId}`);
          const tier = (params.Tier ?? 'Standard') as Tier;
          if (!(tier in delays)) throw new GlacierError(400, 'InvalidParameterValueException', `Invalid tier: ${tier}`);
          let rangeStart = 0;
          let rangeEnd = archive.size - 1;
          if (params.RetrievalByteRange) {
            const m = /^(\d+)-(\d+)$/.exec(params.RetrievalByteRange);
            if (!m) throw new GlacierError(400, 'InvalidParameterValueException', `Invalid RetrievalByteRange: ${params.RetrievalByteRange}`);
            rangeStart = Number(m[1]);
            rangeEnd = Number(m[2]);
            const aligned = rangeStart % MiB === 0 && ((rangeEnd + 1) % MiB === 0 || rangeEnd === archive.size - 1) && rangeEnd < archive.size && rangeStart <= rangeEnd;
            if (!aligned) throw new GlacierError(400, 'InvalidParameterValueException', 'The byte range must be megabyte aligned');
          }
          job = {
            jobId: newJobId(),
            vaultName,
            action: 'ArchiveRetrieval',
            archive,
            tier,
            snsTopic: params.SNSTopic,
            description: params.Description,
            rangeStart,
            rangeEnd,
            createdAt: now,
            completesAt: now + Math.round(delays[tier] * (0.75 + 0.5 * spread)),
          };
        } else if (params.Type === 'inventory-retrieval') {
          if (params.ArchiveId) throw new GlacierError(400, 'InvalidParameterValueException', 'ArchiveId is not allowed for inventory-retrieval');
          const format = (params.Format ?? 'JSON') as 'CSV' | 'JSON';
          if (format !== 'CSV' && format !== 'JSON') throw new GlacierError(400, 'InvalidParameterValueException', `Invalid format: ${format}`);
          job = {
            jobId: newJobId(),
            vaultName,
            action: 'InventoryRetrieval',
            snsTopic: params.SNSTopic,
            format,
            description: params.Description,
            rangeStart: 0,
            rangeEnd: 0,
            createdAt: now,
            completesAt: now + inventoryDelayMs,
          };
        } else {
          throw new GlacierError(400, 'InvalidParameterValueException', `Invalid job type: ${params.Type}`);
        }
        jobs.set(job.jobId, job);
        options.hooks?.onJobInitiated?.(job);
        if (!options.hooks?.holdJob?.(job)) clock.schedule(job.completesAt, () => complete(job));
        res.writeHead(202, { 'x-amz-job-id': job.jobId, 'location': `/${accountId}/vaults/${vaultName}/jobs/${job.jobId}`, 'content-length': '0' });
        res.end();
        return;
      }
      case 'DescribeJob': {
        const job = findJob(vaultName, jobId);
        applyFault({ operation: op, vaultName, job });
        sendJson(res, 200, describe(job));
        return;
      }
      case 'ListJobs': {
        applyFault({ operation: op, vaultName });
        const completed = url.searchParams.get('completed');
        const statusCode = url.searchParams.get('statuscode');
        const limit = Math.min(Number(url.searchParams.get('limit') ?? '50'), 50);
        const marker = url.searchParams.get('marker');
        let list = [...jobs.values()].filter((j) => j.vaultName === vaultName && !isExpired(j));
        if (completed !== null) list = list.filter((j) => (j.completedAt !== undefined) === (completed === 'true'));
        if (statusCode) list = list.filter((j) => (j.completedAt !== undefined ? 'Succeeded' : 'InProgress') === statusCode);
        const from = marker ? list.findIndex((j) => j.jobId === marker) : 0;
        if (from < 0) throw new GlacierError(400, 'InvalidParameterValueException', 'Invalid marker');
        const page = list.slice(from, from + limit);
        sendJson(res, 200, { JobList: page.map(describe), Marker: list[from + limit]?.jobId ?? null });
        return;
      }
      case 'GetJobOutput': {
        const job = findJob(vaultName, jobId);
        if (job.completedAt === undefined) throw new GlacierError(400, 'InvalidParameterValueException', `The job is not currently available for download: ${jobId}`);
        const outputSize = job.action === 'InventoryRetrieval' ? job.inventory!.length : job.rangeEnd - job.rangeStart + 1;
        let start = 0;
        let end = outputSize - 1;
        const rangeHeader = req.headers.range;
        if (rangeHeader) {
          const m = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader.trim());
          if (!m || Number(m[1]) >= outputSize) throw new GlacierError(416, 'InvalidParameterValueException', `Invalid range ${rangeHeader}`);
          start = Number(m[1]);
          end = m[2] === '' ? outputSize - 1 : Math.min(Number(m[2]), outputSize - 1);
        }
        const fault = applyFault({ operation: op, vaultName, job, range: { start, end } });
        const length = end - start + 1;
        const headers: Record<string, string> = {
          'accept-ranges': 'bytes',
          'content-length': String(length),
        };
        if (rangeHeader) headers['content-range'] = `bytes ${start}-${end}/${outputSize}`;
        let pieces: Iterable<Buffer>;
        if (job.action === 'InventoryRetrieval') {
          headers['content-type'] = job.format === 'CSV' ? 'text/csv' : 'application/json';
          pieces = [job.inventory!.subarray(start, end + 1)];
        } else {
          headers['content-type'] = 'application/octet-stream';
          const archive = job.archive!;
          const jobHashAligned = isTreeHashAligned(job.rangeStart, job.rangeEnd, archive.size);
          const hash = jobHashAligned ? rangeHash(job, job.rangeStart + start, job.rangeStart + end) : null;
          if (hash) headers['x-amz-sha256-tree-hash'] = hash;
          if (archive.description) headers['x-amz-archive-description'] = archive.description;
          pieces = archive.read(job.rangeStart + start, job.rangeStart + end + 1);
        }
        res.writeHead(rangeHeader ? 206 : 200, headers);
        let sent = 0;
        const corruptAt = fault?.kind === 'corrupt' ? Math.min(fault.offset ?? Math.floor(length / 2), length - 1) : -1;
        const cutAfter = fault?.kind === 'truncate' ? Math.min(fault.after ?? Math.floor(length / 2), length - 1) : -1;
        for (let piece of pieces) {
          if (corruptAt >= sent && corruptAt < sent + piece.length) {
            piece = Buffer.from(piece);
            piece[corruptAt - sent] = (piece[corruptAt - sent] + 1) % 256;
          }
          if (cutAfter >= 0 && sent + piece.length > cutAfter) {
            res.write(piece.subarray(0, cutAfter - sent));
            await new Promise((resolve) => setTimeout(resolve, 5));
            res.destroy();
            return;
          }
          sent += piece.length;
          if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
          if (res.destroyed) return;
        }
        res.end();
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const err = e instanceof GlacierError ? e : new GlacierError(500, 'ServiceUnavailableException', String((e as Error)?.stack ?? e), 'Server');
      sendJson(res, err.status, { code: err.code, message: err.message, type: err.type }, { 'x-amzn-errortype': err.code });
    });
  });
  const { endpoint } = await listenLocal(server);

  return {
    endpoint,
    accountId,
    jobs,
    downloadWindowMs: windowMs,
    createVault: (name) => {
      if (!vaults.has(name)) vaults.set(name, { name, createdAt: clock.isoNow(), archives: new Map() });
    },
    rewriteCsvInventory: (vaultName, rewrite) => {
      const vault = vaults.get(vaultName);
      if (!vault) throw new Error(`no vault ${vaultName}`);
      vault.rewriteCsvRows = rewrite;
    },
    addArchive: (vaultName, archive) => {
      const vault = vaults.get(vaultName);
      if (!vault) throw new Error(`no vault ${vaultName}`);
      vault.archives.set(archive.archiveId, archive);
    },
    pendingJobs: () => [...jobs.values()].filter((j) => j.completedAt === undefined).length,
    expireJob: (jobId, at) => {
      const job = jobs.get(jobId);
      if (job) job.expiresAt = at ?? clock.now();
    },
    isExpired,
    archiveIds: (vaultName) => {
      const vault = vaults.get(vaultName);
      return vault ? [...vault.archives.keys()] : undefined;
    },
    clear: () => {
      vaults.clear();
      jobs.clear();
      rangeHashes.clear();
    },
    stop: async () => closeServer(server),
  };
}
