/**
 * The rule condition language: metric names, numbers, `> >= < <= == !=`, `and`, `or`, `not`, parentheses.
 * Parsed by a small recursive-descent parser into a tree and evaluated by walking it: no eval, no Function,
 * no third-party expression engine. Precedence, loosest first: or, and, not, comparison.
 */
import { PositionedSyntaxError } from './syntax-error';

export type Comparator = '>' | '>=' | '<' | '<=' | '==' | '!=';

export type Operand = { kind: 'number'; value: number } | { kind: 'metric'; name: string; position: number };

export type Condition =
  | { kind: 'or' | 'and'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: Comparator; left: Operand; right: Operand };

export class ConditionSyntaxError extends PositionedSyntaxError {}

type Token =
  | { type: 'number'; value: number; position: number }
  | { type: 'name'; value: string; position: number }
  | { type: 'op'; value: Comparator; position: number }
  | { type: 'and' | 'or' | 'not' | '(' | ')' | 'end'; position: number };

const MAX_LENGTH = 1000;
const MAX_DEPTH = 64;
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATORS: readonly Comparator[] = ['>=', '<=', '==', '!=', '>', '<'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const rest = text.slice(index);
    const char = rest[0] as string;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    if (char === '(' || char === ')') {
      tokens.push({ type: char, position: index });
      index++;
      continue;
    }
    const op = OPERATORS.find((candidate) => rest.startsWith(candidate));
    if (op) {
      tokens.push({ type: 'op', value: op, position: index });
      index += op.length;
      continue;
    }
    const negative = char === '-' && NUMBER.test(rest.slice(1));
    const number = NUMBER.exec(negative ? rest.slice(1) : rest);
    if (number) {
      const length = number[0].length + (negative ? 1 : 0);
      const value = Number(rest.slice(0, length));
      if (!Number.isFinite(value)) throw new ConditionSyntaxError(`number ${rest.slice(0, length)} is out of range`, index);
      tokens.push({ type: 'number', value, position: index });
      index += length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      const word = name[0];
      if (word === 'and' || word === 'or' || word === 'not') tokens.push({ type: word, position: index });
      else tokens.push({ type: 'name', value: word, position: index });
      index += word.length;
      continue;
    }
    throw new ConditionSyntaxError(`unexpected character ${JSON.stringify(char)}`, index);
  }
  tokens.push({ type: 'end', position: text.length });
  return tokens;
}

const describe = (token: Token): string =>
  token.type === 'end'
    ? 'end of condition'
    : token.type === 'number' || token.type === 'name' || token.type === 'op'
      ? `"${String(token.value)}"`
      : `"${token.type}"`;

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private get current(): Token {
    return this.tokens[this.index] as Token;
  }

  parse(): Condition {
    const condition = this.or();
    if (this.current.type !== 'end') throw new ConditionSyntaxError(`unexpected ${describe(this.current)}`, this.current.position);
    return condition;
  }

  private or(): Condition {
    return this.chain('or', () => this.and());
  }

  private and(): Condition {
    return this.chain('and', () => this.not());
  }

  /** A left-associative run of `operand (kind operand)*`. */
  private chain(kind: 'and' | 'or', operand: () => Condition): Condition {
    let left = operand();
    while (this.current.type === kind) {
      this.index++;
      left = { kind, left, right: operand() };
    }
    return left;
  }

  private not(): Condition {
    if (this.current.type !== 'not') return this.term();
    const token = this.current;
    this.index++;
    return this.nested(token.position, () => ({ kind: 'not', operand: this.not() }));
  }

  private term(): Condition {
    const token = this.current;
    if (token.type === '(') {
      this.index++;
      const inner = this.nested(token.position, () => this.or());
      if (this.current.type !== ')')
        throw new ConditionSyntaxError(`expected ")" but found ${describe(this.current)}`, this.current.position);
      this.index++;
      return inner;
    }
    const left = this.operand();
    const op = this.current;
    if (op.type !== 'op') throw new ConditionSyntaxError(`expected a comparison (> >= < <= == !=) but found ${describe(op)}`, op.position);
    this.index++;
    return { kind: 'compare', op: op.value, left, right: this.operand() };
  }

  private operand(): Operand {
    const token = this.current;
    if (token.type === 'number') {
      this.index++;
      return { kind: 'number', value: token.value };
    }
    if (token.type === 'name') {
      this.index++;
      return { kind: 'metric', name: token.value, position: token.position };
    }
    throw new ConditionSyntaxError(`expected a metric name or a number but found ${describe(token)}`, token.position);
  }

  private nested<T>(position: number, parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ConditionSyntaxError(`nested deeper than ${MAX_DEPTH} levels`, position);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
}

