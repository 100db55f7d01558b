import decommission from './decommission.asl.json';
import downloadWindowExtension from './download-window-extension.asl.json';
import initiateRetrieval from './initiate-retrieval.asl.json';
import inventoryRetrieval from './inventory-retrieval.asl.json';
import orchestrator from './orchestrator.asl.json';
import retryPolicies from './retry-policies.json';

/*
 * The one loader of the Step Functions definitions in this folder, used by the constructs at synth
 * and by the rehearsal, so both run the same ASL.
 *
 * The files are plain JSONPath ASL with two conventions:
 * - `${Name}` placeholders, CDK `definitionSubstitutions` (`${Partition}` is the stack's partition);
 * - a Retry entry `{ "RetryPolicy": "<name>" }` stands for the retriers of that named policy in
 *   retry-policies.json, so each shared policy is written once. It is expanded in place (Retry order
 *   matters: the first retrier whose ErrorEquals matches applies).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AslObject = Record<string, any>;

const SOURCES = {
  'decommission': decommission,
  'download-window-extension': downloadWindowExtension,
  'initiate-retrieval': initiateRetrieval,
  'inventory-retrieval': inventoryRetrieval,
  'orchestrator': orchestrator,
} as const;

/** A definition of `src/asl/<name>.asl.json`. */
export type DefinitionName = keyof typeof SOURCES;

/** Every definition this library ships. */
export const DEFINITION_NAMES = Object.keys(SOURCES) as DefinitionName[];

/** The named retry policies: why, and the retriers a `{ "RetryPolicy": name }` entry expands to. */
export const RETRY_POLICIES: Readonly<Record<string, { readonly why: string; readonly retriers: readonly AslObject[] }>> = retryPolicies;

/** The placeholder the state-machine factory fills with the stack's partition. */
export const PARTITION_PLACEHOLDER = 'Partition';

/** A fresh `${Name}` pattern (global: a shared instance would carry `lastIndex` between uses). */
export function placeholderPattern(): RegExp {
  return /\$\{([^}]*)\}/g;
}

/** The distinct `${Name}` placeholders of `text`, in order of first use. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(placeholderPattern())].map((m) => m[1]))];
}

/** The definition as it ships, as a new object: retry policy references expanded. */
export function loadDefinition(name: DefinitionName): AslObject {
  const source = SOURCES[name];
  if (source === undefined) throw new Error(`unknown state machine definition ${JSON.stringify(name)}: expected one of ${DEFINITION_NAMES.join(', ')}`);
  return expandRetryPolicies(JSON.parse(JSON.stringify(source)) as AslObject, `${name}.asl.json`);
}

/** Replaces every `{ "RetryPolicy": name }` Retry entry of every state (nested ones too) by the policy's retriers. */
export function expandRetryPolicies(definition: AslObject, where: string): AslObject {
  const visit = (states: AslObject | undefined): void => {
    for (const [stateName, state] of Object.entries(states ?? {})) {
      if (Array.isArray(state.Retry)) {
        state.Retry = state.Retry.flatMap((entry: AslObject) => {
          if (entry.RetryPolicy === undefined) return [entry];
          const policy = RETRY_POLICIES[entry.RetryPolicy];
          if (policy === undefined || Object.keys(entry).length !== 1) {
            throw new Error(`${where}: state ${stateName} names retry policy ${JSON.stringify(entry)}; expected { "RetryPolicy": one of ${Object.keys(RETRY_POLICIES).join(', ')} }`);
          }
          return policy.retriers.map((retrier) => ({ ...retrier }));
        });
      }
      visit(state.ItemProcessor?.States ?? state.Iterator?.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return definition;
}

/**
 * Checks `substitutions` against the placeholders of `definition` before a state machine is built:
 * a placeholder without a value would reach Step Functions as text, a value without a placeholder
 * is a wiring mistake. Throws naming every one.
 */
export function checkSubstitutions(definition: AslObject, substitutions: Readonly<Record<string, unknown>>, where: string): void {
  const used = placeholdersOf(JSON.stringify(definition));
  const unknown = used.filter((name) => !Object.prototype.hasOwnProperty.call(substitutions, name));
  const unused = Object.keys(substitutions).filter((name) => !used.includes(name));
  const problems = [
    ...(unknown.length > 0 ? [`no substitution for ${unknown.map((n) => `\${${n}}`).join(', ')}`] : []),
    ...(unused.length > 0 ? [`substitutions not used by the definition: ${unused.join(', ')}`] : []),
  ];
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
}
