/**
 * Registries shared by the local Step Functions runtime: task tokens (`.waitForTaskToken`), the
 * clock abstraction used for TimeoutSeconds/HeartbeatSeconds, and the in-memory fakes for
 * EventBridge and CloudWatch calls made from state machines.
 */
import { randomBytes } from 'crypto';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Minimal clock. rehearsal/clock.ts `Clock` satisfies it (virtual time); without one the runner uses
 * {@link wallClock}. Timers scheduled on a Clock cannot be cancelled, so the runner ignores stale firings.
 */
export interface SfnClock {
  now(): number;
  /** May return a cancel function (then a cancelled timer is no longer a pending event). */
  schedule(at: number, fire: () => void): void | (() => void);
}

export const wallClock: SfnClock = {
  now: () => Date.now(),
  schedule: (at, fire) => {
    setTimeout(fire, Math.max(0, at - Date.now()));
  },
};

/** Schedules `fire` after `ms` on `clock`; returns a cancel function. Uses real timers for the wall clock. */
export function startTimer(clock: SfnClock, ms: number, fire: () => void): () => void {
  if (clock === wallClock) {
    const handle = setTimeout(fire, Math.max(0, ms));
    return () => clearTimeout(handle);
  }
  let live = true;
  const cancel = clock.schedule(clock.now() + ms, () => {
    if (live) fire();
  });
  return () => {
    live = false;
    if (cancel) cancel();
  };
}

/** Error with an explicit Step Functions error name (what Retry/Catch match on) and cause. */
export class SfnApiError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

export type TokenStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CANCELLED';

export interface TaskTokenInfo {
  readonly token: string;
  readonly executionArn: string;
  readonly stateName: string;
  readonly createdAt: number;
  status: TokenStatus;
  heartbeats: number;
  output?: unknown;
  error?: string;
  cause?: string;
}

interface Pending {
  info: TaskTokenInfo;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onHeartbeat?: () => void;
}

/**
 * Task tokens handed out to `.waitForTaskToken` tasks. `create` returns the token and a promise that
 * `succeed` resolves (with the parsed output) and `fail` rejects (with an error named after `error`).
 * Mirrors the SendTask* API errors: unknown token → TaskDoesNotExist, finished token → TaskTimedOut,
 * invalid JSON output → InvalidOutput.
 */
export class TaskTokenRegistry {
  private readonly pending = new Map<string, Pending>();
  private readonly all: TaskTokenInfo[] = [];
  private readonly waiters: { predicate: (t: TaskTokenInfo) => boolean; resolve: (t: TaskTokenInfo) => void }[] = [];

  constructor(private readonly clock: SfnClock = wallClock) {}

  public create(executionArn: string, stateName: string): { token: string; promise: Promise<unknown> } {
    const token = `AQ${randomBytes(60).toString('base64')}`;
    const info: TaskTokenInfo = { token, executionArn, stateName, createdAt: this.clock.now(), status: 'PENDING', heartbeats: 0 };
    let entry!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      entry = { info, resolve, reject };
    });
    promise.catch(() => undefined); // observed by the task; never an unhandled rejection when cancelled
    this.pending.set(token, entry);
    this.all.push(info);
    for (const w of [...this.waiters]) {
      if (w.predicate(info)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(info);
      }
    }
    return { token, promise };
  }

  public succeed(token: string, output: string): void {
    const entry = this.live(token);
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new SfnApiError('InvalidOutput', 'Invalid State Machine Output: output must be valid JSON');
    }
    this.finish(entry, 'SUCCEEDED');
    entry.info.output = parsed;
    entry.resolve(parsed);
  }

  public fail(token: string, error?: string, cause?: string): void {
    const entry = this.live(token);
    this.finish(entry, 'FAILED');
    entry.info.error = error;
    entry.info.cause = cause;
    entry.reject(new SfnApiError(error ?? '', cause ?? ''));
  }

  public heartbeat(token: string): void {
    const entry = this.live(token);
    entry.info.heartbeats++;
    entry.onHeartbeat?.();
  }

  /** Used by the runner: heartbeat callback of a token. */
  public onHeartbeat(token: string, callback: () => void): void {
    const entry = this.pending.get(token);
    if (entry) entry.onHeartbeat = callback;
  }

  /** Ends a token without resolving it (task timed out, execution stopped). */
  public close(token: string, status: 'TIMED_OUT' | 'CANCELLED'): void {
    const entry = this.pending.get(token);
    if (!entry) return;
    this.finish(entry, status);
    entry.reject(new SfnApiError(status === 'TIMED_OUT' ? 'States.Timeout' : 'States.Cancelled', status));
  }

  /** Tokens still awaiting a callback (optionally of one execution). */
  public pendingTokens(executionArn?: string): TaskTokenInfo[] {
    return [...this.pending.values()].map((p) => p.info).filter((i) => executionArn === undefined || i.executionArn === executionArn);
  }

  public history(): readonly TaskTokenInfo[] {
    return this.all;
  }

  public get(token: string): TaskTokenInfo | undefined {
    return this.all.find((t) => t.token === token);
  }

  /** Resolves with the first token (already issued or future) matching `predicate`. */
  public async waitForToken(predicate: (t: TaskTokenInfo) => boolean = () => true): Promise<TaskTokenInfo> {
    const existing = this.pendingTokens().find(predicate);
    if (existing) return existing;
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  private live(token: string): Pending {
    const entry = this.pending.get(token);
    if (entry) return entry;
    if (this.all.some((t) => t.token === token)) throw new SfnApiError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    throw new SfnApiError('TaskDoesNotExist', 'Task does not exist');
  }

  private finish(entry: Pending, status: TokenStatus): void {
    entry.info.status = status;
    this.pending.delete(entry.info.token);
  }
}

