import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The logging surface the stage modules need. Powertools' `Logger` satisfies it; tests can pass a
 * recorder. Keeping it this small lets record-scoped child loggers flow through plain functions.
 */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** A structured JSON logger for one handler (level from `POWERTOOLS_LOG_LEVEL`, default INFO). */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * A child logger whose every line carries `keys` (archiveId, jobId, runId…). Records of one
 * batch may be processed in parallel, so keys are never appended to the shared parent.
 */
export function withKeys(logger: Logger, keys: Record<string, string | number | undefined>): Logger {
  const persistentKeys: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(keys)) if (value !== undefined) persistentKeys[key] = value;
  return logger.createChild({ persistentKeys }) as Logger;
}
