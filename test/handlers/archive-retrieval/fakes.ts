/* A silent logger and deterministic test bytes; the AWS services are the shared doubles of test/doubles/. */
import { Logger } from '@aws-lambda-powertools/logger';

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });


/* eslint-disable no-bitwise */
/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(Math.ceil(length / 4) * 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, length);
}
/* eslint-enable no-bitwise */
