/*
 * What every double shares: the mocked client (every instance's send), errors shaped as the SDK
 * raises them, and the hooks a test uses to inject a fault or a concurrent change into one call.
 */
import { mockClient } from 'aws-sdk-client-mock';

export const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };

/** A service error as the SDK raises it: name, HTTP status, the side at fault. */
export function awsError(name: string, status: number, message = name, extra: object = {}): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { ...meta, httpStatusCode: status }, ...extra });
}

type Input = Record<string, any>;
/** Serves one call in the double's place: may throw, change the world first, or answer with `real` (the double's own answer). */
export type Intercept = (input: Input, real: (input: Input) => Promise<any>) => unknown;
export interface InterceptOptions {
  /** How many matching calls (default 1). */
  readonly times?: number;
  /** Only calls whose input this accepts. */
  readonly when?: (input: Input) => boolean;
}

export abstract class Double {
  public readonly mock;
  /** Called before every call (the command's name, its input): may change the world (a concurrent writer) or throw. */
  public beforeCommand?: (command: string, input: Input) => void;
  private intercepts: Array<{ command: string; fn: Intercept; left: number; when?: (input: Input) => boolean }> = [];

  /** `client`: the SDK client class whose every instance this double answers for. */
  protected constructor(client: unknown) {
    this.mock = mockClient(client as Parameters<typeof mockClient>[0]);
    // A command the double does not serve fails loudly instead of answering undefined.
    this.mock.onAnyCommand().callsFake(() => {
      throw new Error(`${this.constructor.name} does not implement this command`);
    });
  }

  /** The next matching call(s) of `command` (its name without `Command`, e.g. 'GetObject') go to `fn`. */
  public intercept(command: string, fn: Intercept, options: InterceptOptions = {}): void {
    this.intercepts.push({ command, fn, left: options.times ?? 1, when: options.when });
  }

  /** The next matching call(s) of `command` fail with `error`, as the service (or the network) failing them. */
  public fail(command: string, error: Error, options: InterceptOptions = {}): void {
    this.intercept(command, () => {
      throw error;
    }, options);
  }

  /** Stops intercepting the clients. */
  public reset(): void {
    this.mock.restore();
  }

  /** Answers `command` with `fn` (its answer gets the default `$metadata` unless it has one), after the intercepts. */
  protected serve<I extends object>(command: new (input: I) => unknown, fn: (input: I) => unknown): void {
    const name = command.name.replace(/Command$/, '');
    const real = async (input: Input) => ({ $metadata: meta, ...(await fn(input as I) as object) });
    (this.mock as any).on(command).callsFake(async (input: Input) => {
      this.beforeCommand?.(name, input);
      const hook = this.intercepts.find((h) => h.command === name && (!h.when || h.when(input)));
      if (!hook) return real(input);
      if (--hook.left === 0) this.intercepts = this.intercepts.filter((h) => h !== hook);
      return hook.fn(input, real);
    });
  }
}
