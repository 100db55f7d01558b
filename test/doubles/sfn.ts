/*
 * The unit tests' one Step Functions task-token service, behind a mocked SFNClient (every
 * instance's send). As Step Functions does: a token completes once (SendTaskSuccess/Failure), a
 * token that is not waiting (never issued, already completed, timed out) answers TaskTimedOut,
 * and so does a heartbeat on it; the output must be JSON of at most 256 KiB.
 */
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };
const failMeta = { ...meta, httpStatusCode: 400 };

export class FakeSfn {
  public readonly mock = mockClient(SFNClient);
  public readonly client = new SFNClient({ region: 'us-east-1' });
  /** Tokens of the tasks waiting now. */
  public readonly live = new Set<string>();
  /** Completed tasks, in order. */
  public readonly results: Array<{ token: string; success?: unknown; error?: string; cause?: string }> = [];
  public readonly heartbeats: string[] = [];

  public constructor() {
    const waiting = (token: string | undefined): string => {
      if (!token || !this.live.has(token)) {
        throw new TaskTimedOut({ message: 'Task Timed Out: \'Provided task does not exist anymore\'', $metadata: failMeta });
      }
      return token;
    };
    this.mock.on(SendTaskSuccessCommand).callsFake(async (input) => {
      const token = waiting(input.taskToken);
      let success: unknown;
      try {
        success = JSON.parse(input.output!);
      } catch {
        throw Object.assign(new Error('Invalid State Machine Output'), { name: 'InvalidOutput', $metadata: failMeta });
      }
      if (Buffer.byteLength(input.output!) > 256 * 1024) throw Object.assign(new Error('States.DataLimitExceeded'), { name: 'InvalidOutput', $metadata: failMeta });
      this.live.delete(token);
      this.results.push({ token, success });
      return { $metadata: meta };
    });
    this.mock.on(SendTaskFailureCommand).callsFake(async (input) => {
      const token = waiting(input.taskToken);
      this.live.delete(token);
      this.results.push({ token, error: input.error, cause: input.cause });
      return { $metadata: meta };
    });
    this.mock.on(SendTaskHeartbeatCommand).callsFake(async (input) => {
      this.heartbeats.push(waiting(input.taskToken));
      return { $metadata: meta };
    });
  }

  public reset(): void {
    this.mock.restore();
  }
}
