import { runStateMachine } from '../../rehearsal/sfn/runner';
import { loadDefinition } from '../../src/asl/definitions';
import { CHOOSE_ENGINE_STATE, engineThreshold, withInventoryEngine } from '../../src/constructs/internal/inventory-engine';
import { InventoryEngine } from '../../src/core/transfer-options';

const MAX = 400 * 1024 ** 2;

/** The engine ChooseEngine picks for an inventory of `size` bytes, decided by the rehearsal's ASL runner. */
async function engineFor(engine: InventoryEngine, size: number): Promise<string> {
  const definition = withInventoryEngine(loadDefinition('inventory-retrieval'), engine, MAX);
  const choice = definition.States[CHOOSE_ENGINE_STATE];
  const result = await runStateMachine({
    StartAt: CHOOSE_ENGINE_STATE,
    States: {
      [CHOOSE_ENGINE_STATE]: choice,
      [choice.Choices[0].Next]: { Type: 'Pass', Result: 'glue', End: true },
      [choice.Default]: { Type: 'Pass', Result: 'lambda', End: true },
    },
  }, { inventory: { key: 'r1/original_inventory/inventory.csv', size } });
  expect(result.status).toBe('SUCCEEDED');
  return result.output as string;
}

describe('inventory engine choice', () => {
  test.each([
    [InventoryEngine.AUTO, 0, 'lambda'],
    [InventoryEngine.AUTO, MAX, 'lambda'],
    [InventoryEngine.AUTO, MAX + 1, 'glue'],
    [InventoryEngine.LAMBDA, 0, 'lambda'],
    [InventoryEngine.LAMBDA, 50 * 1024 ** 4, 'lambda'],
    [InventoryEngine.GLUE, 0, 'glue'],
    [InventoryEngine.GLUE, 1, 'glue'],
    [InventoryEngine.GLUE, MAX, 'glue'],
  ])('%s, an inventory of %d bytes: the %s engine', async (engine, size, expected) => {
    expect(await engineFor(engine, size)).toBe(expected);
  });

  test('both branches stay reachable whatever the engine (Step Functions refuses unreachable states)', () => {
    for (const engine of Object.values(InventoryEngine)) {
      const choice = withInventoryEngine(loadDefinition('inventory-retrieval'), engine, MAX).States[CHOOSE_ENGINE_STATE];
      expect(choice.Type).toBe('Choice');
      expect([choice.Choices[0].Next, choice.Default]).toEqual(['WriteKeptKeysForGlue', 'ProcessInventoryOnLambda']);
    }
  });

  test('the shipped definition is not changed in place', () => {
    const shipped = loadDefinition('inventory-retrieval');
    const before = JSON.stringify(shipped);
    withInventoryEngine(shipped, InventoryEngine.GLUE, MAX);
    expect(JSON.stringify(shipped)).toBe(before);
  });

  test('an engine that is not one of the three is refused, naming the prop and the choices', () => {
    expect(() => engineThreshold('spark' as InventoryEngine, MAX)).toThrow(/inventoryEngine must be one of 'auto', 'lambda', 'glue', got "spark"/);
  });
});
