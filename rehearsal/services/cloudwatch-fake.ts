import { createServer } from 'http';
import { ApiStats, closeServer, listenLocal, readBody, requestId, RunningService } from './common';

/*
 * CloudWatch PutMetricData over AWS JSON 1.0 (what @aws-sdk/client-cloudwatch speaks), for the
 * CloudWatchDashboardUpdate and DecommissionReport handlers. It records the data points (with their
 * timestamps); rehearsal/dashboard/check.ts evaluates the synthesized dashboard's widgets against them.
 */

export interface MetricDatapoint {
  readonly namespace: string;
  readonly name: string;
  readonly value?: number;
  readonly dimensions: Record<string, string>;
  /** The datum's Timestamp (ms since the epoch), when it had one. */
  readonly timestamp?: number;
}

export interface CloudWatchFake extends RunningService {
  readonly datapoints: MetricDatapoint[];
}

interface PutMetricDataBody {
  Namespace?: string;
  MetricData?: { MetricName?: string; Value?: number; Timestamp?: number | string; Dimensions?: { Name: string; Value: string }[] }[];
}

export async function startCloudWatchFake(options: { stats?: ApiStats } = {}): Promise<CloudWatchFake> {
  const datapoints: MetricDatapoint[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.split('.').pop() ?? '';
      const raw = (await readBody(req)).toString('utf8');
      options.stats?.count('CloudWatch', operation || 'unknown');
      const reply = (status: number, payload: unknown): void => {
        const body = JSON.stringify(payload);
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(body),
          'x-amzn-requestid': requestId(),
        });
        res.end(body);
      };
      if (operation !== 'PutMetricData') {
        reply(400, { __type: 'com.amazonaws.cloudwatch#InvalidAction', message: `the rehearsal CloudWatch fake does not implement ${target}` });
        return;
      }
      const body = (raw ? JSON.parse(raw) : {}) as PutMetricDataBody;
      for (const d of body.MetricData ?? []) {
        datapoints.push({
          namespace: body.Namespace ?? '',
          name: d.MetricName ?? '',
          value: d.Value,
          dimensions: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])),
          // AWS JSON 1.0 sends timestamps as epoch seconds.
          timestamp: typeof d.Timestamp === 'number' ? d.Timestamp * 1000 : d.Timestamp === undefined ? undefined : Date.parse(d.Timestamp),
        });
      }
      reply(200, {});
    })();
  });
  const { endpoint } = await listenLocal(server);
  return { endpoint, datapoints, stop: async () => closeServer(server) };
}
