/*
 * The unit tests' one Glacier, behind a mocked GlacierClient (every instance's send): InitiateJob
 * (failures scriptable per archive), DescribeJob, ListJobs and ranged GetJobOutput over jobs held
 * in memory. DescribeJob follows the job's state as Glacier describes it (no completion date and no
 * SHA256TreeHash while in progress; the archive's size, tree hash and byte range for an archive
 * job; an expired job is not found). GetJobOutput of an archive job carries `x-amz-sha256-tree-hash`
 * only when the range is tree-hash aligned (Glacier's rule, as the rehearsal's Glacier fake applies
 * it); inventory output carries none; a job not succeeded has no output.
 */
import {
  DescribeJobCommand,
  GetJobOutputCommand,
  GlacierClient,
  InitiateJobCommand,
  ListJobsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-glacier';
import { rangeOf, sdkBody } from './body';
import { awsError, Double, meta } from './service';
import { isTreeHashAligned } from '../../rehearsal/services/glacier-fake';
import { treeHashOf } from '../../src/core/tree-hash';

export interface GlacierJob {
  jobId: string;
  vaultName: string;
  action: 'InventoryRetrieval' | 'ArchiveRetrieval';
  statusCode: 'InProgress' | 'Succeeded' | 'Failed';
  statusMessage?: string;
  /** The inventory, or the archive's bytes. */
  output?: Buffer;
  archiveId?: string;
  tier?: string;
  description?: string;
  snsTopic?: string;
  format?: string;
  /** Past its download window: Glacier no longer knows the job. */
  expired?: boolean;
  /** ISO dates; defaults stand for a job started and finished on 2026-11-24. */
  creationDate?: string;
  completionDate?: string;
  /** Changes the bytes GetJobOutput serves (corruption or a cut connection in transit). */
  corrupt?: (data: Buffer, start: number) => Buffer;
}

/** One InitiateJob call, answered (`jobId`) or failed (`error`). */
export interface GlacierCall {
  readonly vaultName: string;
  readonly archiveId?: string;
  readonly tier?: string;
  readonly topic?: string;
  readonly description?: string;
  readonly jobId?: string;
  readonly error?: string;
}

export class FakeGlacier extends Double {
  public readonly client = new GlacierClient({ region: 'us-east-1' });
  public readonly jobs = new Map<string, GlacierJob>();
  public readonly calls: GlacierCall[] = [];
  /** Errors InitiateJob throws for an archive id, one per call, before it succeeds. */
  public readonly failures = new Map<string, Error[]>();
  private nextJob = 1;

  public constructor() {
    super(GlacierClient);
    const find = (jobId: string | undefined, vaultName: string | undefined): GlacierJob => {
      const job = this.jobs.get(jobId ?? '');
      if (!job || job.expired || job.vaultName !== vaultName) {
        throw new ResourceNotFoundException({ message: `The job ID was not found: ${jobId}`, $metadata: { ...meta, httpStatusCode: 404 }, type: 'Client', code: 'ResourceNotFoundException' });
      }
      return job;
    };
    this.serve(InitiateJobCommand, (input) => {
      const p = input.jobParameters ?? {};
      const call = { vaultName: input.vaultName!, archiveId: p.ArchiveId, tier: p.Tier, topic: p.SNSTopic, description: p.Description };
      const scripted = p.ArchiveId === undefined ? undefined : this.failures.get(p.ArchiveId)?.shift();
      if (scripted) {
        this.calls.push({ ...call, error: scripted.name });
        throw scripted;
      }
      const jobId = `JOB${String(this.nextJob++).padStart(4, '0')}`;
      this.calls.push({ ...call, jobId });
      this.jobs.set(jobId, {
        jobId,
        vaultName: input.vaultName!,
        action: p.Type === 'inventory-retrieval' ? 'InventoryRetrieval' : 'ArchiveRetrieval',
        statusCode: 'InProgress',
        archiveId: p.ArchiveId,
        tier: p.Tier,
        description: p.Description,
        snsTopic: p.SNSTopic,
        format: p.Format,
      });
      return { jobId, location: `/111122223333/vaults/${input.vaultName}/jobs/${jobId}`, $metadata: { ...meta, httpStatusCode: 202 } };
    });
    this.serve(DescribeJobCommand, (input) => {
      const job = find(input.jobId, input.vaultName);
      const done = job.statusCode !== 'InProgress';
      const archive = job.action === 'ArchiveRetrieval' ? job.output : undefined;
      const hash = archive && treeHashOf(archive);
      const inventory = job.action === 'InventoryRetrieval';
      return {
        JobId: job.jobId,
        Action: job.action,
        ArchiveId: job.archiveId,
        StatusCode: job.statusCode,
        StatusMessage: job.statusMessage ?? (job.statusCode === 'Succeeded' ? 'Succeeded' : undefined),
        Completed: done,
        CompletionDate: done ? job.completionDate ?? '2026-11-24T10:00:00.000Z' : undefined,
        CreationDate: job.creationDate ?? '2026-11-24T06:00:00.000Z',
        InventoryRetrievalParameters: inventory ? { Format: job.format ?? 'JSON' } : undefined,
        InventorySizeInBytes: inventory && job.statusCode === 'Succeeded' ? job.output?.length : undefined,
        ArchiveSizeInBytes: archive?.length,
        ArchiveSHA256TreeHash: hash,
        RetrievalByteRange: archive && `0-${archive.length - 1}`,
        SHA256TreeHash: done ? hash : undefined, // the whole archive's, once the job is complete
        Tier: job.tier,
        VaultARN: `arn:aws:glacier:us-east-1:111122223333:vaults/${job.vaultName}`,
        SNSTopic: job.snsTopic,
        JobDescription: job.description,
      };
    });
    this.serve(ListJobsCommand, (input) => {
      const all = [...this.jobs.values()].filter((j) => j.vaultName === input.vaultName && !j.expired);
      const from = input.marker ? all.findIndex((j) => j.jobId === input.marker) : 0;
      const limit = Number(input.limit ?? 50);
      const page = all.slice(from, from + limit);
      return {
        JobList: page.map((j) => ({ JobId: j.jobId, Action: j.action, StatusCode: j.statusCode, JobDescription: j.description, Completed: j.statusCode !== 'InProgress' })),
        Marker: all[from + limit]?.jobId,
      };
    });
    this.serve(GetJobOutputCommand, (input) => {
      const job = find(input.jobId, input.vaultName);
      if (job.statusCode !== 'Succeeded' || !job.output) throw awsError('InvalidParameterValueException', 400, `The job is not currently available for download: ${job.jobId}`);
      const output = job.output;
      const [start, end] = rangeOf(input.range, output.length) ?? [0, output.length - 1];
      const honest = output.subarray(start, end + 1);
      const served = job.corrupt?.(Buffer.from(honest), start) ?? honest;
      const archive = job.action === 'ArchiveRetrieval';
      return {
        body: sdkBody(Buffer.from(served)) as never,
        checksum: archive && isTreeHashAligned(start, end, output.length) ? treeHashOf(honest) : undefined,
        status: input.range ? 206 : 200,
        contentRange: input.range ? `bytes ${start}-${end}/${output.length}` : undefined,
        acceptRanges: 'bytes',
        contentType: archive ? 'application/octet-stream' : 'text/csv',
        $metadata: { ...meta, httpStatusCode: input.range ? 206 : 200 },
      };
    });
  }

  /** A finished inventory job with this output. */
  public seedInventoryJob(vaultName: string, output: string | Buffer, extra: Partial<GlacierJob> = {}): GlacierJob {
    const jobId = extra.jobId ?? `INV${String(this.nextJob++).padStart(4, '0')}`;
    const job: GlacierJob = { jobId, vaultName, action: 'InventoryRetrieval', statusCode: 'Succeeded', output: Buffer.from(output), ...extra };
    this.jobs.set(jobId, job);
    return job;
  }

  /** A retrieval job of the whole archive `data`, finished unless `extra` says otherwise. */
  public seedArchiveJob(vaultName: string, jobId: string, data: Buffer, archiveId?: string, extra: Partial<GlacierJob> = {}): GlacierJob {
    const job: GlacierJob = { jobId, vaultName, action: 'ArchiveRetrieval', statusCode: 'Succeeded', output: data, archiveId, ...extra };
    this.jobs.set(jobId, job);
    return job;
  }

  /** Archive ids of the InitiateJob calls that started a job. */
  public requestedArchives(): string[] {
    return this.calls.filter((c) => c.jobId).map((c) => c.archiveId!);
  }
}
