import fc from 'fast-check';
import {
  comparisonsOf,
  ConditionSyntaxError,
  evaluateCondition,
  formatCondition,
  metricsOf,
  parseCondition,
  type Condition,
  type Operand,
} from './condition';

const values = (map: Record<string, number>) => (metric: string) => map[metric];

describe('parseCondition', () => {
  it('parses the SPEC rules', () => {
    expect(parseCondition('error_rate > 0.2')).toEqual({
      kind: 'compare',
      op: '>',
      left: { kind: 'metric', name: 'error_rate', position: 0 },
      right: { kind: 'number', value: 0.2 },
    });
    expect(evaluateCondition(parseCondition('latency > 2000'), values({ latency: 2500 }))).toBe(true);
    expect(evaluateCondition(parseCondition('throughput > 1000'), values({ throughput: 999 }))).toBe(false);
  });

  it('gives not, and, or their precedence and honours parentheses', () => {
    const env = values({ a: 1, b: 0, c: 1 });
    expect(evaluateCondition(parseCondition('a > 0 or b > 0 and c > 5'), env)).toBe(true);
    expect(evaluateCondition(parseCondition('(a > 0 or b > 0) and c > 5'), env)).toBe(false);
    expect(evaluateCondition(parseCondition('not a > 0 or c == 1'), env)).toBe(true);
    expect(evaluateCondition(parseCondition('not (a > 0 or c == 1)'), env)).toBe(false);
    expect(evaluateCondition(parseCondition('a >= 1 and a <= 1 and a == 1 and b != 1 and b < a'), env)).toBe(true);
    expect(evaluateCondition(parseCondition('queue_depth > -1.5e1'), values({ queue_depth: -3 }))).toBe(true);
  });

  it('treats a metric without data as making its comparison false', () => {
    expect(evaluateCondition(parseCondition('error_rate > 0.2'), values({}))).toBe(false);
    expect(evaluateCondition(parseCondition('not error_rate > 0.2'), values({}))).toBe(true);
  });

  it('lists the metrics it reads with their positions', () => {
    expect(metricsOf(parseCondition('error_rate > 0.2 and (latency >= p99 or not x < 1)'))).toEqual([
      { name: 'error_rate', position: 0 },
      { name: 'latency', position: 22 },
      { name: 'p99', position: 33 },
      { name: 'x', position: 44 },
    ]);
  });

  it.each([
    ['', 'expected a metric name or a number but found end of condition', 0],
    ['error_rate >', 'expected a metric name or a number but found end of condition', 12],
    ['error_rate 0.2', 'expected a comparison (> >= < <= == !=) but found "0.2"', 11],
    ['error_rate > 0.2 and', 'expected a metric name or a number but found end of condition', 20],
    ['(error_rate > 0.2', 'expected ")" but found end of condition', 17],
    ['error_rate > 0.2)', 'unexpected ")"', 16],
    ['error_rate => 0.2', 'unexpected character "="', 11],
    ['error_rate > 0.2 && latency > 1', 'unexpected character "&"', 17],
    ['error_rate = 0.2', 'unexpected character "="', 11],
    ['latency > 1e999', 'number 1e999 is out of range', 10],
    ['process.exit(1) > 0', 'unexpected character "."', 7],
  ])('refuses %j with a reason and a position', (text, reason, position) => {
    try {
      parseCondition(text);
      throw new Error('expected a syntax error');
    } catch (error) {
      expect(error).toBeInstanceOf(ConditionSyntaxError);
      expect(error).toMatchObject({ reason, position });
      expect((error as Error).message).toBe(`${reason} at position ${position + 1}`);
    }
  });

  it('refuses nesting deeper than 64 levels and text over 1000 characters', () => {
    expect(() => parseCondition(`${'('.repeat(65)}a > 1${')'.repeat(65)}`)).toThrow('nested deeper than 64 levels');
    expect(() => parseCondition(`${'not '.repeat(65)}a > 1`)).toThrow('nested deeper than 64 levels');
    expect(() => parseCondition(`a > ${'1'.repeat(1000)}`)).toThrow('longer than 1000 characters');
  });
});

