import * as logs from 'aws-cdk-lib/aws-logs';
import type { TransferStorage } from './transfer-storage';

/**
 * What every stage construct (InventoryRetrieval, InitiateRetrieval, ArchiveRetrieval,
 * DownloadWindowExtension, Orchestrator, VaultDecommission) is given: the storage it works on and
 * how long its logs are kept. GlacierVaultToS3Transfer passes the same values to all of them.
 */
export interface TransferStageProps {
  /**
   * The shared tables, queues, inventory bucket and notification topic the stage works on. When
   * the storage has a customer managed key, it also encrypts the stage's log groups (and its state
   * machine), so a stage used on its own is encrypted like one inside GlacierVaultToS3Transfer.
   */
  readonly storage: TransferStorage;

  /**
   * Retention of the stage's log groups: its functions', its state machine's and (InventoryRetrieval)
   * its Glue job's.
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}
