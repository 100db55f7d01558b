/*
 * The unit tests' one DynamoDB: tables in memory behind a mocked DynamoDBDocumentClient (every
 * instance's send), with one evaluator for condition, key-condition, filter and update expressions.
 * As DynamoDB does: the transfer table's two indexes (StatusIndex: runStatus + statusTime, all
 * attributes; JobIdIndex: jobId, keys only), ProjectionExpression, the filter applied after the
 * page is read, a ValidationException for a reserved word used as an attribute name without a `#`
 * alias, for an expression name or value that is unused or undefined, for a consistent read on an
 * index and for two operations of a transaction on one item. Query pages hold `pageSize` items
 * (DynamoDB's 1 MB, made small) so pagination always runs.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { awsError, Double, meta } from './service';
import { TransferTable } from '../../src/contract/keys';

export type Item = Record<string, any>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

const failMeta = { ...meta, httpStatusCode: 400 };

/** A deep copy; undefined attributes are dropped (the handlers' client sets removeUndefinedValues). */
export function clone<T>(value: T): T {
  if (value instanceof Set) return new Set(value) as T;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, clone(v)])) as T;
  }
  return value;
}

const validation = (message: string): Error => awsError('ValidationException', 400, message);

const conditionFailed = (item?: Item) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: failMeta, Item: item as never });

const tokenize = (expr: string): string[] => expr.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];

/** DynamoDB's reserved words (developer guide, "Reserved words in DynamoDB"), not case-sensitive. */
const RESERVED = new Set(readFileSync(join(__dirname, 'dynamodb-reserved-words.txt'), 'utf8').split(/\s+/).filter(Boolean));
/** Words of the expression grammar itself, and functions (a name followed by '('), are not attribute names. */
const GRAMMAR = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'SET', 'REMOVE', 'ADD', 'DELETE']);

/**
 * DynamoDB's checks of the request's expressions (`fields`): no reserved word as an attribute name
 * (it must be aliased with `#`), every name and value given is used, and every one used is given.
 */
