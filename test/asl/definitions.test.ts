import * as fs from 'fs';
import * as path from 'path';

/*
 * Static checks of the ASL files this library ships: JSONPath only, every state reachable, every
 * Next/Default/Catch target defined, reserved error names spelled as Step Functions spells them.
 */

const ASL_DIR = path.join(__dirname, '..', '..', 'src', 'asl');
const FILES = ['initiate-retrieval.asl.json', 'download-window-extension.asl.json'];

const RESERVED = new Set([
  'States.ALL', 'States.DataLimitExceeded', 'States.ExceedToleratedFailureThreshold', 'States.HeartbeatTimeout', 'States.Http.Socket',
  'States.IntrinsicFailure', 'States.ItemReaderFailed', 'States.NoChoiceMatched', 'States.ParameterPathFailure', 'States.Permissions',
  'States.ResultPathMatchFailure', 'States.ResultWriterFailed', 'States.Runtime', 'States.TaskFailed', 'States.Timeout',
  'States.BranchFailed', 'States.QueryEvaluationError',
]);
const LAMBDA_ERRORS = new Set([
  'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException', 'Lambda.Unknown',
]);
const OUR_ERRORS = new Set(['RetrievalPolicyEnforcedError', 'RetrievalCapacityUnavailableError', 'InvalidBatchInputError', 'InvalidRecoveryInputError']);

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

describe.each(FILES)('%s', (file) => {
  const text = fs.readFileSync(path.join(ASL_DIR, file), 'utf8');
  const def = JSON.parse(text);

  test('parses as JSON and uses JSONPath only (no JSONata, Assign, Output, Arguments, QueryLanguage)', () => {
    expect(def.QueryLanguage).toBeUndefined();
    const forbidden: string[] = [];
    walk(def, (key, v) => {
      if (['Assign', 'Output', 'Arguments', 'QueryLanguage'].includes(key)) forbidden.push(key);
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

  test('Retry and Catch name only reserved States.*/Lambda.* errors or the errors our handlers throw', () => {
    const names: string[] = [];
    walk(def, (key, v) => {
      if ((key === 'Retry' || key === 'Catch') && Array.isArray(v)) for (const r of v) names.push(...r.ErrorEquals);
    });
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const known = RESERVED.has(name) || LAMBDA_ERRORS.has(name) || OUR_ERRORS.has(name);
      expect({ name, known }).toEqual({ name, known: true });
    }
    expect(text).not.toMatch(/States\.All\b/);
  });

  test('every Distributed Map batches, writes its results to S3 and runs STANDARD children', () => {
    const maps: any[] = [];
    walk(def, (_k, v: any) => {
      if (v && typeof v === 'object' && v.Type === 'Map') maps.push(v);
    });
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
      expect(map.ResultWriter.Resource).toBe('arn:${Partition}:states:::s3:putObject');
      expect(map.ResultWriter.Parameters.Prefix).toMatch(/^tmp\//);
      expect(map.ResultPath).toBeNull();
    }
    const batchers = maps.filter((m) => m.ItemBatcher);
    expect(batchers.length).toBe(1);
    expect(batchers[0].ItemBatcher.MaxItemsPerBatch).toBe(100);
  });

  test('placeholders are simple names (substituted by the construct)', () => {
    const placeholders = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
    expect(placeholders.length).toBeGreaterThan(0);
    for (const p of placeholders) expect(p).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
  });
});