export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly params: any;
  readonly at: number;
}

/** In-memory EventBridge: records calls and keeps a registry of rules' targets. */
export class EventBridgeFake {
  public readonly calls: RecordedCall[] = [];
  /** rule name (`bus/rule` when EventBusName is given) → target id → target. */
  public readonly targets = new Map<string, Map<string, any>>();
  public readonly events: any[] = [];

  constructor(private readonly clock: SfnClock = wallClock) {}

  public async call(action: string, params: any): Promise<any> {
    this.calls.push({ service: 'eventbridge', action, params, at: this.clock.now() });
    const rule = params?.EventBusName ? `${params.EventBusName}/${params.Rule}` : params?.Rule;
    switch (action) {
      case 'putTargets': {
        const targets = this.targets.get(rule) ?? new Map();
        for (const t of params.Targets ?? []) targets.set(t.Id, t);
        this.targets.set(rule, targets);
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case 'removeTargets': {
        const targets = this.targets.get(rule);
        for (const id of params.Ids ?? []) targets?.delete(id);
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case 'listTargetsByRule':
        return { Targets: [...(this.targets.get(rule)?.values() ?? [])] };
      case 'putEvents':
        this.events.push(...(params.Entries ?? []));
        return { FailedEntryCount: 0, Entries: (params.Entries ?? []).map((_: unknown, i: number) => ({ EventId: `event-${this.events.length}-${i}` })) };
      case 'putRule':
        return { RuleArn: `arn:aws:events:us-east-1:000000000000:rule/${params.Name}` };
      case 'enableRule':
      case 'disableRule':
      case 'deleteRule':
        return {};
      default:
        throw new SfnApiError('States.Runtime', `EventBridge fake does not implement ${action}`);
    }
  }

  public targetsOf(rule: string): any[] {
    return [...(this.targets.get(rule)?.values() ?? [])];
  }
}

/** In-memory CloudWatch: records putMetricData calls; `datapoints(name)` flattens them. */
export class CloudWatchFake {
  public readonly calls: RecordedCall[] = [];

  constructor(private readonly clock: SfnClock = wallClock) {}

  public async call(action: string, params: any): Promise<any> {
    if (action !== 'putMetricData') throw new SfnApiError('States.Runtime', `CloudWatch fake does not implement ${action}`);
    this.calls.push({ service: 'cloudwatch', action, params, at: this.clock.now() });
    return {};
  }

  public datapoints(metricName: string): { namespace: string; value?: number; dimensions?: any[] }[] {
    return this.calls.flatMap((c) => (c.params.MetricData ?? [])
      .filter((d: any) => d.MetricName === metricName)
      .map((d: any) => ({ namespace: c.params.Namespace, value: d.Value, dimensions: d.Dimensions })));
  }
}