describe('parseCondition, property-based', () => {
  const metricName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/).filter((word) => !['and', 'or', 'not'].includes(word));
  const number = fc
    .double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
    .map((value) => (Object.is(value, -0) ? 0 : value));
  const operand: fc.Arbitrary<Operand> = fc.oneof(
    number.map((value) => ({ kind: 'number' as const, value })),
    metricName.map((name) => ({ kind: 'metric' as const, name, position: 0 })),
  );
  const comparator = fc.constantFrom('>', '>=', '<', '<=', '==', '!=' as const);
  const { condition } = fc.letrec<{ condition: Condition }>((tie) => ({
    condition: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('compare' as const), op: comparator, left: operand, right: operand }),
      fc.record({ kind: fc.constant('not' as const), operand: tie('condition') }),
      fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), left: tie('condition'), right: tie('condition') }),
    ),
  }));
  const withoutPositions = (tree: Condition): unknown =>
    JSON.parse(JSON.stringify(tree, (key, value: unknown) => (key === 'position' ? undefined : value)));

  it('parses the text of any condition back to the same tree', () => {
    fc.assert(
      fc.property(condition, (tree) => {
        expect(withoutPositions(parseCondition(formatCondition(tree)))).toEqual(withoutPositions(tree));
      }),
      { numRuns: 500 },
    );
  });

  it('evaluates by the laws of logic (double negation, De Morgan)', () => {
    fc.assert(
      fc.property(condition, condition, fc.dictionary(metricName, number), (a, b, metrics) => {
        const env = (metric: string) => metrics[metric];
        const eval_ = (text: string) => evaluateCondition(parseCondition(text), env);
        const [left, right] = [formatCondition(a), formatCondition(b)];
        expect(eval_(`not not (${left})`)).toBe(eval_(left));
        expect(eval_(`not ((${left}) and (${right}))`)).toBe(eval_(`not (${left}) or not (${right})`));
        expect(eval_(`not ((${left}) or (${right}))`)).toBe(eval_(`not (${left}) and not (${right})`));
      }),
      { numRuns: 300 },
    );
  });

  it('answers any text with a tree or a ConditionSyntaxError inside the text, never anything else', () => {
    const alphabet = fc.constantFrom(...'ab_01.e-+ ()<>=!&|notandor\t\n"\'\\$'.split(''), 'and', 'or', 'not', 'x', '>=', '==');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.array(alphabet, { maxLength: 40 }).map((parts) => parts.join('')),
        ),
        (text) => {
          try {
            parseCondition(text);
          } catch (error) {
            expect(error).toBeInstanceOf(ConditionSyntaxError);
            expect((error as ConditionSyntaxError).position).toBeGreaterThanOrEqual(0);
            expect((error as ConditionSyntaxError).position).toBeLessThanOrEqual(text.length);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('comparisonsOf', () => {
  it('reads every comparison as metric op threshold, with the current values, in the order of the text', () => {
    const condition = parseCondition('error_rate > 0.2 or (not 2000 < latency and queue_depth >= backlog_limit)');
    expect(comparisonsOf(condition, values({ error_rate: 0.1, latency: 2500, queue_depth: 7, backlog_limit: 5 }))).toEqual([
      { metric: 'error_rate', op: '>', threshold: 0.2, value: 0.1, holds: false },
      { metric: 'latency', op: '>', threshold: 2000, value: 2500, holds: true },
      { metric: 'queue_depth', op: '>=', threshold: 5, threshold_metric: 'backlog_limit', value: 7, holds: true },
    ]);
  });

  it('turns the operator when the number is on the left, and agrees with evaluateCondition', () => {
    for (const [op, turned] of [
      ['>', '<'],
      ['>=', '<='],
      ['<', '>'],
      ['<=', '>='],
      ['==', '=='],
      ['!=', '!='],
    ] as const) {
      for (const current of [1, 2, 3]) {
        const env = values({ m: current });
        const [view] = comparisonsOf(parseCondition(`2 ${op} m`), env);
        expect(view).toMatchObject({ metric: 'm', op: turned, threshold: 2, value: current });
        expect(view?.holds).toBe(evaluateCondition(parseCondition(`2 ${op} m`), env));
      }
    }
  });

  it('says a metric without data holds nothing, and skips comparisons of two numbers', () => {
    expect(comparisonsOf(parseCondition('error_rate > 0.2 and 1 < 2'), values({}))).toEqual([
      { metric: 'error_rate', op: '>', threshold: 0.2, value: null, holds: false },
    ]);
    expect(comparisonsOf(parseCondition('a > b'), values({ a: 1 }))).toEqual([
      { metric: 'a', op: '>', threshold: null, threshold_metric: 'b', value: 1, holds: false },
    ]);
  });
});
