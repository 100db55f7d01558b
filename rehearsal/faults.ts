import type { SQSRecord } from 'aws-lambda';
import { Random } from './services/common';
import type { InjectedDynamoError } from './services/dynamodb';
import type { FakeJob, GlacierFault, GlacierRequestInfo } from './services/glacier-fake';
import { S3Error } from './services/s3-fake';

/*
 * Fault injection lives in the services; this controller decides, per request, what goes wrong.
 * Every fault of the transient profiles is transient: a correct pipeline must still copy every
 * archive, verified. The terminal profiles (TERMINAL_FAULT_PROFILES, set up by terminal-faults.ts)
 * make some archives impossible to copy on purpose: exactly those must end FAILED with a reason.
 */

export const FAULT_PROFILES = ['none', 'duplicates', 'throttling', '5xx', 'corrupt-chunk', 'crash-between-steps', 'expired-window', 'reordered', 'dynamodb-conflicts', 'crash-at-boundaries', 'stop-resume-twice', 'lost-notifications', 'all', 'poison', 'bad-rows', 'existing-objects', 'resume-changes'] as const;
export type FaultProfile = typeof FAULT_PROFILES[number];

/**
 * Profiles whose faults are persistent for some archives or rows (not part of `all`): the run
 * expects exactly those FAILED with their reason and everything else downloaded (terminal-faults.ts).
 */
export const TERMINAL_FAULT_PROFILES = ['poison', 'bad-rows', 'existing-objects'] as const;
export type TerminalFaultProfile = typeof TERMINAL_FAULT_PROFILES[number];

export function isTerminalFaultProfile(profile: FaultProfile): profile is TerminalFaultProfile {
  return (TERMINAL_FAULT_PROFILES as readonly string[]).includes(profile);
}

export const FAULT_DESCRIPTIONS: Record<FaultProfile, string> = {
  'none': 'no faults',
  'duplicates': 'Glacier publishes some job notifications twice (vault + job topic); the SQS event source leaves ~20 % of processed messages undeleted so they are delivered again',
  'throttling': '~25 % of Glacier InitiateJob/DescribeJob/GetJobOutput calls answer 400 ThrottlingException (at most 2 in a row per request)',
  '5xx': 'bursts of Glacier 500 ServiceUnavailableException on GetJobOutput, S3 503 SlowDown on uploads, DynamoDB 500 InternalServerError on writes',
  'corrupt-chunk': 'the first GetJobOutput of ~35 % of byte ranges has one byte flipped (checksum header stays the true one) and ~10 % are cut short',
  'crash-between-steps': 'after an UploadPart/PutObject, the next archive-item UpdateItem fails (as if the Lambda died between the two steps) for ~40 % of writes',
  'expired-window': 'chunk copying is paused until everything is staged, the clock jumps 22 h, DownloadWindowExtension re-requests archives whose download window is about to close, and the old jobs expire',
  'reordered': 'SQS delivers out of order: batch entries (an archive\'s chunk messages) stored in reverse, ~40 % of sent messages delayed 1-2 s behind later ones, received batches shuffled, ~30 % of chunk messages delivered once more after the archive was validated',
  'dynamodb-conflicts': '~40 % of SQS batches are handed to a second, concurrent invocation (same records, same moment): the pair\'s conditional writes really race; conflicts (ConditionalCheckFailed/TransactionCanceled answers) are counted',
  'crash-at-boundaries': 'the handler dies at every step boundary (per-boundary counts): before/after UploadPart-PutObject, before/after an archive/chunk item write, before/after CompleteMultipartUpload; the first occurrence of each boundary always, then ~10 %, at most once per write',
  'stop-resume-twice': 'the orchestrator is stopped (StopExecution) and resumed (Resume runbook input) twice, at 25 % and 60 % downloaded; every object written exactly once',
  'lost-notifications': '~30 % of ARCHIVE-retrieval job completion notifications are never published (for good, every copy); RecoverLostNotifications (first step of DownloadWindowExtension) must find the overdue jobs with DescribeJob and re-announce them',
  'all': 'every transient fault above at once (stop-resume-twice included)',
  'poison': 'persistent: S3 denies PutObject at one small archive\'s key and UploadPart at one multipart archive\'s key (AccessDenied, always), one small and one multipart archive are rotten (their bytes never match the inventory tree hash), CompleteMultipartUpload is denied at one multipart archive\'s key (its validation message fails on every receive); exactly those end FAILED with a reason, with no Glacier request after that and at most maxRetrievalJobsPerArchive jobs each',
  'bad-rows': 'the inventory holds unreadable rows of several kinds (bad CreationDate, negative Size, bad tree hash, empty ArchiveId, too few columns, an unterminated quote, a repeated ArchiveId); each ends a FAILED entry (its archive id, else `row <n>`) and downloaded + failed + skipped = rows',
  'existing-objects': 'the destination bucket is pre-seeded with this library\'s verified copy of some archives (downloaded without a Glacier job) and with other objects at other archives\' keys (never overwritten: FAILED "destination key holds another object")',
  'resume-changes': 'S3 denies PutObject at two archives\' keys until both are FAILED, two archives\' Glacier jobs never complete and multipart copying is paused; the run is stopped midway (archives downloaded, failed, requested and staged), the denial lifted and the run resumed with another storage class, a naming override (reaching a failed, a requested and a staged archive) and RetryFailed YES: every archive ends downloaded, those downloaded before the stop with their first key and class, every other with the new class (and the override\'s key), one retrieval job per archive after the resume',
};

