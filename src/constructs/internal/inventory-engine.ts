import type { AslObject } from '../../asl/definitions';
import { InventoryEngine } from '../../core/transfer-options';

/** The engine, checked (a caller outside TypeScript can pass any string): a clear error otherwise. */
export function validateInventoryEngine(name: string, value: InventoryEngine): InventoryEngine {
  if (!(Object.values(InventoryEngine) as string[]).includes(value)) {
    throw new Error(`${name} must be one of ${Object.values(InventoryEngine).map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The state of inventory-retrieval.asl.json that sends an inventory to one engine or the other. */
export const CHOOSE_ENGINE_STATE = 'ChooseEngine';

/**
 * ChooseEngine's threshold for `engine`: an inventory whose size (bytes) is above it goes to the
 * Glue engine, any other to the Lambda engine. AUTO: `lambdaEngineMaxBytes`. GLUE: -1 (every
 * size is above). LAMBDA: Number.MAX_SAFE_INTEGER (8 PiB; no inventory is that large). Both
 * branches stay in the definition: Step Functions refuses a definition with an unreachable state.
 */
export function engineThreshold(engine: InventoryEngine, lambdaEngineMaxBytes: number): number {
  switch (validateInventoryEngine('inventoryEngine', engine)) {
    case InventoryEngine.GLUE: return -1;
    case InventoryEngine.LAMBDA: return Number.MAX_SAFE_INTEGER;
    default: return lambdaEngineMaxBytes;
  }
}

/**
 * The InventoryRetrieval definition with ChooseEngine's threshold set for `engine`
 * ({@link engineThreshold}), as a new object. Used by the construct and by the rehearsal's
 * `--engine glue`.
 */
export function withInventoryEngine(definition: AslObject, engine: InventoryEngine, lambdaEngineMaxBytes: number): AslObject {
  const copy = JSON.parse(JSON.stringify(definition)) as AslObject;
  const choice = copy.States?.[CHOOSE_ENGINE_STATE];
  const rules = choice?.Choices;
  if (choice?.Type !== 'Choice' || !Array.isArray(rules) || rules.length !== 1 || typeof rules[0].NumericGreaterThan !== 'number') {
    throw new Error(`${CHOOSE_ENGINE_STATE}: expected a Choice state with one NumericGreaterThan rule (to Glue) and a Default (Lambda)`);
  }
  rules[0].NumericGreaterThan = engineThreshold(engine, lambdaEngineMaxBytes);
  if (engine !== InventoryEngine.AUTO) {
    choice.Comment = `inventoryEngine '${engine}': every inventory goes to the ${engine === InventoryEngine.GLUE ? 'Glue' : 'Lambda'} engine, whatever its size.`;
  }
  return copy;
}