function checkExpressions(input: Item, fields: string[]): void {
  const used = new Set<string>();
  for (const field of fields.filter((f) => input[f] !== undefined)) {
    const tokens = tokenize(input[field]);
    tokens.forEach((t, i) => {
      const word = t.toUpperCase();
      if (/^[#:]/.test(t)) used.add(t);
      if (RESERVED.has(word) && !GRAMMAR.has(word) && tokens[i + 1] !== '(') {
        throw validation(`Invalid ${field}: Attribute name is a reserved keyword; reserved keyword: ${t}`);
      }
    });
  }
  for (const [prefix, given, what] of [['#', input.ExpressionAttributeNames, 'ExpressionAttributeNames'], [':', input.ExpressionAttributeValues, 'ExpressionAttributeValues']] as const) {
    const keys = Object.keys(given ?? {});
    const unused = keys.filter((k) => !used.has(k));
    if (unused.length) throw validation(`Value provided in ${what} unused in expressions: keys: {${unused.join(', ')}}`);
    const missing = [...used].filter((t) => t.startsWith(prefix) && !keys.includes(t));
    if (missing.length) throw validation(`An expression attribute ${prefix === '#' ? 'name' : 'value'} used in expression is not defined: ${missing[0]}`);
  }
}

function compare(op: string, left: unknown, right: unknown): boolean {
  if (op === '<>') return left !== right;
  if (left === undefined || right === undefined) return false;
  if (op === '=') return left === right;
  if (typeof left !== typeof right || (typeof left !== 'string' && typeof left !== 'number')) return false;
  const l = left as string | number;
  const r = right as string | number;
  switch (op) {
    case '<': return l < r;
    case '<=': return l <= r;
    case '>': return l > r;
    case '>=': return l >= r;
    default: throw new Error(`the DynamoDB double does not implement operator ${op}`);
  }
}

/** Evaluates a condition (also key-condition, filter) expression against `item` (undefined: no item). */
export function evaluate(expr: string, item: Item | undefined, names: Names, values: Values): boolean {
  const tokens = tokenize(expr);
  let pos = 0;
  const attr = (t: string): string => (t.startsWith('#') ? names![t] : t);
  const operand = (): unknown => {
    const t = tokens[pos++];
    return t.startsWith(':') ? values![t] : item?.[attr(t)];
  };
  const primary = (): boolean => {
    const t = tokens[pos];
    if (t === '(') {
      pos++;
      const v = or();
      pos++; // ')'
      return v;
    }
    if (t === 'NOT') {
      pos++;
      return !primary();
    }
    if (t === 'attribute_exists' || t === 'attribute_not_exists' || t === 'begins_with') {
      pos += 2; // name, '('
      const name = attr(tokens[pos]);
      const value = operand();
      let prefix: unknown;
      if (t === 'begins_with') {
        pos++; // ','
        prefix = operand();
      }
      pos++; // ')'
      if (t === 'begins_with') return typeof value === 'string' && typeof prefix === 'string' && value.startsWith(prefix);
      const exists = item !== undefined && item[name] !== undefined;
      return t === 'attribute_exists' ? exists : !exists;
    }
    const left = operand();
    const op = tokens[pos++];
    if (op === 'IN') {
      pos++; // '('
      const list: unknown[] = [];
      while (tokens[pos] !== ')') {
        if (tokens[pos] === ',') pos++;
        else list.push(operand());
      }
      pos++;
      return left !== undefined && list.includes(left);
    }
    return compare(op, left, operand());
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[pos] === 'AND') {
      pos++;
      const r = primary();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[pos] === 'OR') {
      pos++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  return or();
}

/** Applies `SET a = :v | if_not_exists(a, :v), … REMOVE x, … ADD n :v, …` (numbers and sets) to `item`. */
export function applyUpdate(expr: string, item: Item, names: Names, values: Values): void {
  const attr = (t: string): string => (t.startsWith('#') ? names![t] : t);
  const seen = new Set<string>();
  for (const clause of expr.split(/\b(?=SET |REMOVE |ADD )/).map((c) => c.trim()).filter(Boolean)) {
    const [keyword, ...rest] = clause.split(' ');
    for (const part of rest.join(' ').split(/,(?![^(]*\))/).map((p) => p.trim()).filter(Boolean)) {
      const target = attr(part.split(/[\s=]/)[0]);
      if (seen.has(target)) throw validation(`Invalid UpdateExpression: Two document paths overlap with each other; [${target}]`);
      seen.add(target);
      if (keyword === 'SET') {
        const right = part.slice(part.indexOf('=') + 1).trim();
        const ifNotExists = /^if_not_exists\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)$/.exec(right);
        if (ifNotExists) item[target] = item[attr(ifNotExists[1])] ?? clone(values![ifNotExists[2]]);
        else if (/^:\w+$/.test(right)) item[target] = clone(values![right]);
        else throw new Error(`the DynamoDB double does not implement SET ${part}`);
      } else if (keyword === 'REMOVE') {
        delete item[target];
      } else if (keyword === 'ADD') {
        const value = values![part.split(/\s+/)[1]];
        if (value instanceof Set) item[target] = new Set([...((item[target] as Set<unknown> | undefined) ?? []), ...value]);
        else item[target] = ((item[target] as number | undefined) ?? 0) + (value as number);
      } else {
        throw new Error(`the DynamoDB double does not implement update clause ${clause}`);
      }
    }
  }
}

/** Key attributes of the table and its indexes. */
const INDEXES: Record<string, { readonly hash: string; readonly range?: string; readonly keysOnly?: boolean }> = {
  [TransferTable.statusIndex]: { hash: TransferTable.statusIndexPartition, range: TransferTable.statusIndexSort },
  [TransferTable.jobIdIndex]: { hash: TransferTable.jobIdAttribute, keysOnly: true },
};

/** Tables by name, items keyed by `pk` (+ `sk` when the key has one). */
export class FakeDynamo extends Double {
  public readonly tables = new Map<string, Map<string, Item>>();
  public readonly client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  /** JobIdIndex entries that outlive the item's change (the index is eventually consistent), by job id. */
  public readonly staleJobIndex = new Map<string, Item>();
  /** Items per Query page. */
  public pageSize = 2;
  /** Every Query input, in order. */
  public readonly queries: Item[] = [];

  constructor() {
    super(DynamoDBDocumentClient);
    this.serve(GetCommand, (i: Item) => {
      checkExpressions(i, ['ProjectionExpression']);
      const item = this.table(i.TableName).get(this.key(i.Key));
      return { Item: item && this.project(item, i) };
    });
    this.serve(BatchGetCommand, (i: Item) => ({
      Responses: Object.fromEntries(Object.entries(i.RequestItems as Record<string, Item>).map(([name, request]) => {
        checkExpressions(request, ['ProjectionExpression']);
        return [name, (request.Keys as Item[]).map((k) => this.table(name).get(this.key(k))).filter(Boolean).map((it) => this.project(it!, request))];
      })),
      UnprocessedKeys: {},
    }));
    this.serve(PutCommand, (i: Item) => ({ Attributes: this.returned(i, this.put(i)) }));
    this.serve(UpdateCommand, (i: Item) => {
      const [before, after] = this.update(i);
      return { Attributes: i.ReturnValues === 'ALL_NEW' ? clone(after) : this.returned(i, before) };
    });
    this.serve(DeleteCommand, (i: Item) => ({ Attributes: this.returned(i, this.delete(i)) }));
    this.serve(QueryCommand, (i: Item) => this.query(i));
    this.serve(TransactWriteCommand, (i: Item) => this.transact(i.TransactItems as Item[]));
  }

  public table(name: string): Map<string, Item> {
    let table = this.tables.get(name);
    if (!table) this.tables.set(name, (table = new Map()));
    return table;
  }

  public key(k: Item): string {
    return k.sk === undefined ? String(k.pk) : `${k.pk}|${k.sk}`;
  }

  public seed(table: string, item: Item): void {
    this.table(table).set(this.key(item), clone(item));
  }

  public get(table: string, pk: string, sk?: string): Item | undefined {
    return this.table(table).get(this.key({ pk, sk }));
  }

  /** Validates the request and throws ConditionalCheckFailed unless its condition holds (`checked`: done already, in a transaction). */
  private require(op: Item, existing: Item | undefined, checked = false): void {
    if (checked) return;
    checkExpressions(op, ['ConditionExpression', 'UpdateExpression']);
    if (op.ConditionExpression && !evaluate(op.ConditionExpression, existing, op.ExpressionAttributeNames, op.ExpressionAttributeValues)) {
      throw conditionFailed(op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? clone(existing) : undefined);
    }
  }

  private returned(op: Item, old: Item | undefined): Item | undefined {
    return op.ReturnValues === 'ALL_OLD' ? clone(old) : undefined;
  }

  private put(op: Item, checked = false): Item | undefined {
    const table = this.table(op.TableName);
    const existing = table.get(this.key(op.Item));
    this.require(op, existing, checked);
    table.set(this.key(op.Item), clone(op.Item));
    return existing;
  }

  private update(op: Item, checked = false): [Item | undefined, Item] {
    const table = this.table(op.TableName);
    const existing = table.get(this.key(op.Key));
    this.require(op, existing, checked);
    const item = clone(existing ?? op.Key);
    applyUpdate(op.UpdateExpression, item, op.ExpressionAttributeNames, op.ExpressionAttributeValues);
    table.set(this.key(op.Key), item);
    return [existing, item];
  }

  private delete(op: Item, checked = false): Item | undefined {
    const table = this.table(op.TableName);
    const existing = table.get(this.key(op.Key));
    this.require(op, existing, checked);
    table.delete(this.key(op.Key));
    return existing;
  }

  private transact(ops: Item[]): object {
    const parsed = ops.map((op) => {
      const [kind, body] = Object.entries(op)[0] as [string, Item];
      return { kind, body, key: `${body.TableName}/${this.key(kind === 'Put' ? body.Item : body.Key)}` };
    });
    if (new Set(parsed.map((p) => p.key)).size !== parsed.length) throw validation('Transaction request cannot include multiple operations on one item');
    const reasons = parsed.map(({ kind, body }) => {
      try {
        this.require(body, this.table(body.TableName).get(this.key(kind === 'Put' ? body.Item : body.Key)));
        return { Code: 'None' };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        return { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
      }
    });
    if (reasons.some((r) => r.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        CancellationReasons: reasons,
        $metadata: failMeta,
      });
    }
    for (const { kind, body } of parsed) {
      if (kind === 'Put') this.put(body, true);
      else if (kind === 'Update') this.update(body, true);
      else if (kind === 'Delete') this.delete(body, true);
    }
    return {};
  }

  /** The item as the request's ProjectionExpression (and a keys-only index) leaves it. */
  private project(item: Item, op: Item, keysOnly = false): Item {
    const names: string[] | undefined = op.ProjectionExpression?.split(',').map((t: string) => t.trim())
      .map((t: string) => (t.startsWith('#') ? op.ExpressionAttributeNames[t] : t));
    const kept = keysOnly ? ['pk', 'sk', TransferTable.jobIdAttribute] : names;
    return clone(kept ? Object.fromEntries(Object.entries(item).filter(([k]) => kept.includes(k))) : item);
  }

  private query(op: Item): object {
    this.queries.push(op);
    checkExpressions(op, ['KeyConditionExpression', 'FilterExpression', 'ProjectionExpression']);
    const index = op.IndexName === undefined ? { hash: 'pk', range: 'sk' } : INDEXES[op.IndexName];
    if (!index) throw validation(`The table does not have the specified index: ${op.IndexName}`);
    if (op.IndexName && op.ConsistentRead) throw validation('Consistent reads are not supported on global secondary indexes');
    const keyOf = (it: Item) => `${it[index.range ?? 'pk'] ?? ''}|${this.key(it)}`;
    const inKey = (it: Item) => evaluate(op.KeyConditionExpression, it, op.ExpressionAttributeNames, op.ExpressionAttributeValues);
    let all = [...this.table(op.TableName).values()].filter(inKey);
    const stale = op.IndexName === TransferTable.jobIdIndex ? [...this.staleJobIndex.values()].filter(inKey) : [];
    all = [...all, ...stale].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    if (op.ScanIndexForward === false) all.reverse();
    const start = op.ExclusiveStartKey ? all.findIndex((it) => this.key(it) === this.key(op.ExclusiveStartKey)) + 1 : 0;
    const limit = Math.min(op.Limit ?? Infinity, this.pageSize);
    const page = all.slice(start, start + limit);
    const filter = (it: Item) => !op.FilterExpression || evaluate(op.FilterExpression, it, op.ExpressionAttributeNames, op.ExpressionAttributeValues);
    const matching = page.filter(filter);
    const tail = page[page.length - 1];
    const indexKeys = [index.hash, index.range].filter((k): k is string => k !== undefined);
    const last = start + limit < all.length ? clone(Object.fromEntries(['pk', 'sk', ...indexKeys].map((k) => [k, tail[k]]))) : undefined;
    const items = matching.map((it) => this.project(it, op, index.keysOnly));
    return { Items: items, Count: matching.length, ScannedCount: page.length, LastEvaluatedKey: last };
  }
}

/** One table of a FakeDynamo, named once (the stores under test write to one table). */
export class FakeTable {
  constructor(public readonly name = 'transfer', public readonly dynamo = new FakeDynamo()) {}

  public get items(): Map<string, Item> {
    return this.dynamo.table(this.name);
  }

  public get(pk: string, sk?: string): Item | undefined {
    return this.dynamo.get(this.name, pk, sk);
  }

  public seed(item: Item): void {
    this.dynamo.seed(this.name, item);
  }
}