/** The step boundaries `crash-at-boundaries` injects at (fault kinds `crash@<boundary>`). */
export const CRASH_BOUNDARIES = ['before-s3-write', 'after-s3-write', 'before-ddb-write', 'after-ddb-write', 'before-complete', 'after-complete'] as const;
export type CrashBoundary = typeof CRASH_BOUNDARIES[number];

/** Where crashes may hit: the destination bucket and the archive/chunk items of the transfer table. */
export interface FaultScope {
  readonly destinationBucket: string;
  readonly transferTable: string;
  /** eventSourceARN of the chunk queue's records (late chunk copies of `reordered`). */
  readonly chunkQueueArn: string;
}

const CRASH_MESSAGE = 'the function died at this step boundary (rehearsal fault injection)';

export class FaultController {
  private profile: FaultProfile = 'none';
  private rng = new Random('faults');
  private readonly attempts = new Map<string, number>();
  private crashArmed = 0;
  private crashLabel = 'crash-between-steps';
  public readonly injected = new Map<string, number>();
  /** Every injection of the run in order, on `now` (the environment sets the rehearsal clock), for report.html. */
  public readonly events: { at: number; kind: string }[] = [];
  public now: () => number = Date.now;
  /** Set by the environment: crashes only hit the pipeline's own bucket and items. */
  public scope?: FaultScope;

  /**
   * Destination keys whose writes S3 denies for good (`poison`): key → operations answered 403
   * AccessDenied. Set by terminal-faults.ts for one run; cleared by setProfile.
   */
  public readonly deniedS3 = new Map<string, ReadonlySet<string>>();

  /**
   * Archives whose retrieval jobs Glacier accepts but never completes while they are listed here
   * (`resume-changes`: archives still requested when the run is stopped). Cleared by setProfile.
   */
  public readonly heldArchives = new Set<string>();

  public get active(): FaultProfile {
    return this.profile;
  }

  public setProfile(profile: FaultProfile, seed: string | number): void {
    this.profile = profile;
    this.rng = new Random(`faults:${seed}:${profile}`);
    this.attempts.clear();
    this.injected.clear();
    this.events.length = 0;
    this.crashArmed = 0;
    this.crashLabel = 'crash-between-steps';
    this.deniedS3.clear();
    this.heldArchives.clear();
  }

