import { Env } from '../../../src/contract/environment';
import { DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE } from '../../../src/core/archive-lifecycle';
import { maxRetrievalJobsFromEnv } from '../../../src/handlers/shared/archive-transition';

afterEach(() => {
  delete process.env[Env.MAX_RETRIEVAL_JOBS];
});

describe('maxRetrievalJobsFromEnv', () => {
  test.each([undefined, ''])('is the default when the variable is %j', (value) => {
    if (value !== undefined) process.env[Env.MAX_RETRIEVAL_JOBS] = value;
    expect(maxRetrievalJobsFromEnv()).toBe(DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE);
  });

  test('reads the configured bound', () => {
    process.env[Env.MAX_RETRIEVAL_JOBS] = '7';
    expect(maxRetrievalJobsFromEnv()).toBe(7);
  });

  test.each(['0', '101', '2.5'])('refuses %j, naming the variable and the accepted values', (value) => {
    process.env[Env.MAX_RETRIEVAL_JOBS] = value;
    expect(() => maxRetrievalJobsFromEnv())
      .toThrow(`environment variable ${Env.MAX_RETRIEVAL_JOBS} must be a whole number from 1 to 100, got ${value}`);
  });

  test('refuses a value that is not a number through the one env reader', () => {
    process.env[Env.MAX_RETRIEVAL_JOBS] = 'three';
    expect(() => maxRetrievalJobsFromEnv()).toThrow(`environment variable ${Env.MAX_RETRIEVAL_JOBS} must be a number, got "three"`);
  });
});
