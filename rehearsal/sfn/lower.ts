/**
 * ASL lowering: turns a real `src/asl/*.asl.json` definition into something aws-local-stepfunctions
 * 3.0.0 executes faithfully, and refuses loudly everything it would silently ignore or get wrong.
 *
 * See rehearsal/sfn/README.md for the full list; in short:
 * - `${Name}` placeholders (CDK `definitionSubstitutions`) are substituted; any left over is an error.
 * - JSONata, variables (`Assign`), `Output`/`Arguments`, unknown fields, unknown Resource integrations,
 *   `*Path` timeouts, `Credentials` and duplicate state names (overrides are keyed by state name) are refused.
 * - Every Task keeps its Resource (classified into an {@link Integration}) but gets a huge interpreter
 *   timeout: the interpreter would otherwise apply its own 60 s *wall-clock* default; the real
 *   `TimeoutSeconds` / `HeartbeatSeconds` are enforced by the runner on its (virtual) clock.
 * - A `ProcessorConfig.Mode: DISTRIBUTED` Map becomes a Task (Resource {@link DISTRIBUTED_MAP_RESOURCE})
 *   whose `Parameters` make the interpreter evaluate every dynamic field (ItemsPath, ItemReader
 *   parameters, BatchInput, *Path limits) against the Map's effective input; the runner's handler
 *   then reads items (ItemReader), applies ItemSelector, batches (ItemBatcher), runs the
 *   ItemProcessor once per item/batch as its own interpreter StateMachine, honours MaxConcurrency and
 *   ToleratedFailure*, and writes results (ResultWriter). Retry/Catch/ResultSelector/ResultPath/
 *   OutputPath stay on the Task, so the interpreter applies them exactly like on the Map.
 * - Catchers/retriers naming `States.Timeout` also get `States.HeartbeatTimeout` (AWS matches a
 *   heartbeat timeout with `States.Timeout`; the interpreter compares names literally).
 */
import { StateMachine } from './interpreter';
import { placeholderPattern } from '../../src/asl/definitions';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type AslObject = Record<string, any>;

/** Resource used for lowered Distributed Map states. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::rehearsal:distributedMap';
/** Resource used for Wait states lowered to clock-driven Tasks (`lowerWaits: true`). */
export const CLOCK_WAIT_RESOURCE = 'arn:aws:states:::rehearsal:wait';
/**
 * Interpreter-level timeout put on every Task. The interpreter uses setTimeout(TimeoutSeconds*1000),
 * so it must stay below 2^31 ms (≈24.8 days) or node fires it immediately.
 */
export const INTERPRETER_TASK_TIMEOUT_SECONDS = 2_147_483;
/** Value of `$$.Task.Token` inside the interpreter; the runner replaces it with a real token. */
export const TASK_TOKEN_PLACEHOLDER = '__REHEARSAL_TASK_TOKEN__';

export class LoweringError extends Error {
  constructor(
    public readonly stateName: string | undefined,
    public readonly feature: string,
    detail: string,
  ) {
    super(`${stateName ? `State '${stateName}'` : 'State machine'}: ${feature} — ${detail}`);
    this.name = 'LoweringError';
  }
}

export type Integration =
  | { kind: 'lambda-invoke'; waitForTaskToken: boolean; staticFunctionName?: string }
  | { kind: 'lambda-arn'; functionArn: string }
  | { kind: 'aws-sdk'; service: string; action: string; waitForTaskToken: boolean }
  | { kind: 'dynamodb'; action: 'putItem' | 'getItem' | 'updateItem' | 'deleteItem'; waitForTaskToken: boolean }
  | { kind: 'sqs-send'; waitForTaskToken: boolean }
  | { kind: 'sns-publish'; waitForTaskToken: boolean }
  | { kind: 'events-put'; waitForTaskToken: boolean }
  | { kind: 'start-execution'; mode: 'async' | 'sync' | 'sync:2'; waitForTaskToken: boolean }
  | { kind: 'distributed-map' }
  | { kind: 'clock-wait' };

export interface TaskInfo {
  readonly stateName: string;
  readonly resource: string;
  readonly integration: Integration;
  /** Original TimeoutSeconds (enforced by the runner on its clock). */
  readonly timeoutSeconds?: number;
  /** Original HeartbeatSeconds (enforced by the runner for `.waitForTaskToken` tasks). */
  readonly heartbeatSeconds?: number;
  /** Where the state sits, e.g. `States.Fan.ItemProcessor.States.Work`. */
  readonly path: string;
}

