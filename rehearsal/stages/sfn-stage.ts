import * as fs from 'fs';
import * as path from 'path';
import { ACCOUNT_ID, Environment, REGION } from '../environment';
import type { AslObject, Json } from '../sfn/lower';
import { s3ObjectStore } from '../sfn/object-store';
import { startTimer } from '../sfn/registry';
import { ExecutionRecord, LambdaHandler, SfnRuntime } from '../sfn/runner';
import { withVirtualTime } from '../virtual-time';

/*
 * Shared plumbing for running a REAL src/asl state machine inside the rehearsal:
 * - the definition file as deployed, placeholders substituted like CDK's definitionSubstitutions;
 * - Lambda tasks call the real handlers in process, with `Date.now()` on the rehearsal clock;
 * - ItemReader / ResultWriter go through the real S3 SDK to the local S3 fake;
 * - Wait states wait on the rehearsal clock (lowered to clock waits), and only while an execution
 *   sits in one does the harness see it as idle (it may then jump the clock to the next event).
 */

/* eslint-disable @typescript-eslint/no-explicit-any */

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:rehearsal-${name}`;
}

export function loadAsl(file: string): AslObject {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'asl', file), 'utf8')) as AslObject;
}

/**
 * A real handler as a Step Functions Lambda task: virtual time; `observe` sees each result; a
 * thrown error (the task fails, Retry/Catch apply) is counted in `env.handlerErrors`.
 */
export function stageLambda<R>(env: Environment, handler: LambdaHandler, observe?: (result: R) => void): LambdaHandler {
  return async (event, context) => {
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
  /** Names of the definition's Wait states (the harness may jump the clock while one runs). */
  readonly waitStates: readonly string[];
}

export interface StageRun extends ExecutionRecord {
  readonly runtime: SfnRuntime;
  /** State names entered at every nesting level. */
  readonly transitions: string[];
}

/**
 * A clock wait that releases the harness's activity count while it lasts: the lowered Wait state
 * receives `{ Input, Seconds? , Timestamp? }` and returns `Input` after that much virtual time.
 */
function idleWait(env: Environment) {
  return async (params: any): Promise<any> => {
    let ms = 0;
    if (params.Seconds !== undefined) ms = Number(params.Seconds) * 1000;
    else if (params.Timestamp !== undefined) ms = Math.max(0, Date.parse(params.Timestamp) - env.clock.now());
    if (ms > 0) {
      env.activity.leave();
      try {
        await new Promise<void>((resolve) => startTimer(env.clock, ms, resolve));
      } finally {
        env.activity.enter();
      }
    }
    return params.Input;
  };
}

/** Runs `machine` to the end on the rehearsal clock; the execution counts as harness activity. */
export async function runStage(env: Environment, machine: StageMachine, input: Json, executionName?: string): Promise<StageRun> {
  const wait = idleWait(env);
  const runtime = new SfnRuntime({
    clock: env.clock,
    region: REGION,
    accountId: ACCOUNT_ID,
    lowerOptions: { lowerWaits: true },
    services: {
      lambdaHandlers: machine.lambdaHandlers,
      objectStore: s3ObjectStore(env.s3Client),
      s3Client: env.s3Client,
      taskOverrides: Object.fromEntries(machine.waitStates.map((name) => [name, wait])),
    },
  });
  const arn = runtime.registerStateMachine(machine.name, machine.definition, machine.substitutions);
  const record = await env.activity.track(async () => runtime.run(arn, input, { name: executionName }));
  return { ...record, runtime, transitions: runtime.transitions(record.executionArn, { nested: true }) };
}

/** Wait state names of a definition (any nesting level). */
export function waitStatesOf(definition: AslObject): string[] {
  const names: string[] = [];
  const walk = (states: Record<string, AslObject> | undefined): void => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type === 'Wait') names.push(name);
      walk(state.ItemProcessor?.States ?? state.Iterator?.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States);
  return names;
}
