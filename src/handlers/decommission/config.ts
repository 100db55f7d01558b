import { DecommissionEnv } from '../../contract/environment';
import { numberEnv, optionalEnv } from '../shared/env';

/** DECOMMISSION_DELETION_ENABLED: only the literal 'true' allows a real (deleting) run. */
export function deletionEnabled(): boolean {
  return optionalEnv(DecommissionEnv.DELETION_ENABLED) === 'true';
}

export function deletesPerSecond(): number {
  return numberEnv(DecommissionEnv.DELETES_PER_SECOND, 5, (v) => v > 0 && v <= 1000, 'a number from 0 (exclusive) to 1000');
}

export function deleteMaxAttempts(): number {
  return numberEnv(DecommissionEnv.DELETE_MAX_ATTEMPTS, 5, (v) => Number.isSafeInteger(v) && v >= 1 && v <= 20, 'an integer from 1 to 20');
}
