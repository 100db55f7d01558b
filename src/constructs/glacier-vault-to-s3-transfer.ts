import { Annotations, Duration, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ArchiveRetrieval } from './archive-retrieval';
import { TransferDashboard } from './dashboard';
import { VaultDecommission } from './decommission';
import { ArchiveJobOverdueThresholds, DownloadWindowExtension } from './download-window-extension';
import { ExistingObjectPolicy, InitiateRetrieval } from './initiate-retrieval';
import { validateInventoryEngine } from './internal/inventory-engine';
import { addLogQueries } from './internal/log-queries';
import { overdueRecoverySettings } from './internal/overdue-recovery';
import { InventoryRetrieval } from './inventory-retrieval';
import { Orchestrator } from './orchestrator';
import { TransferRunbooks } from './runbooks';
import { TransferStorage } from './transfer-storage';
import { DEFAULT_CHUNK_SIZE, MAX_S3_OBJECT_SIZE, validateChunkSize } from '../core/chunk-plan';
import { validateSpendCaps } from '../core/run-spend';
import { assertValidKeyPrefix } from '../core/safe-key';
import { DestinationStorageClass, InventoryEngine, RetrievalTier } from '../core/transfer-options';
import { DEFAULT_PROVIDED_INVENTORY_TOLERANCE_PERCENT, validateTolerancePercent } from '../core/vault-totals';

/** Properties of {@link GlacierVaultToS3Transfer}. */
export interface GlacierVaultToS3TransferProps {
  /**
   * The existing bucket archives are copied into. The transfer never creates or deletes the
   * user's data bucket.
   */
  readonly destinationBucket: s3.IBucket;

  /**
   * Key prefix for every destination object. A trailing `/` is added when missing. Keys are not
   * forced under a run id, so a resumed or repeated run writes the same keys.
   *
   * @default - no prefix
   */
  readonly destinationPrefix?: string;

  /**
   * Account that must own the destination bucket: sent as `ExpectedBucketOwner` on every S3 call,
   * and the `s3:ResourceAccount` condition of every IAM statement on the bucket.
   *
   * @default - the stack's account
   */
  readonly destinationBucketOwner?: string;

  /**
   * Storage class of the destination objects. A runbook may override it per run.
   *
   * @default DestinationStorageClass.DEEP_ARCHIVE
   */
  readonly storageClass?: DestinationStorageClass;

  /**
   * Glacier retrieval tier for archive jobs.
   *
   * @default RetrievalTier.BULK
   */
  readonly retrievalTier?: RetrievalTier;

  /**
   * Tiers a Launch/Resume caller may choose (the runbooks offer only these and RunRecord refuses any
   * other, also when a Resume keeps the run's current tier). Expedited costs about 80 times Bulk per
   * GiB: list it only if the team owning the deployment accepts that spend.
   *
   * @default - the configured `retrievalTier` only
   */
  readonly allowedRetrievalTiers?: RetrievalTier[];

  /**
   * Bytes that may be requested from Glacier in any rolling 24 hours, shared by every run of
   * this construct.
   *
   * @default Size.tebibytes(100)
   */
  readonly dailyQuota?: Size;

  /**
   * How far (percent of the vault's figures) a provided inventory's archive count and total bytes
   * may be from Glacier's DescribeVault (NumberOfArchives, SizeInBytes). Those figures come from
   * Glacier's last inventory of the vault, made about once a day, so archives added or deleted
   * since are not in them. Beyond the tolerance (in either direction) the run fails before anything
   * is requested from Glacier, its error naming both counts and sizes; so does a provided inventory
   * for a vault Glacier has not inventoried yet.
   *
   * @default 1
   */
  readonly providedInventoryTolerancePercent?: number;

  /**
   * Which engine names, sorts and partitions a run's inventory: AUTO sends inventories up to
   * 400 MiB (about 1.4 M archives) to the Lambda engine and larger ones to the Glue job; LAMBDA or
   * GLUE force that engine for every inventory (README, "Large vaults").
   *
   * @default InventoryEngine.AUTO
   */
  readonly inventoryEngine?: InventoryEngine;

  /**
   * Most bytes of archives in one sorted-inventory partition.
   *
   * @default Size.tebibytes(40)
   */
  readonly partitionSize?: Size;