export type ItemReaderPlan =
  | { kind: 'getObject'; inputType: 'CSV' | 'JSON' | 'JSONL'; csvHeaderLocation?: 'FIRST_ROW' | 'GIVEN'; csvHeaders?: string[]; csvDelimiter?: string }
  | { kind: 'listObjectsV2' };

export interface DistributedMapPlan {
  readonly stateName: string;
  /** Lowered ItemProcessor, ready for `new StateMachine(processor)`. */
  readonly processor: AslObject;
  readonly itemSelector?: Json;
  readonly itemReader?: ItemReaderPlan;
  readonly batching: boolean;
  readonly resultWriter: boolean;
  readonly label?: string;
}

export interface LoweredDefinition {
  /** Interpreter-ready definition (root). */
  readonly definition: AslObject;
  /** Every Task state of the whole tree (nested processors and branches included), by state name. */
  readonly tasks: Record<string, TaskInfo>;
  /** Lowered Distributed Maps by state name. */
  readonly maps: Record<string, DistributedMapPlan>;
  /** Wait states kept as Wait (static `Seconds` when known), by state name. */
  readonly waits: Record<string, { seconds?: number }>;
  /** Retriers' IntervalSeconds (default 1) for every state with a Retry field, by state name. */
  readonly retries: Record<string, number[]>;
  /** All state names, in walk order. */
  readonly stateNames: string[];
  /** Top-level TimeoutSeconds (stripped from the definition; the runner enforces it on its clock). */
  readonly timeoutSeconds?: number;
}

export interface LowerOptions {
  /** The runner implements ToleratedFailurePercentage/Count (default true). */
  readonly supportsToleratedFailure?: boolean;
  /** The runner implements ResultWriter (default true). */
  readonly supportsResultWriter?: boolean;
  /** Lower Wait states into Tasks that wait on the runner's clock (default false: Wait stays a Wait). */
  readonly lowerWaits?: boolean;
  /** Validate the source definition with the interpreter's validator, asl-validator (default true). */
  readonly validate?: boolean;
}

/** Substitutes CDK-style `${Name}` placeholders; throws listing every unresolved one. */
export function substitutePlaceholders(asl: string | AslObject, substitutions: Record<string, string> = {}): AslObject {
  const text = typeof asl === 'string' ? asl : JSON.stringify(asl);
  const missing = new Set<string>();
  const replaced = text.replace(placeholderPattern(), (whole, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(substitutions, name)) {
      missing.add(name);
      return whole;
    }
    // Escaped as JSON string content (ARNs and names come out unchanged).
    return JSON.stringify(String(substitutions[name])).slice(1, -1);
  });
  if (missing.size > 0) {
    throw new LoweringError(undefined, 'unresolved placeholder', `no substitution for ${[...missing].map((n) => `\${${n}}`).join(', ')}`);
  }
  try {
    return JSON.parse(replaced);
  } catch (e) {
    throw new LoweringError(undefined, 'invalid JSON', (e as Error).message);
  }
}

const COMMON = ['Type', 'Comment', 'Next', 'End'];
const IO = ['InputPath', 'OutputPath'];
const ALLOWED: Record<string, string[]> = {
  Pass: [...COMMON, ...IO, 'Parameters', 'Result', 'ResultPath'],
  Task: [...COMMON, ...IO, 'Resource', 'Parameters', 'ResultSelector', 'ResultPath', 'Retry', 'Catch', 'TimeoutSeconds', 'HeartbeatSeconds'],
  Choice: ['Type', 'Comment', ...IO, 'Choices', 'Default'],
  Wait: [...COMMON, ...IO, 'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'],
  Succeed: ['Type', 'Comment', ...IO],
  Fail: ['Type', 'Comment', 'Error', 'Cause', 'ErrorPath', 'CausePath'],
  Parallel: [...COMMON, ...IO, 'Branches', 'Parameters', 'ResultSelector', 'ResultPath', 'Retry', 'Catch'],
  Map: [...COMMON, ...IO, 'ItemProcessor', 'Iterator', 'ItemsPath', 'ItemSelector', 'Parameters', 'MaxConcurrency', 'MaxConcurrencyPath',
    'ResultSelector', 'ResultPath', 'Retry', 'Catch', 'ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage',
    'ToleratedFailurePercentagePath', 'ToleratedFailureCount', 'ToleratedFailureCountPath', 'Label'],
};
const DISTRIBUTED_ONLY = ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage', 'ToleratedFailurePercentagePath',
  'ToleratedFailureCount', 'ToleratedFailureCountPath', 'Label'];
