/**
 * HTTP fake of the Step Functions API (AWS JSON 1.0 protocol) in front of an {@link SfnRuntime}.
 *
 * Handlers keep creating `new SFNClient({})` from @aws-sdk/client-sfn unchanged: the harness sets
 * `AWS_ENDPOINT_URL_SFN` (or passes `endpoint`) to the URL returned here, and the real client's
 * serializers, error parsing and retries run. Routed by `X-Amz-Target: AWSStepFunctions.<Operation>`:
 * SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, StartExecution, DescribeExecution, StopExecution.
 * Errors come back as `{"__type": "com.amazonaws.swf.service.v2.model#<Code>", "message": ...}` with
 * HTTP 400 (what the SDK turns into e.g. `TaskDoesNotExist`).
 */
import { createServer } from 'http';
import type { SfnRuntime } from './runner';
import { closeServer, listenLocal, readBody, requestId, RunningService } from '../services/common';

export interface SfnApiCall {
  readonly operation: string;
  readonly body: unknown;
  readonly errorCode?: string;
}

export interface SfnApi extends RunningService {
  /** Every request served, in order (for assertions). */
  readonly calls: SfnApiCall[];
}

/** `runtime` may be any object with the runtime's `api` (e.g. one that forwards to the current runtime). */
export async function startSfnApi(runtime: Pick<SfnRuntime, 'api'>): Promise<SfnApi> {
  const calls: SfnApiCall[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const reply = (status: number, payload: unknown): void => {
        const body = JSON.stringify(payload);
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(body),
          'x-amzn-requestid': requestId(),
        });
        res.end(body);
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
      let body: any = {};
      try {
        const raw = (await readBody(req)).toString('utf8');
        body = raw ? JSON.parse(raw) : {};
      } catch {
        calls.push({ operation, body: undefined, errorCode: 'SerializationException' });
        reply(400, { __type: 'com.amazon.coral.service#SerializationException', message: 'invalid JSON' });
        return;
      }
      if (req.method !== 'POST' || !operation) {
        calls.push({ operation: target, body, errorCode: 'UnknownOperationException' });
        reply(400, { __type: 'com.amazon.coral.service#UnknownOperationException', message: `unknown target '${target}'` });
        return;
      }
      try {
        const out = await runtime.api(operation, body);
        calls.push({ operation, body });
        reply(200, out);
      } catch (e) {
        const code = (e as Error).name || 'InternalFailure';
        calls.push({ operation, body, errorCode: code });
        reply(code === 'InternalFailure' ? 500 : 400, { __type: `com.amazonaws.swf.service.v2.model#${code}`, message: (e as Error).message });
      }
    })();
  });
  const { endpoint } = await listenLocal(server);
  return {
    endpoint,
    calls,
    stop: () => closeServer(server),
  };
}