  /**
   * Size of the chunks archives are copied in: a power-of-two number of MiB between 8 MiB and
   * 4 GiB. Doubled automatically for archives that would need more than 10,000 parts.
   *
   * @default Size.gibibytes(1)
   */
  readonly chunkSize?: Size;

  /**
   * Archives larger than this are not transferred and are reported as skipped.
   *
   * @default - the largest S3 object (10,000 parts of 5 GiB); every Glacier archive fits
   */
  readonly maxArchiveSize?: Size;

  /**
   * Most chunks copied at once (concurrent ChunkRetrieval invocations).
   *
   * @default 70
   */
  readonly chunkConcurrency?: number;

  /**
   * Most concurrent job-notification handlers.
   *
   * @default 20
   */
  readonly notificationsConcurrency?: number;

  /**
   * Most concurrent archive validations.
   *
   * @default 20
   */
  readonly validationConcurrency?: number;

  /**
   * Memory of the chunk copier in MiB (128–10240).
   *
   * @default 1024
   */
  readonly chunkMemorySize?: number;

  /**
   * Customer managed KMS key for the tables, queues, inventory bucket and every log group. A key
   * created in the same app gets the key-policy statement CloudWatch Logs needs; for an imported
   * key, allow `logs.<region>.amazonaws.com` in its policy yourself.
   *
   * @default - AWS managed encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Vaults the transfer may read (and nothing else). Scopes every Glacier IAM statement.
   *
   * @default - every vault of the stack's account and region
   */
  readonly allowedVaultNames?: string[];

  /**
   * Removal policy of the tables and the inventory bucket.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Retention of the handlers' log groups.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * When a requested archive's retrieval job counts as overdue, per retrieval tier (each from
   * 1 minute to under 24 hours). Every download-window check first asks Glacier (DescribeJob)
   * about the run's overdue jobs and re-sends the description of every finished one to the
   * notifications queue, so an archive whose completion notification was lost is still copied.
   * Tiers left out keep their default.
   *
   * @default - Expedited 30 minutes, Standard 6 hours, Bulk 12 hours
   */
  readonly archiveJobOverdueAfter?: ArchiveJobOverdueThresholds;

  /**
   * An overdue job that Glacier reports still in progress is asked about again after this long
   * (at least 1 minute, whole seconds).
   *
   * @default Duration.hours(1)
   */
  readonly overdueJobRepollInterval?: Duration;

  /**
   * DescribeJob calls one download-window check makes at most (an integer from 1 to 10,000);
   * further overdue jobs wait for the next check.
   *
   * @default 500
   */
  readonly maxJobPollsPerCheck?: number;

  /**
   * Receives of a Glacier job notification or a validation message before it moves to its
   * dead-letter queue; on the last one a message that still fails (a PutObject the bucket policy
   * or KMS key denies, say) ends its archive FAILED with the error as the reason. 2 to 1000.
   *
   * @default 10
   */
  readonly messageMaxReceiveCount?: number;

  /**
   * Glacier retrieval jobs one archive may have in one run attempt (its request plus re-requests
   * when its download window closes before it was copied). At the bound the archive is FAILED
   * with the reason, never requested again; Resume starts the count again. 1 to 100.
   *
   * @default 3
   */
  readonly maxRetrievalJobsPerArchive?: number;

  /**
   * Most Glacier retrieval requests one run may make, over all its attempts (Resume included) and
   * the download-window extension's re-requests. At the cap the run pauses: its InitiateRetrieval
   * batch waits (state PausedAtRunSpendCap, looking again every 15 minutes), nothing is failed, and
   * raising the cap (deploy again) or stopping the run lets it continue; a Resume keeps counting, so it pauses again until the cap is raised lets it continue.
   *
   * @default - no cap
   */
  readonly maxRetrievalRequestsPerRun?: number;

  /**
   * Most estimated retrieval dollars one run may spend (per-request plus per-GB retrieval price of
   * its tier, us-east-1 list prices of src/core/prices.ts), counted like `maxRetrievalRequestsPerRun`;
   * at the cap the run pauses the same way.
   *
   * @default - no cap
   */
  readonly maxRetrievalDollarsPerRun?: number;

