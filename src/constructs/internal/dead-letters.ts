import { Duration } from 'aws-cdk-lib';

/*
 * Settings of the DeadLetterReconciler shared by TransferStorage (the dead-letter queues' visibility
 * timeout and redrive) and ArchiveRetrieval (the function), internal, not exported.
 */

/** Timeout of the DeadLetterReconciler; the dead-letter queues' visibility timeouts are six times it. */
export const DEAD_LETTER_RECONCILER_TIMEOUT = Duration.minutes(1);

/** Default of TransferStorageProps.deadLetterReconcileAttempts. */
export const DEFAULT_DEAD_LETTER_RECONCILE_ATTEMPTS = 5;
