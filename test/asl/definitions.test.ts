import * as fs from 'fs';
import * as path from 'path';
import {
  checkSubstitutions, DEFINITION_NAMES, expandRetryPolicies, loadDefinition, placeholdersOf, RETRY_POLICIES,
} from '../../src/asl/definitions';

/*
 * Static checks of every ASL definition this library ships, as loaded for the constructs and the
 * rehearsal: JSONPath only, every state reachable, every Next/Default/Catch target defined, reserved
 * error names spelled as Step Functions spells them, our own error names thrown by a handler or a
 * Fail state, shared retry policies written once.
 */

const ASL_DIR = path.join(__dirname, '..', '..', 'src', 'asl');

const RESERVED = new Set([
  'States.ALL', 'States.DataLimitExceeded', 'States.ExceedToleratedFailureThreshold', 'States.HeartbeatTimeout', 'States.Http.Socket',
  'States.IntrinsicFailure', 'States.ItemReaderFailed', 'States.NoChoiceMatched', 'States.ParameterPathFailure', 'States.Permissions',
  'States.ResultPathMatchFailure', 'States.ResultWriterFailed', 'States.Runtime', 'States.TaskFailed', 'States.Timeout',
  'States.BranchFailed', 'States.QueryEvaluationError',
]);
/** Errors of the services our tasks call, as the Step Functions integrations name them. */
const SERVICE_ERRORS = new Set([
  'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException', 'Lambda.Unknown',
  'StepFunctions.ExecutionLimitExceededException', 'StepFunctions.AWSStepFunctionsException', 'StepFunctions.SdkClientException',
  'Glue.ConcurrentRunsExceededException', 'Glue.InternalServiceException', 'Glue.OperationTimeoutException',
]);

/** Source text of every handler, to find where our own error names are thrown. */
function handlerSources(dir = path.join(__dirname, '..', '..', 'src', 'handlers')): string {
  return fs.readdirSync(dir, { withFileTypes: true }).map((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return handlerSources(file);
    return entry.name.endsWith('.ts') ? fs.readFileSync(file, 'utf8') : '';
  }).join('\n');
}
const HANDLERS = handlerSources();

type States = Record<string, any>;

function targets(state: any): string[] {
  const out: string[] = [];
  if (state.Next) out.push(state.Next);
  if (state.Default) out.push(state.Default);
  for (const choice of state.Choices ?? []) out.push(choice.Next);
  for (const c of state.Catch ?? []) out.push(c.Next);
  return out;
}

/** Every (StartAt, States) scope: the root, Map item processors, Parallel branches. */
function scopes(def: any, where = 'root'): Array<{ where: string; startAt: string; states: States }> {
  const out = [{ where, startAt: def.StartAt, states: def.States as States }];
  for (const [name, state] of Object.entries(def.States as States)) {
    if (state.ItemProcessor) out.push(...scopes(state.ItemProcessor, `${where}/${name}`));
    for (const [i, branch] of (state.Branches ?? []).entries()) out.push(...scopes(branch, `${where}/${name}[${i}]`));
  }
  return out;
}

function walk(value: unknown, visit: (key: string, v: unknown) => void): void {
  if (Array.isArray(value)) {value.forEach((v) => walk(v, visit));} else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v);
      walk(v, visit);
    }
  }
}

