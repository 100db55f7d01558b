/**
 * Local Step Functions runtime: runs our real ASL (after {@link lowerDefinition}) with
 * aws-local-stepfunctions 3.0.0, performing every service integration against local services.
 *
 * Design (details and limits in rehearsal/sfn/README.md):
 * - Every Task state gets a `taskResourceLocalHandlers` override (keyed by state name) that performs
 *   its integration: Lambda handlers in-process, S3/DynamoDB/SQS/SNS through the real SDK clients the
 *   harness passes (pointed at the local emulators), EventBridge/CloudWatch into in-memory fakes,
 *   `states:startExecution[.sync|.sync:2]` as a child execution of this runtime, lowered Distributed
 *   Maps by running the ItemProcessor once per item/batch as its own interpreter StateMachine.
 * - `.waitForTaskToken`: the interpreter cannot produce `$$.Task.Token`, so the context object carries a
 *   placeholder that the override replaces with a fresh token from the {@link TaskTokenRegistry}; the
 *   task then waits for SendTaskSuccess/SendTaskFailure (in-process, HTTP API fake, or aws-sdk:sfn).
 * - TimeoutSeconds / HeartbeatSeconds / top-level TimeoutSeconds run on the given clock (virtual
 *   time with rehearsal/clock.ts); Wait states and Retry intervals are scaled by `timeScale` (default 0).
 */
import { randomUUID } from 'crypto';
import * as dynamodbSdk from '@aws-sdk/client-dynamodb';
import * as s3Sdk from '@aws-sdk/client-s3';
import * as snsSdk from '@aws-sdk/client-sns';
import * as sqsSdk from '@aws-sdk/client-sqs';
import { parse as parseCsv } from 'csv-parse/sync';
import { ExecutionAbortedError, ExecutionError, StateMachine } from './interpreter';
import {
  AslObject, DistributedMapPlan, Json, LoweredDefinition, LowerOptions, LoweringError, TASK_TOKEN_PLACEHOLDER, TaskInfo, lowerDefinition,
} from './lower';
import { ObjectStore, s3ObjectStore } from './object-store';
import { CloudWatchFake, EventBridgeFake, SfnApiError, SfnClock, TaskTokenRegistry, startTimer, wallClock } from './registry';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface LambdaContextLike {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export type LambdaHandler = (event: any, context: LambdaContextLike) => unknown;
/** Implementation of one `aws-sdk:<service>` integration: (action, PascalCase params) → response. */
export type AwsSdkHandler = (action: string, params: any) => Promise<unknown>;

export interface RunnerServices {
  /** Lambda handlers by function ARN or name (qualifiers are ignored when matching). */
  readonly lambdaHandlers?: Record<string, LambdaHandler>;
  /** ItemReader / ResultWriter storage. Defaults to an adapter over `s3Client`. */
  readonly objectStore?: ObjectStore;
  /** For `aws-sdk:s3:*` / `s3:*` tasks (and the default objectStore). */
  readonly s3Client?: s3Sdk.S3Client;
  /** For `dynamodb:putItem|getItem|updateItem|deleteItem` and `aws-sdk:dynamodb:*`. */
  readonly dynamodbClient?: dynamodbSdk.DynamoDBClient;
  readonly sqsClient?: sqsSdk.SQSClient;
  readonly snsClient?: snsSdk.SNSClient;
  /** Extra or replacement `aws-sdk:<service>` implementations, by lowercase service name. */
  readonly awsSdk?: Record<string, AwsSdkHandler>;
  /** Escape hatch: a local function per state name, used instead of the state's integration. */
  readonly taskOverrides?: Record<string, (input: any) => unknown>;
  /** Lambda `getRemainingTimeInMillis()` value (default 900 000). */
  readonly lambdaRemainingTimeMs?: number;
}

export interface RuntimeOptions {
  readonly services?: RunnerServices;
  /** Clock for TimeoutSeconds/HeartbeatSeconds/top-level TimeoutSeconds (default: wall clock). */
  readonly clock?: SfnClock;
  /** Wait states and Retry intervals sleep `seconds × 1000 × timeScale` ms of wall time (default 0). */
  readonly timeScale?: number;
  readonly region?: string;
  readonly accountId?: string;
  readonly lowerOptions?: LowerOptions;
  /** State machines to register up front (children of startExecution), by name or ARN. */
  readonly stateMachines?: Record<string, string | AslObject | { definition: string | AslObject; substitutions?: Record<string, string> }>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: ExecutionStatus;
  readonly input: Json;
  output?: Json;
  error?: string;
  cause?: string;
  readonly startDate: Date;
  stopDate?: Date;
  readonly parentExecutionArn?: string;
}

export interface SfnEvent {
  readonly executionArn: string;
  readonly type: string;
  readonly stateName?: string;
  readonly stateType?: string;
  /** Map iteration index (inline Map) or item/batch index (lowered Distributed Map). */
  readonly index?: number;
  readonly mapRunArn?: string;
  readonly error?: string;
  readonly cause?: unknown;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly timestamp: number;
}

export interface MapRunRecord {
  readonly mapRunArn: string;
  readonly executionArn: string;
  readonly stateName: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly itemCount: number;
  /** Child executions (items, or batches with ItemBatcher). */
  readonly childCount: number;
  succeeded: number;
  failed: number;
  failedItems: number;
  maxConcurrencyObserved: number;
  resultWriterKey?: string;
}

interface RegisteredMachine {
  readonly arn: string;
  readonly name: string;
  readonly lowered: LoweredDefinition;
}

/** Task accounting of one thread of an execution: its top level, or one Distributed Map worker. */
interface TaskCounter {
  /** Task invocations started and not returned (an aborted Parallel branch's stays forever). */
  inflight: number;
  /** Of those, the ones waiting on something outside the execution (clock Wait, token, `.sync` child). */
  parked: number;
}

interface ExecutionState extends TaskCounter {
  readonly record: ExecutionRecord;
  readonly machine: RegisteredMachine;
  readonly context: Record<string, any>;
  readonly events: SfnEvent[];
  readonly cleanups: Set<() => void>;
  readonly done: Promise<ExecutionRecord>;
  resolveDone: (record: ExecutionRecord) => void;
  abortRun?: () => void;
  overrides?: any;
  /** Settles when the root event log is fully drained (the interpreter closes it on every ending). */
  drained?: Promise<void>;
  /**
   * Distributed Map workers running child executions: a worker is busy between its tasks like an
   * execution, and its Map task counts as parked while workers run.
   */
  workers: Set<TaskCounter>;
}

// --- States.Timeout ------------------------------------------------------------------------------

type ErrorCtor = new () => Error;
let statesTimeoutCtor: ErrorCtor | undefined;

/**
 * The interpreter excludes timeouts from `States.TaskFailed` with `instanceof StatesTimeoutError`, a
 * class it does not export. We capture it once from a 1 ms interpreter timeout so our clock-driven
 * timeouts are matched exactly like the interpreter's own (States.TaskFailed does not catch them).
 */
async function captureStatesTimeoutClass(): Promise<void> {
  if (statesTimeoutCtor) return;
  const probe = new StateMachine({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', TimeoutSeconds: 0.001, End: true } } } as any,
    { validationOptions: { noValidate: true } });
  let timer: NodeJS.Timeout | undefined;
  const slowTask = () => new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), 30); });
  const run = probe.run({}, { overrides: { taskResourceLocalHandlers: { T: slowTask } } });
  try {
    await run.result;
  } catch (e) {
    const cause = (e as ExecutionError).cause as Error | undefined;
    if (cause?.name === 'States.Timeout') statesTimeoutCtor = cause.constructor as ErrorCtor;
  } finally {
    clearTimeout(timer);
  }
}

