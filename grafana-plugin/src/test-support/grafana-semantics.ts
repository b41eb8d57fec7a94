/**
 * Two pieces of Grafana's server, as Grafana documents and implements them, for tests that must fail where Grafana
 * would:
 * - Provisioning files go through Go's os.ExpandEnv (pkg/services/provisioning/values/values.go): `$NAME` and
 *   `${NAME}` are replaced by the environment variable, an unset one by an empty string, `$$` is a literal `$`.
 *   There is no `${NAME:-default}`: Go reads `NAME:-default` as the name, which no variable has, so the value
 *   becomes empty.
 * - Plugin routes (plugin.json `routes[].url` and header contents) go through Go's text/template with the data
 *   source's `{URL, JsonData, SecureJsonData}` (pkg/api/pluginproxy): a key the data source does not set renders as
 *   the text `<no value>`; a field that is not one of those is an execution error (Grafana then skips the route).
 */

/** Go's os.ExpandEnv over `env`. */
export function expandEnv(text: string, env: Record<string, string | undefined>): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char !== '$' || index + 1 >= text.length) {
      out += char;
      continue;
    }
    const rest = text.slice(index + 1);
    if (rest[0] === '{') {
      const close = rest.indexOf('}');
      if (close < 0) {
        // os.Expand: a `${` without its `}` is dropped ("bad syntax"), the rest goes on as text.
        index += 1;
        continue;
      }
      out += env[rest.slice(1, close)] ?? '';
      index += close + 1;
      continue;
    }
    const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9*#$@!?-])/.exec(rest)?.[0];
    if (!name) {
      out += char;
      continue;
    }
    out += name === '$' ? '$' : (env[name] ?? '');
    index += name.length;
  }
  return out;
}

export interface RouteData {
  URL: string;
  JsonData: Record<string, unknown>;
  SecureJsonData: Record<string, string>;
}

/** Go's text/template for the actions routes use: `{{ .URL }}`, `{{ .JsonData.key }}`, `{{ .SecureJsonData.key }}`. */
export function renderRouteTemplate(text: string, data: RouteData): string {
  return text.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_match, action: string) => {
    const path = /^\.(URL|JsonData|SecureJsonData)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$/.exec(action);
    if (!path) {
      throw new Error(`template: can't evaluate "${action}" (Grafana skips the route)`);
    }
    const [, field, key] = path;
    if (field === 'URL') {
      if (key !== undefined) {
        throw new Error(`template: can't evaluate field ${key} in type string`);
      }
      return data.URL;
    }
    const map = field === 'JsonData' ? data.JsonData : data.SecureJsonData;
    if (key === undefined) {
      return `map[${Object.keys(map)
        .sort()
        .map((name) => `${name}:${String(map[name])}`)
        .join(' ')}]`;
    }
    const value = map[key];
    return value === undefined ? '<no value>' : String(value);
  });
}
