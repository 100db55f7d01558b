import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Env, QUOTA_LEDGER_PK } from '../../handlers/shared/schema';
import type { TransferStorage } from '../transfer-storage';

/*
 * The shared retrieval-quota ledger, as the functions that request archives see it (internal).
 */

/** Lets `fn` read and rewrite only the quota ledger item of the metrics table. */
export function grantQuotaLedger(storage: TransferStorage, fn: lambda.IFunction): void {
  fn.addToRolePolicy(new iam.PolicyStatement({
    sid: 'QuotaLedger',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    resources: [storage.metricsTable.tableArn],
    conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [QUOTA_LEDGER_PK] } },
  }));
  storage.encryptionKey?.grantEncryptDecrypt(fn);
}

/** The quota environment of the functions that request archives. */
export function quotaEnvironment(storage: TransferStorage, dailyQuotaBytes: number, requestsPerSecond: number): Record<string, string> {
  return {
    [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
    [Env.METRICS_TABLE]: storage.metricsTable.tableName,
    [Env.DAILY_QUOTA_BYTES]: String(dailyQuotaBytes),
    [Env.INITIATE_REQUESTS_PER_SECOND]: String(requestsPerSecond),
    [Env.MAX_RETRIEVAL_JOBS]: String(storage.maxRetrievalJobsPerArchive),
  };
}
