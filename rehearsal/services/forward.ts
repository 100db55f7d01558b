import { IncomingHttpHeaders, request } from 'http';
import { readBody } from './common';

/** What an upstream service answered (body buffered: rehearsal objects are a few MiB at most). */
export interface Upstream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Sends a request on to `endpoint` unchanged (method, path, headers, body): the proxies in front
 * of moto count and inject faults, the emulator decides the answer. The SigV4 signature stays
 * valid because the Host header is kept (moto does not check signatures anyway).
 */
export async function forwardRequest(endpoint: string, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Upstream> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { ...headers, 'content-length': String(body.length) },
    }, (res) => {
      readBody(res).then((data) => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: data }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Response headers safe to replay after the body was buffered (length recomputed, no chunking);
 * a HEAD answer keeps the length upstream gave (it describes the object, not the empty body).
 */
export function replayHeaders(headers: IncomingHttpHeaders, bodyLength: number, method = 'GET'): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || ['transfer-encoding', 'content-length', 'connection', 'date', 'server'].includes(k)) continue;
    out[k] = v;
  }
  out['content-length'] = method === 'HEAD' && headers['content-length'] !== undefined ? headers['content-length'] : String(bodyLength);
  return out;
}
