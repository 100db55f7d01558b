import { availableParallelism } from 'os';
import { Worker } from 'worker_threads';
import { LeafDigestTree, TREE_HASH_LEAF_SIZE, TreeHasherLike } from '../../core/tree-hash';

/*
 * Tree hashing on worker threads, for the chunk path.
 *
 * SHA-256 is the chunk path's only heavy CPU work: on one thread it runs at ~1.7 GB/s here,
 * slower than the bytes can be moved. Glacier's tree hash is made of independent 1 MiB leaf
 * digests, so leaves can be hashed elsewhere while the main thread keeps streaming: each piece
 * is copied into a small shared ring of leaf slots (a memcpy), leaves are dealt round-robin to the
 * workers, and the main thread only combines the 32-byte leaf digests. Memory is fixed:
 * SLOTS_PER_WORKER MiB of shared memory per worker, whatever the chunk size.
 *
 * Worth it only with spare CPU: Lambda gives one vCPU per 1,769 MB, so `leafHashWorkerCount`
 * decides from the function's memory (below two vCPUs the workers would only add copying).
 */

const SLOTS_PER_WORKER = 16;

/** Atomics.waitAsync (Node 16+; typed only from lib es2024, newer than this project's lib). */
type WaitAsyncResult = { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync;
const DIGEST_BYTES = 32;
/** Control words of one worker's ring. */
const WRITTEN = 0; // leaves handed to the worker (main thread writes)
const HASHED = 1; // leaves the worker has digested (worker writes)
const STOP = 2; // 1 = the worker should exit
const IDLE = 3; // 1 while the worker sleeps: only then does a new leaf need a (costly) wake-up
const MAIN_WAITING = 4; // 1 while the main thread waits for a free slot
const CONTROL_WORDS = 5;

/*
 * The worker lowers its own scheduling priority (nice 10, Linux, per thread): the stream on the
 * main thread is the critical path, and with more runnable threads than vCPUs a hash worker
 * preempting it slows everything down. Where that is not possible it simply runs at normal priority.
 */
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { createHash } = require('crypto');
const { control, lengths, data, digests, slots, leafSize } = workerData;
try {
  const tid = Number(require('fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('os').setPriority(tid, 10);
} catch {}
(function run() {
  let hashed = Atomics.load(control, ${HASHED});
  for (;;) {
    if (Atomics.load(control, ${WRITTEN}) === hashed) {
      Atomics.store(control, ${IDLE}, 1);
      Atomics.wait(control, ${WRITTEN}, hashed);
      Atomics.store(control, ${IDLE}, 0);
    }
    if (Atomics.load(control, ${STOP}) === 1) return;
    const written = Atomics.load(control, ${WRITTEN});
    while (hashed < written) {
      const slot = hashed % slots;
      const start = slot * leafSize;
      const digest = createHash('sha256').update(data.subarray(start, start + lengths[slot])).digest();
      digests.set(digest, slot * ${DIGEST_BYTES});
      hashed++;
      Atomics.store(control, ${HASHED}, hashed);
      if (Atomics.load(control, ${MAIN_WAITING}) === 1) Atomics.notify(control, ${HASHED});
    }
  }
})();
`;

/** One worker and the shared ring it hashes from. */
class LeafWorker {
  public readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  public readonly lengths = new Int32Array(new SharedArrayBuffer(SLOTS_PER_WORKER * 4));
  public readonly data = new Uint8Array(new SharedArrayBuffer(SLOTS_PER_WORKER * TREE_HASH_LEAF_SIZE));
  public readonly digests = new Uint8Array(new SharedArrayBuffer(SLOTS_PER_WORKER * DIGEST_BYTES));
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        control: this.control,
        lengths: this.lengths,
        data: this.data,
        digests: this.digests,
        slots: SLOTS_PER_WORKER,
        leafSize: TREE_HASH_LEAF_SIZE,
      },
    });
    // An idle pool must not keep a process (or a test run) alive; a busy one must, because
    // Atomics.waitAsync alone does not keep Node's event loop running.
    this.worker.unref();
  }

  public hold(busy: boolean): void {
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  public get written(): number {
    return Atomics.load(this.control, WRITTEN);
  }

  public get hashed(): number {
    return Atomics.load(this.control, HASHED);
  }

  /** Resolves once the worker has digested at least `count` leaves in total. */
  public async waitHashed(count: number): Promise<void> {
    Atomics.store(this.control, MAIN_WAITING, 1);
    try {
      for (;;) {
        const hashed = this.hashed;
        if (hashed >= count) return;
        const wait = waitAsync(this.control, HASHED, hashed);
        if (wait.async) await wait.value;
      }
    } finally {
      Atomics.store(this.control, MAIN_WAITING, 0);
    }
  }

  /** Marks the leaf in `slot` (already copied in) ready to hash. */
  public submit(slot: number, length: number): void {
    this.lengths[slot] = length;
    Atomics.add(this.control, WRITTEN, 1);
    // A worker that is busy picks the leaf up by itself; only a sleeping one needs the futex wake.
    if (Atomics.load(this.control, IDLE) === 1) Atomics.notify(this.control, WRITTEN);
  }

  public stop(): Promise<number> {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, WRITTEN, 1);
    Atomics.notify(this.control, WRITTEN);
    return this.worker.terminate();
  }
}

/**
 * A set of leaf-hashing workers used by one stream at a time (a ChunkRetrieval invocation carries
 * one chunk; a second concurrent stream in the same process hashes on its own thread instead).
 */
export class LeafHashPool {
  private readonly workers: LeafWorker[];
  private busy = false;

  constructor(public readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`LeafHashPool size must be a positive integer, got ${size}`);
    this.workers = Array.from({ length: size }, () => new LeafWorker());
  }

  /** A hasher using the pool, or undefined while another stream is using it. */
  public tryAcquire(): PooledTreeHasher | undefined {
    if (this.busy) return undefined;
    this.busy = true;
    this.workers.forEach((w) => w.hold(true));
    return new PooledTreeHasher(this.workers, () => {
      this.workers.forEach((w) => w.hold(false));
      this.busy = false;
    });
  }

  public async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/**
 * Incremental tree hasher whose leaves are digested by the pool's workers. `update` resolves when
 * the bytes are copied into the ring (it waits only when every slot is still being hashed);
 * `digest` waits for the last leaves and releases the pool.
 */
export class PooledTreeHasher implements TreeHasherLike {
  private readonly tree = new LeafDigestTree();
  /** Per worker: sequence number (in that worker's ring) of its first leaf for this stream. */
  private readonly base: number[];
  /** Leaf digests that arrived out of order, waiting for the leaves before them. */
  private readonly pending = new Map<number, Buffer>();
  private leaves = 0; // leaves started (the last one may still be filling)
  private collected = 0; // leaves whose digest is in `tree`
  private leafFill = 0;
  private total = 0;
  private finished = false;

  constructor(private readonly workers: LeafWorker[], private readonly release: () => void) {
    this.base = workers.map((w) => w.written);
  }

  public get bytes(): number {
    return this.total;
  }

  public update(data: Uint8Array): Promise<void> | this {
    if (this.finished) throw new Error('PooledTreeHasher.update called after digest()');
    let offset = 0;
    while (offset < data.length) {
      if (this.leafFill === 0) {
        const ready = this.slotReady(this.leaves);
        if (ready !== undefined) return ready.then(() => this.continueUpdate(data.subarray(offset)));
      }
      const { worker, slot } = this.place(this.leaves);
      const take = Math.min(TREE_HASH_LEAF_SIZE - this.leafFill, data.length - offset);
      worker.data.set(data.subarray(offset, offset + take), slot * TREE_HASH_LEAF_SIZE + this.leafFill);
      this.leafFill += take;
      this.total += take;
      offset += take;
      if (this.leafFill === TREE_HASH_LEAF_SIZE) this.closeLeaf();
    }
    return this;
  }

  private async continueUpdate(rest: Uint8Array): Promise<void> {
    const more = this.update(rest);
    if (more !== this) await more;
  }

  public async digest(): Promise<string> {
    if (this.finished) throw new Error('PooledTreeHasher.digest called twice');
    this.finished = true;
    try {
      if (this.leafFill > 0 || this.leaves === 0) this.closeLeaf();
      for (let leaf = this.collected; leaf < this.leaves; leaf++) await this.collect(leaf);
      return this.tree.digest();
    } finally {
      this.release();
    }
  }

  /** Gives the pool back without a digest (the stream failed). Safe to call more than once. */
  public abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
  }

  private place(leaf: number): { worker: LeafWorker; sequence: number; slot: number } {
    const index = leaf % this.workers.length;
    const sequence = this.base[index] + Math.floor(leaf / this.workers.length);
    return { worker: this.workers[index], sequence, slot: sequence % SLOTS_PER_WORKER };
  }

  /**
   * Undefined when `leaf` may be copied into its slot now; otherwise a promise for when the
   * slot's previous occupant (of this stream or of an abandoned one) has been hashed.
   */
  private slotReady(leaf: number): Promise<void> | undefined {
    const { worker, sequence } = this.place(leaf);
    const needed = sequence - SLOTS_PER_WORKER + 1;
    const earlier = leaf - this.workers.length * SLOTS_PER_WORKER; // same worker, same slot
    const reclaim = (): void => {
      if (earlier >= this.collected && !this.pending.has(earlier)) this.stash(earlier);
    };
    if (worker.hashed >= needed) {
      reclaim();
      return undefined;
    }
    return worker.waitHashed(needed).then(reclaim);
  }

  private closeLeaf(): void {
    const { worker, slot } = this.place(this.leaves);
    worker.submit(slot, this.leafFill);
    this.leaves++;
    this.leafFill = 0;
  }

  /** Copies a finished leaf's digest out of its slot before the slot is reused. */
  private stash(leaf: number): void {
    const { worker, slot } = this.place(leaf);
    this.pending.set(leaf, Buffer.from(worker.digests.subarray(slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES)));
    this.flushPending();
  }

  private async collect(leaf: number): Promise<void> {
    if (leaf < this.collected || this.pending.has(leaf)) return this.flushPending();
    const { worker, sequence } = this.place(leaf);
    await worker.waitHashed(sequence + 1);
    this.stash(leaf);
  }

  private flushPending(): void {
    while (this.pending.has(this.collected)) {
      this.tree.add(this.pending.get(this.collected)!);
      this.pending.delete(this.collected);
      this.collected++;
    }
  }
}

/**
 * How many leaf-hashing workers pay off: one per vCPU beyond the first, at most `max`. In Lambda
 * the vCPU share is memory / 1,769 MB; elsewhere the machine's parallelism.
 */
export function leafHashWorkerCount(env: NodeJS.ProcessEnv = process.env, max = 2): number {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const cpus = Number.isFinite(memory) && memory > 0 ? Math.floor(memory / 1769) : availableParallelism();
  return Math.max(0, Math.min(max, cpus - 1));
}

/** The pool a handler container keeps for its transfers, or undefined when it would not pay off. */
export function createLeafHashPool(env: NodeJS.ProcessEnv = process.env): LeafHashPool | undefined {
  const workers = leafHashWorkerCount(env);
  return workers > 0 ? new LeafHashPool(workers) : undefined;
}
