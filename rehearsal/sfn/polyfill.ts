/**
 * `Promise.withResolvers` for node 20.
 *
 * aws-local-stepfunctions 3.0.0 declares node >= 22 and calls `Promise.withResolvers()` on every
 * Task (its timeout race), Map and Retry path. On node 20 that is a TypeError which the interpreter
 * then reports as a failed or even *caught* state ({"Error":"TypeError"}), so a missing polyfill
 * shows up as a confusing wrong result, not as a crash. Import this module before running any
 * state machine (runner.ts does).
 */

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const PromiseCtor = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };

if (typeof PromiseCtor.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      const promise = new this<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export const promiseWithResolversInstalled = true;
