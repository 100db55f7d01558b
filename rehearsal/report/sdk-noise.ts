/*
 * The AWS SDK prints "An error was encountered in a non-retryable streaming request." through
 * console.warn (clients without a logger) each time a request whose body is a stream fails: the
 * handlers' UploadPart/PutObject of a chunk. The SDK cannot replay a stream, so it does not retry;
 * the handler reports the message failed and SQS delivers it again. In a rehearsal this follows
 * every injected S3 fault on an upload; bare, the line reads like a crash. The harness counts it
 * per run and explains the count in the run's summary instead of printing it.
 */

export const SDK_STREAMING_WARNING = 'An error was encountered in a non-retryable streaming request.';

export interface SdkNoise {
  /** Warnings counted since the last call, then reset (one run's count). */
  take(): number;
  /** Gives console.warn back. */
  restore(): void;
}

/** Counts the SDK's streaming-request warning instead of printing it; every other warning passes through. */
export function captureSdkNoise(target: Pick<Console, 'warn'> = console): SdkNoise {
  const original = target.warn;
  let count = 0;
  target.warn = (...args: unknown[]): void => {
    if (args.length === 1 && args[0] === SDK_STREAMING_WARNING) {
      count++;
      return;
    }
    original.apply(target, args);
  };
  return {
    take() {
      const n = count;
      count = 0;
      return n;
    },
    restore() {
      target.warn = original;
    },
  };
}

/** The summary line explaining the count (empty when there were none). */
export function explainSdkNoise(count: number): string | undefined {
  if (count === 0) return undefined;
  return `   SDK streaming-request warnings: ${count} (an UploadPart/PutObject with a streamed body was answered with an error, in a rehearsal `
    + 'an injected S3 fault; the SDK does not retry a stream, the handler reports the message failed and SQS delivers it again; not printed one by one)';
}