const JSONATA_ONLY = ['Assign', 'Output', 'Arguments', 'Items', 'Condition'];
const ROOT_FIELDS = ['StartAt', 'States', 'Comment', 'Version', 'TimeoutSeconds', 'QueryLanguage'];
const PROCESSOR_FIELDS = ['StartAt', 'States', 'Comment', 'ProcessorConfig', 'QueryLanguage'];
const RETRIER_FIELDS = ['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy', 'Comment'];
const CATCHER_FIELDS = ['ErrorEquals', 'Next', 'ResultPath', 'Comment'];

/** Classifies a Task Resource; throws for integrations the runner cannot perform. */
export function classifyResource(stateName: string, resource: unknown, parameters?: AslObject): Integration {
  if (typeof resource !== 'string') throw new LoweringError(stateName, 'Resource', 'missing or not a string');
  if (/^arn:aws[\w-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource)) {
    return { kind: 'lambda-arn', functionArn: resource };
  }
  const m = /^arn:aws[\w-]*:states:::(.+)$/.exec(resource);
  if (!m) throw new LoweringError(stateName, 'unknown Resource integration', resource);
  let rest = m[1];
  const waitForTaskToken = rest.endsWith('.waitForTaskToken');
  if (waitForTaskToken) rest = rest.slice(0, -'.waitForTaskToken'.length);
  const sdk = /^aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(rest);
  if (sdk) return { kind: 'aws-sdk', service: sdk[1], action: sdk[2], waitForTaskToken };
  // `arn:aws:states:::s3:<action>` is accepted as an alias of aws-sdk:s3 (not an AWS optimised integration for Tasks).
  const s3 = /^s3:([A-Za-z0-9]+)$/.exec(rest);
  if (s3) return { kind: 'aws-sdk', service: 's3', action: s3[1], waitForTaskToken };
  switch (rest) {
    case 'lambda:invoke': {
      const fn = parameters?.FunctionName;
      return { kind: 'lambda-invoke', waitForTaskToken, staticFunctionName: typeof fn === 'string' ? fn : undefined };
    }
    case 'dynamodb:putItem':
    case 'dynamodb:getItem':
    case 'dynamodb:updateItem':
    case 'dynamodb:deleteItem':
      return { kind: 'dynamodb', action: rest.split(':')[1] as 'putItem', waitForTaskToken };
    case 'sqs:sendMessage':
      return { kind: 'sqs-send', waitForTaskToken };
    case 'sns:publish':
      return { kind: 'sns-publish', waitForTaskToken };
    case 'events:putEvents':
      return { kind: 'events-put', waitForTaskToken };
    case 'states:startExecution':
      return { kind: 'start-execution', mode: 'async', waitForTaskToken };
    case 'states:startExecution.sync':
      return { kind: 'start-execution', mode: 'sync', waitForTaskToken };
    case 'states:startExecution.sync:2':
      return { kind: 'start-execution', mode: 'sync:2', waitForTaskToken };
    default:
      throw new LoweringError(stateName, 'unknown Resource integration', resource);
  }
}

function checkFields(stateName: string | undefined, obj: AslObject, allowed: string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (JSONATA_ONLY.includes(key)) {
      throw new LoweringError(stateName, `${key} (JSONata / variables)`, `field '${key}' in ${where} is ignored by aws-local-stepfunctions; keep the ASL JSONPath-only without variables`);
    }
    if (key === 'QueryLanguage') continue;
    if (!allowed.includes(key)) {
      throw new LoweringError(stateName, `unsupported field '${key}'`, `in ${where}; the local interpreter would silently ignore it`);
    }
  }
}

