import { AsyncLocalStorage } from 'async_hooks';

/*
 * Virtual time for in-process Lambda invocations.
 *
 * Glacier (the fake) lives on the rehearsal clock, hours ahead of the wall clock. Handlers that
 * compare their own "now" with Glacier times (download-window scan: `jobExpiresAt` vs now) or pace
 * against a rolling 24-h quota (quota ledger, Wait states) must therefore see the same virtual
 * time. `withVirtualTime(clock.now, fn)` runs `fn` with `Date.now()` answering virtual time for
 * everything `fn` awaits (AsyncLocalStorage), and real time for everything else (the local
 * services, SQS visibility timeouts, the clock itself). `new Date()` without arguments is
 * virtualised the same way: `statusTime` is no longer only informational (RecoverLostNotifications
 * measures how long an archive has been `requested` from it, against `Date.now()`), so both must
 * come from one clock. `Date` stays the same class (a Proxy that only changes that construction):
 * `instanceof Date`, statics and subclasses behave as before.
 */

/** The real `Date.now`, captured before any patching. */
export const realNow: () => number = Date.now.bind(Date);

const storage = new AsyncLocalStorage<() => number>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  Date.now = (): number => {
    const virtualNow = storage.getStore();
    return virtualNow ? virtualNow() : realNow();
  };
  const RealDate = Date;
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args: unknown[], newTarget) {
      const virtualNow = args.length === 0 ? storage.getStore() : undefined;
      return Reflect.construct(target, virtualNow ? [virtualNow()] : args, newTarget);
    },
  });
}

/** Runs `fn` (and everything it awaits) with `Date.now()` = `now()`. */
export function withVirtualTime<T>(now: () => number, fn: () => T): T {
  install();
  return storage.run(now, fn);
}