function timeoutError(name: 'States.Timeout' | 'States.HeartbeatTimeout', message: string): Error {
  const error = statesTimeoutCtor ? new statesTimeoutCtor() : new Error();
  error.name = name;
  error.message = message;
  return error;
}

// --- helpers -------------------------------------------------------------------------------------

const clone = <T>(value: T): T => (value === undefined ? (null as T) : JSON.parse(JSON.stringify(value)));

function replaceDeep(value: any, from: string, to: string): any {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, from, to));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceDeep(v, from, to)]));
  return value;
}

function functionNameOf(nameOrArn: string): string {
  const arn = /^arn:aws[\w-]*:lambda:[^:]+:\d{12}:function:([^:]+)(?::.+)?$/.exec(nameOrArn);
  if (arn) return arn[1];
  const partial = /^(?:\d{12}:function:)?([^:]+)(?::.+)?$/.exec(nameOrArn);
  return partial ? partial[1] : nameOrArn;
}

const SERVICE_ERROR_PREFIX: Record<string, string> = {
  s3: 'S3', dynamodb: 'DynamoDb', sqs: 'Sqs', sns: 'Sns', eventbridge: 'EventBridge', cloudwatch: 'CloudWatch', sfn: 'Sfn', lambda: 'Lambda', glacier: 'Glacier',
};

/** `ServiceName.ErrorNameException` as the AWS SDK integrations name errors. */
function sdkErrorName(service: string, error: any): string {
  const code = String(error?.name ?? error?.Code ?? 'UnknownError');
  if (code.includes('.')) return code;
  const prefix = SERVICE_ERROR_PREFIX[service] ?? service.charAt(0).toUpperCase() + service.slice(1);
  return `${prefix}.${code.endsWith('Exception') ? code : `${code}Exception`}`;
}

function stripMetadata(out: any): any {
  if (out && typeof out === 'object') {
    const { $metadata: _m, ...rest } = out;
    void _m;
    return rest;
  }
  return out;
}

function errorOf(e: unknown): { error: string; cause: string } {
  const inner = e instanceof ExecutionError ? (e.cause as any) : e;
  const cause = inner?.message;
  return { error: String(inner?.name ?? 'Error'), cause: typeof cause === 'string' ? cause : JSON.stringify(cause ?? null) };
}

const epochSeconds = (d: Date | undefined): number | undefined => (d ? d.getTime() / 1000 : undefined);

// --- runtime -------------------------------------------------------------------------------------

export class SfnRuntime {
  public readonly tokens: TaskTokenRegistry;
  public readonly eventBridge: EventBridgeFake;
  public readonly cloudWatch: CloudWatchFake;
  /** Every event of every execution, in arrival order. */
  public readonly events: SfnEvent[] = [];
  public readonly mapRuns: MapRunRecord[] = [];
  public readonly clock: SfnClock;
  public readonly region: string;
  public readonly accountId: string;
  private readonly services: RunnerServices;
  private readonly timeScale: number;
  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly executions = new Map<string, ExecutionState>();
  private readonly lambdaByName = new Map<string, LambdaHandler>();

  constructor(private readonly options: RuntimeOptions = {}) {
    this.services = options.services ?? {};
    this.clock = options.clock ?? wallClock;
    this.timeScale = options.timeScale ?? 0;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '111122223333';
    this.tokens = new TaskTokenRegistry(this.clock);
    this.eventBridge = new EventBridgeFake(this.clock);
    this.cloudWatch = new CloudWatchFake(this.clock);
    for (const [key, handler] of Object.entries(this.services.lambdaHandlers ?? {})) this.lambdaByName.set(functionNameOf(key), handler);
    for (const [name, entry] of Object.entries(options.stateMachines ?? {})) {
      const isWrapped = typeof entry === 'object' && entry !== null && 'definition' in entry && !('States' in entry);
      const def = isWrapped ? (entry as any).definition : entry;
      this.registerStateMachine(name, def, isWrapped ? (entry as any).substitutions : undefined);
    }
  }

  public stateMachineArn(nameOrArn: string): string {
    return nameOrArn.startsWith('arn:') ? nameOrArn : `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${nameOrArn}`;
  }

  /**
   * Lowers (fails loudly), checks every integration has a local service, and registers. Returns the ARN.
   * `${Partition}` is provided by the runtime (as CloudFormation provides `AWS::Partition`) unless given.
   */
  public registerStateMachine(nameOrArn: string, asl: string | AslObject, substitutions: Record<string, string> = {}): string {
    const arn = this.stateMachineArn(nameOrArn);
    const lowered = lowerDefinition(asl, { Partition: 'aws', ...substitutions }, this.options.lowerOptions);
    for (const task of Object.values(lowered.tasks)) this.checkService(task, lowered);
    this.machines.set(arn, { arn, name: arn.split(':').pop()!, lowered });
    return arn;
  }

