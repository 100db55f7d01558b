/**
 * A provided inventory checked against what Glacier itself says the vault holds.
 *
 * The quota and every spend bound trust the sizes an inventory declares. An inventory Glacier
 * produced is trusted; one a user put in the bucket is compared with DescribeVault's
 * NumberOfArchives and SizeInBytes before anything is requested. Those two figures come from
 * Glacier's last inventory of the vault (made about once a day, so up to a day old, and absent
 * until the vault's first inventory), hence a small tolerance.
 */

/** Default tolerance, in percent of the vault's figures, of {@link providedInventoryMismatch}. */
export const DEFAULT_PROVIDED_INVENTORY_TOLERANCE_PERCENT = 1;

/** Archive count and total bytes. */
export interface ArchiveTotals {
  readonly archives: number;
  readonly bytes: number;
}

/** What DescribeVault returned; `archives`/`bytes` are undefined before the vault's first inventory. */
export interface VaultDescription {
  readonly vaultName: string;
  readonly archives?: number;
  readonly bytes?: number;
  readonly lastInventoryDate?: string;
}

/** Throws unless `value` is a tolerance percentage (0 to 100); `name` is the input's name. */
export function validateTolerancePercent(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new Error(`${name} must be a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The largest difference allowed from `vaultFigure` (whole units, rounded down). */
export function allowedDifference(vaultFigure: number, tolerancePercent: number): number {
  return Math.floor((vaultFigure * tolerancePercent) / 100);
}

/**
 * Why the provided inventory's totals do not match the vault (a sentence naming both figures), or
 * undefined when both the count and the bytes are within the tolerance of the vault's.
 */
export function providedInventoryMismatch(provided: ArchiveTotals, vault: VaultDescription, tolerancePercent: number): string | undefined {
  validateTolerancePercent('tolerancePercent', tolerancePercent);
  if (vault.archives === undefined || vault.bytes === undefined) {
    return `vault ${vault.vaultName} has no Glacier inventory yet (DescribeVault gives no NumberOfArchives/SizeInBytes), `
      + `so the provided inventory (${provided.archives} archives, ${provided.bytes} bytes) cannot be checked against it; `
      + 'start the run again after Glacier\'s daily inventory of the vault, or without a provided inventory';
  }
  const allowedArchives = allowedDifference(vault.archives, tolerancePercent);
  const allowedBytes = allowedDifference(vault.bytes, tolerancePercent);
  const wrong: string[] = [];
  if (Math.abs(provided.archives - vault.archives) > allowedArchives) {
    wrong.push(`it lists ${provided.archives} archives, the vault holds ${vault.archives}`);
  }
  if (Math.abs(provided.bytes - vault.bytes) > allowedBytes) {
    wrong.push(`its archives total ${provided.bytes} bytes, the vault's ${vault.bytes}`);
  }
  if (wrong.length === 0) return undefined;
  const asOf = vault.lastInventoryDate ? ` as of Glacier's inventory of ${vault.lastInventoryDate}` : '';
  return `provided inventory does not match vault ${vault.vaultName}${asOf}: ${wrong.join('; ')} `
    + `(tolerance ${tolerancePercent}%: at most ${allowedArchives} archives and ${allowedBytes} bytes apart). `
    + 'Nothing was requested from Glacier; correct the inventory and resume the run';
}
