import { MalformedMessageError, parseJsonBody, snippet } from '../shared/sqs-batch';

/** Glacier job kinds that can appear in a completion notification. */
export type GlacierJobAction = 'ArchiveRetrieval' | 'InventoryRetrieval' | 'Select';
export type GlacierJobStatus = 'InProgress' | 'Succeeded' | 'Failed';

/**
 * The Glacier job description carried by a job-completion notification (the same JSON that
 * DescribeJob returns), reduced to the fields the transfer uses.
 */
export interface GlacierJobNotification {
  readonly jobId: string;
  readonly action: GlacierJobAction;
  readonly completed: boolean;
  readonly statusCode: GlacierJobStatus;
  readonly statusMessage?: string;
  readonly archiveId?: string;
  readonly archiveSizeInBytes?: number;
  /** Tree hash of the whole archive. */
  readonly archiveTreeHash?: string;
  /** Tree hash of the retrieved range (null when the range is not tree-hash aligned). */
  readonly rangeTreeHash?: string;
  readonly completionDate?: string;
  readonly creationDate?: string;
  readonly vaultArn?: string;
  readonly tier?: string;
  readonly retrievalByteRange?: string;
  readonly inventorySizeInBytes?: number;
  /** The job Description given at InitiateJob (names the run and archive for jobs we start). */
  readonly jobDescription?: string;
}

const ACTIONS: readonly string[] = ['ArchiveRetrieval', 'InventoryRetrieval', 'Select'];
const STATUSES: readonly string[] = ['InProgress', 'Succeeded', 'Failed'];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(job: Json, field: string): string | undefined {
  const value = job[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalNumber(job: Json, field: string): number | undefined {
  const value = job[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Parses an SQS body from the notifications queue into a Glacier job description.
 *
 * Accepts the SNS envelope (`{"Type":"Notification","Message":"<job JSON>",…}`, the default
 * SNS→SQS delivery) and raw message delivery (the job JSON itself). Anything else is a
 * `MalformedMessageError`.
 */
export function parseGlacierNotification(body: string): GlacierJobNotification {
  const outer = parseJsonBody(body);
  if (!isObject(outer)) throw new MalformedMessageError('notification body must be a JSON object', snippet(body));

  let job: unknown = outer;
  if (outer.Type !== undefined || outer.Message !== undefined) {
    if (outer.Type !== 'Notification' || typeof outer.Message !== 'string') {
      throw new MalformedMessageError(
        `SNS message of type ${JSON.stringify(outer.Type)} is not a job notification (expected Type "Notification" with a string Message)`,
        snippet(body),
      );
    }
    job = parseJsonBody(outer.Message);
  }
  if (!isObject(job)) throw new MalformedMessageError('Glacier job description must be a JSON object', snippet(body));

  const jobId = optionalString(job, 'JobId');
  if (jobId === undefined) throw new MalformedMessageError('Glacier job description has no JobId', snippet(body));
  const action = job.Action;
  if (typeof action !== 'string' || !ACTIONS.includes(action)) {
    throw new MalformedMessageError(`unknown Glacier job Action ${JSON.stringify(action)}`, snippet(body));
  }
  const statusCode = job.StatusCode;
  if (typeof statusCode !== 'string' || !STATUSES.includes(statusCode)) {
    throw new MalformedMessageError(`unknown Glacier job StatusCode ${JSON.stringify(statusCode)}`, snippet(body));
  }

  return {
    jobId,
    action: action as GlacierJobAction,
    completed: job.Completed === true,
    statusCode: statusCode as GlacierJobStatus,
    statusMessage: optionalString(job, 'StatusMessage'),
    archiveId: optionalString(job, 'ArchiveId'),
    archiveSizeInBytes: optionalNumber(job, 'ArchiveSizeInBytes'),
    archiveTreeHash: optionalString(job, 'ArchiveSHA256TreeHash')?.toLowerCase(),
    rangeTreeHash: optionalString(job, 'SHA256TreeHash')?.toLowerCase(),
    completionDate: optionalString(job, 'CompletionDate'),
    creationDate: optionalString(job, 'CreationDate'),
    vaultArn: optionalString(job, 'VaultARN'),
    tier: optionalString(job, 'Tier'),
    retrievalByteRange: optionalString(job, 'RetrievalByteRange'),
    inventorySizeInBytes: optionalNumber(job, 'InventorySizeInBytes'),
    jobDescription: optionalString(job, 'JobDescription'),
  };
}

/** Glacier keeps a job's output for at least 24 hours after it completes. */
export const DOWNLOAD_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Epoch millis at which the job output may expire, when the completion date is known. */
export function jobOutputExpiry(notification: GlacierJobNotification): number | undefined {
  if (notification.completionDate === undefined) return undefined;
  const completed = Date.parse(notification.completionDate);
  return Number.isNaN(completed) ? undefined : completed + DOWNLOAD_WINDOW_MS;
}
