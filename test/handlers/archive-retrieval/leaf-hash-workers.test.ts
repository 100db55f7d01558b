import { randomBytes } from 'crypto';
import { availableParallelism } from 'os';
import { PassThrough, Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as fc from 'fast-check';
import { IntegrityError, TreeHasher, TreeHashStream } from '../../../src/core/tree-hash';
import { LeafHashPool, leafHashWorkerCount, PooledTreeHasher } from '../../../src/handlers/archive-retrieval/leaf-hash-workers';

const MiB = 1024 * 1024;
const pools = [1, 2, 3].map((size) => new LeafHashPool(size));
afterAll(() => Promise.all(pools.map((p) => p.close())));

async function feed(hasher: PooledTreeHasher, data: Buffer, cuts: number[]): Promise<void> {
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < data.length)].sort((a, b) => a - b).concat(data.length)) {
    const pending = hasher.update(data.subarray(at, cut));
    if (pending !== hasher) await pending;
    at = cut;
  }
}

function acquire(pool: LeafHashPool): PooledTreeHasher {
  const hasher = pool.tryAcquire();
  if (!hasher) throw new Error('pool unexpectedly busy');
  return hasher;
}

test('pooled tree hash equals the single-thread tree hash for any size and any piece boundaries', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 11 * MiB }),
    fc.array(fc.integer({ min: 0, max: 11 * MiB }), { maxLength: 40 }),
    async (poolIndex, size, cuts) => {
      const data = randomBytes(size);
      const hasher = acquire(pools[poolIndex]);
      await feed(hasher, data, cuts);
      expect(hasher.bytes).toBe(size);
      expect(await hasher.digest()).toBe(new TreeHasher().update(data).digest());
    },
  ), { numRuns: 25 });
});

test('the pool serves one stream at a time and is reusable after a digest or an abandoned stream', async () => {
  const pool = pools[1];
  const first = acquire(pool);
  expect(pool.tryAcquire()).toBeUndefined();
  await feed(first, randomBytes(13 * MiB + 5), [3 * MiB + 1]);
  first.abandon(); // a failed stream: leaves still in the workers' rings
  first.abandon();

  const data = randomBytes(9 * MiB + 77);
  const second = acquire(pool);
  await feed(second, data, [MiB - 1, 4 * MiB]);
  expect(await second.digest()).toBe(new TreeHasher().update(data).digest());
  await expect(second.digest()).rejects.toThrow(/digest called twice/);
  expect(() => second.update(Buffer.from('x'))).toThrow(/after digest/);
  expect(pool.tryAcquire()).toBeInstanceOf(PooledTreeHasher);
});

describe('TreeHashStream on the pool', () => {
  const run = async (data: Buffer, expectedTreeHash: string): Promise<{ received: number; error?: unknown }> => {
    const pool = new LeafHashPool(2);
    const stream = new TreeHashStream({ expectedBytes: data.length, expectedTreeHash, hasher: pool.tryAcquire() });
    const sink = new PassThrough();
    let received = 0;
    sink.on('data', (piece: Buffer) => { received += piece.length; });
    const pieces = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    try {
      await pipeline(Readable.from(pieces), stream, sink);
      return { received };
    } catch (error) {
      return { received, error };
    } finally {
      expect(pool.tryAcquire()).toBeInstanceOf(PooledTreeHasher); // released either way
      await pool.close();
    }
  };

  test('passes every byte through when the tree hash matches', async () => {
    const data = randomBytes(6 * MiB + 3);
    const result = await run(data, new TreeHasher().update(data).digest());
    expect(result).toEqual({ received: data.length });
  });

  test('a mismatch fails with IntegrityError and withholds the tail', async () => {
    const data = randomBytes(6 * MiB + 3);
    const result = await run(data, 'ab'.repeat(32));
    expect(result.error).toBeInstanceOf(IntegrityError);
    expect(result.received).toBeLessThan(data.length);
  });
});

test('worker count follows the Lambda vCPU share (one vCPU per 1,769 MB), keeping one vCPU for the stream', () => {
  expect(leafHashWorkerCount({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' })).toBe(0);
  expect(leafHashWorkerCount({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' })).toBe(0);
  expect(leafHashWorkerCount({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3538' })).toBe(1);
  expect(leafHashWorkerCount({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' })).toBe(2);
  expect(leafHashWorkerCount({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' }, 4)).toBe(4);
  expect(leafHashWorkerCount({})).toBe(Math.max(0, Math.min(2, availableParallelism() - 1)));
  expect(() => new LeafHashPool(0)).toThrow(/positive integer, got 0/);
});