  public has(kind: Exclude<FaultProfile, 'none' | 'all'>): boolean {
    return this.profile === kind || (this.profile === 'all' && !isTerminalFaultProfile(kind));
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

  public notificationCopies(job: FakeJob): number {
    if (this.has('lost-notifications') && job.action === 'ArchiveRetrieval' && this.rng.chance(0.3)) {
      this.note({ kind: 'lost-notification' });
      return 0;
    }
    return this.has('duplicates') && this.rng.chance(0.5) ? 2 : 1;
  }

  /** S3 fake hook (before a request). */
  public s3Before(operation: string, bucket?: string, key?: string): void {
    if (key !== undefined && bucket === this.scope?.destinationBucket && this.deniedS3.get(key)?.has(operation)) {
      this.note({ kind: `s3-denied:${operation}` });
      throw new S3Error(403, 'AccessDenied', `Access Denied (rehearsal fault injection: ${operation} at this key is denied for good)`);
    }
    if (this.has('crash-at-boundaries') && bucket === this.scope?.destinationBucket && key !== undefined) {
      if ((operation === 'UploadPart' || operation === 'PutObject') && this.crashAt('before-s3-write', `${operation}:${key}`)) {
        throw new S3Error(400, 'RehearsalInjectedCrash', `before ${operation}: ${CRASH_MESSAGE}`);
      }
      if (operation === 'CompleteMultipartUpload' && this.crashAt('before-complete', key)) {
        throw new S3Error(400, 'RehearsalInjectedCrash', `before CompleteMultipartUpload: ${CRASH_MESSAGE}`);
      }
    }
    if (this.has('5xx') && (operation === 'UploadPart' || operation === 'PutObject') && this.rng.chance(0.1)) {
      this.note({ kind: 's3-slowdown' });
      throw new S3Error(503, 'SlowDown', 'Please reduce your request rate. (rehearsal fault injection)');
    }
  }

  /** S3 fake hook (after a part or object was stored). */
  public s3AfterWrite(operation: string, bucket?: string): void {
    if (operation !== 'UploadPart' && operation !== 'PutObject') return;
    // Only archive copies arm a crash: reports, Map results and inventory files written by other
    // stages are not the S3 step of the S3 → DynamoDB boundary under test.
    if (bucket !== undefined && this.scope !== undefined && bucket !== this.scope.destinationBucket) return;
    if (this.has('crash-between-steps') && this.rng.chance(0.4)) {
      this.crashArmed++;
    } else if (this.profile === 'crash-at-boundaries' && this.crashArmed === 0 && (!this.injected.has('crash@after-s3-write') || this.rng.chance(0.1))) {
      this.crashLabel = 'crash@after-s3-write';
      this.crashArmed++;
    }
  }

  /** S3 fake hook: CompleteMultipartUpload applied, answer not sent yet. */
  public s3AfterApplied(operation: string, bucket: string, key: string): void {
    if (this.has('crash-at-boundaries') && bucket === this.scope?.destinationBucket && this.crashAt('after-complete', `${operation}:${key}`)) {
      throw new S3Error(400, 'RehearsalInjectedCrash', `after ${operation} was applied: ${CRASH_MESSAGE}`);
    }
  }

  /** DynamoDB proxy hook after a write was applied: an error instead of the answer. */
  public dynamoAfter(operation: string, body: Record<string, unknown>): InjectedDynamoError | undefined {
    if (!this.has('crash-at-boundaries')) return undefined;
    const signature = this.itemWriteSignature(operation, body);
    if (signature === undefined || !this.crashAt('after-ddb-write', signature)) return undefined;
    return { status: 400, type: 'RehearsalInjectedCrash', message: `after ${operation} was applied: ${CRASH_MESSAGE}` };
  }

  /**
   * crash-at-boundaries: crash at `boundary` for this operation? The first time a boundary is
   * reached in a run always (so every boundary is exercised), then ~10 %; every `signature` (one
   * write step of one item) at most once, so retries converge.
   */
  private crashAt(boundary: CrashBoundary, signature: string): boolean {
    if (this.bump(`crash@${boundary}:${signature}`) !== 1) return false;
    if (this.injected.has(`crash@${boundary}`) && !this.rng.chance(0.1)) return false;
    this.note({ kind: `crash@${boundary}` });
    return true;
  }

  /**
   * The write step an archive- or chunk-item write of the transfer table is (table, key, update
   * expression), undefined for other writes (run record, metrics, quota ledger, task tokens).
   */
  private itemWriteSignature(operation: string, body: Record<string, unknown>): string | undefined {
    const itemKey = (params: Record<string, unknown> | undefined): string | undefined => {
      if (!params || params.TableName !== this.scope?.transferTable) return undefined;
      const key = (params.Key ?? params.Item) as { pk?: { S?: string }; sk?: { S?: string } } | undefined;
      const sk = key?.sk?.S;
      if (sk !== 'archive' && !sk?.startsWith('chunk#')) return undefined;
      if (isRequestStageWrite(params)) return undefined;
      return `${key?.pk?.S}|${sk}|${String(params.UpdateExpression ?? params.ConditionExpression ?? '')}`;
    };
    if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem') {
      const key = itemKey(body);
      return key === undefined ? undefined : `${operation}:${key}`;
    }
    if (operation === 'TransactWriteItems') {
      const keys = ((body.TransactItems as Record<string, Record<string, unknown>>[] | undefined) ?? [])
        .map((t) => itemKey(t.Update ?? t.Put ?? t.Delete)).filter((k) => k !== undefined);
      return keys.length > 0 ? `${operation}:${keys.join(',')}` : undefined;
    }
    return undefined;
  }

