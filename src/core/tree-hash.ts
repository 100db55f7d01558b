import { createHash, Hash } from 'crypto';
import { Transform, TransformCallback } from 'stream';

/** Glacier hashes data in 1 MiB leaves. */
export const TREE_HASH_LEAF_SIZE = 1024 * 1024;

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/**
 * Glacier's tree over 1 MiB leaf digests, fed leaf by leaf in order.
 *
 * Finished subtrees are kept as one digest per tree level (a binary counter), so memory is
 * 32 bytes × log2(leaves), whatever the input size.
 */
export class LeafDigestTree {
  /** Roots of complete subtrees, largest first; `roots[i]` covers `2^heights[i]` leaves. */
  private readonly roots: Buffer[] = [];
  private readonly heights: number[] = [];
  private finished = false;

  /** Adds the SHA-256 digest of the next leaf. */
  public add(leafDigest: Buffer): void {
    if (this.finished) throw new Error('LeafDigestTree.add called after digest()');
    if (leafDigest.length !== 32) throw new Error(`a leaf digest is 32 bytes, got ${leafDigest.length}`);
    let node = leafDigest;
    let height = 0;
    while (this.heights.length > 0 && this.heights[this.heights.length - 1] === height) {
      node = sha256(this.roots.pop()!, node);
      this.heights.pop();
      height++;
    }
    this.roots.push(node);
    this.heights.push(height);
  }

  /** Lowercase hex root of the leaves added so far (at least one). */
  public digest(): string {
    if (this.finished) throw new Error('LeafDigestTree.digest called twice');
    if (this.roots.length === 0) throw new Error('LeafDigestTree.digest needs at least one leaf');
    this.finished = true;
    // The remaining roots are perfect subtrees of decreasing size; folding them from the right
    // is exactly Glacier's "pair left to right, promote the odd one out" at every level.
    let acc = this.roots[this.roots.length - 1];
    for (let i = this.roots.length - 2; i >= 0; i--) acc = sha256(this.roots[i], acc);
    return acc.toString('hex');
  }
}

/**
 * What TreeHashStream needs from a hasher. `update` may return a promise (a hasher working
 * elsewhere, e.g. on worker threads, that needs the stream to wait); the stream then waits.
 */
export interface TreeHasherLike {
  /** Bytes hashed so far. */
  readonly bytes: number;
  /** Hashes `data`; a returned promise means "wait for it before the next update". */
  update(data: Uint8Array): Promise<void> | this;
  digest(): string | Promise<string>;
  /** Called when the stream fails before `digest`, so the hasher can release what it holds. */
  abandon?(): void;
}

/**
 * Incremental Glacier SHA-256 tree hash.
 *
 * Bytes may arrive in pieces of any size and alignment. Nothing is buffered: the current leaf is
 * fed straight into a running SHA-256 and closed leaves go into a LeafDigestTree.
 */
export class TreeHasher implements TreeHasherLike {
  private readonly tree = new LeafDigestTree();
  private leaf: Hash = createHash('sha256');
  private leafBytes = 0;
  private leaves = 0;
  private total = 0;
  private finished = false;

  /** Bytes hashed so far. */
  public get bytes(): number {
    return this.total;
  }

  public update(data: Uint8Array): this {
    if (this.finished) throw new Error('TreeHasher.update called after digest()');
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(TREE_HASH_LEAF_SIZE - this.leafBytes, data.length - offset);
      this.leaf.update(take === data.length && offset === 0 ? data : data.subarray(offset, offset + take));
      this.leafBytes += take;
      offset += take;
      if (this.leafBytes === TREE_HASH_LEAF_SIZE) this.closeLeaf();
    }
    this.total += data.length;
    return this;
  }

  /** Lowercase hex tree hash of everything fed so far. An empty input hashes to SHA-256(""). */
  public digest(): string {
    if (this.finished) throw new Error('TreeHasher.digest called twice');
    this.finished = true;
    if (this.leafBytes > 0 || this.leaves === 0) this.closeLeaf();
    return this.tree.digest();
  }

  private closeLeaf(): void {
    this.tree.add(this.leaf.digest());
    this.leaves++;
    this.leaf = createHash('sha256');
    this.leafBytes = 0;
  }
}

