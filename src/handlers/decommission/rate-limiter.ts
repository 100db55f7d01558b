/**
 * Paces calls to at most `perSecond` (shared by the workers of one invocation) and slows down when
 * the service throttles: each throttle doubles the interval (up to 8×), each success after that
 * brings it back a little.
 */
export class RateLimiter {
  private next = 0;
  private readonly baseInterval: number;
  private interval: number;

  constructor(
    perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    if (!(perSecond > 0)) throw new Error(`rate must be positive, got ${perSecond}`);
    this.baseInterval = 1000 / perSecond;
    this.interval = this.baseInterval;
  }

  /** Milliseconds between two calls right now. */
  public get intervalMs(): number {
    return this.interval;
  }

  /** Waits for the next free slot. */
  public async take(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.next);
    this.next = slot + this.interval;
    if (slot > now) await this.sleep(slot - now);
  }

  public throttled(): void {
    this.interval = Math.min(this.interval * 2, this.baseInterval * 8);
  }

  public succeeded(): void {
    if (this.interval > this.baseInterval) this.interval = Math.max(this.baseInterval, this.interval * 0.9);
  }
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base × 2^attempt)). */
export function backoffMs(attempt: number, baseMs = 500, capMs = 20_000, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