function checkQueryLanguage(stateName: string | undefined, obj: AslObject): void {
  if (obj.QueryLanguage !== undefined && obj.QueryLanguage !== 'JSONPath') {
    throw new LoweringError(stateName, `QueryLanguage: ${obj.QueryLanguage}`, 'only JSONPath is supported by aws-local-stepfunctions (JSONata is silently ignored)');
  }
}

function expandTimeoutErrors(errors: unknown): unknown {
  if (!Array.isArray(errors)) return errors;
  return errors.includes('States.Timeout') && !errors.includes('States.HeartbeatTimeout') ? [...errors, 'States.HeartbeatTimeout'] : errors;
}

function lowerRetryCatch(stateName: string, state: AslObject, out: AslObject, retries: Record<string, number[]>): void {
  if (state.Retry !== undefined) {
    if (!Array.isArray(state.Retry)) throw new LoweringError(stateName, 'Retry', 'must be an array');
    out.Retry = state.Retry.map((r: AslObject) => {
      checkFields(stateName, r, RETRIER_FIELDS, 'a Retry entry');
      return { ...r, ErrorEquals: expandTimeoutErrors(r.ErrorEquals) };
    });
    retries[stateName] = state.Retry.map((r: AslObject) => (typeof r.IntervalSeconds === 'number' ? r.IntervalSeconds : 1));
  }
  if (state.Catch !== undefined) {
    if (!Array.isArray(state.Catch)) throw new LoweringError(stateName, 'Catch', 'must be an array');
    out.Catch = state.Catch.map((c: AslObject) => {
      checkFields(stateName, c, CATCHER_FIELDS, 'a Catch entry');
      return { ...c, ErrorEquals: expandTimeoutErrors(c.ErrorEquals) };
    });
  }
}

function checkChoiceRules(stateName: string, rules: unknown): void {
  const visit = (rule: unknown): void => {
    if (!rule || typeof rule !== 'object') return;
    for (const key of Object.keys(rule)) {
      if (key === 'Condition' || key === 'Assign' || key === 'Output') {
        throw new LoweringError(stateName, `${key} (JSONata / variables)`, `Choice rule field '${key}' is not supported by aws-local-stepfunctions`);
      }
    }
    const r = rule as AslObject;
    if (Array.isArray(r.And)) r.And.forEach(visit);
    if (Array.isArray(r.Or)) r.Or.forEach(visit);
    if (r.Not) visit(r.Not);
  };
  if (Array.isArray(rules)) rules.forEach(visit);
}

/** Adds `key` (static) or `key.$` (path) from `state[field]` / `state[field + 'Path']` to `params`. */
function staticOrPath(params: AslObject, key: string, state: AslObject, field: string): void {
  if (state[field] !== undefined) params[key] = state[field];
  if (state[`${field}Path`] !== undefined) params[`${key}.$`] = state[`${field}Path`];
}

class Lowerer {
  public readonly tasks: Record<string, TaskInfo> = {};
  public readonly maps: Record<string, DistributedMapPlan> = {};
  public readonly waits: Record<string, { seconds?: number }> = {};
  public readonly retries: Record<string, number[]> = {};
  public readonly stateNames: string[] = [];
  private readonly seen = new Map<string, string>();

  constructor(private readonly options: LowerOptions) {}

  public machine(def: AslObject, path: string, kind: 'root' | 'processor' | 'branch'): AslObject {
    if (!def || typeof def !== 'object') throw new LoweringError(undefined, 'definition', `${path} is not an object`);
    checkQueryLanguage(undefined, def);
    checkFields(undefined, def, kind === 'root' ? ROOT_FIELDS : kind === 'processor' ? PROCESSOR_FIELDS : ROOT_FIELDS.filter((f) => f !== 'TimeoutSeconds' && f !== 'Version'), path);
    if (typeof def.StartAt !== 'string' || !def.States || typeof def.States !== 'object') {
      throw new LoweringError(undefined, 'definition', `${path} needs StartAt and States`);
    }
    const states: AslObject = {};
    for (const [name, state] of Object.entries<AslObject>(def.States)) {
      const statePath = `${path ? `${path}.` : ''}States.${name}`;
      const previous = this.seen.get(name);
      if (previous !== undefined) {
        throw new LoweringError(name, 'duplicate state name', `also at ${previous}; local overrides are keyed by state name, so names must be unique across nested processors and branches`);
      }
      this.seen.set(name, statePath);
      this.stateNames.push(name);
      states[name] = this.state(name, state, statePath);
    }
    const out: AslObject = { StartAt: def.StartAt, States: states };
    if (def.Comment !== undefined) out.Comment = def.Comment;
    if (kind === 'root' && def.Version !== undefined) out.Version = def.Version;
    return out;
  }

