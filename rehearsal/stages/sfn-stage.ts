import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ACCOUNT_ID, Environment, NAMES, REGION } from '../environment';
import { inventoryEngine, localGlue } from '../services/glue-local';
import type { AslObject, Json } from '../sfn/lower';
import { s3ObjectStore } from '../sfn/object-store';
import { ExecutionRecord, LambdaHandler, SfnRuntime } from '../sfn/runner';
import { withVirtualTime } from '../virtual-time';

/*
 * Shared plumbing for running a REAL src/asl state machine inside the rehearsal:
 * - the definition as deployed (src/asl/definitions.ts loads it for the constructs too), placeholders
 *   substituted like CDK's definitionSubstitutions;
 * - Lambda tasks call the real handlers in process, with `Date.now()` on the rehearsal clock;
 * - ItemReader / ResultWriter go through the real S3 SDK to the local S3 fake;
 * - Wait states wait on the rehearsal clock (lowered to clock waits); only while an execution is
 *   parked (Wait, task token, `.sync` child) does the harness see it as idle (and may then jump the
 *   clock to the next event).
 */

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:rehearsal-${name}`;
}

/**
 * A real handler as a Step Functions Lambda task: virtual time; `observe` sees each result; a
 * thrown error (the task fails, Retry/Catch apply) is counted in `env.handlerErrors`.
 */
export function stageLambda<R>(env: Environment, handler: LambdaHandler, observe?: (result: R) => void): LambdaHandler {
  return async (event, context) => {
    // Counted as `Lambda Invoke` requests, as the SQS and stream pollers count theirs.
    env.stats.count('Lambda', `Invoke:${context.functionName}`);
    let result: R;
    try {
      result = await withVirtualTime(() => env.clock.now(), async () => handler(event, context)) as R;
    } catch (e) {
      const key = `${context.functionName.replace(/^rehearsal-/, '')}: ${(e as Error)?.name ?? 'Error'}`;
      env.handlerErrors.set(key, (env.handlerErrors.get(key) ?? 0) + 1);
      throw e;
    }
    observe?.(result);
    return result;
  };
}

/** Everything needed to run (or register as a child) one of our state machines. */
export interface StageMachine {
  readonly name: string;
  readonly definition: AslObject;
  readonly substitutions: Record<string, string>;
  readonly lambdaHandlers: Record<string, LambdaHandler>;
}

export interface StageRun extends ExecutionRecord {
  readonly runtime: SfnRuntime;
  /** State names entered at every nesting level. */
  readonly transitions: string[];
}

/**
 * One SfnRuntime with `machines` registered (children of `states:startExecution` are looked up
 * in it): Lambda tasks call the real handlers, ItemReader/ResultWriter and S3/DynamoDB integrations
 * go to the local services, Waits wait on the rehearsal clock, and every execution counts as harness
 * activity except while it is parked (Wait, task token, `.sync` child). The SFN API the handlers
 * reach serves this runtime from now on.
 */
export function stageRuntime(env: Environment, machines: readonly StageMachine[]): SfnRuntime {
  const runtime = new SfnRuntime({
    clock: env.clock,
    region: REGION,
    accountId: ACCOUNT_ID,
    lowerOptions: { lowerWaits: true },
    services: {
      lambdaHandlers: Object.assign({}, ...machines.map((m) => m.lambdaHandlers)),
      objectStore: s3ObjectStore(env.s3Client),
      s3Client: env.s3Client,
      dynamodbClient: new DynamoDBClient({}),
      // InventoryRetrieval's Glue branch runs the Glue job on local Spark with `--engine glue`.
      awsSdk: {
        glue: inventoryEngine() === 'glue'
          ? localGlue(env.s3Client, NAMES.inventoryBucket, env.activity)
          : async (action) => {
            throw Object.assign(new Error(`Glue ${action} is not available in the rehearsal (run it with --engine glue)`), { name: 'Glue.ServiceUnavailable' });
          },
      },
    },
  });
  for (const machine of machines) runtime.registerStateMachine(machine.name, machine.definition, machine.substitutions);
  env.useSfnRuntime(runtime);
  return runtime;
}

/** Runs `machine` to the end on the rehearsal clock (its own runtime). */
export async function runStage(env: Environment, machine: StageMachine, input: Json, executionName?: string): Promise<StageRun> {
  const runtime = stageRuntime(env, [machine]);
  const record = await runtime.run(machine.name, input, { name: executionName });
  return { ...record, runtime, transitions: runtime.transitions(record.executionArn, { nested: true }) };
}
