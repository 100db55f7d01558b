import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/*
 * Saved CloudWatch Logs Insights queries over every handler's log group (internal: the L3 adds
 * them next to its dashboard). The handlers log JSON through Powertools (src/handlers/shared/logger.ts):
 * `level`, `service` (the handler's name, e.g. NotificationsProcessor), `message`, and the keys of
 * what a line is about (`archiveId`, `runId`, `jobId`…) at the top level. The rehearsal checks the
 * captured handler logs against LOG_QUERY_FIELDS (rehearsal/report/handler-logs.ts).
 */

/** Log fields the saved queries filter and group on. */
export const LOG_QUERY_FIELDS = {
  level: 'level',
  service: 'service',
  message: 'message',
  archiveId: 'archiveId',
  runId: 'runId',
  jobId: 'jobId',
} as const;

/** The level value of an error line (Powertools, and the Node.js runtime's JSON log format). */
export const ERROR_LEVEL = 'ERROR';

/** What to replace in the archive-story query before running it. */
export const ARCHIVE_ID_PLACEHOLDER = 'REPLACE-WITH-ARCHIVE-ID';

const F = LOG_QUERY_FIELDS;

/** Errors of every handler, counted per stage (Powertools service; the runtime's own lines by log group). */
export function errorsByStageQuery(): logs.QueryString {
  return new logs.QueryString({
    fields: ['@timestamp', '@log', F.service, F.level, F.message, F.runId, F.archiveId],
    filterStatements: [`${F.level} = "${ERROR_LEVEL}"`],
    statsStatements: [`count(*) as errors, latest(${F.message}) as lastMessage, latest(${F.archiveId}) as lastArchiveId by ${F.service}, @log`],
    sort: 'errors desc',
  });
}

/** Everything every handler logged about one archive, oldest first. */
export function archiveStoryQuery(archiveId: string = ARCHIVE_ID_PLACEHOLDER): logs.QueryString {
  if (!/^[A-Za-z0-9_-]+$/.test(archiveId)) throw new Error(`archiveId must be a Glacier archive id (letters, digits, '-' and '_'), got ${JSON.stringify(archiveId)}`);
  return new logs.QueryString({
    fields: ['@timestamp', F.service, F.level, F.message, F.runId, F.jobId, '@log'],
    filterStatements: [`${F.archiveId} = "${archiveId}"`],
    sort: '@timestamp asc',
    limit: 10000,
  });
}

/**
 * Adds the two saved queries, named `<folder>/Errors by stage` and `<folder>/Archive story`
 * (the console shows `/` as folders), over the log groups of `functions`.
 */
export function addLogQueries(scope: Construct, folder: string, functions: readonly lambda.Function[]): logs.QueryDefinition[] {
  const logGroups = functions.map((f) => f.logGroup);
  return [
    new logs.QueryDefinition(scope, 'ErrorsByStageQuery', { queryDefinitionName: `${folder}/Errors by stage`, queryString: errorsByStageQuery(), logGroups }),
    new logs.QueryDefinition(scope, 'ArchiveStoryQuery', {
      queryDefinitionName: `${folder}/Archive story (replace ${ARCHIVE_ID_PLACEHOLDER})`,
      queryString: archiveStoryQuery(),
      logGroups,
    }),
  ];
}
