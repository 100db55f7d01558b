import { realNow } from './virtual-time';

/**
 * The rehearsal's virtual clock. Glacier job completion and download-window expiry run on it,
 * never on wall time, so hours of Glacier latency take milliseconds.
 *
 * Virtual time flows at `speed` × wall time and can also jump forward: the harness jumps to the
 * next scheduled event whenever the pipeline is idle (see `nextEventAt`).
 */
export class Clock {
  private baseWall = realNow();
  private baseVirtual: number;
  private readonly timers: { at: number; fire: () => void }[] = [];
  private readonly ticker: NodeJS.Timeout;

  constructor(private speedFactor = 1, start = realNow()) {
    this.baseVirtual = start;
    this.ticker = setInterval(() => this.fireDue(), 20);
    this.ticker.unref();
  }

  public get speed(): number {
    return this.speedFactor;
  }

  /** Virtual epoch milliseconds. */
  public now(): number {
    return this.baseVirtual + (realNow() - this.baseWall) * this.speedFactor;
  }

  public isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  public setSpeed(speed: number): void {
    this.rebase();
    this.speedFactor = speed;
  }

  /** Moves virtual time forward by `ms` and fires everything that became due. */
  public advance(ms: number): void {
    if (ms <= 0) return;
    this.rebase();
    this.baseVirtual += ms;
    this.fireDue();
  }

  public advanceTo(at: number): void {
    this.advance(at - this.now());
  }

  /** Runs `fire` once virtual time reaches `at`; the returned function cancels it (no longer an event). */
  public schedule(at: number, fire: () => void): () => void {
    const timer = { at, fire };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at);
    this.fireDue();
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Virtual time of the earliest pending event, if any. */
  public nextEventAt(): number | undefined {
    return this.timers[0]?.at;
  }

  public get pendingEvents(): number {
    return this.timers.length;
  }

  public stop(): void {
    clearInterval(this.ticker);
    this.timers.length = 0;
  }

  private rebase(): void {
    const now = this.now();
    this.baseWall = realNow();
    this.baseVirtual = now;
  }

  private fireDue(): void {
    const now = this.now();
    while (this.timers.length > 0 && this.timers[0].at <= now) {
      const timer = this.timers.shift()!;
      timer.fire();
    }
  }
}
