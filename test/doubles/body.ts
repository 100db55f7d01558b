/* Request and response bodies as the SDK carries them. */
import { Readable } from 'stream';

/** Reads a request body (string, bytes or stream) to the end, as an HTTP client sends it. */
export async function drain(body: unknown): Promise<Buffer> {
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const piece of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
}

/** A response body: a stream of `pieceSize` pieces with the SDK's transformToString. */
export function sdkBody(data: Buffer, pieceSize = 64 * 1024): Readable & { transformToString: (enc?: string) => Promise<string> } {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceSize) pieces.push(data.subarray(i, i + pieceSize));
  const stream = Readable.from(pieces) as Readable & { transformToString: (enc?: string) => Promise<string> };
  stream.transformToString = async (enc = 'utf-8') => (await drain(stream)).toString(enc as BufferEncoding);
  return stream;
}

/** `[start, end]` (inclusive) of an HTTP Range header over `size` bytes; undefined without one. */
export function rangeOf(header: string | undefined, size: number): [number, number] | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header);
  if (!m) throw new Error(`bad range ${header}`);
  return [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
}
