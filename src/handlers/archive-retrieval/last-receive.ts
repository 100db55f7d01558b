import type { ArchiveStore } from './archive-store';
import { TERMINAL_STATUSES } from '../../core/archive-lifecycle';
import { isPositiveInteger, numberEnv } from '../shared/env';
import type { Log } from '../shared/logger';
import type { ArchiveItem } from '../shared/schema';

/** The archive a message works on, and the job/upload it worked on (the FAILED write holds only while they are current). */
export interface MessageArchive {
  readonly item: ArchiveItem;
  readonly guard: { readonly jobId?: string; readonly uploadId?: string };
}

export interface LastReceiveOptions {
  readonly store: ArchiveStore;
  readonly log: Log;
  /** ApproximateReceiveCount of this delivery. */
  readonly receiveCount: number;
  /** maxReceiveCount of the queue: after this receive the message goes to the dead-letter queue. */
  readonly maxReceives: number;
  /** What the message does, for the reason ("the Glacier notification", "part 3"). */
  readonly what: string;
  /** Finds the archive of the message (undefined: none; the message then dead-letters as before). */
  readonly locate: () => Promise<MessageArchive | undefined>;
  /**
   * Looks at the archive's destination key: the verified copy found there (its version id when the
   * bucket keeps versions), or undefined when the key holds none.
   */
  readonly verifiedCopy: (item: ArchiveItem) => Promise<{ readonly versionId?: string } | undefined>;
}

/** The failure reason of an archive whose message failed on every receive. */
export function lastReceiveReason(what: string, receiveCount: number, err: unknown): string {
  const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `${what} failed on all ${receiveCount} receives (${cause.slice(0, 900)})`;
}

/**
 * Runs `work` for one delivery. Before the last receive a failure is rethrown (SQS redelivers);
 * on the last receive the archive is marked FAILED with the reason instead, so it is never left
 * in flight behind a dead-lettered message (and the download-window extension never re-requests
 * it). Unless the copy already landed: a delivery can fail after the verified object is written
 * and before the archive is marked (a crash, a DynamoDB error), and failing the archive then would
 * leave that object at the key of a FAILED archive (issue #16); it is marked downloaded instead
 * ('archive-downloaded'), for the same job/upload only. The write is conditional on the job/upload the message belongs to, so a message of a
 * replaced job or upload cannot fail the archive's newer attempt. When the archive already ended
 * meanwhile (another part of it failed on its own last receive at the same moment, say), the
 * message is settled too ('archive-finished'): the archive has its status and reason, and a
 * dead-lettered message would only raise the DLQ alarm for an archive already accounted for.
 */
export async function failArchiveOnLastReceive<T>(
  options: LastReceiveOptions,
  work: () => Promise<T>,
): Promise<T | 'archive-failed' | 'archive-finished' | 'archive-downloaded'> {
  try {
    return await work();
  } catch (err) {
    if (options.receiveCount < options.maxReceives) throw err;
    const found = await options.locate();
    if (!found) throw err;
    const finished = (item: ArchiveItem): boolean => TERMINAL_STATUSES.includes(item.status);
    const settle = (item: ArchiveItem): 'archive-finished' => {
      options.log.warn('last receive of this message failed, but its archive already ended; settling the message', {
        archiveId: item.archiveId,
        runId: item.runId,
        status: item.status,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return 'archive-finished';
    };
    if (finished(found.item)) return settle(found.item);
    const copy = await lookAtDestination(options.verifiedCopy, options.log, found.item);
    if (copy) {
      if (await options.store.markDownloaded(found.item, found.guard, copy.versionId)) {
        options.log.warn('last receive of this message failed after its verified copy landed; archive marked downloaded', {
          archiveId: found.item.archiveId,
          runId: found.item.runId,
          objectVersionId: copy.versionId,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
        return 'archive-downloaded';
      }
      const now = await options.locate();
      if (now && finished(now.item)) return settle(now.item);
      throw err;
    }
    const reason = lastReceiveReason(options.what, options.receiveCount, err);
    if (!(await options.store.markFailed(found.item, reason, found.guard))) {
      const now = await options.locate();
      if (now && finished(now.item)) return settle(now.item);
      throw err;
    }
    options.log.error('last receive of this message failed; archive marked failed', {
      archiveId: found.item.archiveId,
      runId: found.item.runId,
      reason,
    });
    return 'archive-failed';
  }
}

/**
 * The verified copy at the archive's key, if any; a look that fails counts as none (the archive is
 * then failed as before). Asked before any rule fails an archive whose copy may have landed.
 */
export async function lookAtDestination(
  verifiedCopy: LastReceiveOptions['verifiedCopy'],
  log: Log,
  item: ArchiveItem,
): Promise<{ readonly versionId?: string } | undefined> {
  try {
    return await verifiedCopy(item);
  } catch (err) {
    log.warn('could not look at the destination key before failing the archive', {
      archiveId: item.archiveId,
      runId: item.runId,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    return undefined;
  }
}

/** `maxReceiveCount` of a queue from its environment variable (a positive integer), or `fallback`. */
export function maxReceivesFromEnv(name: string, fallback: number): number {
  return numberEnv(name, fallback, isPositiveInteger, 'a positive integer');
}