  /**
   * What to do when an archive's destination key already holds an object. Every key is looked at
   * before its archive is requested: an object with the same archive-id and tree-hash metadata
   * (this library's verified copy, e.g. from an earlier run) counts as downloaded without a
   * retrieval or quota; any other object is never overwritten by default (the archive ends FAILED
   * with "destination key holds another object"). OVERWRITE requests and copies it anyway.
   *
   * @default ExistingObjectPolicy.FAIL
   */
  readonly existingObjectPolicy?: ExistingObjectPolicy;

  /**
   * Email addresses told when a run completes, fails or stops, and when an alarm fires.
   *
   * @default - no emails (the EventBridge events are still published)
   */
  readonly notificationEmails?: string[];

  /**
   * Alarm when no archive of an active run finished for this long.
   *
   * @default Duration.hours(36)
   */
  readonly stallThreshold?: Duration;

  /**
   * Allow the Decommission runbook to delete archives (and then the vault) that are proven safe in
   * S3. Without it the runbook only writes dry-run plans and no role can delete anything. Requires
   * `allowedVaultNames`.
   *
   * @default false
   */
  readonly enableDecommissioning?: boolean;
}

const VAULT_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const MAX_PREFIX_BYTES = 512;

/**
 * Moves every archive of Amazon S3 Glacier vaults into an S3 bucket, verified against Glacier's
 * SHA-256 tree hash, paced to a daily retrieval quota, resumable.
 */
export class GlacierVaultToS3Transfer extends Construct {
  /** Shared tables, bucket, topic and queues. */
  public readonly storage: TransferStorage;
  /** The event-driven archive copy. */
  public readonly archiveRetrieval: ArchiveRetrieval;
  /**
   * Gets the vault inventory (or uses a provided one), names, sorts and partitions every archive.
   * Start `inventoryRetrieval.stateMachine` with `{ runId, vaultName, storageClass, providedInventoryKey? }`.
   */
  public readonly inventoryRetrieval: InventoryRetrieval;
  /**
   * Requests every archive of a run in CreationDate order at the pace the daily quota allows.
   * Start `initiateRetrieval.stateMachine` with `{ runId, vaultName, tier, storageClass }`.
   */
  public readonly initiateRetrieval: InitiateRetrieval;
  /**
   * Re-requests staged archives whose download window is about to close; each active run adds a
   * target to `downloadWindowExtension.schedule`.
   */
  public readonly downloadWindowExtension: DownloadWindowExtension;
  /** Starts, resumes, waits for and cleans up a run. */
  public readonly orchestrator: Orchestrator;
  /** The Launch, Resume and Stop SSM Automation runbooks. */
  public readonly runbooks: TransferRunbooks;
  /** CloudWatch dashboard, alarms and run notifications. */
  public readonly dashboard: TransferDashboard;
  /** Name of the SSM Automation document that launches a transfer. */
  public readonly launchRunbookName: string;
  /** Name of the SSM Automation document that resumes a stopped or failed run. */
  public readonly resumeRunbookName: string;
  /** Name of the SSM Automation document that stops a run. */
  public readonly stopRunbookName: string;
  /** Vault decommissioning after a verified transfer (dry run unless `enableDecommissioning`). */
  public readonly decommission: VaultDecommission;
  /** Normalised destination prefix ('' or ending in '/'). */
  public readonly destinationPrefix: string;
  /** Chunk size in bytes. */
  public readonly chunkSizeBytes: number;
  /** Daily quota in bytes. */
  public readonly dailyQuotaBytes: number;
  /** Partition size in bytes. */
  public readonly partitionSizeBytes: number;
  /** Archives above this many bytes are skipped. */
  public readonly maxArchiveSizeBytes: number;
  /** Storage class of the destination objects. */
  public readonly storageClass: DestinationStorageClass;
  /** Retrieval tier of archive jobs. */
  public readonly retrievalTier: RetrievalTier;
  /** Tiers a Launch/Resume caller may choose. */
  public readonly allowedRetrievalTiers: RetrievalTier[];
  /** ARNs of the vaults the transfer may touch (may end in `*`). */
  public readonly vaultArns: string[];

