/**
 * The panel query language (`data_query`), evaluated over the metric store:
 *
 *   query    := selector [ "by" label ] [ "top" integer ]
 *   selector := metric                                    the current value
 *             | func "(" metric [ "," window ] [ "," number ] ")"
 *   func     := last | avg | min | max | sum | count | rate | percentile
 *   window   := integer ( "s" | "m" | "h" )               e.g. 30s, 5m
 *
 * Without `by`, a query gives one number over every series of the metric (the current value of a bare metric is
 * its highest across series, as in rules). With `by <label>`, one number per series, the label being what the
 * metric's key means (model, node, tenant). `top k` keeps the k largest. `rate` is the per-second increase of a
 * counter over the window; `percentile` takes the quantile (0-100) as third argument. Parsed into a tree at load;
 * never evaluated with eval.
 */
import { PositionedSyntaxError } from '../../common/syntax-error';

export const FUNCTIONS = ['last', 'avg', 'min', 'max', 'sum', 'count', 'rate', 'percentile'] as const;
export type QueryFunction = (typeof FUNCTIONS)[number];

export interface PanelQuery {
  fn: QueryFunction | 'current';
  metric: string;
  windowSeconds?: number;
  quantile?: number;
  by?: string;
  top?: number;
}

export class QuerySyntaxError extends PositionedSyntaxError {}

type Token = { type: 'word' | 'number' | 'window' | '(' | ')' | ',' | 'end'; text: string; position: number };

const MAX_LENGTH = 300;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?)([smh])?(?![A-Za-z0-9_])|([A-Za-z_][A-Za-z0-9_]*)|([(),]))/y;
  let index = 0;
  while (index < text.length) {
    if (/^\s*$/.test(text.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) {
      const at = index + (/^\s*/.exec(text.slice(index))?.[0].length ?? 0);
      throw new QuerySyntaxError(`unexpected character ${JSON.stringify(text[at])}`, at);
    }
    const position = match.index + (match[0].length - match[0].trimStart().length);
    const [, number, unit, word, punctuation] = match;
    if (number !== undefined) tokens.push({ type: unit ? 'window' : 'number', text: number + (unit ?? ''), position });
    else if (word !== undefined) tokens.push({ type: 'word', text: word, position });
    else tokens.push({ type: punctuation as '(' | ')' | ',', text: punctuation as string, position });
    index = pattern.lastIndex;
  }
  tokens.push({ type: 'end', text: '', position: text.length });
  return tokens;
}

const SECONDS = { s: 1, m: 60, h: 3600 } as const;

export function parsePanelQuery(text: string): PanelQuery {
  if (text.length > MAX_LENGTH) throw new QuerySyntaxError(`longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
  const tokens = tokenize(text);
  let index = 0;
  const peek = () => tokens[index] as Token;
  const describe = (token: Token) => (token.type === 'end' ? 'end of query' : `"${token.text}"`);
  const expect = (type: Token['type'], what: string): Token => {
    const token = peek();
    if (token.type !== type) throw new QuerySyntaxError(`expected ${what} but found ${describe(token)}`, token.position);
    index++;
    return token;
  };

  const head = expect('word', 'a metric or a function');
  let query: PanelQuery;
  if (peek().type === '(') {
    if (!(FUNCTIONS as readonly string[]).includes(head.text)) {
      throw new QuerySyntaxError(`unknown function "${head.text}", expected one of: ${FUNCTIONS.join(', ')}`, head.position);
    }
    const fn = head.text as QueryFunction;
    index++;
    const metric = expect('word', 'a metric name').text;
    query = { fn, metric };
    if (peek().type === ',') {
      index++;
      const window = expect('window', 'a window such as 60s or 5m');
      const unit = window.text.slice(-1) as keyof typeof SECONDS;
      query.windowSeconds = Number(window.text.slice(0, -1)) * SECONDS[unit];
      if (!Number.isInteger(query.windowSeconds) || query.windowSeconds < 1)
        throw new QuerySyntaxError('a window must be a whole number of seconds, at least 1s', window.position);
    }
    if (peek().type === ',') {
      index++;
      const quantile = expect('number', 'a quantile between 0 and 100');
      query.quantile = Number(quantile.text);
      if (fn !== 'percentile') throw new QuerySyntaxError(`${fn} takes no third argument`, quantile.position);
      if (!(query.quantile > 0 && query.quantile <= 100))
        throw new QuerySyntaxError('a quantile must be above 0 and at most 100', quantile.position);
    }
    const close = expect(')', '")"');
    if (fn !== 'last' && query.windowSeconds === undefined)
      throw new QuerySyntaxError(`${fn} needs a window, e.g. ${fn}(${metric}, 60s)`, close.position);
    if (fn === 'percentile' && query.quantile === undefined)
      throw new QuerySyntaxError('percentile needs a quantile, e.g. percentile(latency, 60s, 99)', close.position);
  } else {
    query = { fn: 'current', metric: head.text };
  }
  if (peek().type === 'word' && peek().text === 'by') {
    index++;
    query.by = expect('word', 'a label name').text;
  }
  if (peek().type === 'word' && peek().text === 'top') {
    const top = peek();
    index++;
    const count = expect('number', 'how many to keep');
    query.top = Number(count.text);
    if (!Number.isInteger(query.top) || query.top < 1 || query.top > 1000)
      throw new QuerySyntaxError('top takes a whole number from 1 to 1000', count.position);
    if (query.by === undefined) throw new QuerySyntaxError('top needs a group, e.g. ... by model top 5', top.position);
  }
  const rest = peek();
  if (rest.type !== 'end') throw new QuerySyntaxError(`unexpected ${describe(rest)}`, rest.position);
  return query;
}

/** The text of a query; parsing it gives the same query. */
export function formatPanelQuery(query: PanelQuery): string {
  const args = [
    query.metric,
    ...(query.windowSeconds === undefined ? [] : [`${query.windowSeconds}s`]),
    ...(query.quantile === undefined ? [] : [String(query.quantile)]),
  ];
  const selector = query.fn === 'current' ? query.metric : `${query.fn}(${args.join(', ')})`;
  return [selector, ...(query.by ? [`by ${query.by}`] : []), ...(query.top ? [`top ${query.top}`] : [])].join(' ');
}
