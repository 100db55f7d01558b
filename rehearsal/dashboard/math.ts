/*
 * CloudWatch metric math over time series, the part the dashboard uses: + - * /, comparisons,
 * RATE, IF, FILL, SUM/MAX/MIN/AVG of a list. Semantics as CloudWatch documents them: an operation
 * on two series yields a point only where BOTH have one (hence FILL), RATE is the change per second
 * between consecutive points (none for the first), IF without a false value yields no point where
 * the condition is false, FILL gives every period of the queried range a value (a number, REPEAT:
 * the latest earlier value, LINEAR: interpolated). Anything else is an error naming it, so a widget
 * using math this evaluator does not know is reported, never silently empty.
 */

/** Period start (ms) → value, ascending. */
export type Series = ReadonlyMap<number, number>;

/** The periods of the queried range (ascending period starts), for FILL. */
export interface MathContext {
  readonly periods: readonly number[];
  readonly series: Readonly<Record<string, Series>>;
}

type Value = number | Series | Series[] | { keyword: string };

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'list'; items: Node[] }
  | { kind: 'bin'; op: string; left: Node; right: Node }
  | { kind: 'neg'; arg: Node };

function tokenize(expression: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(>=|<=|==|!=|[-+*/()<>,[\]]|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*)/y;
  let at = 0;
  while (at < expression.length) {
    if (/^\s*$/.test(expression.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(expression);
    if (!m) throw new Error(`metric math ${JSON.stringify(expression)}: cannot read from ${JSON.stringify(expression.slice(at))}`);
    tokens.push(m[1]);
    at = re.lastIndex;
  }
  return tokens;
}

export function parseMath(expression: string): Node {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const expect = (t: string): void => {
    if (tokens[i] !== t) throw new Error(`metric math ${JSON.stringify(expression)}: expected ${t} at token ${i} (${tokens[i] ?? 'end'})`);
    i++;
  };
  const comparison = (): Node => {
    const left = additive();
    const op = peek();
    if (op && ['>', '<', '>=', '<=', '==', '!='].includes(op)) {
      i++;
      return { kind: 'bin', op, left, right: additive() };
    }
    return left;
  };
  // One left-associative level of binary operators over the next level.
  const level = (ops: readonly string[], next: () => Node) => (): Node => {
    let left = next();
    while (ops.includes(peek() ?? '')) {
      const op = tokens[i++];
      left = { kind: 'bin', op, left, right: next() };
    }
    return left;
  };
  const multiplicative = level(['*', '/'], () => unary());
  const additive = level(['+', '-'], multiplicative);
  const unary = (): Node => {
    if (peek() === '-') {
      i++;
      return { kind: 'neg', arg: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`metric math ${JSON.stringify(expression)}: unexpected end`);
    if (t === '(') {
      const inner = comparison();
      expect(')');
      return inner;
    }
    if (t === '[') {
      const items: Node[] = [];
      while (peek() !== ']') {
        items.push(comparison());
        if (peek() === ',') i++;
      }
      expect(']');
      return { kind: 'list', items };
    }
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    if (/^[A-Za-z_]/.test(t)) {
      if (peek() !== '(') return { kind: 'id', name: t };
      i++;
      const args: Node[] = [];
      while (peek() !== ')') {
        args.push(comparison());
        if (peek() === ',') i++;
        else if (peek() !== ')') throw new Error(`metric math ${JSON.stringify(expression)}: expected , or ) in ${t}(…)`);
      }
      expect(')');
      return { kind: 'call', name: t.toUpperCase(), args };
    }
    throw new Error(`metric math ${JSON.stringify(expression)}: unexpected ${t}`);
  };
  const node = comparison();
  if (i !== tokens.length) throw new Error(`metric math ${JSON.stringify(expression)}: unexpected ${tokens[i]} after the expression`);
  return node;
}

/** The metric and expression ids an expression reads. */
export function referencedIds(expression: string): string[] {
  const ids = new Set<string>();
  const walk = (n: Node): void => {
    if (n.kind === 'id' && !['REPEAT', 'LINEAR'].includes(n.name)) ids.add(n.name);
    if (n.kind === 'call') n.args.forEach(walk);
    if (n.kind === 'list') n.items.forEach(walk);
    if (n.kind === 'bin') [n.left, n.right].forEach(walk);
    if (n.kind === 'neg') walk(n.arg);
  };
  walk(parseMath(expression));
  return [...ids];
}

const isSeries = (v: Value): v is Series => v instanceof Map;

function pointwise(a: number | Series, b: number | Series, f: (x: number, y: number) => number): number | Series {
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  if (typeof a === 'number') return new Map([...(b as Series)].map(([t, v]) => [t, f(a, v)]));
  if (typeof b === 'number') return new Map([...a].map(([t, v]) => [t, f(v, b)]));
  // Only where both series have a point.
  return new Map([...a].filter(([t]) => b.has(t)).map(([t, v]) => [t, f(v, b.get(t)!)]));
}

const BINARY: Record<string, (x: number, y: number) => number> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y,
  '/': (x, y) => x / y,
  '>': (x, y) => Number(x > y),
  '<': (x, y) => Number(x < y),
  '>=': (x, y) => Number(x >= y),
  '<=': (x, y) => Number(x <= y),
  '==': (x, y) => Number(x === y),
  '!=': (x, y) => Number(x !== y),
};

function scalarOrSeries(v: Value, what: string): number | Series {
  if (typeof v === 'number' || isSeries(v)) return v;
  throw new Error(`metric math: ${what} must be a number or a time series`);
}

function fill(s: Series, how: Value, periods: readonly number[]): Series {
  const out = new Map<number, number>();
  const known = [...s.keys()].sort((a, b) => a - b);
  for (const t of [...new Set([...periods, ...known])].sort((a, b) => a - b)) {
    if (s.has(t)) {
      out.set(t, s.get(t)!);
      continue;
    }
    if (typeof how === 'number') {
      out.set(t, how);
    } else if (!isSeries(how) && !Array.isArray(how) && (how.keyword === 'REPEAT' || how.keyword === 'LINEAR')) {
      const before = known.filter((k) => k < t).pop();
      const after = known.find((k) => k > t);
      if (before === undefined) continue;
      if (how.keyword === 'REPEAT' || after === undefined) {
        out.set(t, s.get(before)!);
      } else {
        const v0 = s.get(before)!;
        out.set(t, v0 + ((s.get(after)! - v0) * (t - before)) / (after - before));
      }
    } else {
      throw new Error('metric math: FILL takes a number, REPEAT or LINEAR');
    }
  }
  return out;
}

function evaluateNode(n: Node, ctx: MathContext): Value {
  switch (n.kind) {
    case 'num': return n.value;
    case 'id': {
      if (n.name === 'REPEAT' || n.name === 'LINEAR') return { keyword: n.name };
      const s = ctx.series[n.name];
      if (!s) throw new Error(`metric math: no metric or expression with id ${n.name}`);
      return s;
    }
    case 'neg': return pointwise(scalarOrSeries(evaluateNode(n.arg, ctx), 'operand of -'), -1, (x, y) => x * y);
    case 'list': return n.items.map((item) => {
      const v = evaluateNode(item, ctx);
      if (!isSeries(v)) throw new Error('metric math: a list holds time series');
      return v;
    });
    case 'bin': return pointwise(scalarOrSeries(evaluateNode(n.left, ctx), `left of ${n.op}`), scalarOrSeries(evaluateNode(n.right, ctx), `right of ${n.op}`), BINARY[n.op]);
    case 'call': {
      const args = n.args.map((a) => evaluateNode(a, ctx));
      switch (n.name) {
        case 'RATE': {
          const s = args[0];
          if (args.length !== 1 || !isSeries(s)) throw new Error('metric math: RATE takes one time series');
          const pts = [...s].sort((a, b) => a[0] - b[0]);
          return new Map(pts.slice(1).map(([t, v], k) => [t, (v - pts[k][1]) / ((t - pts[k][0]) / 1000)]));
        }
        case 'IF': {
          if (args.length < 2 || args.length > 3) throw new Error('metric math: IF takes (condition, trueValue[, falseValue])');
          const cond = scalarOrSeries(args[0], 'IF condition');
          const [yes, no] = [scalarOrSeries(args[1], 'IF trueValue'), args.length === 3 ? scalarOrSeries(args[2], 'IF falseValue') : undefined];
          const at = (v: number | Series | undefined, t: number): number | undefined => (v === undefined ? undefined : typeof v === 'number' ? v : v.get(t));
          if (typeof cond === 'number') return cond !== 0 ? yes : no ?? new Map();
          const out = new Map<number, number>();
          for (const [t, c] of cond) {
            const v = at(c !== 0 ? yes : no, t);
            if (v !== undefined) out.set(t, v);
          }
          return out;
        }
        case 'FILL': {
          if (args.length !== 2 || !isSeries(args[0])) throw new Error('metric math: FILL takes (time series, number | REPEAT | LINEAR)');
          return fill(args[0], args[1], ctx.periods);
        }
        case 'SUM': case 'MAX': case 'MIN': case 'AVG': {
          const list = args[0];
          if (args.length !== 1 || !Array.isArray(list)) throw new Error(`metric math: ${n.name} takes a list of time series`);
          const times = [...new Set(list.flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
          return new Map(times.map((t) => {
            const vs = list.map((s) => s.get(t)).filter((v): v is number => v !== undefined);
            const sum = vs.reduce((x, y) => x + y, 0);
            return [t, n.name === 'SUM' ? sum : n.name === 'MAX' ? Math.max(...vs) : n.name === 'MIN' ? Math.min(...vs) : sum / vs.length];
          }));
        }
        default: throw new Error(`metric math: the rehearsal does not evaluate ${n.name}()`);
      }
    }
  }
}

/** Evaluates an expression to a time series (a constant becomes that value in every period). */
export function evaluateMath(expression: string, ctx: MathContext): Series {
  const v = evaluateNode(parseMath(expression), ctx);
  if (typeof v === 'number') return new Map(ctx.periods.map((t) => [t, v]));
  if (!isSeries(v)) throw new Error(`metric math ${JSON.stringify(expression)}: does not evaluate to one time series`);
  return v;
}