  constructor(scope: Construct, id: string, props: GlacierVaultToS3TransferProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.destinationPrefix = normalisePrefix(props.destinationPrefix);
    this.chunkSizeBytes = sizeInBytes(props.chunkSize, DEFAULT_CHUNK_SIZE, 'chunkSize');
    validateChunkSize(this.chunkSizeBytes, 'chunkSize');
    this.dailyQuotaBytes = positiveSize(props.dailyQuota, Size.tebibytes(100), 'dailyQuota');
    this.partitionSizeBytes = positiveSize(props.partitionSize, Size.tebibytes(40), 'partitionSize');
    this.maxArchiveSizeBytes = positiveSize(props.maxArchiveSize, undefined, 'maxArchiveSize') || MAX_S3_OBJECT_SIZE;
    if (this.maxArchiveSizeBytes > MAX_S3_OBJECT_SIZE) {
      throw new Error(`maxArchiveSize must be at most ${MAX_S3_OBJECT_SIZE} bytes (the largest S3 object), got ${this.maxArchiveSizeBytes}`);
    }
    for (const [name, value, min, max] of [
      ['chunkConcurrency', props.chunkConcurrency, 2, 1000],
      ['notificationsConcurrency', props.notificationsConcurrency, 2, 1000],
      ['validationConcurrency', props.validationConcurrency, 2, 1000],
      ['chunkMemorySize', props.chunkMemorySize, 128, 10240],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
        throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
      }
    }
    if (props.destinationBucketOwner !== undefined && !Token.isUnresolved(props.destinationBucketOwner) && !/^[0-9]{12}$/.test(props.destinationBucketOwner)) {
      throw new Error(`destinationBucketOwner must be a 12-digit AWS account id, got ${JSON.stringify(props.destinationBucketOwner)}`);
    }
    this.storageClass = props.storageClass ?? DestinationStorageClass.DEEP_ARCHIVE;
    this.retrievalTier = props.retrievalTier ?? RetrievalTier.BULK;
    this.allowedRetrievalTiers = [...new Set(props.allowedRetrievalTiers ?? [this.retrievalTier])];
    if (this.allowedRetrievalTiers.length === 0) throw new Error('allowedRetrievalTiers must name at least one tier');
    if (!this.allowedRetrievalTiers.includes(this.retrievalTier)) {
      throw new Error(`allowedRetrievalTiers (${this.allowedRetrievalTiers.join(', ')}) must include retrievalTier ${this.retrievalTier}`);
    }

    if (props.enableDecommissioning && props.allowedVaultNames === undefined) {
      throw new Error('enableDecommissioning requires allowedVaultNames: deletion is only granted on named vaults');
    }
    const vaultArn = (name: string) => stack.formatArn({ service: 'glacier', resource: 'vaults', resourceName: name });
    if (props.allowedVaultNames !== undefined) {
      if (props.allowedVaultNames.length === 0) throw new Error('allowedVaultNames must name at least one vault when given');
      for (const name of props.allowedVaultNames) {
        if (!Token.isUnresolved(name) && !VAULT_NAME.test(name)) {
          throw new Error(`allowedVaultNames: ${JSON.stringify(name)} is not a valid vault name (1-255 of A-Z a-z 0-9 _ . -)`);
        }
      }
      this.vaultArns = props.allowedVaultNames.map(vaultArn);
    } else {
      this.vaultArns = [vaultArn('*')];
    }
    // Props a stage checks again when it is built: checked here first, so a bad value fails before
    // any child exists (the rules themselves live with the stage or in src/core).
    validateSpendCaps(props);
    validateTolerancePercent('providedInventoryTolerancePercent', props.providedInventoryTolerancePercent ?? DEFAULT_PROVIDED_INVENTORY_TOLERANCE_PERCENT);
    overdueRecoverySettings(props);
    if (props.inventoryEngine !== undefined) validateInventoryEngine('inventoryEngine', props.inventoryEngine);
    if (this.partitionSizeBytes < this.chunkSizeBytes) {
      Annotations.of(this).addWarningV2('glacier-vault-to-s3:small-partitions', 'partitionSize is smaller than one chunk; every large archive becomes its own partition');
    }

    this.storage = new TransferStorage(this, 'Storage', {
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      messageMaxReceiveCount: props.messageMaxReceiveCount,
      maxRetrievalJobsPerArchive: props.maxRetrievalJobsPerArchive,
      maxRetrievalRequestsPerRun: props.maxRetrievalRequestsPerRun,
      maxRetrievalDollarsPerRun: props.maxRetrievalDollarsPerRun,
    });

    this.archiveRetrieval = new ArchiveRetrieval(this, 'ArchiveRetrieval', {
      storage: this.storage,
      destinationBucket: props.destinationBucket,
      destinationPrefix: this.destinationPrefix,
      destinationBucketOwner: props.destinationBucketOwner,
      vaultArns: this.vaultArns,
      chunkSizeBytes: this.chunkSizeBytes,
      chunkConcurrency: props.chunkConcurrency,
      notificationsConcurrency: props.notificationsConcurrency,
      validationConcurrency: props.validationConcurrency,
      chunkMemorySize: props.chunkMemorySize,
      logRetention: props.logRetention,
    });

    this.inventoryRetrieval = new InventoryRetrieval(this, 'InventoryRetrieval', {
      storage: this.storage,
      vaultArns: this.vaultArns,
      destinationPrefix: this.destinationPrefix,
      partitionSizeBytes: this.partitionSizeBytes,
      maxArchiveSizeBytes: this.maxArchiveSizeBytes,
      providedInventoryTolerancePercent: props.providedInventoryTolerancePercent,
      inventoryEngine: props.inventoryEngine,
      logRetention: props.logRetention,
    });
    // Inventory-job notifications arrive on the same queue as archive jobs.
    this.inventoryRetrieval.grantJobCompletion(this.archiveRetrieval.notificationsProcessor);

    this.initiateRetrieval = new InitiateRetrieval(this, 'InitiateRetrieval', {
      storage: this.storage,
      destinationBucket: props.destinationBucket,
      destinationPrefix: this.destinationPrefix,
      destinationBucketOwner: props.destinationBucketOwner,
      existingObjectPolicy: props.existingObjectPolicy,
      vaultArns: this.vaultArns,
      dailyQuotaBytes: this.dailyQuotaBytes,
      logRetention: props.logRetention,
    });
    this.downloadWindowExtension = new DownloadWindowExtension(this, 'DownloadWindowExtension', {
      storage: this.storage,
      vaultArns: this.vaultArns,
      dailyQuotaBytes: this.dailyQuotaBytes,
      // Checked above (overdueRecoverySettings), with errors naming these same props.
      archiveJobOverdueAfter: props.archiveJobOverdueAfter,
      overdueJobRepollInterval: props.overdueJobRepollInterval,
      maxJobPollsPerCheck: props.maxJobPollsPerCheck,
      logRetention: props.logRetention,
    });

    this.orchestrator = new Orchestrator(this, 'Orchestrator', {
      storage: this.storage,
      destinationBucket: props.destinationBucket,
      destinationPrefix: this.destinationPrefix,
      destinationBucketOwner: props.destinationBucketOwner,
      inventoryRetrieval: this.inventoryRetrieval.stateMachine,
      initiateRetrieval: this.initiateRetrieval.stateMachine,
      downloadWindowExtension: this.downloadWindowExtension,
      storageClass: this.storageClass,
      retrievalTier: this.retrievalTier,
      allowedRetrievalTiers: this.allowedRetrievalTiers,
      dailyQuotaBytes: this.dailyQuotaBytes,
      logRetention: props.logRetention,
    });
    this.runbooks = new TransferRunbooks(this, 'Runbooks', {
      orchestrator: this.orchestrator.stateMachine,
      initiateRetrieval: this.initiateRetrieval.stateMachine,
      completionChecker: this.orchestrator.completionChecker,
      transferTable: this.storage.transferTable,
      destinationBucket: props.destinationBucket,
      destinationBucketOwner: props.destinationBucketOwner,
      vaultArns: this.vaultArns,
      storageClass: this.storageClass,
      retrievalTier: this.retrievalTier,
      allowedRetrievalTiers: this.allowedRetrievalTiers,
    });
    this.dashboard = new TransferDashboard(this, 'Dashboard', {
      archiveRetrieval: this.archiveRetrieval,
      storage: this.storage,
      orchestrator: this.orchestrator,
      metricsNamespace: this.orchestrator.metricsNamespace,
      functions: [
        ...this.orchestrator.functions,
        this.initiateRetrieval.initiateArchiveRetrieval,
        this.inventoryRetrieval.initiateInventoryRetrieval,
        this.inventoryRetrieval.jobPoller,
        this.inventoryRetrieval.chunkDownload,
        this.inventoryRetrieval.validation,
        this.inventoryRetrieval.processInventory,
        this.downloadWindowExtension.recoverLostNotifications,
        this.downloadWindowExtension.archivesNeedingWindowExtension,
        this.downloadWindowExtension.extendDownloadWindow,
      ],
      notificationEmails: props.notificationEmails,
      stallThreshold: props.stallThreshold,
    });
    this.decommission = new VaultDecommission(this, 'Decommission', {
      storage: this.storage,
      destinationBucket: props.destinationBucket,
      destinationBucketOwner: props.destinationBucketOwner,
      vaultArns: this.vaultArns,
      allowDeletion: props.enableDecommissioning ?? false,
      metricsNamespace: this.orchestrator.metricsNamespace,
      dashboard: this.dashboard.dashboard,
      logRetention: props.logRetention,
    });
    // Saved Logs Insights queries next to the dashboard, over every handler's log group, in a
    // folder named like the deployment's metrics namespace.
    addLogQueries(this.dashboard, this.orchestrator.metricsNamespace,
      this.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function));
    this.launchRunbookName = this.runbooks.launchDocumentName;

