/**
 * What the stages hand each other outside the tables: queue messages, the CSV files one stage
 * writes and another (or a Step Functions ItemReader) reads, the description every retrieval job
 * carries back in its notification, and the execution statuses the orchestrator's rule matches.
 */

import { PARTITION_COLUMNS } from '../core/partitioning';

/** Message on the chunk-retrieval queue: copy one byte range of a staged job into one part. */
export interface ChunkMessage {
  readonly runId: string;
  readonly archiveId: string;
  readonly jobId: string;
  readonly uploadId: string;
  readonly partNumber: number;
  /** Inclusive byte range inside the archive. */
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly chunkCount: number;
}

/** Message on the validation queue: all parts are in, verify and complete the archive. */
export interface ValidationMessage {
  readonly runId: string;
  readonly archiveId: string;
  readonly uploadId: string;
}

/**
 * Columns of a sorted-inventory partition CSV (`sorted_inventory/<partition>/<n>.csv` in the
 * inventory bucket), written by the inventory stage and read by InitiateRetrieval's Distributed
 * Map (header on the first row, RFC 4180 quoting). Rows are in (CreationDate, ArchiveId) order.
 */
// The column list lives with the partitioning rules (src/core/partitioning.ts), which write it:
// ArchiveId, CreationDate, Size, SHA256TreeHash, ObjectKey (final key, prefix included, unique in
// the run), LastModified (ISO-8601 from the description, or empty), ArchiveDescription.
export const PARTITION_CSV_COLUMNS = PARTITION_COLUMNS;

/** One row of a partition CSV as Step Functions' CSV ItemReader hands it over (all strings). */
export interface PartitionRow {
  readonly ArchiveId: string;
  readonly CreationDate: string;
  readonly Size: string;
  readonly SHA256TreeHash: string;
  readonly ObjectKey: string;
  readonly LastModified: string;
  readonly ArchiveDescription: string;
}

/**
 * Columns of the inventory errors file, written by both engines: `Row` (CSV: 1-based line; JSON:
 * 1-based position in ArchiveList; 0 for the file as a whole), `ArchiveId` (empty when the row's
 * id is unknown or invalid), `Message`, `Raw` (the line or element, at most 2,048 characters).
 * A repeated ArchiveId is reported here on its later rows; the run goes on.
 */
export const INVENTORY_ERROR_COLUMNS = ['Row', 'ArchiveId', 'Message', 'Raw'] as const;

const JOB_DESCRIPTION_PREFIX = 'glacier-vault-to-s3:v1:';

/**
 * The Glacier job `Description` of every archive-retrieval job this library starts:
 * `glacier-vault-to-s3:v1:<url-encoded runId>/<archiveId>` (printable ASCII, as Glacier requires).
 * A completion notification carries it back as `JobDescription`, so a job whose id was never
 * recorded (crash between InitiateJob and the item update) can still be matched to its archive.
 */
export function retrievalJobDescription(runId: string, archiveId: string): string {
  const text = `${JOB_DESCRIPTION_PREFIX}${encodeURIComponent(runId)}/${archiveId}`;
  if (text.length > 1024 || !/^[\x20-\x7e]*$/.test(text)) {
    throw new Error(`job description for run ${JSON.stringify(runId)} is not 1-1024 printable ASCII characters`);
  }
  return text;
}

/** Inverse of {@link retrievalJobDescription}; `undefined` for any other description. */
export function parseRetrievalJobDescription(description: string | undefined): { runId: string; archiveId: string } | undefined {
  if (!description?.startsWith(JOB_DESCRIPTION_PREFIX)) return undefined;
  const rest = description.slice(JOB_DESCRIPTION_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  try {
    return { runId: decodeURIComponent(rest.slice(0, slash)), archiveId: rest.slice(slash + 1) };
  } catch {
    return undefined;
  }
}

/**
 * Step Functions execution statuses the orchestrator's execution-ended rule matches and its
 * ExecutionEnded handler acts on.
 */
export const ENDED_STATUSES = ['ABORTED', 'FAILED', 'TIMED_OUT'] as const;
