/*
 * The unit tests' one Step Functions, behind a mocked SFNClient (every instance's send): task tokens
 * and executions. As Step Functions does: a token completes once (SendTaskSuccess/Failure), a token
 * that is not waiting (never issued, already completed, timed out) answers TaskTimedOut, and so does
 * a heartbeat on it; the output must be JSON of at most 256 KiB. An execution it does not know
 * answers ExecutionDoesNotExist to DescribeExecution and StopExecution; StopExecution makes a
 * running execution ABORTED.
 */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ExecutionStatus,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { awsError, Double, meta } from './service';

const failMeta = { ...meta, httpStatusCode: 400 };

export interface Execution {
  status: ExecutionStatus;
  /** The execution's input, JSON. */
  input?: string;
  stopDate?: Date;
}

export class FakeSfn extends Double {
  public readonly client = new SFNClient({ region: 'us-east-1' });
  /** Tokens of the tasks waiting now. */
  public readonly live = new Set<string>();
  /** Completed tasks, in order. */
  public readonly results: Array<{ token: string; success?: unknown; error?: string; cause?: string }> = [];
  public readonly heartbeats: string[] = [];
  /** Executions by ARN. */
  public readonly executions = new Map<string, Execution>();

  public constructor() {
    super(SFNClient);
    const waiting = (token: string | undefined): string => {
      if (!token || !this.live.has(token)) {
        throw new TaskTimedOut({ message: 'Task Timed Out: \'Provided task does not exist anymore\'', $metadata: failMeta });
      }
      return token;
    };
    const execution = (arn: string | undefined): Execution => {
      const found = this.executions.get(arn ?? '');
      if (!found) throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${arn}'`, $metadata: failMeta });
      return found;
    };
    this.serve(SendTaskSuccessCommand, (input) => {
      const token = waiting(input.taskToken);
      let success: unknown;
      try {
        success = JSON.parse(input.output!);
      } catch {
        throw awsError('InvalidOutput', 400, 'Invalid State Machine Output');
      }
      if (Buffer.byteLength(input.output!) > 256 * 1024) throw awsError('InvalidOutput', 400, 'States.DataLimitExceeded');
      this.live.delete(token);
      this.results.push({ token, success });
      return {};
    });
    this.serve(SendTaskFailureCommand, (input) => {
      const token = waiting(input.taskToken);
      this.live.delete(token);
      this.results.push({ token, error: input.error, cause: input.cause });
      return {};
    });
    this.serve(SendTaskHeartbeatCommand, (input) => {
      this.heartbeats.push(waiting(input.taskToken));
      return {};
    });
    this.serve(DescribeExecutionCommand, (input) => {
      const { status, input: executionInput, stopDate } = execution(input.executionArn);
      return { executionArn: input.executionArn, status, input: executionInput, stopDate };
    });
    this.serve(StopExecutionCommand, (input) => {
      const found = execution(input.executionArn);
      if (found.status === 'RUNNING') Object.assign(found, { status: 'ABORTED', stopDate: new Date() });
      return { stopDate: found.stopDate ?? new Date() };
    });
  }
}
