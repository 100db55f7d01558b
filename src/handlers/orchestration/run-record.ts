import { GetBucketLocationCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkNamingOverrideSource, NamingOverrideError, stageNamingOverride } from './naming-override';
import { activeVaultPk, completionWaitPk, originalInventoryKey, RUN_SK, runIdProblem, runPk, stagedNamingOverrideKey } from '../../contract/keys';
import { resolveStorageClass, resolveTier } from '../../contract/storage-classes';
import { errorName, isConditionalCheckFailed } from '../shared/aws-errors';
import type { Log } from '../shared/logger';
import { executionKeyName, RunRecord, RunState, StopMode } from '../shared/schema';

/*
 * The run record and the one-active-run-per-vault lock. The orchestrator calls this module at its
 * start (`start`), when a stage ends early (`get`: was a stop requested?) and at the very end
 * (`finish`).
 */

export interface RunRecordDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly transferTable: string;
  readonly asyncFacilitatorTable: string;
  readonly destinationBucket: string;
  readonly destinationBucketOwner: string;
  readonly destinationPrefix: string;
  readonly region: string;
  readonly initiateStateMachineArn: string;
  readonly defaultStorageClass: string;
  readonly defaultTier: string;
  /** Tiers a run may use (the deployment's spend bound). @default [defaultTier] */
  readonly allowedTiers?: readonly string[];
  readonly dailyQuotaBytes: number;
  /** Inventory bucket: where a naming override is staged for the inventory stage. */
  readonly inventoryBucket?: string;
  /** Injectable for tests: downloads a naming override given as an https:// URL. */
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  readonly random?: () => string;
  readonly log: Log;
}

/** Input of the orchestrator (what the Launch/Resume runbooks start it with). */
export interface RunRequest {
  readonly runId: string;
  readonly mode: 'LAUNCH' | 'RESUME';
  /** Required for LAUNCH; ignored (taken from the run record) for RESUME. */
  readonly vaultName?: string;
  readonly providedInventory?: string;
  readonly storageClass?: string;
  readonly tier?: string;
  readonly namingOverride?: string;
  readonly description?: string;
  readonly acknowledgeCrossRegion?: string;
  /** RESUME only: YES puts the run's FAILED archives back to pending (the Resume runbook's `RetryFailed`); absent or '': NO. */
  readonly retryFailed?: string;
}

export interface StartRunEvent {
  readonly action: 'start';
  /** The orchestrator's execution input. */
  readonly request: RunRequest;
  /** `$$.Execution.Id` of the orchestrator. */
  readonly executionArn: string;
}

/** What the orchestrator keeps under `$.run` and hands to the stages. */
export interface RunContext {
  readonly runId: string;
  readonly vaultName: string;
  readonly mode: 'LAUNCH' | 'RESUME';
  readonly providedInventory: 'YES' | 'NO';
  readonly storageClass: string;
  readonly tier: string;
  readonly namingOverride: string;
  readonly description: string;
  /** YES: the status cleanup retries the run's FAILED archives (always NO for a Launch). */
  readonly retryFailed: 'YES' | 'NO';
  readonly destinationBucket: string;
  readonly destinationPrefix: string;
  readonly initiateExecutionName: string;
  readonly startedAt: string;
  /**
   * Execution input of InventoryRetrieval: `providedInventoryKey` (= originalInventoryKey(runId))
   * is present only with a provided inventory, as its ASL branches on presence; `namingOverrideKey`
   * is the staged override the run record names ('' for none).
   */
  readonly inventoryInput: Record<string, string>;
}

/** A precondition of the run does not hold; the orchestrator fails without cleanup. */
export class RunRejectedError extends Error {
  constructor(public readonly name: string, message: string) {
    super(message);
  }
}

const reject = (code: string, message: string) => new RunRejectedError(code, message);

/** S3's GetBucketLocation answer as a region name. */
export function bucketRegion(locationConstraint: string | undefined): string {
  if (!locationConstraint) return 'us-east-1';
  if (locationConstraint === 'EU') return 'eu-west-1';
  return locationConstraint;
}

