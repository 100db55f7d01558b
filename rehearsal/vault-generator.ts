/* eslint-disable @stylistic/max-len */
import { createCipheriv, createHash } from 'crypto';
import { Random } from './services/common';
import { ArchiveSource } from './services/glacier-fake';
import { TreeHasher } from '../src/core/tree-hash';

/*
 * A seeded, reproducible vault. Archive bytes are AES-128-CTR keystream keyed by (seed, content
 * index): any byte range can be produced on demand at GB/s, so neither the Glacier fake nor the
 * verifier ever stores an archive.
 */

const MiB = 1024 * 1024;
const PIECE = MiB;
const ZEROS = Buffer.alloc(PIECE + 16);

export type SizeProfile = 'tiny' | 'mixed' | 'large';

export type DescriptionKind =
  | 'fastglacier-v4' | 'fastglacier-v2' | 'fastglacier-v1' | 'cloudberry' | 'mt2' | 'plain' | 'empty'
  | 'hostile-traversal' | 'hostile-windows' | 'hostile-control' | 'hostile-quotes' | 'hostile-slashes' | 'duplicate';

export interface GeneratedArchive extends ArchiveSource {
  readonly index: number;
  /** Archives that share a content index have identical bytes (duplicate uploads). */
  readonly contentIndex: number;
  readonly sha256: string;
  readonly descriptionKind: DescriptionKind;
  /** The path the description encodes, when it encodes one. */
  readonly encodedPath?: string;
}

export interface VaultOptions {
  readonly seed: number | string;
  readonly count: number;
  readonly sizeProfile: SizeProfile;
  /** Chunk size of the pipeline, so edge sizes land on and around chunk boundaries. */
  readonly chunkSize: number;
  /** Random sizes are scaled down so the vault stays under this many bytes. */
  readonly maxTotalBytes?: number;
  /**
   * Added to the archive index in the file names the descriptions encode (`file-<n>`, `passwd-<n>`…),
   * so several vaults transferred by one deployment (one destination prefix, `--vaults`) get
   * distinct keys. Default 0.
   */
  readonly nameOffset?: number;
}

export interface GeneratedVault {
  readonly seed: string;
  readonly archives: GeneratedArchive[];
  readonly totalBytes: number;
}

function contentKey(seed: string, contentIndex: number): Buffer {
  return createHash('sha256').update(`rehearsal-content:${seed}:${contentIndex}`).digest().subarray(0, 16);
}

function counterBlock(block: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8);
  iv.writeUInt32BE(block % 2 ** 32, 12);
  return iv;
}

/** Deterministic bytes [start, endExclusive) of one content stream, in pieces of at most 1 MiB. */
export function* contentPieces(seed: string, contentIndex: number, start: number, endExclusive: number): Generator<Buffer> {
  const key = contentKey(seed, contentIndex);
  for (let at = start; at < endExclusive; at += PIECE) {
    const to = Math.min(at + PIECE, endExclusive);
    const skip = at % 16;
    const cipher = createCipheriv('aes-128-ctr', key, counterBlock(Math.floor(at / 16)));
    yield cipher.update(ZEROS.subarray(0, skip + to - at)).subarray(skip);
  }
}

const WORDS = ['photos', 'Documents', 'backup', 'projects', 'été', '報告書', 'música', 'scans', 'raw', 'final', 'Ünïcödé', 'tax 2019', 'family'];
const EXTENSIONS = ['.jpg', '.pdf', '.tar.gz', '.dng', '.mov', '.txt', '', '.7z'];