/** Tree hash of a whole buffer. */
export function treeHashOf(data: Uint8Array): string {
  return new TreeHasher().update(data).digest();
}

function assertHex(hash: string, what: string): void {
  if (!/^[0-9a-f]{64}$/i.test(hash)) {
    throw new Error(`${what} must be a 64-character hex SHA-256 tree hash, got ${JSON.stringify(hash)}`);
  }
}

/**
 * Tree hash of an archive from the tree hashes of its consecutive chunks.
 *
 * Valid when every chunk but the last is the same power-of-two number of MiB (each chunk is then
 * a node of the archive's tree), which is what `planChunks` produces.
 */
export function combineTreeHashes(hashes: readonly string[]): string {
  if (hashes.length === 0) throw new Error('combineTreeHashes needs at least one chunk tree hash');
  let level: Buffer[] = hashes.map((h, i) => {
    assertHex(h, `chunk tree hash #${i + 1}`);
    return Buffer.from(h, 'hex');
  });
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(sha256(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0].toString('hex');
}

/** Raised when streamed bytes do not match what Glacier said they are. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

export interface TreeHashStreamOptions {
  /** Exact number of bytes the stream must carry; a short or long read fails the stream. */
  readonly expectedBytes?: number;
  /** Tree hash the bytes must have; a mismatch fails the stream before it ends. */
  readonly expectedTreeHash?: string;
  /** The hasher to use (default: a TreeHasher on this thread). */
  readonly hasher?: TreeHasherLike;
}

/**
 * A pass-through stream that tree-hashes what flows through it.
 *
 * When an expected size or hash is given, a mismatch destroys the stream with an
 * `IntegrityError` at the end of the input, BEFORE the final bytes are released downstream, so
 * a consumer (e.g. an S3 UploadPart) never sees a complete body for corrupted data.
 */
export class TreeHashStream extends Transform {
  private readonly hasher: TreeHasherLike;
  private held: Buffer | undefined;
  private result: string | undefined;

  constructor(private readonly options: TreeHashStreamOptions = {}) {
    super();
    if (options.expectedTreeHash !== undefined) assertHex(options.expectedTreeHash, 'expected tree hash');
    this.hasher = options.hasher ?? new TreeHasher();
  }

  /** The tree hash, available once the stream has finished. */
  public get treeHash(): string {
    if (this.result === undefined) throw new Error('tree hash is not available before the stream ends');
    return this.result;
  }

  public get bytes(): number {
    return this.hasher.bytes;
  }

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const expected = this.options.expectedBytes;
    if (expected !== undefined && this.hasher.bytes + chunk.length > expected) {
      callback(new IntegrityError(`stream carried more than the expected ${expected} bytes`));
      return;
    }
    const hashed = this.hasher.update(chunk);
    // Hold back the latest piece so a failed check at the end can still withhold the tail.
    if (this.held) this.push(this.held);
    this.held = chunk;
    if (hashed === this.hasher) callback();
    else (hashed as Promise<void>).then(() => callback(), callback);
  }

  _flush(callback: TransformCallback): void {
    const { expectedBytes } = this.options;
    if (expectedBytes !== undefined && this.hasher.bytes !== expectedBytes) {
      callback(new IntegrityError(`short read: got ${this.hasher.bytes} of ${expectedBytes} expected bytes`));
      return;
    }
    Promise.resolve(this.hasher.digest()).then((digest) => this.finish(digest, callback), callback);
  }

  _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.result === undefined) this.hasher.abandon?.();
    callback(error);
  }

  private finish(digest: string, callback: TransformCallback): void {
    this.result = digest;
    const expectedTreeHash = this.options.expectedTreeHash?.toLowerCase();
    if (expectedTreeHash !== undefined && digest !== expectedTreeHash) {
      callback(new IntegrityError(`tree hash mismatch: computed ${digest}, expected ${expectedTreeHash}`));
      return;
    }
    if (this.held) this.push(this.held);
    this.held = undefined;
    callback();
  }
}