async function isRunning(deps: RunRecordDeps, executionArn: string | undefined, self: string): Promise<boolean> {
  if (!executionArn || executionArn === self) return false;
  try {
    const out = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return out.status === 'RUNNING';
  } catch (err) {
    if (errorName(err) === 'ExecutionDoesNotExist') return false;
    throw err;
  }
}

export async function getRun(deps: Pick<RunRecordDeps, 'ddb' | 'transferTable'>, runId: string): Promise<RunRecord | undefined> {
  const out = await deps.ddb.send(new GetCommand({ TableName: deps.transferTable, Key: { pk: runPk(runId), sk: RUN_SK }, ConsistentRead: true }));
  return out.Item as RunRecord | undefined;
}

/** Takes the vault lock for `runId`, replacing a lock whose execution no longer runs. */
async function lockVault(deps: RunRecordDeps, vaultName: string, runId: string, executionArn: string): Promise<void> {
  const pk = activeVaultPk(vaultName);
  const item = { pk, sk: RUN_SK, vaultName, runId, executionArn, lockedAt: (deps.now?.() ?? new Date()).toISOString() };
  try {
    await deps.ddb.send(new PutCommand({
      TableName: deps.transferTable,
      Item: item,
      ConditionExpression: 'attribute_not_exists(pk) OR runId = :runId',
      ExpressionAttributeValues: { ':runId': runId },
    }));
    return;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
  const current = (await deps.ddb.send(new GetCommand({ TableName: deps.transferTable, Key: { pk, sk: RUN_SK }, ConsistentRead: true }))).Item;
  if (current && await isRunning(deps, current.executionArn, executionArn)) {
    throw reject('VaultBusy', `vault ${vaultName} already has an active run (${current.runId}, ${current.executionArn}); stop it first`);
  }
  try {
    await deps.ddb.send(new PutCommand({
      TableName: deps.transferTable,
      Item: item,
      ConditionExpression: 'attribute_not_exists(pk) OR executionArn = :stale',
      ExpressionAttributeValues: { ':stale': current?.executionArn ?? '' },
    }));
    deps.log.warn('replaced a stale vault lock', { vaultName, staleRunId: current?.runId, staleExecutionArn: current?.executionArn });
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw reject('VaultBusy', `vault ${vaultName} was locked by another run at the same time`);
    throw err;
  }
}

async function releaseVault(deps: RunRecordDeps, vaultName: string, runId: string): Promise<void> {
  try {
    await deps.ddb.send(new DeleteCommand({
      TableName: deps.transferTable,
      Key: { pk: activeVaultPk(vaultName), sk: RUN_SK },
      ConditionExpression: 'runId = :runId',
      ExpressionAttributeValues: { ':runId': runId },
    }));
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
}

function initiateExecution(deps: RunRecordDeps, runId: string): { name: string; arn: string } {
  const suffix = deps.random?.() ?? Math.random().toString(36).slice(2, 10);
  const name = `${runId.slice(0, 56)}-${suffix}-initiate`.slice(0, 80);
  return { name, arn: `${deps.initiateStateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` };
}

/**
 * `start`: checks everything (request, destination bucket, run id, vault lock), records the run and
 * only then stages a naming override, under a key that belongs to this execution. A rejected
 * request writes nothing; an override that cannot be staged puts the run record and the vault
 * lock back as they were.
 */
export async function startRun(deps: RunRecordDeps, start: StartRunEvent): Promise<RunContext> {
  const { executionArn } = start;
  const event: RunRequest = start.request ?? ({} as RunRequest);
  const { runId, mode } = event;
  const badRunId = runIdProblem(runId);
  if (badRunId) throw reject('InvalidRunId', badRunId);
  if (mode !== 'LAUNCH' && mode !== 'RESUME') throw reject('InvalidInput', `mode must be LAUNCH or RESUME, got ${JSON.stringify(mode)}`);
  const providedInventoryInput = event.providedInventory ?? '';
  if (!['', 'YES', 'NO'].includes(providedInventoryInput)) throw reject('InvalidInput', 'providedInventory must be YES or NO');
  const retryFailedInput = event.retryFailed ?? '';
  if (!['', 'YES', 'NO'].includes(retryFailedInput)) throw reject('InvalidInput', `retryFailed must be YES or NO, got ${JSON.stringify(retryFailedInput)}`);
  const retryFailed = mode === 'RESUME' && retryFailedInput === 'YES' ? 'YES' : 'NO';
  let storageClass: string | undefined;
  let tier: string | undefined;
  try {
    storageClass = resolveStorageClass(event.storageClass);
    tier = resolveTier(event.tier);
  } catch (err) {
    throw reject('InvalidInput', (err as Error).message);
  }
  const namingOverride = event.namingOverride ?? '';
  if (namingOverride !== '') {
    if (!deps.inventoryBucket) throw new Error('RunRecord needs the inventory bucket to stage a naming override');
    try {
      checkNamingOverrideSource(namingOverride, deps.inventoryBucket);
    } catch (err) {
      if (err instanceof NamingOverrideError) throw reject('InvalidNamingOverride', err.message);
      throw err;
    }
  }
  const acknowledged = event.acknowledgeCrossRegion === 'YES';
  const vaultName = event.vaultName ?? '';
  if (mode === 'LAUNCH' && !/^[A-Za-z0-9_.-]{1,255}$/.test(vaultName)) throw reject('InvalidInput', `invalid vault name ${JSON.stringify(vaultName)}`);
  const allowedTiers = deps.allowedTiers ?? [deps.defaultTier];
  const tierNotAllowed = (t: string) => reject('TierNotAllowed', `retrieval tier ${t} is not allowed by this deployment (allowed: ${allowedTiers.join(', ')})`);
  if (tier !== undefined && !allowedTiers.includes(tier)) throw tierNotAllowed(tier);

  // The destination bucket must belong to this account and, unless acknowledged, this region.
  let location: string | undefined;
  try {
    const command = new GetBucketLocationCommand({ Bucket: deps.destinationBucket, ExpectedBucketOwner: deps.destinationBucketOwner });
    location = (await deps.s3.send(command)).LocationConstraint;
  } catch (err) {
    throw reject('DestinationBucketUnavailable', `destination bucket ${deps.destinationBucket} is not reachable or not owned by ${deps.destinationBucketOwner}: ${errorName(err)}`);
  }
  const region = bucketRegion(location);
  if (region !== deps.region && !acknowledged) {
    throw reject('CrossRegionNotAcknowledged', `destination bucket is in ${region}, the transfer runs in ${deps.region}; acknowledge the cross-region transfer cost to continue`);
  }

  const now = (deps.now?.() ?? new Date()).toISOString();
  const existing = await getRun(deps, runId);
  const initiate = initiateExecution(deps, runId);
  let record: RunRecord;
  if (mode === 'LAUNCH') {
    if (existing) throw reject('RunAlreadyExists', `run ${runId} already exists (${existing.state}); use the Resume runbook`);
    await lockVault(deps, vaultName, runId, executionArn);
    record = {
      pk: runPk(runId),
      sk: RUN_SK,
      runId,
      vaultName,
      destinationBucket: deps.destinationBucket,
      destinationPrefix: deps.destinationPrefix,
      storageClass: storageClass ?? deps.defaultStorageClass,
      tier: tier ?? deps.defaultTier,
      dailyQuotaBytes: deps.dailyQuotaBytes,
      providedInventory: providedInventoryInput === 'YES' ? 'YES' : 'NO',
      namingOverride: '',
      namingOverrideKey: '',
      description: event.description ?? '',
      crossRegionAcknowledged: acknowledged,
      startedBy: 'LAUNCH',
      state: RunState.ACTIVE,
      executionArn,
      initiateExecutionArn: initiate.arn,
      initiateExecutionName: initiate.name,
      startedAt: now,
      firstStartedAt: now,
      executions: 1,
    };
    try {
      await deps.ddb.send(new PutCommand({ TableName: deps.transferTable, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (err) {
      await releaseVault(deps, vaultName, runId);
      if (isConditionalCheckFailed(err)) throw reject('RunAlreadyExists', `run ${runId} was created concurrently`);
      throw err;
    }
  } else {
    if (!existing) throw reject('RunNotFound', `run ${runId} does not exist; use the Launch runbook`);
    // A kept tier must still be allowed (the deployment may have narrowed the list since).
    if (tier === undefined && !allowedTiers.includes(existing.tier)) throw tierNotAllowed(existing.tier);
    if (existing.state === RunState.ACTIVE && await isRunning(deps, existing.executionArn, executionArn)) {
      throw reject('RunStillActive', `run ${runId} is still active (${existing.executionArn}); stop it before resuming`);
    }
    await lockVault(deps, existing.vaultName, runId, executionArn);
    const updated: RunRecord = {
      ...existing,
      storageClass: storageClass ?? existing.storageClass,
      tier: tier ?? existing.tier,
      providedInventory: providedInventoryInput === '' ? existing.providedInventory : (providedInventoryInput as 'YES' | 'NO'),
      description: event.description || existing.description,
      crossRegionAcknowledged: acknowledged || existing.crossRegionAcknowledged,
      dailyQuotaBytes: deps.dailyQuotaBytes,
      startedBy: 'RESUME',
      state: RunState.ACTIVE,
      executionArn,
      initiateExecutionArn: initiate.arn,
      initiateExecutionName: initiate.name,
      startedAt: now,
      executions: (existing.executions ?? 1) + 1,
    };
    const { stopRequested: _s, stopRequestedAt: _t, endedAt: _e, error: _x, ...fresh } = updated;
    try {
      await deps.ddb.send(new PutCommand({
        TableName: deps.transferTable,
        Item: fresh,
        ConditionExpression: 'executionArn = :previous',
        ExpressionAttributeValues: { ':previous': existing.executionArn },
      }));
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw reject('RunStillActive', `run ${runId} was resumed concurrently`);
      throw err;
    }
    record = fresh as RunRecord;
  }

  if (namingOverride !== '') {
    record = await stageOverrideForExecution(deps, record, namingOverride, existing);
  }
  return context(record, retryFailed);
}

/**
 * Stages the naming override of this execution under its own key and names it on the run record.
 * On failure the record goes back to what it was before this execution (deleted for a Launch) and
 * the vault lock is released, so a refused override leaves the run as the request found it.
 */
async function stageOverrideForExecution(
  deps: RunRecordDeps, record: RunRecord, source: string, previous: RunRecord | undefined,
): Promise<RunRecord> {
  const key = stagedNamingOverrideKey(record.runId, executionKeyName(record.executionArn));
  const mine = { ':me': record.executionArn };
  try {
    const bytes = await stageNamingOverride({ s3: deps.s3, inventoryBucket: deps.inventoryBucket!, fetch: deps.fetch }, key, source);
    deps.log.info('naming override staged for the inventory stage', { runId: record.runId, key, bytes });
  } catch (err) {
    if (previous) {
      const restore = { TableName: deps.transferTable, Item: previous, ConditionExpression: 'executionArn = :me', ExpressionAttributeValues: mine };
      await deps.ddb.send(new PutCommand(restore))
        .catch((e) => deps.log.error('could not restore the run record after a refused naming override', { runId: record.runId, error: errorName(e) }));
    } else {
      const runKey = { pk: record.pk, sk: RUN_SK };
      await deps.ddb.send(new DeleteCommand({ TableName: deps.transferTable, Key: runKey, ConditionExpression: 'executionArn = :me', ExpressionAttributeValues: mine }))
        .catch((e) => deps.log.error('could not remove the run record after a refused naming override', { runId: record.runId, error: errorName(e) }));
    }
    await releaseVault(deps, record.vaultName, record.runId);
    if (err instanceof NamingOverrideError) throw reject('InvalidNamingOverride', err.message);
    throw err;
  }
  await deps.ddb.send(new UpdateCommand({
    TableName: deps.transferTable,
    Key: { pk: record.pk, sk: RUN_SK },
    UpdateExpression: 'SET namingOverride = :source, namingOverrideKey = :key',
    ConditionExpression: 'executionArn = :me',
    ExpressionAttributeValues: { ':source': source, ':key': key, ...mine },
  }));
  return { ...record, namingOverride: source, namingOverrideKey: key };
}

function context(r: RunRecord, retryFailed: 'YES' | 'NO'): RunContext {
  return {
    runId: r.runId,
    vaultName: r.vaultName,
    mode: r.startedBy,
    providedInventory: r.providedInventory,
    storageClass: r.storageClass,
    tier: r.tier,
    namingOverride: r.namingOverride,
    description: r.description,
    retryFailed,
    destinationBucket: r.destinationBucket,
    destinationPrefix: r.destinationPrefix,
    initiateExecutionName: r.initiateExecutionName,
    startedAt: r.startedAt,
    inventoryInput: {
      runId: r.runId,
      vaultName: r.vaultName,
      storageClass: r.storageClass,
      tier: r.tier,
      mode: r.startedBy,
      providedInventory: r.providedInventory,
      ...(r.providedInventory === 'YES' ? { providedInventoryKey: originalInventoryKey(r.runId) } : {}),
      namingOverrideKey: r.namingOverrideKey ?? '',
      destinationPrefix: r.destinationPrefix,
    },
  };
}

/** `get`: the stop request of the run, `NONE` when there is none (Choice states need a value). */
export async function runStatus(deps: RunRecordDeps, runId: string): Promise<{ state: string; stopRequested: StopMode | 'NONE' }> {
  const record = await getRun(deps, runId);
  return { state: record?.state ?? 'MISSING', stopRequested: record?.stopRequested ?? 'NONE' };
}

export interface FinishRunEvent {
  readonly action: 'finish';
  readonly runId: string;
  readonly executionArn: string;
  /** Completion outcome (`COMPLETE` or `STOPPED`), absent when a stage failed. */
  readonly outcome?: string;
  /** `{ Error, Cause }` of the failed stage. */
  readonly error?: { Error?: string; Cause?: string };
  readonly reportPrefix?: string;
}

export interface FinishedRun {
  readonly runId: string;
  readonly vaultName: string;
  readonly state: RunState;
  readonly detailType: string;
  readonly error: string;
  readonly reportPrefix: string;
  /** False when a newer execution owns the run (this one only cleaned up). */
  readonly owner: boolean;
}

/** `finish`: final state, end time and report location; releases the vault lock and the completion wait. */
export async function finishRun(deps: RunRecordDeps, event: FinishRunEvent): Promise<FinishedRun> {
  const record = await getRun(deps, event.runId);
  const failed = event.error !== undefined && event.error !== null && Object.keys(event.error).length > 0;
  const state = failed ? RunState.FAILED : event.outcome === 'COMPLETE' ? RunState.COMPLETED : RunState.STOPPED;
  const errorText = failed ? `${event.error?.Error ?? 'Error'}: ${String(event.error?.Cause ?? '').slice(0, 2000)}` : '';
  const base = {
    runId: event.runId,
    vaultName: record?.vaultName ?? '',
    state,
    detailType: state === RunState.FAILED ? 'Transfer Run Failed' : state === RunState.COMPLETED ? 'Transfer Run Completed' : 'Transfer Run Stopped',
    error: errorText,
    reportPrefix: event.reportPrefix ?? '',
  };
  if (!record) return { ...base, owner: false };
  try {
    await deps.ddb.send(new UpdateCommand({
      TableName: deps.transferTable,
      Key: { pk: runPk(event.runId), sk: RUN_SK },
      UpdateExpression: 'SET #state = :state, endedAt = :now, #error = :error, reportPrefix = :report',
      ConditionExpression: 'executionArn = :me',
      ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
      ExpressionAttributeValues: { ':state': state, ':now': (deps.now?.() ?? new Date()).toISOString(), ':error': errorText, ':report': event.reportPrefix ?? '', ':me': event.executionArn },
    }));
  } catch (err) {
    if (isConditionalCheckFailed(err)) {
      deps.log.warn('a newer execution owns the run; leaving its record and lock alone', { runId: event.runId });
      return { ...base, owner: false };
    }
    throw err;
  }
  await releaseVault(deps, record.vaultName, event.runId);
  await deps.ddb.send(new DeleteCommand({ TableName: deps.asyncFacilitatorTable, Key: { pk: completionWaitPk(event.runId) } }));
  return { ...base, owner: true };
}
