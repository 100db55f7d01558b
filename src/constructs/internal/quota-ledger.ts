import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Env } from '../../contract/environment';
import { QUOTA_LEDGER_PK, RUN_SPEND_PK_PATTERN } from '../../contract/keys';
import { validateSpendCaps } from '../../core/run-spend';
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
  if (storage.maxRetrievalRequestsPerRun !== undefined || storage.maxRetrievalDollarsPerRun !== undefined) {
    // Each run's spend item, its counters only (dynamodb:Attributes lists them and the key).
    fn.addToRolePolicy(new iam.PolicyStatement({
      sid: 'RunSpend',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [storage.metricsTable.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [RUN_SPEND_PK_PATTERN] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'spentRequests', 'spentMicroUsd', 'updatedAt'] },
      },
    }));
  }
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
    ...spendCapEnvironment(storage),
  };
}

/** The per-run spend caps' environment (none when no cap is set). */
function spendCapEnvironment(storage: TransferStorage): Record<string, string> {
  const caps = validateSpendCaps(storage);
  return {
    ...(caps.maxRequests !== undefined ? { [Env.MAX_RUN_REQUESTS]: String(caps.maxRequests) } : {}),
    ...(caps.maxMicroUsd !== undefined ? { [Env.MAX_RUN_MICRO_USD]: String(caps.maxMicroUsd) } : {}),
  };
}