  private state(name: string, state: AslObject, path: string): AslObject {
    if (!state || typeof state !== 'object') throw new LoweringError(name, 'state', 'not an object');
    checkQueryLanguage(name, state);
    const allowed = ALLOWED[state.Type];
    if (!allowed) throw new LoweringError(name, `state Type '${state.Type}'`, 'unknown state type');
    const isDistributedMap = state.Type === 'Map' && (state.ItemProcessor ?? state.Iterator)?.ProcessorConfig?.Mode === 'DISTRIBUTED';
    checkFields(name, state, isDistributedMap || state.Type !== 'Map' ? allowed : allowed.filter((f) => !DISTRIBUTED_ONLY.includes(f)), `a ${state.Type} state`);
    const { QueryLanguage: _ql, ...out } = state;
    void _ql;
    switch (state.Type) {
      case 'Task':
        return this.task(name, state, out, path);
      case 'Parallel':
        lowerRetryCatch(name, state, out, this.retries);
        if (!Array.isArray(state.Branches)) throw new LoweringError(name, 'Branches', 'must be an array');
        out.Branches = state.Branches.map((b: AslObject, i: number) => this.machine(b, `${path}.Branches[${i}]`, 'branch'));
        return out;
      case 'Map':
        return isDistributedMap ? this.distributedMap(name, state, path) : this.inlineMap(name, state, out, path);
      case 'Choice':
        checkChoiceRules(name, state.Choices);
        return out;
      case 'Wait':
        return this.wait(name, state, out);
      default:
        return out;
    }
  }

  private task(name: string, state: AslObject, out: AslObject, path: string): AslObject {
    const integration = classifyResource(name, state.Resource, state.Parameters);
    lowerRetryCatch(name, state, out, this.retries);
    this.tasks[name] = {
      stateName: name,
      resource: state.Resource,
      integration,
      timeoutSeconds: state.TimeoutSeconds,
      heartbeatSeconds: state.HeartbeatSeconds,
      path,
    };
    delete out.HeartbeatSeconds;
    out.TimeoutSeconds = INTERPRETER_TASK_TIMEOUT_SECONDS;
    return out;
  }

  private wait(name: string, state: AslObject, out: AslObject): AslObject {
    if (!this.options.lowerWaits) {
      this.waits[name] = { seconds: typeof state.Seconds === 'number' ? state.Seconds : undefined };
      return out;
    }
    const params: AslObject = { 'Input.$': '$' };
    if (state.Seconds !== undefined) params.Seconds = state.Seconds;
    if (state.Timestamp !== undefined) params.Timestamp = state.Timestamp;
    if (state.SecondsPath !== undefined) params['Seconds.$'] = state.SecondsPath;
    if (state.TimestampPath !== undefined) params['Timestamp.$'] = state.TimestampPath;
    const task: AslObject = { Type: 'Task', Resource: CLOCK_WAIT_RESOURCE, Parameters: params, TimeoutSeconds: INTERPRETER_TASK_TIMEOUT_SECONDS };
    for (const f of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) if (state[f] !== undefined) task[f] = state[f];
    this.tasks[name] = { stateName: name, resource: CLOCK_WAIT_RESOURCE, integration: { kind: 'clock-wait' }, path: name };
    return task;
  }

  private inlineMap(name: string, state: AslObject, out: AslObject, path: string): AslObject {
    lowerRetryCatch(name, state, out, this.retries);
    const processorKey = state.ItemProcessor ? 'ItemProcessor' : 'Iterator';
    const processor = state[processorKey];
    if (!processor) throw new LoweringError(name, 'ItemProcessor', 'a Map state needs ItemProcessor (or Iterator)');
    const mode = processor.ProcessorConfig?.Mode;
    if (mode !== undefined && mode !== 'INLINE') throw new LoweringError(name, `ProcessorConfig.Mode ${mode}`, 'unknown Map mode');
    delete out.Iterator;
    out.ItemProcessor = this.machine(processor, `${path}.${processorKey}`, 'processor');
    return out;
  }