function basicIso(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function describe(kind: DescriptionKind, rng: Random, index: number, mtime: number): { description: string; path?: string } {
  const depth = rng.int(1, 4);
  const segments = Array.from({ length: depth }, () => rng.pick(WORDS));
  const path = `${segments.join('/')}/file-${index}${rng.pick(EXTENSIONS)}`;
  const asciiPath = path.normalize('NFKD').replace(/[^\x20-\x7e]/g, '_');
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  switch (kind) {
    case 'fastglacier-v4':
    case 'fastglacier-v2':
      return { description: `<m><v>${kind.endsWith('4') ? 4 : 2}</v><p>${b64(path)}</p><lm>${basicIso(mtime)}</lm></m>`, path };
    case 'fastglacier-v1':
      return { description: `<ArchiveMetadata><Path>${b64(path)}</Path></ArchiveMetadata>`, path };
    case 'cloudberry':
      return { description: JSON.stringify({ Path: `/${asciiPath}`, UTCDateModified: basicIso(mtime) }), path: `/${asciiPath}` };
    case 'mt2':
      return { description: `mt2 ${Buffer.from(JSON.stringify({ filename: path, mtime: basicIso(mtime) }), 'utf8').toString('base64url')}`, path };
    case 'plain':
      return { description: asciiPath, path: asciiPath };
    case 'empty':
      return { description: '' };
    case 'hostile-traversal':
      return rng.chance(0.5)
        ? { description: `../../../../etc/passwd-${index}`, path: `../../../../etc/passwd-${index}` }
        : { description: `mt2 ${Buffer.from(JSON.stringify({ filename: `../../escape-${index}.txt`, mtime: basicIso(mtime) })).toString('base64url')}`, path: `../../escape-${index}.txt` };
    case 'hostile-windows': {
      const win = `C:\\Users\\Bob\\My Documents\\..\\${segments[0]}\\file-${index}.doc`;
      return { description: `<m><v>4</v><p>${b64(win)}</p><lm>${basicIso(mtime)}</lm></m>`, path: win };
    }
    case 'hostile-control': {
      const nasty = `/abs/dir\u0001with\ncontrol\tchars/\u007ffile-${index}\u0000.bin`;
      return { description: `<m><v>4</v><p>${b64(nasty)}</p><lm>${basicIso(mtime)}</lm></m>`, path: nasty };
    }
    case 'hostile-quotes': {
      const quoted = `say "hello", world \\ ${index}, "quoted"`;
      return { description: quoted, path: quoted };
    }
    case 'hostile-slashes': {
      const slashes = `//a///b/./c/../d/file-${index}/`;
      return { description: slashes, path: slashes };
    }
    default:
      return { description: '' };
  }
}

const NORMAL_KINDS: DescriptionKind[] = ['fastglacier-v4', 'fastglacier-v2', 'fastglacier-v1', 'cloudberry', 'mt2', 'plain', 'empty'];
const HOSTILE_KINDS: DescriptionKind[] = ['hostile-traversal', 'hostile-windows', 'hostile-control', 'hostile-quotes', 'hostile-slashes'];

function edgeSizes(profile: SizeProfile, chunk: number): number[] {
  switch (profile) {
    case 'tiny': return [1, 17, MiB - 1, MiB, MiB + 1];
    case 'mixed': return [1, MiB + 1, chunk + 1, 2 * chunk + 12_345, chunk - 1, chunk, MiB];
    case 'large': return [chunk + 1, 3 * chunk - 7, 4 * chunk];
  }
}

function randomSize(profile: SizeProfile, chunk: number, rng: Random): number {
  const odd = rng.int(1, 4095);
  const r = rng.next();
  switch (profile) {
    case 'tiny':
      return r < 0.7 ? rng.int(1, 64 * 1024) : rng.int(64 * 1024, 3 * MiB) + odd;
    case 'mixed':
      if (r < 0.35) return rng.int(1, 64 * 1024);
      if (r < 0.65) return rng.int(64 * 1024, 2 * MiB) + odd;
      if (r < 0.85) return rng.int(2 * MiB, chunk - 4096) + odd;
      return rng.int(chunk, 3 * chunk) + odd;
    case 'large':
      return r < 0.25 ? rng.int(1, 2 * MiB) : rng.int(2 * chunk, 8 * chunk) + odd;
  }
}

export function generateVault(options: VaultOptions): GeneratedVault {
  const seed = String(options.seed);
  const rng = new Random(`vault:${seed}:${options.sizeProfile}`);
  // Small vaults take only the first edge sizes (a third of the archives at most).
  const edges = edgeSizes(options.sizeProfile, options.chunkSize).slice(0, Math.max(1, Math.ceil(options.count / 3)));
  let sizes = Array.from({ length: options.count }, (_, i) => (i < edges.length ? edges[i] : randomSize(options.sizeProfile, options.chunkSize, rng)));
  if (options.maxTotalBytes !== undefined) {
    // Edge sizes stay exact; only the random ones shrink.
    const fixed = sizes.slice(0, edges.length).reduce((a, b) => a + b, 0);
    const random = sizes.slice(edges.length).reduce((a, b) => a + b, 0);
    const room = Math.max(options.maxTotalBytes - fixed, 0);
    if (random > room) {
      const factor = room / random;
      sizes = sizes.map((s, i) => (i < edges.length ? s : Math.max(1, Math.floor(s * factor))));
    }
  }

  const archives: GeneratedArchive[] = [];
  let created = Date.UTC(2013, 2, 20, 17, 3, 43, 221);
  for (let index = 0; index < options.count; index++) {
    created += rng.int(1_000, 40 * 86_400_000);
    const mtime = created - rng.int(0, 3 * 365 * 86_400_000);
    let kind: DescriptionKind = rng.chance(0.2) ? rng.pick(HOSTILE_KINDS) : rng.pick(NORMAL_KINDS);
    let described = describe(kind, rng, index + (options.nameOffset ?? 0), mtime);
    let contentIndex = index;
    let size = sizes[index];
    if (index >= edges.length && rng.chance(0.08)) {
      // The same file uploaded twice: same description, and (usually) the same bytes.
      const twin = archives[rng.int(0, index - 1)];
      kind = 'duplicate';
      described = { description: twin.description, path: twin.encodedPath };
      if (rng.chance(0.7)) {
        contentIndex = twin.contentIndex;
        size = twin.size;
      }
    }
    const treeHasher = new TreeHasher();
    const sha = createHash('sha256');
    for (const piece of contentPieces(seed, contentIndex, 0, size)) {
      treeHasher.update(piece);
      sha.update(piece);
    }
    const id = Buffer.concat([
      createHash('sha512').update(`archive-id:${seed}:${index}`).digest(),
      createHash('sha512').update(`archive-id-2:${seed}:${index}`).digest(),
    ]).toString('base64url').slice(0, 138);
    const ci = contentIndex;
    archives.push({
      index,
      contentIndex: ci,
      archiveId: id,
      size,
      treeHash: treeHasher.digest(),
      sha256: sha.digest('hex'),
      description: described.description,
      descriptionKind: kind,
      encodedPath: described.path,
      creationDate: new Date(created).toISOString(),
      read: (start, endExclusive) => contentPieces(seed, ci, start, Math.min(endExclusive, size)),
    });
  }
  // Glacier lists archives in no particular order: the vault (and its inventory) holds them in
  // index order, but the distinct CreationDates are dealt out shuffled, so sorting the inventory
  // by CreationDate (InitiateRetrieval's request order) really reorders it.
  const dates = archives.map((a) => a.creationDate);
  const shuffle = new Random(`creation-order:${seed}`);
  for (let i = dates.length - 1; i > 0; i--) {
    const j = shuffle.int(0, i);
    [dates[i], dates[j]] = [dates[j], dates[i]];
  }
  const shuffled = archives.map((a, i) => ({ ...a, creationDate: dates[i] }));
  return { seed, archives: shuffled, totalBytes: shuffled.reduce((n, a) => n + a.size, 0) };
}