  public lowered(nameOrArn: string): LoweredDefinition | undefined {
    return this.machines.get(this.stateMachineArn(nameOrArn))?.lowered;
  }

  /** Starts an execution and returns its (RUNNING) record; `whenDone` waits for the end. */
  public async startExecution(
    stateMachine: string,
    input: Json = {},
    opts: { name?: string; parentExecutionArn?: string } = {},
  ): Promise<ExecutionRecord> {
    await captureStatesTimeoutClass();
    const machine = this.machines.get(this.stateMachineArn(stateMachine));
    if (!machine) throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachine}'`);
    const name = opts.name ?? randomUUID();
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.name}:${name}`;
    if (this.executions.has(executionArn)) throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      input: clone(input),
      startDate: new Date(this.clock.now()),
      parentExecutionArn: opts.parentExecutionArn,
    };
    let resolveDone!: (r: ExecutionRecord) => void;
    const done = new Promise<ExecutionRecord>((resolve) => { resolveDone = resolve; });
    const context = {
      Execution: { Id: executionArn, Name: name, RoleArn: `arn:aws:iam::${this.accountId}:role/rehearsal-sfn`, RedriveCount: 0 },
      StateMachine: { Id: machine.arn, Name: machine.name },
      Task: { Token: TASK_TOKEN_PLACEHOLDER },
    };
    const exec: ExecutionState = {
      record, machine, context, events: [], cleanups: new Set(), done, resolveDone, inflight: 0, parked: 0, workers: new Set(),
    };
    this.executions.set(executionArn, exec);
    exec.overrides = this.buildOverrides(machine.lowered, exec);

    const run = new StateMachine(machine.lowered.definition as any, { validationOptions: { noValidate: true } })
      .run(record.input, { overrides: exec.overrides, context });
    exec.abortRun = run.abort;
    exec.drained = this.drain(run.eventLogs, exec, {});
    if (machine.lowered.timeoutSeconds !== undefined) {
      const cancel = startTimer(this.clock, machine.lowered.timeoutSeconds * 1000, () => {
        if (record.status !== 'RUNNING') return;
        this.finish(exec, 'TIMED_OUT', undefined, 'States.Timeout', `Execution timed out after ${machine.lowered.timeoutSeconds} seconds`);
        run.abort();
      });
      exec.cleanups.add(cancel);
    }
    run.result.then(
      (output) => this.finish(exec, 'SUCCEEDED', output as Json),
      (e) => {
        if (record.status !== 'RUNNING') return; // stopped or timed out already
        if (e instanceof ExecutionAbortedError) {this.finish(exec, 'ABORTED');} else {
          const { error, cause } = errorOf(e);
          this.finish(exec, 'FAILED', undefined, error, cause);
        }
      },
    );
    return record;
  }

  /** Runs an execution to its end (never throws for execution failures: inspect `status`). */
  public async run(stateMachine: string, input: Json = {}, opts: { name?: string } = {}): Promise<ExecutionRecord> {
    const record = await this.startExecution(stateMachine, input, opts);
    return this.whenDone(record.executionArn);
  }

  public async whenDone(executionArn: string): Promise<ExecutionRecord> {
    const exec = this.executions.get(executionArn);
    if (!exec) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return exec.done;
  }

  public describeExecution(executionArn: string): ExecutionRecord {
    const exec = this.executions.get(executionArn);
    if (!exec) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return exec.record;
  }

  public listExecutions(stateMachine?: string): ExecutionRecord[] {
    const arn = stateMachine ? this.stateMachineArn(stateMachine) : undefined;
    return [...this.executions.values()].map((e) => e.record).filter((r) => !arn || r.stateMachineArn === arn);
  }

  /** StopExecution: aborts the interpreter run, cancels its tokens, map children and .sync children. */
  public stopExecution(executionArn: string, error?: string, cause?: string): ExecutionRecord {
    const exec = this.executions.get(executionArn);
    if (!exec) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    if (exec.record.status === 'RUNNING') {
      this.finish(exec, 'ABORTED', undefined, error, cause);
      exec.abortRun?.();
    }
    return exec.record;
  }

  public sendTaskSuccess(token: string, output: string | Json): void {
    this.tokens.succeed(token, typeof output === 'string' ? output : JSON.stringify(output));
  }

  public sendTaskFailure(token: string, error?: string, cause?: string): void {
    this.tokens.fail(token, error, cause);
  }

  public sendTaskHeartbeat(token: string): void {
    this.tokens.heartbeat(token);
  }

  /** Events of one execution (includes inline Map iterations, branches and lowered-Map children). */
  public eventsOf(executionArn: string): SfnEvent[] {
    return this.executions.get(executionArn)?.events ?? [];
  }

  /**
   * State names in the order they were entered (or exited) in one execution. Top level only by
   * default; `nested: true` adds Map iterations / Parallel branches / lowered-Map children (their
   * relative order across nesting levels is arrival order, not a strict happens-before).
   */
  public transitions(executionArn: string, options: { type?: 'StateEntered' | 'StateExited'; nested?: boolean } = {}): string[] {
    const type = options.type ?? 'StateEntered';
    const exec = this.executions.get(executionArn);
    // State names are unique across the tree (lowering enforces it): top level = the root's States.
    const topLevel = new Set(Object.keys(exec?.machine.lowered.definition.States ?? {}));
    return this.eventsOf(executionArn)
      .filter((e) => e.type === type && (options.nested || topLevel.has(e.stateName!)))
      .map((e) => e.stateName!);
  }

  /**
   * Running executions that are doing something: not every one of their in-flight tasks is parked
   * on a clock Wait, a task token or a `.sync` child (between two tasks an execution is busy). A
   * harness on a virtual clock may jump the clock only while this is 0.
   */
  public busyExecutions(): number {
    let busy = 0;
    const threadBusy = (t: TaskCounter): boolean => !(t.inflight > 0 && t.parked >= t.inflight);
    for (const exec of this.executions.values()) {
      if (exec.record.status === 'RUNNING' && (threadBusy(exec) || [...exec.workers].some(threadBusy))) busy++;
    }
    return busy;
  }

  /** Stops every running execution (end of a rehearsal). */
  public close(): void {
    for (const exec of this.executions.values()) if (exec.record.status === 'RUNNING') this.stopExecution(exec.record.executionArn, 'Rehearsal.Closed', 'runtime closed');
  }

  /**
   * The SFN API as called by handlers (AWS JSON 1.0 operation names and camelCase members); used by
   * the HTTP fake (api.ts) and by `aws-sdk:sfn:*` tasks.
   */
  public async api(operation: string, body: any): Promise<any> {
    switch (operation) {
      case 'SendTaskSuccess':
        this.sendTaskSuccess(body.taskToken, body.output);
        return {};
      case 'SendTaskFailure':
        this.sendTaskFailure(body.taskToken, body.error, body.cause);
        return {};
      case 'SendTaskHeartbeat':
        this.sendTaskHeartbeat(body.taskToken);
        return {};
      case 'StartExecution': {
        let input: Json = {};
        if (body.input !== undefined) {
          try {
            input = JSON.parse(body.input);
          } catch {
            throw new SfnApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input');
          }
        }
        const r = await this.startExecution(body.stateMachineArn, input, { name: body.name });
        return { executionArn: r.executionArn, startDate: epochSeconds(r.startDate) };
      }
      case 'DescribeExecution': {
        const r = this.describeExecution(body.executionArn);
        return {
          executionArn: r.executionArn,
          stateMachineArn: r.stateMachineArn,
          name: r.name,
          status: r.status,
          startDate: epochSeconds(r.startDate),
          stopDate: epochSeconds(r.stopDate),
          input: JSON.stringify(r.input),
          output: r.output === undefined ? undefined : JSON.stringify(r.output),
          error: r.error,
          cause: r.cause,
        };
      }
      case 'StopExecution': {
        const r = this.stopExecution(body.executionArn, body.error, body.cause);
        return { stopDate: epochSeconds(r.stopDate) };
      }
      default:
        throw new SfnApiError('UnknownOperationException', `The SFN fake does not implement ${operation}`);
    }
  }

  // --- internals -------------------------------------------------------------------------------

  private finish(exec: ExecutionState, status: ExecutionStatus, output?: Json, error?: string, cause?: string): void {
    const r = exec.record;
    if (r.status !== 'RUNNING') return;
    r.status = status;
    r.stopDate = new Date(this.clock.now());
    if (output !== undefined) r.output = output;
    if (error !== undefined) r.error = error;
    if (cause !== undefined) r.cause = cause;
    for (const cleanup of exec.cleanups) cleanup();
    exec.cleanups.clear();
    for (const t of this.tokens.pendingTokens(r.executionArn)) this.tokens.close(t.token, 'CANCELLED');
    if (status === 'TIMED_OUT') this.push(exec, { executionArn: r.executionArn, type: 'ExecutionTimedOut', error, cause, timestamp: Date.now() });
    // Resolve once the interpreter's event log is drained, so the log is complete for assertions.
    void (exec.drained ?? Promise.resolve()).then(() => exec.resolveDone(r));
  }

  private push(exec: ExecutionState, event: SfnEvent): void {
    exec.events.push(event);
    this.events.push(event);
  }

  private async drain(logs: AsyncGenerator<any>, exec: ExecutionState, extra: { mapRunArn?: string; index?: number }): Promise<void> {
    try {
      for await (const e of logs) {
        this.push(exec, {
          executionArn: exec.record.executionArn,
          type: e.type,
          stateName: e.state?.name ?? e.parentState?.name,
          stateType: e.state?.type ?? e.parentState?.type,
          index: extra.index ?? e.index,
          mapRunArn: extra.mapRunArn,
          error: e.Error,
          cause: e.Cause,
          input: e.state?.input ?? e.input,
          output: e.state?.output ?? e.output,
          timestamp: e.timestamp,
        });
      }
    } catch {
      // event logs end with the execution
    }
  }

  private checkService(task: TaskInfo, lowered: LoweredDefinition): void {
    if (this.services.taskOverrides?.[task.stateName]) return;
    const missing = (what: string): never => {
      throw new LoweringError(task.stateName, `no local service for ${task.resource}`, `pass ${what} in services`);
    };
    const i = task.integration;
    switch (i.kind) {
      case 'lambda-arn':
        if (!this.lambdaByName.has(functionNameOf(i.functionArn))) missing(`lambdaHandlers['${i.functionArn}']`);
        break;
      case 'lambda-invoke':
        if (i.staticFunctionName !== undefined && !this.lambdaByName.has(functionNameOf(i.staticFunctionName))) missing(`lambdaHandlers['${i.staticFunctionName}']`);
        break;
      case 'aws-sdk':
        if (this.services.awsSdk?.[i.service] || ['eventbridge', 'cloudwatch', 'sfn'].includes(i.service)) break;
        if (i.service === 's3' && !this.services.s3Client) missing('s3Client');
        if (i.service === 'dynamodb' && !this.services.dynamodbClient) missing('dynamodbClient');
        if (i.service === 'sqs' && !this.services.sqsClient) missing('sqsClient');
        if (i.service === 'sns' && !this.services.snsClient) missing('snsClient');
        if (!['s3', 'dynamodb', 'sqs', 'sns'].includes(i.service)) missing(`awsSdk['${i.service}']`);
        break;
      case 'dynamodb':
        if (!this.services.dynamodbClient) missing('dynamodbClient');
        break;
      case 'sqs-send':
        if (!this.services.sqsClient) missing('sqsClient');
        break;
      case 'sns-publish':
        if (!this.services.snsClient) missing('snsClient');
        break;
      case 'distributed-map': {
        const plan = lowered.maps[task.stateName];
        if ((plan.itemReader || plan.resultWriter) && !this.objectStore) missing('objectStore or s3Client (ItemReader/ResultWriter)');
        break;
      }
      default:
        break;
    }
  }

  private get objectStore(): ObjectStore | undefined {
    return this.services.objectStore ?? (this.services.s3Client ? s3ObjectStore(this.services.s3Client) : undefined);
  }

  private buildOverrides(lowered: LoweredDefinition, exec: ExecutionState, thread: TaskCounter = exec): any {
    const taskResourceLocalHandlers: Record<string, (input: any) => Promise<any>> = {};
    for (const task of Object.values(lowered.tasks)) {
      taskResourceLocalHandlers[task.stateName] = (input) => this.runTask(task, input, exec, lowered, thread);
    }
    const waitTimeOverrides: Record<string, number> = {};
    for (const [name, w] of Object.entries(lowered.waits)) waitTimeOverrides[name] = (w.seconds ?? 0) * 1000 * this.timeScale;
    const retryIntervalOverrides: Record<string, number[]> = {};
    for (const [name, intervals] of Object.entries(lowered.retries)) retryIntervalOverrides[name] = intervals.map((s) => s * 1000 * this.timeScale);
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
  }

  private async runTask(task: TaskInfo, rawInput: any, exec: ExecutionState, lowered: LoweredDefinition, thread: TaskCounter): Promise<any> {
    if (exec.record.status !== 'RUNNING') throw new SfnApiError('States.Runtime', 'execution is no longer running');
    const integration = task.integration as any;
    const waitForTaskToken = integration.waitForTaskToken === true;
    let input = rawInput;
    let tokenPromise: Promise<unknown> | undefined;
    let token: string | undefined;
    if (waitForTaskToken) {
      ({ token, promise: tokenPromise } = this.tokens.create(exec.record.executionArn, task.stateName));
      input = replaceDeep(rawInput, TASK_TOKEN_PLACEHOLDER, token);
    }
    const work = async (): Promise<any> => {
      const result = await this.invoke(task, input, exec, lowered, thread);
      return tokenPromise ? this.parked(thread, tokenPromise) : result;
    };
    thread.inflight++;
    try {
      return await this.withTimeouts(task, work, token, exec);
    } finally {
      thread.inflight--;
    }
  }

  /**
   * Races the task against its TimeoutSeconds/HeartbeatSeconds on the clock, and settles it when the
   * execution ends (stop/timeout) so the interpreter's own (huge) task timer is always cleared.
   */
  private withTimeouts(task: TaskInfo, work: () => Promise<any>, token: string | undefined, exec: ExecutionState): Promise<any> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const cancels: (() => void)[] = [];
      const settle = (fn: (v: any) => void) => (value: any) => {
        if (settled) return;
        settled = true;
        cancels.forEach((c) => c());
        fn(value);
      };
      const onExecutionEnd = (): void => settle(reject)(new SfnApiError('States.Runtime', `execution ${exec.record.status}`));
      exec.cleanups.add(onExecutionEnd);
      cancels.push(() => exec.cleanups.delete(onExecutionEnd));
      const expire = (name: 'States.Timeout' | 'States.HeartbeatTimeout', message: string) => () => {
        if (token) this.tokens.close(token, 'TIMED_OUT');
        settle(reject)(timeoutError(name, message));
      };
      if (task.timeoutSeconds !== undefined) {
        // A Lambda invocation without a task token is the handler running in this process at wall
        // speed, as a real one runs in real time: its TimeoutSeconds is wall time. On the virtual
        // clock (60x while the task runs) a 420-s InitiateBatch timed out after 7 s of a loaded
        // machine's wall time, and Retry started the same batch while the first still ran (two
        // Glacier jobs per archive). Waits for a token (Glacier, other machines) stay virtual.
        const wallSpeed = token === undefined && (task.integration.kind === 'lambda-arn' || task.integration.kind === 'lambda-invoke');
        cancels.push(startTimer(wallSpeed ? wallClock : this.clock, task.timeoutSeconds * 1000, expire('States.Timeout', `Task timed out after ${task.timeoutSeconds} seconds`)));
      }
      if (token && task.heartbeatSeconds !== undefined) {
        let cancelHeartbeat = (): void => undefined;
        const arm = (): void => {
          cancelHeartbeat();
          cancelHeartbeat = startTimer(this.clock, task.heartbeatSeconds! * 1000, expire('States.HeartbeatTimeout', `No heartbeat for ${task.heartbeatSeconds} seconds`));
        };
        arm();
        this.tokens.onHeartbeat(token, arm);
        cancels.push(() => cancelHeartbeat());
      }
      work().then(settle(resolve), settle(reject));
    });
  }

  private async invoke(task: TaskInfo, input: any, exec: ExecutionState, lowered: LoweredDefinition, thread: TaskCounter = exec): Promise<any> {
    const override = this.services.taskOverrides?.[task.stateName];
    if (override) return clone(await override(clone(input)));
    const i = task.integration;
    switch (i.kind) {
      case 'lambda-arn':
        return this.callLambda(i.functionArn, input);
      case 'lambda-invoke': {
        const fn = String(input?.FunctionName ?? '');
        if (input?.InvocationType === 'Event') {
          this.callLambda(fn, input.Payload ?? {}).catch(() => undefined);
          return { StatusCode: 202, Payload: '', SdkHttpMetadata: { HttpStatusCode: 202 }, SdkResponseMetadata: { RequestId: randomUUID() } };
        }
        const payload = await this.callLambda(fn, input?.Payload ?? {});
        return {
          ExecutedVersion: '$LATEST',
          Payload: payload,
          StatusCode: 200,
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: randomUUID() },
        };
      }
      case 'aws-sdk':
        return this.awsSdkCall(i.service, i.action, input);
      case 'dynamodb':
        return this.sdkSend('dynamodb', dynamodbSdk, this.services.dynamodbClient, i.action, input, 'DynamoDB');
      case 'sqs-send': {
        const params = { ...input, MessageBody: typeof input.MessageBody === 'string' ? input.MessageBody : JSON.stringify(input.MessageBody) };
        return this.sdkSend('sqs', sqsSdk, this.services.sqsClient, 'sendMessage', params, 'SQS');
      }
      case 'sns-publish': {
        const params = { ...input, Message: typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message) };
        return this.sdkSend('sns', snsSdk, this.services.snsClient, 'publish', params, 'SNS');
      }
      case 'events-put': {
        const entries = (input.Entries ?? []).map((e: any) => ({ ...e, Detail: typeof e.Detail === 'string' ? e.Detail : JSON.stringify(e.Detail) }));
        return this.eventBridge.call('putEvents', { ...input, Entries: entries });
      }
      case 'start-execution':
        return this.startChild(i.mode, input, exec, thread);
      case 'distributed-map':
        return this.runDistributedMap(lowered.maps[task.stateName], input, exec, thread);
      case 'clock-wait':
        return this.clockWait(input, thread);
      default:
        throw new SfnApiError('States.Runtime', `no local implementation for ${task.resource}`);
    }
  }

  private async callLambda(nameOrArn: string, event: any): Promise<any> {
    const name = functionNameOf(nameOrArn);
    const handler = this.lambdaByName.get(name);
    if (!handler) throw new SfnApiError('Lambda.ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    const context: LambdaContextLike = {
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: nameOrArn.startsWith('arn:') ? nameOrArn : `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'rehearsal',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => this.services.lambdaRemainingTimeMs ?? 900_000,
    };
    try {
      return clone(await handler(clone(event), context));
    } catch (e) {
      const err = e as Error;
      const errorType = err?.name ?? 'Error';
      throw new SfnApiError(errorType, JSON.stringify({ errorType, errorMessage: err?.message ?? String(e), trace: String(err?.stack ?? '').split('\n') }));
    }
  }

  private async awsSdkCall(service: string, action: string, params: any): Promise<any> {
    try {
      const custom = this.services.awsSdk?.[service];
      if (custom) return clone(await custom(action, clone(params)));
      switch (service) {
        case 'eventbridge':
          return clone(await this.eventBridge.call(action, clone(params)));
        case 'cloudwatch':
          return clone(await this.cloudWatch.call(action, clone(params)));
        case 'sfn':
          return await this.sfnSdk(action, params);
        case 's3':
          return await this.sdkSend('s3', s3Sdk, this.services.s3Client, action, params, undefined);
        case 'dynamodb':
          return await this.sdkSend('dynamodb', dynamodbSdk, this.services.dynamodbClient, action, params, undefined);
        case 'sqs':
          return await this.sdkSend('sqs', sqsSdk, this.services.sqsClient, action, params, undefined);
        case 'sns':
          return await this.sdkSend('sns', snsSdk, this.services.snsClient, action, params, undefined);
        default:
          throw new SfnApiError('States.Runtime', `no local implementation for aws-sdk:${service}`);
      }
    } catch (e) {
      if (e instanceof SfnApiError && e.name.includes('.')) throw e;
      throw new SfnApiError(sdkErrorName(service, e), (e as Error)?.message ?? String(e));
    }
  }

  /**
   * Sends `<Action>Command` of an SDK module. `optimisedPrefix` set → errors are named
   * `<prefix>.<code>` (optimised integrations), otherwise they propagate for aws-sdk naming.
   */
  private async sdkSend(service: string, mod: any, client: any, action: string, params: any, optimisedPrefix: string | undefined): Promise<any> {
    if (!client) throw new SfnApiError('States.Runtime', `no ${service} client in services`);
    const Command = mod[`${action.charAt(0).toUpperCase()}${action.slice(1)}Command`];
    if (typeof Command !== 'function') throw new SfnApiError('States.Runtime', `unknown ${service} action ${action}`);
    let out: any;
    try {
      out = await client.send(new Command(clone(params)));
    } catch (e) {
      if (!optimisedPrefix) throw e;
      throw new SfnApiError(`${optimisedPrefix}.${(e as Error).name}`, (e as Error).message);
    }
    out = stripMetadata(out);
    if (service === 's3' && out?.Body && typeof out.Body.transformToString === 'function') out.Body = await out.Body.transformToString();
    return clone(out);
  }

  private async sfnSdk(action: string, params: any): Promise<any> {
    const camel = (o: any): any => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v]));
    const pascal = (o: any): any => Object.fromEntries(Object.entries(o ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v]));
    const body = camel(params);
    if (body.input !== undefined && typeof body.input !== 'string') body.input = JSON.stringify(body.input);
    if (body.output !== undefined && typeof body.output !== 'string') body.output = JSON.stringify(body.output);
    return pascal(await this.api(action.charAt(0).toUpperCase() + action.slice(1), body));
  }

  private async startChild(mode: 'async' | 'sync' | 'sync:2', params: any, parent: ExecutionState, thread: TaskCounter = parent): Promise<any> {
    let input = params?.Input ?? {};
    if (typeof input === 'string') {
      try {
        input = JSON.parse(input);
      } catch {
        throw new SfnApiError('StepFunctions.InvalidExecutionInputException', 'Invalid State Machine Execution Input');
      }
    }
    let child: ExecutionRecord;
    try {
      child = await this.startExecution(String(params?.StateMachineArn), input, {
        name: params?.Name,
        parentExecutionArn: parent.record.executionArn,
      });
    } catch (e) {
      throw new SfnApiError(`StepFunctions.${(e as Error).name}Exception`.replace('ExceptionException', 'Exception'), (e as Error).message);
    }
    if (mode === 'async') return { ExecutionArn: child.executionArn, StartDate: child.startDate.getTime() };
    const stopChild = (): void => {
      this.stopExecution(child.executionArn, 'States.Aborted', 'parent execution stopped');
    };
    parent.cleanups.add(stopChild);
    const done = await this.parked(thread, this.whenDone(child.executionArn));
    parent.cleanups.delete(stopChild);
    const json = mode === 'sync:2';
    const described: any = {
      ExecutionArn: done.executionArn,
      Input: json ? done.input : JSON.stringify(done.input),
      InputDetails: { Included: true },
      Name: done.name,
      StartDate: done.startDate.getTime(),
      StateMachineArn: done.stateMachineArn,
      Status: done.status,
      StopDate: done.stopDate?.getTime(),
    };
    if (done.status === 'SUCCEEDED') {
      described.Output = json ? done.output : JSON.stringify(done.output);
      described.OutputDetails = { Included: true };
      return described;
    }
    if (done.error !== undefined) described.Error = done.error;
    if (done.cause !== undefined) described.Cause = done.cause;
    throw new SfnApiError('States.TaskFailed', JSON.stringify(described));
  }

  /** The task waits for something outside the execution (see `busyExecutions`). */
  private async parked<T>(thread: TaskCounter, work: Promise<T>): Promise<T> {
    thread.parked++;
    try {
      return await work;
    } finally {
      thread.parked--;
    }
  }

  private async clockWait(params: any, thread: TaskCounter): Promise<any> {
    let ms = 0;
    if (params.Seconds !== undefined) ms = Number(params.Seconds) * 1000;
    else if (params.Timestamp !== undefined) ms = Math.max(0, Date.parse(params.Timestamp) - this.clock.now());
    if (this.clock === wallClock) ms *= this.timeScale;
    if (ms > 0) await this.parked(thread, new Promise<void>((resolve) => startTimer(this.clock, ms, resolve)));
    return params.Input;
  }

  // --- Distributed Map -------------------------------------------------------------------------

  private async readItems(plan: DistributedMapPlan, params: any): Promise<Json[]> {
    const store = this.objectStore;
    if (!store) throw new SfnApiError('States.ItemReaderFailed', 'no objectStore / s3Client for ItemReader');
    const reader = plan.itemReader!;
    const p = params.ReaderParameters ?? {};
    let items: Json[];
    try {
      if (reader.kind === 'listObjectsV2') {
        items = (await store.listObjects(p.Bucket, p.Prefix)).map((o) => ({
          Etag: o.ETag, Key: o.Key, LastModified: Math.floor(o.LastModified.getTime() / 1000), Size: o.Size, StorageClass: o.StorageClass,
        }));
      } else {
        const text = (await store.getObject(p.Bucket, p.Key)).toString('utf8');
        if (reader.inputType === 'CSV') {
          items = parseCsv(text, {
            columns: reader.csvHeaderLocation === 'FIRST_ROW' ? true : reader.csvHeaders,
            delimiter: reader.csvDelimiter,
            skip_empty_lines: true,
            relax_column_count: true,
            bom: true,
          }) as Json[];
        } else if (reader.inputType === 'JSONL') {
          items = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
        } else {
          const parsed = JSON.parse(text);
          if (!Array.isArray(parsed)) throw new Error(`s3://${p.Bucket}/${p.Key} is not a JSON array`);
          items = parsed;
        }
      }
    } catch (e) {
      throw new SfnApiError('States.ItemReaderFailed', `${(e as Error).name}: ${(e as Error).message}`);
    }
    const max = params.MaxItems;
    return typeof max === 'number' && max > 0 ? items.slice(0, max) : items;
  }

  private async selectItem(selector: Json, mapInput: Json, exec: ExecutionState, index: number, value: Json): Promise<Json> {
    const pass = new StateMachine({ StartAt: 'ItemSelector', States: { ItemSelector: { Type: 'Pass', Parameters: selector, End: true } } } as any,
      { validationOptions: { noValidate: true } });
    const context = { ...exec.context, Map: { Item: { Index: index, Value: value } } };
    try {
      return (await pass.run(mapInput, { context }).result) as Json;
    } catch (e) {
      const { error, cause } = errorOf(e);
      throw new SfnApiError(error, `ItemSelector of item ${index}: ${cause}`);
    }
  }

  private batch(items: Json[], params: any): Json[] {
    const maxItems: number | undefined = params.MaxItemsPerBatch;
    const maxBytes: number | undefined = params.MaxInputBytesPerBatch;
    const batchInput = params.BatchInput;
    const base = Buffer.byteLength(JSON.stringify(batchInput === undefined ? { Items: [] } : { BatchInput: batchInput, Items: [] }));
    const batches: Json[][] = [];
    let current: Json[] = [];
    let bytes = base;
    for (const item of items) {
      const size = Buffer.byteLength(JSON.stringify(item)) + (current.length > 0 ? 1 : 0);
      const full = current.length > 0
        && ((maxItems !== undefined && current.length >= maxItems) || (maxBytes !== undefined && bytes + size > maxBytes));
      if (full) {
        batches.push(current);
        current = [];
        bytes = base;
      }
      bytes += Buffer.byteLength(JSON.stringify(item)) + (current.length > 0 ? 1 : 0);
      current.push(item);
    }
    if (current.length > 0) batches.push(current);
    return batches.map((Items): Json => (batchInput === undefined ? { Items } : { BatchInput: batchInput, Items }));
  }

  private async runDistributedMap(plan: DistributedMapPlan, params: any, exec: ExecutionState, thread: TaskCounter = exec): Promise<any> {
    const mapInput = params.Input as Json;
    let items: Json[];
    if (plan.itemReader) items = await this.readItems(plan, params);
    else if (Array.isArray(params.Items)) items = params.Items;
    else throw new SfnApiError('States.Runtime', `Map '${plan.stateName}': items are not an array`);

    const selected: Json[] = [];
    for (let i = 0; i < items.length; i++) {
      selected.push(plan.itemSelector !== undefined ? await this.selectItem(plan.itemSelector, mapInput, exec, i, items[i]) : items[i]);
    }
    const units = plan.batching ? this.batch(selected, params) : selected;
    const unitSize = (u: any): number => (plan.batching ? u.Items.length : 1);

    const label = plan.label ?? plan.stateName;
    const mapRunId = randomUUID();
    const mapRunArn = `arn:aws:states:${this.region}:${this.accountId}:mapRun:${exec.machine.name}/${label}:${mapRunId}`;
    const childMachineArn = `${exec.machine.arn}/${label}`;
    const record: MapRunRecord = {
      mapRunArn,
      executionArn: exec.record.executionArn,
      stateName: plan.stateName,
      status: 'RUNNING',
      itemCount: selected.length,
      childCount: units.length,
      succeeded: 0,
      failed: 0,
      failedItems: 0,
      maxConcurrencyObserved: 0,
    };
    this.mapRuns.push(record);

    const toleratedCount: number | undefined = params.ToleratedFailureCount;
    const toleratedPct: number | undefined = params.ToleratedFailurePercentage;
    const exceeded = (): boolean => {
      const f = record.failedItems;
      if (f === 0) return false;
      if (toleratedCount === undefined && toleratedPct === undefined) return true;
      if (toleratedCount !== undefined && f > toleratedCount) return true;
      return toleratedPct !== undefined && selected.length > 0 && (f * 100) / selected.length > toleratedPct;
    };

    interface ChildResult { status: 'SUCCEEDED' | 'FAILED' | 'ABORTED'; arn: string; name: string; input: Json; output?: Json; error?: string; cause?: string; start: Date; stop?: Date }
    const results: (ChildResult | undefined)[] = new Array(units.length);
    const aborts = new Set<() => void>();
    const abortAll = (): void => aborts.forEach((a) => a());
    exec.cleanups.add(abortAll);
    let next = 0;
    let running = 0;
    let stop = false;
    const processor = new StateMachine(plan.processor as any, { validationOptions: { noValidate: true } });

    const runChild = async (index: number, worker: TaskCounter): Promise<void> => {
      const name = randomUUID();
      const arn = `arn:aws:states:${this.region}:${this.accountId}:execution:${exec.machine.name}/${label}:${name}`;
      const start = new Date(this.clock.now());
      const context = { ...exec.context, Execution: { ...exec.context.Execution, Id: arn, Name: name }, StateMachine: { Id: childMachineArn, Name: `${exec.machine.name}/${label}` } };
      const overrides = this.buildOverrides(exec.machine.lowered, exec, worker);
      const run = processor.run(units[index], { overrides, context, noThrowOnAbort: true });
      aborts.add(run.abort);
      void this.drain(run.eventLogs, exec, { mapRunArn, index });
      running++;
      record.maxConcurrencyObserved = Math.max(record.maxConcurrencyObserved, running);
      try {
        const output = (await run.result) as Json;
        if (stop && output === null) {
          results[index] = { status: 'ABORTED', arn, name, input: units[index], start, stop: new Date(this.clock.now()) };
          return;
        }
        results[index] = { status: 'SUCCEEDED', arn, name, input: units[index], output, start, stop: new Date(this.clock.now()) };
        record.succeeded++;
      } catch (e) {
        const { error, cause } = errorOf(e);
        results[index] = { status: 'FAILED', arn, name, input: units[index], error, cause, start, stop: new Date(this.clock.now()) };
        record.failed++;
        record.failedItems += unitSize(units[index]);
        if (exceeded() && !stop) {
          stop = true;
          abortAll();
        }
      } finally {
        running--;
        aborts.delete(run.abort);
      }
    };

    const limit = typeof params.MaxConcurrency === 'number' && params.MaxConcurrency > 0 ? params.MaxConcurrency : 1000;
    // Each worker is a thread of its own (busy between its children's tasks); the Map task itself
    // is parked while they run, so a child parked on a Wait lets the harness jump the clock.
    const workers = Array.from({ length: Math.min(limit, units.length) }, () => {
      const worker: TaskCounter = { inflight: 0, parked: 0 };
      exec.workers.add(worker);
      return (async () => {
        try {
          while (!stop && next < units.length && exec.record.status === 'RUNNING') await runChild(next++, worker);
        } finally {
          exec.workers.delete(worker);
        }
      })();
    });
    await this.parked(thread, Promise.all(workers));
    exec.cleanups.delete(abortAll);
    if (exec.record.status !== 'RUNNING') {
      record.status = 'ABORTED';
      throw new SfnApiError('States.Runtime', 'execution stopped');
    }
    const failed = exceeded();
    record.status = failed ? 'FAILED' : 'SUCCEEDED';

    let writerOutput: any;
    if (plan.resultWriter) {
      const w = params.WriterParameters ?? {};
      const prefix = w.Prefix ? `${String(w.Prefix).replace(/\/+$/, '')}/` : '';
      const base = `${prefix}${mapRunId}`;
      const entry = (r: ChildResult): any => ({
        ExecutionArn: r.arn,
        Input: JSON.stringify(r.input),
        InputDetails: { Included: true },
        Name: r.name,
        ...(r.status === 'SUCCEEDED' ? { Output: JSON.stringify(r.output), OutputDetails: { Included: true } } : { Error: r.error, Cause: r.cause }),
        RedriveCount: 0,
        RedriveStatus: 'NOT_REDRIVABLE',
        StartDate: r.start.toISOString(),
        StateMachineArn: childMachineArn,
        Status: r.status,
        StopDate: r.stop?.toISOString(),
      });
      const files: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
      for (const status of ['SUCCEEDED', 'FAILED'] as const) {
        const list = results.filter((r): r is ChildResult => r?.status === status).map(entry);
        if (list.length === 0) continue;
        const key = `${base}/${status}_0.json`;
        const body = JSON.stringify(list);
        await this.objectStore!.putObject(w.Bucket, key, body);
        files[status].push({ Key: key, Size: Buffer.byteLength(body) });
      }
      const manifestKey = `${base}/manifest.json`;
      const manifest = { DestinationBucket: w.Bucket, MapRunArn: mapRunArn, ResultFiles: files };
      await this.objectStore!.putObject(w.Bucket, manifestKey, JSON.stringify(manifest));
      record.resultWriterKey = manifestKey;
      writerOutput = { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: w.Bucket, Key: manifestKey } };
    }
    if (failed) {
      throw new SfnApiError('States.ExceedToleratedFailureThreshold',
        `The specified tolerated failure threshold was exceeded (${record.failedItems} of ${selected.length} items failed)`);
    }
    if (writerOutput) return writerOutput;
    return results.map((r) => (r!.status === 'SUCCEEDED' ? r!.output! : { Error: r!.error ?? null, Cause: r!.cause ?? null }));
  }
}

export interface RunStateMachineOptions extends RuntimeOptions {
  readonly substitutions?: Record<string, string>;
  /** Reuse a runtime (token registry, API endpoint, child definitions); default: a fresh one. */
  readonly runtime?: SfnRuntime;
  /** State machine name used for ARNs (default `Main`). */
  readonly stateMachineName?: string;
  readonly executionName?: string;
}

export interface RunResult extends ExecutionRecord {
  readonly runtime: SfnRuntime;
  /** State names entered, in order (all nesting levels). */
  readonly transitions: string[];
  readonly events: SfnEvent[];
}

/** One-shot helper: lower, register and run `definition` to completion. */
export async function runStateMachine(definition: string | AslObject, input: Json = {}, options: RunStateMachineOptions = {}): Promise<RunResult> {
  const runtime = options.runtime ?? new SfnRuntime(options);
  const arn = runtime.registerStateMachine(options.stateMachineName ?? 'Main', definition, options.substitutions);
  const record = await runtime.run(arn, input, { name: options.executionName });
  return {
    ...record,
    runtime,
    transitions: runtime.transitions(record.executionArn),
    events: runtime.eventsOf(record.executionArn),
  };
}