    this.resumeRunbookName = this.runbooks.resumeDocumentName;
    this.stopRunbookName = this.runbooks.stopDocumentName;
    if (props.encryptionKey) this.limitLogsKeyUse();
  }

  /**
   * CloudWatch Logs may use the key only for this transfer's log groups. The key policy cannot
   * refer to their ARNs (each log group refers to the key: a cycle), so every log group gets a
   * literal name and the policy lists those names, plus the groups Glue creates for the job's
   * security configuration.
   */
  private limitLogsKeyUse(): void {
    const stack = Stack.of(this);
    const names: string[] = [];
    for (const child of this.node.findAll()) {
      if (child instanceof logs.CfnLogGroup) {
        // An L2 log group without a name carries a lazy name that resolves to nothing.
        const name = stack.resolve(child.logGroupName) === undefined
          ? `/glacier-vault-to-s3/${Names.uniqueResourceName(child.node.scope ?? child, { maxLength: 200, separator: '-' })}`
          : child.logGroupName!;
        child.logGroupName = name;
        names.push(name);
      } else if (child instanceof glue.CfnSecurityConfiguration) {
        // Glue's driver/executor groups under /aws-glue/ carry the security configuration's name.
        names.push(`/aws-glue/*${child.name}*`);
      }
    }
    this.storage.limitLogsKeyUseTo(names);
  }
}

