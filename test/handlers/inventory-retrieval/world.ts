/*
 * The InventoryRetrieval handler tests' data and Step Functions task tokens behind
 * aws-sdk-client-mock; DynamoDB, Glacier and S3 are the shared doubles of test/doubles/.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { Log } from '../../../src/handlers/shared/logger';

export { FakeDynamo } from '../../doubles/dynamodb';
export { FakeGlacier } from '../../doubles/glacier';
export { FakeS3 } from '../../doubles/s3';

export type Item = Record<string, any>;
const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };
const failMeta = { ...meta, httpStatusCode: 400 };

/** A logger that keeps what was logged (for assertions) and prints nothing. */
export function recordingLog(): Log & { lines: Array<{ level: string; message: string; extra?: unknown }> } {
  const lines: Array<{ level: string; message: string; extra?: unknown }> = [];
  const at = (level: string) => (message: unknown, extra?: unknown) => {
    lines.push({ level, message: String(message), extra });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as any;
}


// ------------------------------------------------------------------------------ Step Functions

/** Task tokens that can be completed once; later calls get TaskTimedOut like the real service. */
export class FakeSfn {
  public readonly mock = mockClient(SFNClient);
  public readonly client = new SFNClient({ region: 'us-east-1' });
  public readonly live = new Set<string>();
  public readonly results: Array<{ token: string; success?: unknown; error?: string; cause?: string }> = [];

  public constructor() {
    const consume = (token: string | undefined) => {
      if (!token || !this.live.has(token)) {
        throw new TaskTimedOut({ message: 'Task Timed Out: \'Provided task does not exist anymore\'', $metadata: failMeta });
      }
      this.live.delete(token);
    };
    this.mock.on(SendTaskSuccessCommand).callsFake(async (input) => {
      consume(input.taskToken);
      this.results.push({ token: input.taskToken!, success: JSON.parse(input.output!) });
      return { $metadata: meta };
    });
    this.mock.on(SendTaskFailureCommand).callsFake(async (input) => {
      consume(input.taskToken);
      this.results.push({ token: input.taskToken!, error: input.error, cause: input.cause });
      return { $metadata: meta };
    });
  }

  public reset(): void {
    this.mock.restore();
  }
}

// ----------------------------------------------------------------------------- Inventory data

export const VAULT = 'photos-2012';
export const RUN = 'run-2026-11-24';
export const TOPIC = 'arn:aws:sns:us-east-1:111122223333:glacier-jobs';
export const INVENTORY_BUCKET = 'inventory-bucket';
export const TRANSFER = 'transfer';
export const METRICS = 'metrics';
export const ASYNC = 'async-facilitator';

export const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n';

export interface Row {
  readonly id: string;
  readonly description?: string;
  readonly date?: string;
  readonly size?: number;
  readonly hash?: string;
}

/** A Glacier-style tree hash for tests: 64 hex digits derived from `n`. */
export const treeHash = (n: number): string => n.toString(16).padStart(64, '0');

/** Glacier's CSV dialect: a description holding `,` or `"` is quoted, `"` escaped as `\"`. */
export function csvDescription(d: string): string {
  return /[,"]/.test(d) ? `"${d.replace(/"/g, '\\"')}"` : d;
}

export function inventoryCsv(rows: readonly Row[]): string {
  return HEADER + rows.map((r, i) =>
    `${r.id},${csvDescription(r.description ?? `file-${r.id}.bin`)},${r.date ?? '2015-03-01T12:00:00Z'},${r.size ?? 100},${r.hash ?? treeHash(i + 1)}\n`).join('');
}