  private distributedMap(name: string, state: AslObject, path: string): AslObject {
    const processorKey = state.ItemProcessor ? 'ItemProcessor' : 'Iterator';
    const processorDef = state[processorKey] as AslObject;
    const processorConfig = processorDef.ProcessorConfig as AslObject;
    for (const key of Object.keys(processorConfig)) {
      if (key !== 'Mode' && key !== 'ExecutionType') throw new LoweringError(name, `ProcessorConfig.${key}`, 'not supported locally');
    }
    const processor = this.machine(processorDef, `${path}.${processorKey}`, 'processor');
    const params: AslObject = { 'Input.$': '$' };
    let itemReader: ItemReaderPlan | undefined;
    if (state.ItemReader) {
      if (state.ItemsPath !== undefined) throw new LoweringError(name, 'ItemsPath with ItemReader', 'AWS does not allow both');
      itemReader = this.itemReader(name, state.ItemReader);
      params.ReaderParameters = state.ItemReader.Parameters ?? {};
      staticOrPath(params, 'MaxItems', state.ItemReader.ReaderConfig ?? {}, 'MaxItems');
    } else {
      params['Items.$'] = state.ItemsPath ?? '$';
    }
    if (state.ItemBatcher) {
      const b = state.ItemBatcher as AslObject;
      checkFields(name, b, ['MaxItemsPerBatch', 'MaxItemsPerBatchPath', 'MaxInputBytesPerBatch', 'MaxInputBytesPerBatchPath', 'BatchInput'], 'ItemBatcher');
      const noLimit = b.MaxItemsPerBatch === undefined && b.MaxItemsPerBatchPath === undefined
        && b.MaxInputBytesPerBatch === undefined && b.MaxInputBytesPerBatchPath === undefined;
      if (noLimit) {
        throw new LoweringError(name, 'ItemBatcher', 'needs MaxItemsPerBatch or MaxInputBytesPerBatch');
      }
      staticOrPath(params, 'MaxItemsPerBatch', b, 'MaxItemsPerBatch');
      staticOrPath(params, 'MaxInputBytesPerBatch', b, 'MaxInputBytesPerBatch');
      if (b.BatchInput !== undefined) params.BatchInput = b.BatchInput;
    }
    if (state.ResultWriter) {
      if (this.options.supportsResultWriter === false) throw new LoweringError(name, 'ResultWriter', 'not implemented by this runner');
      const w = state.ResultWriter as AslObject;
      checkFields(name, w, ['Resource', 'Parameters'], 'ResultWriter (WriterConfig is not supported locally)');
      if (!/^arn:aws[\w-]*:states:::s3:putObject$/.test(w.Resource)) throw new LoweringError(name, 'ResultWriter.Resource', `unsupported ${w.Resource}`);
      params.WriterParameters = w.Parameters ?? {};
    }
    const tolerated = ['ToleratedFailurePercentage', 'ToleratedFailurePercentagePath', 'ToleratedFailureCount', 'ToleratedFailureCountPath'].some((f) => state[f] !== undefined);
    if (tolerated && this.options.supportsToleratedFailure === false) {
      throw new LoweringError(name, 'ToleratedFailurePercentage/Count', 'not implemented by this runner');
    }
    staticOrPath(params, 'ToleratedFailurePercentage', state, 'ToleratedFailurePercentage');
    staticOrPath(params, 'ToleratedFailureCount', state, 'ToleratedFailureCount');
    staticOrPath(params, 'MaxConcurrency', state, 'MaxConcurrency');

    const itemSelector = state.ItemSelector ?? state.Parameters;
    this.maps[name] = {
      stateName: name,
      processor,
      itemSelector,
      itemReader,
      batching: state.ItemBatcher !== undefined,
      resultWriter: state.ResultWriter !== undefined,
      label: state.Label,
    };
    this.tasks[name] = { stateName: name, resource: DISTRIBUTED_MAP_RESOURCE, integration: { kind: 'distributed-map' }, path };
    const task: AslObject = { Type: 'Task', Resource: DISTRIBUTED_MAP_RESOURCE, Parameters: params, TimeoutSeconds: INTERPRETER_TASK_TIMEOUT_SECONDS };
    for (const f of ['Comment', 'InputPath', 'ResultSelector', 'ResultPath', 'OutputPath', 'Next', 'End']) {
      if (state[f] !== undefined) task[f] = state[f];
    }
    lowerRetryCatch(name, state, task, this.retries);
    return task;
  }

