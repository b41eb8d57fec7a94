/**
 * Grafana's TemplateSrv as its documentation describes `replace` ("Variable syntax", "Advanced variable format
 * options"), for the dashboard variables a test declares: `$name`, `${name}`, `${name:format}` and `[[name]]`;
 * scoped variables (a repeated panel's) before the dashboard's; a multi-value variable as `{a,b}` (glob) when no
 * format is asked, `a,b` with `csv`, `a|b` with `pipe`, `"a","b"` with `doublequote`; "All" as the variable's custom
 * all value when it has one, else every option; an unknown variable left as it is written.
 */
import type { ScopedVars, TimeRange, TypedVariableModel } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';

export interface TestVariable {
  name: string;
  /** The selected value(s); `$__all` for All. */
  current: string | string[];
  /** Every value the variable offers (for All). */
  options?: string[];
  /** The custom all value (`allValue`), e.g. `*`. */
  allValue?: string;
}

const ALL = '$__all';

function format(values: string[], multi: boolean, how: string | undefined): string {
  switch (how) {
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'doublequote':
      return values.map((value) => `"${value}"`).join(',');
    case 'raw':
      return values.join(',');
    default:
      return multi && values.length > 1 ? `{${values.join(',')}}` : values.join(',');
  }
}

export class TestTemplateSrv implements TemplateSrv {
  private readonly variables = new Map<string, TestVariable>();

  constructor(variables: TestVariable[] = []) {
    variables.forEach((variable) => this.variables.set(variable.name, variable));
  }

  set(variable: TestVariable): void {
    this.variables.set(variable.name, variable);
  }

  getVariables(): TypedVariableModel[] {
    return [];
  }

  containsTemplate(target?: string): boolean {
    return /\$(\w+|\{\w+(?::\w+)?\})|\[\[\w+\]\]/.test(target ?? '');
  }

  updateTimeRange(_timeRange: TimeRange): void {}

  replace(target?: string, scopedVars?: ScopedVars, how?: string | Function): string {
    if (target === undefined) {
      return '';
    }
    const formatName = typeof how === 'string' ? how : undefined;
    return target.replace(
      /\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]/g,
      (match, plain?: string, braced?: string, inlineFormat?: string, bracketed?: string) => {
        const name = (plain ?? braced ?? bracketed) as string;
        const scoped = scopedVars?.[name];
        if (scoped) {
          return String(scoped.value);
        }
        const variable = this.variables.get(name);
        if (!variable) {
          return match;
        }
        const selected = Array.isArray(variable.current) ? variable.current : [variable.current];
        if (selected.includes(ALL)) {
          if (variable.allValue !== undefined) {
            return variable.allValue;
          }
          return format(variable.options ?? [], true, inlineFormat ?? formatName);
        }
        return format(selected, Array.isArray(variable.current), inlineFormat ?? formatName);
      }
    );
  }
}

/** Installs `variables` as the dashboard's (what getTemplateSrv() returns in the plugin). */
export function useVariables(variables: TestVariable[] = []): TestTemplateSrv {
  const srv = new TestTemplateSrv(variables);
  setTemplateSrv(srv);
  return srv;
}