describe.each(DEFINITION_NAMES)('%s.asl.json', (definitionName) => {
  const source = fs.readFileSync(path.join(ASL_DIR, `${definitionName}.asl.json`), 'utf8');
  const def = loadDefinition(definitionName);
  const text = JSON.stringify(def);

  test('parses as JSON and uses JSONPath only (no JSONata, Assign, Output, Arguments, QueryLanguage)', () => {
    expect(def.QueryLanguage).toBeUndefined();
    const forbidden: string[] = [];
    // Field names count where ASL defines them, not inside a payload (Glue's own `Arguments` parameter).
    const payloads = new Set(['Parameters', 'ItemSelector', 'ResultSelector', 'Result', 'BatchInput']);
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) {
        value.forEach(visit);
      } else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (['Assign', 'Output', 'Arguments', 'QueryLanguage'].includes(key)) forbidden.push(key);
          if (!payloads.has(key)) visit(v);
        }
      }
    };
    visit(def);
    walk(def, (key, v) => {
      if (typeof v === 'string' && v.includes('{%')) forbidden.push(`JSONata in ${key}`);
    });
    expect(forbidden).toEqual([]);
  });

  test('every state is reachable and every transition target exists, in every scope', () => {
    for (const scope of scopes(def)) {
      const names = Object.keys(scope.states);
      expect(names).toContain(scope.startAt);
      const seen = new Set<string>();
      const queue = [scope.startAt];
      while (queue.length > 0) {
        const name = queue.pop()!;
        if (seen.has(name)) continue;
        seen.add(name);
        const state = scope.states[name];
        expect({ scope: scope.where, state: name, defined: state !== undefined }).toEqual({ scope: scope.where, state: name, defined: true });
        queue.push(...targets(state));
      }
      expect({ scope: scope.where, unreachable: names.filter((n) => !seen.has(n)) }).toEqual({ scope: scope.where, unreachable: [] });
    }
  });

  test('state names are unique across the whole definition and at most 80 characters', () => {
    const all = scopes(def).flatMap((s) => Object.keys(s.states));
    expect(new Set(all).size).toBe(all.length);
    for (const name of all) expect(name.length).toBeLessThanOrEqual(80);
  });

  test('Retry and Catch name reserved or service errors, or errors a handler throws or a Fail state raises', () => {
    const names: string[] = [];
    const failErrors = new Set<string>();
    walk(def, (key, v: any) => {
      if ((key === 'Retry' || key === 'Catch') && Array.isArray(v)) {
        for (const r of v) {
          names.push(...r.ErrorEquals);
          if (r.ErrorEquals.includes('States.ALL')) expect(r.ErrorEquals).toEqual(['States.ALL']);
        }
      }
      if (v && typeof v === 'object' && v.Type === 'Fail' && typeof v.Error === 'string') failErrors.add(v.Error);
    });
    expect(names.length).toBeGreaterThan(0);
    for (const errorName of names) {
      const known = RESERVED.has(errorName) || SERVICE_ERRORS.has(errorName) || failErrors.has(errorName)
        || HANDLERS.includes(`this.name = '${errorName}'`);
      expect({ errorName, known }).toEqual({ errorName, known: true });
    }
    expect(text).not.toMatch(/States\.All\b/);
  });

  test('a shared retry policy is referenced, never copied: no inline retrier equals a policy retrier', () => {
    const raw = JSON.parse(source);
    const policyRetriers = Object.values(RETRY_POLICIES).flatMap((p) => p.retriers.map((r) => JSON.stringify(r)));
    const copies: string[] = [];
    walk(raw, (key, v) => {
      if (key !== 'Retry' || !Array.isArray(v)) return;
      for (const r of v) if (policyRetriers.includes(JSON.stringify(r))) copies.push(JSON.stringify(r));
    });
    expect(copies).toEqual([]);
  });

  test('every Map runs STANDARD Distributed children; results to S3 under tmp/; batches of 100 at most', () => {
    const maps: any[] = [];
    walk(def, (_k, v: any) => {
      if (v && typeof v === 'object' && v.Type === 'Map') maps.push(v);
    });
    for (const map of maps) {
      expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
      if (map.ResultWriter) {
        expect(map.ResultWriter.Resource).toBe('arn:${Partition}:states:::s3:putObject');
        expect(map.ResultWriter.Parameters.Prefix).toMatch(/^tmp\//);
      }
      if (map.ItemBatcher) expect(map.ItemBatcher.MaxItemsPerBatch).toBeLessThanOrEqual(100);
    }
  });

  test('every Step Functions resource takes the partition from the stack', () => {
    const resources: string[] = [];
    walk(def, (key, v) => {
      if (key === 'Resource' && typeof v === 'string') resources.push(v);
    });
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) expect(resource).toMatch(/^arn:\$\{Partition\}:states:::/);
  });

  test('placeholders are simple names (substituted by the construct)', () => {
    const placeholders = placeholdersOf(text);
    expect(placeholders).toContain('Partition');
    for (const p of placeholders) expect(p).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
  });
});

describe('the definition loader', () => {
  test('expands a policy reference in place, keeping the order of the other retriers', () => {
    const own = { ErrorEquals: ['OwnError'], MaxAttempts: 0 };
    const after = { ErrorEquals: ['States.ALL'], MaxAttempts: 1 };
    const expanded = expandRetryPolicies({
      StartAt: 'A',
      States: {
        A: { Type: 'Task', Retry: [own, { RetryPolicy: 'LambdaServiceErrors' }, after], End: true },
        M: { Type: 'Map', ItemProcessor: { StartAt: 'B', States: { B: { Type: 'Task', Retry: [{ RetryPolicy: 'IdempotentTaskFailures' }], End: true } } }, End: true },
      },
    }, 'test');
    expect(expanded.States.A.Retry).toEqual([own, ...RETRY_POLICIES.LambdaServiceErrors.retriers, after]);
    expect(expanded.States.M.ItemProcessor.States.B.Retry).toEqual([...RETRY_POLICIES.IdempotentTaskFailures.retriers]);
  });

  test('an unknown policy, or a reference with other fields, names the file, the state and the policies', () => {
    const def = (entry: object) => ({ StartAt: 'A', States: { A: { Type: 'Task', Retry: [entry], End: true } } });
    expect(() => expandRetryPolicies(def({ RetryPolicy: 'Nope' }), 'x.asl.json')).toThrow(/x\.asl\.json: state A names retry policy .*Nope.*LambdaServiceErrors/);
    expect(() => expandRetryPolicies(def({ RetryPolicy: 'LambdaServiceErrors', MaxAttempts: 2 }), 'x.asl.json')).toThrow(/state A/);
  });

  test('every policy is used by some definition, and each loaded definition is a fresh copy', () => {
    const sources = DEFINITION_NAMES.map((n) => fs.readFileSync(path.join(ASL_DIR, `${n}.asl.json`), 'utf8')).join('\n');
    for (const policy of Object.keys(RETRY_POLICIES)) expect({ policy, used: sources.includes(`"RetryPolicy": "${policy}"`) }).toEqual({ policy, used: true });
    const first = loadDefinition('orchestrator');
    first.States.RecordRun.Retry.push('changed');
    expect(loadDefinition('orchestrator').States.RecordRun.Retry).not.toContain('changed');
  });

  test('checkSubstitutions names every placeholder without a value and every value without a placeholder', () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'arn:${Partition}:states:::lambda:invoke', Parameters: { FunctionName: '${Fn}' }, End: true } } };
    expect(() => checkSubstitutions(def, { Partition: 'aws', Fn: 'f' }, 'Stack/Stage')).not.toThrow();
    expect(() => checkSubstitutions(def, { Partition: 'aws' }, 'Stack/Stage')).toThrow('Stack/Stage: no substitution for ${Fn}');
    expect(() => checkSubstitutions(def, { Partition: 'aws', Fn: 'f', Extra: 'e' }, 'Stack/Stage')).toThrow('Stack/Stage: substitutions not used by the definition: Extra');
  });
});