  private itemReader(name: string, reader: AslObject): ItemReaderPlan {
    checkFields(name, reader, ['Resource', 'Parameters', 'ReaderConfig'], 'ItemReader');
    const config = (reader.ReaderConfig ?? {}) as AslObject;
    checkFields(name, config, ['InputType', 'CSVHeaderLocation', 'CSVHeaders', 'CSVDelimiter', 'MaxItems', 'MaxItemsPath'], 'ItemReader.ReaderConfig');
    const m = /^arn:aws[\w-]*:states:::s3:(getObject|listObjectsV2)$/.exec(String(reader.Resource));
    if (!m) throw new LoweringError(name, 'ItemReader.Resource', `unsupported ${reader.Resource} (only s3:getObject and s3:listObjectsV2)`);
    if (m[1] === 'listObjectsV2') {
      if (config.InputType !== undefined) throw new LoweringError(name, 'ItemReader.ReaderConfig.InputType', 'not allowed with s3:listObjectsV2');
      return { kind: 'listObjectsV2' };
    }
    const inputType = config.InputType;
    if (inputType === 'JSON' || inputType === 'JSONL') return { kind: 'getObject', inputType };
    if (inputType !== 'CSV') throw new LoweringError(name, `ItemReader InputType ${inputType}`, 'only CSV, JSON and JSONL are supported locally (MANIFEST/PARQUET are not)');
    const location = config.CSVHeaderLocation;
    if (location !== 'FIRST_ROW' && location !== 'GIVEN') throw new LoweringError(name, 'ItemReader.ReaderConfig.CSVHeaderLocation', 'must be FIRST_ROW or GIVEN');
    if (location === 'GIVEN' && (!Array.isArray(config.CSVHeaders) || config.CSVHeaders.length === 0)) {
      throw new LoweringError(name, 'ItemReader.ReaderConfig.CSVHeaders', 'required with CSVHeaderLocation GIVEN');
    }
    const delimiters: Record<string, string> = { COMMA: ',', PIPE: '|', SEMICOLON: ';', SPACE: ' ', TAB: '\t' };
    const delimiter = delimiters[config.CSVDelimiter ?? 'COMMA'];
    if (!delimiter) throw new LoweringError(name, 'ItemReader.ReaderConfig.CSVDelimiter', `unknown ${config.CSVDelimiter}`);
    return { kind: 'getObject', inputType: 'CSV', csvHeaderLocation: location, csvHeaders: config.CSVHeaders, csvDelimiter: delimiter };
  }
}

const validated = new Set<string>();

/**
 * Validates the (substituted, source) definition once with the interpreter's validator. asl-validator
 * recompiles its JSON schemas on every call (~300 ms) and mutates its input, so it gets a copy and
 * each distinct definition is validated only once per process.
 */
function validate(definition: AslObject): void {
  const text = JSON.stringify(definition);
  if (validated.has(text)) return;
  try {
    // eslint-disable-next-line no-new
    new StateMachine(JSON.parse(text), { validationOptions: { checkPaths: true, checkArn: true } });
  } catch (e) {
    throw new LoweringError(undefined, 'invalid definition', (e as Error).message);
  }
  validated.add(text);
}

/**
 * Substitutes placeholders, checks and lowers `asl` for aws-local-stepfunctions.
 * Throws {@link LoweringError} (naming the state and the feature) on anything unsupported.
 */
export function lowerDefinition(asl: string | AslObject, substitutions: Record<string, string> = {}, options: LowerOptions = {}): LoweredDefinition {
  const source = substitutePlaceholders(asl, substitutions);
  const lowerer = new Lowerer(options);
  const definition = lowerer.machine(source, '', 'root');
  if (options.validate !== false) validate(source);
  return {
    definition,
    tasks: lowerer.tasks,
    maps: lowerer.maps,
    waits: lowerer.waits,
    retries: lowerer.retries,
    stateNames: lowerer.stateNames,
    timeoutSeconds: typeof source.TimeoutSeconds === 'number' ? source.TimeoutSeconds : undefined,
  };
}