export function parseCondition(text: string): Condition {
  if (text.length > MAX_LENGTH) throw new ConditionSyntaxError(`longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
  return new Parser(tokenize(text)).parse();
}

/** Every metric the condition reads, with where it stands in the text. */
export function metricsOf(condition: Condition): { name: string; position: number }[] {
  switch (condition.kind) {
    case 'or':
    case 'and':
      return [...metricsOf(condition.left), ...metricsOf(condition.right)];
    case 'not':
      return metricsOf(condition.operand);
    case 'compare':
      return [condition.left, condition.right].flatMap((operand) =>
        operand.kind === 'metric' ? [{ name: operand.name, position: operand.position }] : [],
      );
  }
}

/**
 * Evaluates against current metric values. A comparison with a metric that has no current value is false,
 * as in PromQL: an absent series never fires, and a firing rule whose data disappears resolves.
 */
export function evaluateCondition(condition: Condition, value: (metric: string) => number | undefined): boolean {
  switch (condition.kind) {
    case 'or':
      return evaluateCondition(condition.left, value) || evaluateCondition(condition.right, value);
    case 'and':
      return evaluateCondition(condition.left, value) && evaluateCondition(condition.right, value);
    case 'not':
      return !evaluateCondition(condition.operand, value);
    case 'compare': {
      const read = (operand: Operand) => (operand.kind === 'number' ? operand.value : value(operand.name));
      const left = read(condition.left);
      const right = read(condition.right);
      return left !== undefined && right !== undefined && compare(condition.op, left, right);
    }
  }
}

const TURNED: Record<Comparator, Comparator> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=', '==': '==', '!=': '!=' };

function compare(op: Comparator, left: number, right: number): boolean {
  switch (op) {
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '==':
      return left === right;
    case '!=':
      return left !== right;
  }
}

/** A comparison read as `metric op threshold`, with current values (the status API's view of a rule). */
export interface ComparisonView {
  metric: string;
  op: Comparator;
  threshold: number | null;
  threshold_metric?: string;
  value: number | null;
  holds: boolean;
}

/** Every comparison of the condition that reads a metric, in the order of the text, with its current values. */
export function comparisonsOf(condition: Condition, value: (metric: string) => number | undefined): ComparisonView[] {
  switch (condition.kind) {
    case 'or':
    case 'and':
      return [...comparisonsOf(condition.left, value), ...comparisonsOf(condition.right, value)];
    case 'not':
      return comparisonsOf(condition.operand, value);
    case 'compare': {
      const { left, right } = condition;
      const [metric, other, op] = left.kind === 'metric' ? [left, right, condition.op] : [right, left, TURNED[condition.op]];
      if (metric.kind !== 'metric') return [];
      const current = value(metric.name) ?? null;
      const threshold = other.kind === 'number' ? other.value : (value(other.name) ?? null);
      return [
        {
          metric: metric.name,
          op,
          threshold,
          ...(other.kind === 'metric' ? { threshold_metric: other.name } : {}),
          value: current,
          holds: current !== null && threshold !== null && compare(op, current, threshold),
        },
      ];
    }
  }
}

/** Renders a condition back to text (fully parenthesised); parsing the result gives the same tree. */
export function formatCondition(condition: Condition): string {
  const operand = (value: Operand) => (value.kind === 'number' ? String(value.value) : value.name);
  switch (condition.kind) {
    case 'or':
    case 'and':
      return `(${formatCondition(condition.left)} ${condition.kind} ${formatCondition(condition.right)})`;
    case 'not':
      return `not ${formatCondition(condition.operand)}`;
    case 'compare':
      return `${operand(condition.left)} ${condition.op} ${operand(condition.right)}`;
  }
}