function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  if (Token.isUnresolved(prefix)) throw new Error('destinationPrefix must be a literal string (it scopes IAM policies at synth time)');
  if (prefix.startsWith('/')) throw new Error(`destinationPrefix must not start with '/', got ${JSON.stringify(prefix)}`);
  if (/[\u0000-\u001f\u007f]/.test(prefix)) throw new Error('destinationPrefix must not contain control characters');
  if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new Error(`destinationPrefix must not contain '.' or '..' segments, got ${JSON.stringify(prefix)}`);
  }
  const normalised = prefix.endsWith('/') ? prefix : `${prefix}/`;
  if (Buffer.byteLength(normalised, 'utf8') > MAX_PREFIX_BYTES) {
    throw new Error(`destinationPrefix must be at most ${MAX_PREFIX_BYTES} UTF-8 bytes so object names still fit in S3's 1,024-byte keys`);
  }
  // The rule the naming engines apply at run time (wildcards, policy variables, blank segments…).
  try {
    assertValidKeyPrefix(normalised);
  } catch (err) {
    throw new Error(`destinationPrefix: ${(err as Error).message}`);
  }
  return normalised;
}

function sizeInBytes(size: Size | undefined, fallback: number, name: string): number {
  if (size === undefined) return fallback;
  const bytes = size.toBytes();
  if (!Number.isSafeInteger(bytes)) throw new Error(`${name} must be a whole number of bytes, got ${bytes}`);
  return bytes;
}

function positiveSize(size: Size | undefined, fallback: Size | undefined, name: string): number {
  if (size === undefined) return fallback ? fallback.toBytes() : 0;
  const bytes = sizeInBytes(size, 0, name);
  if (bytes <= 0) throw new Error(`${name} must be greater than zero, got ${bytes} bytes`);
  return bytes;
}
