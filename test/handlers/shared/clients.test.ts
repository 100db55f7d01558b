import { readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import {
  createCloudWatchClient,
  createDocumentClient,
  createEventBridgeClient,
  createGlacierClient,
  createS3Client,
  createSfnClient,
  createSqsClient,
  RETRY_POLICIES,
  Service,
} from '../../../src/handlers/shared/clients';

/** What the SDK resolved from the factory's options: the strategy it will retry calls with. */
type RetryConfig = { readonly config: { maxAttempts: () => Promise<number>; retryStrategy: () => Promise<object> } };

const FACTORIES: Record<Service, () => RetryConfig> = {
  s3: createS3Client,
  glacier: createGlacierClient,
  sqs: createSqsClient,
  dynamodb: createDocumentClient,
  sfn: createSfnClient,
  eventbridge: createEventBridgeClient,
  cloudwatch: createCloudWatchClient,
};

describe('client factory', () => {
  test.each(Object.keys(FACTORIES) as Service[])('a %s client retries with its service policy', async (service) => {
    const client = FACTORIES[service]();
    await expect(client.config.maxAttempts()).resolves.toBe(RETRY_POLICIES[service].maxAttempts);
    expect(((await client.config.retryStrategy()) as { mode?: string }).mode).toBe(RETRY_POLICIES[service].retryMode);
  });

  test('Glacier clients also slow their request rate after throttling; every service retries 8 times by default', () => {
    expect(RETRY_POLICIES.glacier.retryMode).toBe('adaptive');
    expect(new Set(Object.values(RETRY_POLICIES).map((p) => p.maxAttempts))).toEqual(new Set([8]));
  });

  test('no handler builds an SDK client except through src/handlers/shared/clients.ts', () => {
    const handlers = join(__dirname, '..', '..', '..', 'src', 'handlers');
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const offenders = files(handlers)
      .filter((file) => !file.endsWith(join('shared', 'clients.ts')))
      .filter((file) => /new\s+\w+Client\s*\(/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(handlers, file));
    expect(offenders).toEqual([]);
  });
});