  /** DynamoDB proxy hook. */
  public dynamo(operation: string, body: Record<string, unknown>): InjectedDynamoError | undefined {
    if (this.crashArmed > 0 && this.touchesArchiveItem(operation, body)) {
      this.crashArmed--;
      this.note({ kind: this.crashLabel });
      return { status: 400, type: 'RehearsalInjectedCrash', message: 'the function stopped between the S3 write and this DynamoDB write (rehearsal fault injection)' };
    }
    if (this.has('crash-at-boundaries')) {
      const signature = this.itemWriteSignature(operation, body);
      if (signature !== undefined && this.crashAt('before-ddb-write', signature)) {
        return { status: 400, type: 'RehearsalInjectedCrash', message: `before ${operation}: ${CRASH_MESSAGE}` };
      }
    }
    if (this.has('5xx') && ['PutItem', 'UpdateItem', 'TransactWriteItems'].includes(operation) && this.rng.chance(0.05)) {
      this.note({ kind: 'dynamodb-500' });
      return { status: 500, type: 'InternalServerError', message: 'Internal server error (rehearsal fault injection)' };
    }
    return undefined;
  }

  /** SQS event-source hook: true = do not delete this processed record (it will come again). */
  public redeliver(record: SQSRecord): boolean {
    if (record.attributes.ApproximateReceiveCount !== '1') return false;
    if (this.has('duplicates') && this.rng.chance(0.2)) {
      this.note({ kind: 'sqs-duplicate' });
      return true;
    }
    // reordered: a late copy of a chunk message, typically after its archive's validation ran.
    if (this.has('reordered') && this.scope?.chunkQueueArn === record.eventSourceARN && this.rng.chance(0.3)) {
      this.note({ kind: 'sqs-late-chunk-copy' });
      return true;
    }
    return false;
  }

  /** SQS fake hook on sends (reordered): batch entries in reverse, some messages delayed. */
  public rewriteSend(operation: 'SendMessage' | 'SendMessageBatch', body: Record<string, unknown>): Record<string, unknown> | undefined {
    if (!this.has('reordered')) return undefined;
    const delay = (entry: Record<string, unknown>): Record<string, unknown> => {
      if (entry.DelaySeconds !== undefined || !this.rng.chance(0.4)) return entry;
      this.note({ kind: 'sqs-delayed' });
      return { ...entry, DelaySeconds: this.rng.int(1, 2) };
    };
    if (operation === 'SendMessage') return delay(body);
    const entries = (body.Entries as Record<string, unknown>[] | undefined) ?? [];
    if (entries.length > 1) this.note({ kind: 'sqs-batch-reversed' });
    return { ...body, Entries: [...entries].reverse().map(delay) };
  }

  /** SQS event-source hook (reordered): the order a received batch is handed over in. */
  public reorder(records: SQSRecord[]): SQSRecord[] {
    if (!this.has('reordered') || records.length < 2) return records;
    const shuffled = [...records];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = this.rng.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    this.note({ kind: 'sqs-batch-shuffled' });
    return shuffled;
  }

  /** SQS event-source hook (dynamodb-conflicts): a second concurrent invocation with the same batch. */
  public twin(_records: SQSRecord[]): boolean {
    if (!this.has('dynamodb-conflicts') || !this.rng.chance(0.4)) return false;
    this.note({ kind: 'twin-invocation' });
    return true;
  }

  private touchesArchiveItem(operation: string, body: Record<string, unknown>): boolean {
    const isArchive = (params: Record<string, unknown> | undefined): boolean =>
      params !== undefined && (params.Key as { sk?: { S?: string } } | undefined)?.sk?.S === 'archive' && !isRequestStageWrite(params);
    if (operation === 'UpdateItem') return isArchive(body);
    if (operation === 'TransactWriteItems') {
      return ((body.TransactItems as Record<string, Record<string, unknown>>[] | undefined) ?? []).some((t) => isArchive(t.Update));
    }
    return false;
  }

  private bump(key: string): number {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    return n;
  }

  public note<T extends { kind: string }>(fault: T): T {
    this.injected.set(fault.kind, (this.injected.get(fault.kind) ?? 0) + 1);
    this.events.push({ at: this.now(), kind: fault.kind });
    return fault;
  }
}

/**
 * Writes of the request stage (InitiateArchiveRetrieval: an archive item created `pending`, or
 * moved on from `pending`). The crash profiles aim at the archive-retrieval steps the fault matrix
 * names (S3 write → item write → CompleteMultipartUpload); a crash armed by an S3 write in one
 * handler must not land on another stage's write that happens to come next in this shared process,
 * and the request stage's batch retry budget (Step Functions Retry) is not what is under test.
 */
function isRequestStageWrite(params: Record<string, unknown>): boolean {
  const condition = String(params.ConditionExpression ?? '');
  return condition.includes(':pending') || (params.Item !== undefined && condition.includes('attribute_not_exists(pk)'));
}
