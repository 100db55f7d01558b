import { groupVault, sharedKeys, VAULTS_KEY_PREFIX } from '../../rehearsal/concurrent';
import type { Environment } from '../../rehearsal/environment';
import { NAMES } from '../../rehearsal/environment';
import { checkPublishedMetrics } from '../../rehearsal/report';
import type { MetricDatapoint } from '../../rehearsal/services/cloudwatch-fake';
import { generateVault } from '../../rehearsal/vault-generator';

const MiB = 1024 * 1024;
// 100 archives a vault: the hostile descriptions (`say "hello", world \\ <n>, "quoted"`…) then repeat across vaults.
const vaultOptions = { seed: '1', archives: 100, sizeProfile: 'tiny' as const, chunkSize: 8 * MiB, maxTotalBytes: 4 * MiB };

describe('--vaults: vaults of one deployment under one destination prefix', () => {
  test('the same generator without a name offset gives two vaults keys in common (why the offset exists)', () => {
    const plain = [0, 1, 2].map((i) => generateVault({ ...vaultOptions, seed: `1-vault${i + 1}`, count: vaultOptions.archives }));
    expect(sharedKeys(plain, VAULTS_KEY_PREFIX).length).toBeGreaterThan(0);
  });

  test('the group\'s vaults share no key', () => {
    const vaults = [0, 1, 2].map((i) => groupVault(vaultOptions, i));
    expect(sharedKeys(vaults, VAULTS_KEY_PREFIX)).toEqual([]);
    // Distinct archives too: another seed per vault.
    const ids = vaults.flatMap((v) => v.archives.map((a) => a.archiveId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('checkPublishedMetrics: the CloudWatch metrics of one run cover exactly its archives', () => {
  const datapoints: MetricDatapoint[] = [];
  const env = { cloudWatch: { datapoints } } as unknown as Environment;
  const publish = (runId: string, values: Record<string, number>, namespace = NAMES.metricsNamespace): void => {
    for (const [name, value] of Object.entries(values)) datapoints.push({ namespace, name, value, dimensions: { RunId: runId } });
  };
  const rows = [{ status: 'downloaded', size: 10 }, { status: 'downloaded', size: 5 }, { status: 'failed', size: 7 }];
  const exact = {
    TotalCount: 3,
    TotalBytes: 22,
    DownloadedCount: 2,
    DownloadedBytes: 15,
    FailedCount: 1,
    FailedBytes: 7,
    PendingCount: 0,
    PendingBytes: 0,
    RequestedCount: 0,
    RequestedBytes: 0,
    StagedCount: 0,
    StagedBytes: 0,
    SkippedCount: 0,
    SkippedBytes: 0,
  };

  beforeEach(() => {
    datapoints.length = 0;
  });

  test('the last values published for the run equal its archives', () => {
    publish('a', { ...exact, DownloadedCount: 0, DownloadedBytes: 0, PendingCount: 2, PendingBytes: 15 });
    publish('a', exact);
    // Another run of the deployment, and a dimensionless datum, do not count for run a.
    publish('b', { ...exact, TotalCount: 9 });
    datapoints.push({ namespace: NAMES.metricsNamespace, name: 'TotalCount', value: 12, dimensions: {} });
    expect(checkPublishedMetrics(env, NAMES.metricsNamespace, 'a', rows)).toEqual([]);
  });

  test('another run\'s counts under this run\'s RunId, or a stale last value, are problems', () => {
    publish('a', exact);
    publish('a', { TotalCount: 5, DownloadedCount: 4 });
    expect(checkPublishedMetrics(env, NAMES.metricsNamespace, 'a', rows)).toEqual([
      'CloudWatch: last TotalCount (RunId=a) = 5, true 3',
      'CloudWatch: last DownloadedCount (RunId=a) = 4, true 2',
    ]);
  });

  test('nothing published for the run (or only in another namespace) is a problem', () => {
    publish('a', exact, 'Other/Namespace');
    expect(checkPublishedMetrics(env, NAMES.metricsNamespace, 'a', rows)).toEqual([`CloudWatch: no metric published to ${NAMES.metricsNamespace} with RunId=a`]);
  });
});
