import type { SQSRecord } from 'aws-lambda';
import { Random } from './services/common';
import type { InjectedDynamoError } from './services/dynamodb';
import type { FakeJob, GlacierFault, GlacierRequestInfo } from './services/glacier-fake';
import { S3Error } from './services/s3-fake';

/*
 * Fault injection lives in the services; this controller decides, per request, what goes wrong.
 * Every fault here is transient: a correct pipeline must still copy every archive, verified.
 */

export const FAULT_PROFILES = ['none', 'duplicates', 'throttling', '5xx', 'corrupt-chunk', 'crash-between-steps', 'expired-window', 'all'] as const;
export type FaultProfile = typeof FAULT_PROFILES[number];

export const FAULT_DESCRIPTIONS: Record<FaultProfile, string> = {
  'none': 'no faults',
  'duplicates': 'Glacier publishes some job notifications twice (vault + job topic); the SQS event source leaves ~20 % of processed messages undeleted so they are delivered again',
  'throttling': '~25 % of Glacier InitiateJob/DescribeJob/GetJobOutput calls answer 400 ThrottlingException (at most 2 in a row per request)',
  '5xx': 'bursts of Glacier 500 ServiceUnavailableException on GetJobOutput, S3 503 SlowDown on uploads, DynamoDB 500 InternalServerError on writes',
  'corrupt-chunk': 'the first GetJobOutput of ~35 % of byte ranges has one byte flipped (checksum header stays the true one) and ~10 % are cut short',
  'crash-between-steps': 'after an UploadPart/PutObject, the next archive-item UpdateItem fails (as if the Lambda died between the two steps) for ~40 % of writes',
  'expired-window': 'chunk copying is paused until everything is staged, the clock jumps 22 h, the stand-in re-requests archives whose window is about to close, and the old jobs expire',
  'all': 'every fault above at once',
};

export class FaultController {
  private profile: FaultProfile = 'none';
  private rng = new Random('faults');
  private readonly attempts = new Map<string, number>();
  private crashArmed = 0;
  public readonly injected = new Map<string, number>();

  public get active(): FaultProfile {
    return this.profile;
  }

  public setProfile(profile: FaultProfile, seed: string | number): void {
    this.profile = profile;
    this.rng = new Random(`faults:${seed}:${profile}`);
    this.attempts.clear();
    this.injected.clear();
    this.crashArmed = 0;
  }

  public has(kind: Exclude<FaultProfile, 'none' | 'all'>): boolean {
    return this.profile === kind || this.profile === 'all';
  }

  /** Glacier fake hook. */
  public glacier(info: GlacierRequestInfo): GlacierFault | undefined {
    const key = `${info.operation}:${info.job?.jobId ?? info.archiveId ?? ''}:${info.range?.start ?? ''}-${info.range?.end ?? ''}`;
    const seen = this.bump(key);
    if (this.has('throttling') && ['InitiateJob', 'DescribeJob', 'GetJobOutput'].includes(info.operation) && seen <= 2 && this.rng.chance(0.25)) {
      return this.note<GlacierFault>({ kind: 'throttle' });
    }
    if (this.has('5xx') && info.operation === 'GetJobOutput' && seen <= 2 && this.rng.chance(0.2)) return this.note<GlacierFault>({ kind: 'server-error' });
    if (this.has('corrupt-chunk') && info.operation === 'GetJobOutput' && info.job?.action === 'ArchiveRetrieval' && seen === 1) {
      const length = info.range ? info.range.end - info.range.start + 1 : 0;
      if (length > 0 && this.rng.chance(0.35)) return this.note<GlacierFault>({ kind: 'corrupt', offset: this.rng.int(0, length - 1) });
      if (length > 1 && this.rng.chance(0.1)) return this.note<GlacierFault>({ kind: 'truncate', after: this.rng.int(0, length - 2) });
    }
    return undefined;
  }

  public notificationCopies(_job: FakeJob): number {
    return this.has('duplicates') && this.rng.chance(0.5) ? 2 : 1;
  }

  /** S3 fake hook (before a request). */
  public s3Before(operation: string): void {
    if (this.has('5xx') && (operation === 'UploadPart' || operation === 'PutObject') && this.rng.chance(0.1)) {
      this.note({ kind: 's3-slowdown' });
      throw new S3Error(503, 'SlowDown', 'Please reduce your request rate. (rehearsal fault injection)');
    }
  }

  /** S3 fake hook (after a part or object was stored). */
  public s3AfterWrite(operation: string): void {
    if (this.has('crash-between-steps') && (operation === 'UploadPart' || operation === 'PutObject') && this.rng.chance(0.4)) this.crashArmed++;
  }

  /** DynamoDB proxy hook. */
  public dynamo(operation: string, body: Record<string, unknown>): InjectedDynamoError | undefined {
    if (this.crashArmed > 0 && this.touchesArchiveItem(operation, body)) {
      this.crashArmed--;
      this.note({ kind: 'crash-between-steps' });
      return { status: 400, type: 'RehearsalInjectedCrash', message: 'the function stopped between the S3 write and this DynamoDB write (rehearsal fault injection)' };
    }
    if (this.has('5xx') && ['PutItem', 'UpdateItem', 'TransactWriteItems'].includes(operation) && this.rng.chance(0.05)) {
      this.note({ kind: 'dynamodb-500' });
      return { status: 500, type: 'InternalServerError', message: 'Internal server error (rehearsal fault injection)' };
    }
    return undefined;
  }

  /** SQS event-source hook: true = do not delete this processed record (it will come again). */
  public redeliver(record: SQSRecord): boolean {
    if (!this.has('duplicates') || record.attributes.ApproximateReceiveCount !== '1') return false;
    if (this.rng.chance(0.2)) {
      this.note({ kind: 'sqs-duplicate' });
      return true;
    }
    return false;
  }

  private touchesArchiveItem(operation: string, body: Record<string, unknown>): boolean {
    const isArchive = (key: unknown): boolean => (key as { sk?: { S?: string } } | undefined)?.sk?.S === 'archive';
    if (operation === 'UpdateItem') return isArchive(body.Key);
    if (operation === 'TransactWriteItems') {
      return ((body.TransactItems as Record<string, { Key?: unknown }>[] | undefined) ?? []).some((t) => isArchive(t.Update?.Key));
    }
    return false;
  }

  private bump(key: string): number {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    return n;
  }

  private note<T extends { kind: string }>(fault: T): T {
    this.injected.set(fault.kind, (this.injected.get(fault.kind) ?? 0) + 1);
    return fault;
  }
}
