import { randomUUID } from 'crypto';
import { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

/** What every local service hands back: where to reach it and how to shut it down. */
export interface RunningService {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Counts requests per service and operation, the rehearsal's stand-in for a CloudTrail/billing view. */
export class ApiStats {
  private readonly counts = new Map<string, number>();

  public count(service: string, operation: string, n = 1): void {
    const key = `${service}:${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  public get(service: string, operation: string): number {
    return this.counts.get(`${service}:${operation}`) ?? 0;
  }

  /** `{ service: { operation: count } }`, sorted for stable reports. */
  public snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const key of [...this.counts.keys()].sort()) {
      const [service, operation] = key.split(':');
      // Keys that differ after the operation (`Invoke:<function>`, `injected:<fault>`) add up.
      const ops = (out[service] ??= {});
      ops[operation] = (ops[operation] ?? 0) + this.counts.get(key)!;
    }
    return out;
  }

  public reset(): void {
    this.counts.clear();
  }
}

/** Binds a server to 127.0.0.1 on an ephemeral port. */
/**
 * Responses carry no `Date` header. Handlers run on the rehearsal clock (hours ahead of the wall
 * clock the services keep); the SDK compares a response's Date with its own `Date.now()`, takes the
 * difference for clock skew and then RETRIES every error response (a NoSuchKey, a failed condition)
 * up to maxAttempts with backoff: seconds of wall time per expected error, an artefact of the
 * virtual clock that real AWS (same clock on both sides) never shows.
 */
function withoutDateHeader(_req: IncomingMessage, res: ServerResponse): void {
  res.sendDate = false;
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]): ServerResponse => {
    const last = rest[rest.length - 1];
    if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
      rest[rest.length - 1] = Object.fromEntries(Object.entries(last as OutgoingHttpHeaders).filter(([k]) => k.toLowerCase() !== 'date'));
    }
    return writeHead(status, ...rest);
  }) as ServerResponse['writeHead'];
}

export async function listenLocal(server: Server): Promise<{ port: number; endpoint: string }> {
  server.prependListener('request', withoutDateHeader);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { port, endpoint: `http://127.0.0.1:${port}` };
}

/** Closes a server, cutting idle keep-alive sockets so shutdown never hangs. */
export async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of req) parts.push(piece as Buffer);
  return Buffer.concat(parts);
}

export function requestId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
}

/** A FIFO mutex: `run` executes tasks one at a time in arrival order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  public async run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * A FIFO read-write lock: any number of `shared` tasks run together, an `exclusive` task runs
 * alone. Waiters start in arrival order (a waiting exclusive task holds back later shared ones).
 */
export class ReadWriteLock {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly waiting: { exclusive: boolean; start: () => void }[] = [];

  public async shared<T>(task: () => Promise<T>): Promise<T> {
    return this.hold(false, task);
  }

  public async exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.hold(true, task);
  }

  private async hold<T>(exclusive: boolean, task: () => Promise<T>): Promise<T> {
    if (this.waiting.length > 0 || !this.free(exclusive)) {
      await new Promise<void>((start) => this.waiting.push({ exclusive, start }));
    } else {
      this.enter(exclusive);
    }
    try {
      return await task();
    } finally {
      if (exclusive) this.exclusiveHeld = false;
      else this.sharedHolders--;
      while (this.waiting.length > 0 && this.free(this.waiting[0].exclusive)) {
        const next = this.waiting.shift()!;
        this.enter(next.exclusive);
        next.start();
      }
    }
  }

  private free(exclusive: boolean): boolean {
    return !this.exclusiveHeld && (!exclusive || this.sharedHolders === 0);
  }

  private enter(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = true;
    else this.sharedHolders++;
  }
}

/** Small seeded PRNG (mulberry32-like, written with arithmetic only) for reproducible choices. */
export class Random {
  private state: number;

  constructor(seed: number | string) {
    let s = 0;
    for (const ch of String(seed)) s = (s * 31 + ch.charCodeAt(0)) % 2147483647;
    this.state = s === 0 ? 1234567 : s;
  }

  /** Uniform in [0, 1). Park–Miller minimal standard generator. */
  public next(): number {
    this.state = (this.state * 48271) % 2147483647;
    return (this.state - 1) / 2147483646;
  }

  public int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }

  public chance(p: number): boolean {
    return this.next() < p;
  }

  public pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

export const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
