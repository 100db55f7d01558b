import type { Context } from 'aws-lambda';
import {
  DEFAULT_MAX_POLLS,
  DEFAULT_OVERDUE_SECONDS,
  DEFAULT_REPOLL_SECONDS,
  recoverLostNotifications,
  RecoveryConfig,
  RecoveryEvent,
  RecoveryResult,
} from './lost-notification-recovery';
import { Env, RecoveryEnv } from '../../contract/environment';
import { createDocumentClient, createGlacierClient, createSqsClient } from '../shared/clients';
import { numberEnv, requireEnv } from '../shared/env';
import { createLogger } from '../shared/logger';

/*
 * RecoverLostNotifications: first step of every DownloadWindowExtension execution. Asks Glacier
 * (DescribeJob) about the run's archive-retrieval jobs that are overdue for their tier and sends
 * the description of each finished one to the notifications queue, where the NotificationsProcessor
 * handles it like the Glacier notification that never arrived.
 */

const logger = createLogger('RecoverLostNotifications');
const ddb = createDocumentClient();
const sqs = createSqsClient();
const glacier = createGlacierClient();

const overdue = (name: string, fallback: number): number =>
  numberEnv(name, fallback, (v) => v >= 60 && v < 86_400, 'seconds from 60 to 86399');

function config(): RecoveryConfig {
  return {
    overdueSeconds: {
      Expedited: overdue(RecoveryEnv.OVERDUE_SECONDS_EXPEDITED, DEFAULT_OVERDUE_SECONDS.Expedited),
      Standard: overdue(RecoveryEnv.OVERDUE_SECONDS_STANDARD, DEFAULT_OVERDUE_SECONDS.Standard),
      Bulk: overdue(RecoveryEnv.OVERDUE_SECONDS_BULK, DEFAULT_OVERDUE_SECONDS.Bulk),
    },
    repollSeconds: numberEnv(RecoveryEnv.REPOLL_SECONDS, DEFAULT_REPOLL_SECONDS, (v) => v >= 60, 'at least 60 seconds'),
    maxPolls: numberEnv(RecoveryEnv.MAX_POLLS, DEFAULT_MAX_POLLS, (v) => Number.isSafeInteger(v) && v > 0, 'a positive integer'),
  };
}

export async function handler(event: RecoveryEvent, context?: Context): Promise<RecoveryResult> {
  return recoverLostNotifications({
    ddb,
    glacier,
    sqs,
    tableName: requireEnv(Env.TRANSFER_TABLE),
    notificationsQueueUrl: requireEnv(RecoveryEnv.NOTIFICATIONS_QUEUE_URL),
    config: config(),
    log: logger,
    remainingMs: context ? () => context.getRemainingTimeInMillis() : undefined,
  }, event);
}
