import { allowedDifference, providedInventoryMismatch, validateTolerancePercent } from '../../src/core/vault-totals';

describe('provided inventory against DescribeVault', () => {
  const vault = { vaultName: 'photos', archives: 1000, bytes: 5_000_000, lastInventoryDate: '2026-12-02T03:00:00Z' };

  test('within the tolerance (either direction) passes; exactly equal passes at 0 %', () => {
    expect(providedInventoryMismatch({ archives: 1000, bytes: 5_000_000 }, vault, 0)).toBeUndefined();
    expect(providedInventoryMismatch({ archives: 990, bytes: 4_950_000 }, vault, 1)).toBeUndefined();
    expect(providedInventoryMismatch({ archives: 1010, bytes: 5_050_000 }, vault, 1)).toBeUndefined();
  });

  test('understated bytes beyond the tolerance: the sentence names both sizes, the tolerance and the inventory date', () => {
    const why = providedInventoryMismatch({ archives: 1000, bytes: 4_949_999 }, vault, 1);
    expect(why).toBe('provided inventory does not match vault photos as of Glacier\'s inventory of 2026-12-02T03:00:00Z: '
      + 'its archives total 4949999 bytes, the vault\'s 5000000 (tolerance 1%: at most 10 archives and 50000 bytes apart). '
      + 'Nothing was requested from Glacier; correct the inventory and resume the run');
  });

  test('a count off by more than the tolerance is named too, alone or with the bytes', () => {
    expect(providedInventoryMismatch({ archives: 989, bytes: 5_000_000 }, vault, 1)).toMatch(/: it lists 989 archives, the vault holds 1000 \(tolerance/);
    expect(providedInventoryMismatch({ archives: 2000, bytes: 10 }, vault, 1)).toMatch(/it lists 2000 archives, the vault holds 1000; its archives total 10 bytes, the vault's 5000000/);
  });

  test('small vaults: the allowed difference rounds down, so 1 % of 12 archives allows none', () => {
    expect(allowedDifference(12, 1)).toBe(0);
    expect(providedInventoryMismatch({ archives: 11, bytes: 100 }, { vaultName: 'v', archives: 12, bytes: 100 }, 1)).toMatch(/it lists 11 archives, the vault holds 12/);
  });

  test('a vault Glacier has not inventoried yet cannot be checked: refused, saying why', () => {
    expect(providedInventoryMismatch({ archives: 3, bytes: 30 }, { vaultName: 'new' }, 1)).toMatch(/vault new has no Glacier inventory yet .*\(3 archives, 30 bytes\)/);
  });

  test('tolerance must be a percentage', () => {
    for (const bad of [-0.1, 100.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => validateTolerancePercent('providedInventoryTolerancePercent', bad)).toThrow(/providedInventoryTolerancePercent must be a percentage from 0 to 100/);
    }
    expect(validateTolerancePercent('x', 0)).toBe(0);
    expect(validateTolerancePercent('x', 100)).toBe(100);
  });
});
