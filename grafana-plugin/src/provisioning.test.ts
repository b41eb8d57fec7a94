/**
 * The provisioned data sources against plugin.json's routes, rendered as Grafana renders them (provisioning through
 * Go's os.ExpandEnv, routes through Go's text/template, where a missing key is `<no value>`): every route of every
 * provisioned data source of this plugin must resolve to the service with the API key, given the environment the
 * provisioning documents. The checks are shown to fail on the mistakes they exist for.
 */
import { readFileSync } from 'fs';
import { load } from 'js-yaml';
import { resolve } from 'path';
import { expandEnv, renderRouteTemplate } from './test-support/grafana-semantics';
import { routes } from './test-support/route-proxy';

const PLUGIN_ID = 'llmops-datastreaming-datasource';
const FILE = resolve(__dirname, '../../provisioning/grafana/datasources/datasources.yml');

interface ProvisionedDataSource {
  name: string;
  type: string;
  url?: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

/** Grafana's provisioning: every string value through os.ExpandEnv, maps and lists walked. */
function expandAll<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') {
    return expandEnv(value, env) as T;
  }
  if (Array.isArray(value)) {
    return value.map((item) => expandAll(item, env)) as T;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandAll(item, env)])) as T;
  }
  return value;
}

function provisioned(text: string, env: Record<string, string | undefined>): ProvisionedDataSource[] {
  const file = load(text) as { datasources: ProvisionedDataSource[] };
  return file.datasources.filter((source) => source.type === PLUGIN_ID).map((source) => expandAll(source, env));
}

/** What is wrong with each route of `source` as Grafana would render it (nothing: an empty list). */
function routeProblems(source: ProvisionedDataSource, apiKey: string): string[] {
  const data = { URL: source.url ?? '', JsonData: source.jsonData ?? {}, SecureJsonData: source.secureJsonData ?? {} };
  const problems: string[] = [];
  for (const route of routes) {
    const url = renderRouteTemplate(route.url, data);
    if (url.includes('<no value>')) {
      problems.push(`${source.name}: route ${route.path}: url renders as "${url}"`);
    } else if (!/^https?:\/\/[^/\s]+/.test(url)) {
      problems.push(`${source.name}: route ${route.path}: url "${url}" is not an http(s) URL`);
    }
    for (const header of route.headers ?? []) {
      const content = renderRouteTemplate(header.content, data);
      if (content.includes('<no value>')) {
        problems.push(`${source.name}: route ${route.path}: header ${header.name} renders as "${content}"`);
      } else if (header.name === 'Authorization' && content !== `Bearer ${apiKey}`) {
        problems.push(`${source.name}: route ${route.path}: Authorization is "${content}"`);
      }
    }
  }
  return problems;
}

/** The environment docs/OPERATIONS.md tells operators to give Grafana. */
const ENV = { DATA_STREAMING_API_URL: 'http://127.0.0.1:9102', DATA_STREAMING_API_KEY: 'grafana-key-0123456789' };

describe('provisioned data sources, rendered as Grafana renders them', () => {
  const text = readFileSync(FILE, 'utf8');

  it('every route of plugin.json resolves to the service with the API key, for every provisioned data source', () => {
    const sources = provisioned(text, ENV);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.flatMap((source) => routeProblems(source, ENV.DATA_STREAMING_API_KEY))).toEqual([]);
    for (const source of sources) {
      expect(source.jsonData?.url).toBe(ENV.DATA_STREAMING_API_URL);
    }
  });

  it('uses only the environment syntax Grafana expands ($NAME, ${NAME}; no shell defaults) in every provisioning file', () => {
    const files = ['datasources/datasources.yml', 'dashboards/dashboards.yml'].map((file) =>
      readFileSync(resolve(__dirname, '../../provisioning/grafana', file), 'utf8')
    );
    for (const file of files) {
      const values = file
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .join('\n');
      expect(values).not.toMatch(/\$\{[A-Za-z_][A-Za-z0-9_]*:[-=?+]/);
    }
  });

  it('fails on the mistakes it exists for: a route key the data source lacks, a shell default, a missing variable', () => {
    const [source] = provisioned(text, ENV);
    const withoutUrl = { ...source, jsonData: { ...source.jsonData, url: undefined } };
    delete withoutUrl.jsonData.url;
    expect(routeProblems(withoutUrl, ENV.DATA_STREAMING_API_KEY)).toEqual([
      expect.stringContaining('url renders as "<no value>"'),
    ]);
    const withoutKey = { ...source, secureJsonData: {} };
    expect(routeProblems(withoutKey, ENV.DATA_STREAMING_API_KEY)).toEqual([
      expect.stringContaining('header Authorization renders as "Bearer <no value>"'),
    ]);
    // The shape the file had before: a top-level url only, with a shell default that Go does not know.
    const before = `datasources:
  - name: Data Streaming API
    type: ${PLUGIN_ID}
    url: \${DATA_STREAMING_API_URL:-http://127.0.0.1:9102}
    jsonData:
      accessMode: proxy
    secureJsonData:
      apiKey: \${DATA_STREAMING_API_KEY}
`;
    const [old] = provisioned(before, ENV);
    expect(old.url).toBe('');
    expect(routeProblems(old, ENV.DATA_STREAMING_API_KEY)).toEqual([expect.stringContaining('<no value>')]);
    // Without the environment Grafana is documented to need, the URL is empty: no route can work.
    expect(routeProblems(provisioned(text, {})[0], '')).toEqual([expect.stringContaining('is not an http(s) URL')]);
  });

  it('renders like Go: os.ExpandEnv and text/template', () => {
    expect(expandEnv('a $A ${B} ${C:-d} $$ $', { A: '1', B: '2' })).toBe('a 1 2  $ $');
    const data = { URL: 'http://u', JsonData: { url: 'http://j', port: 9102 }, SecureJsonData: { apiKey: 'k' } };
    expect(
      renderRouteTemplate('{{ .URL }} {{ .JsonData.url }}:{{.JsonData.port}} {{ .SecureJsonData.apiKey }}', data)
    ).toBe('http://u http://j:9102 k');
    expect(renderRouteTemplate('{{ .JsonData.missing }}', data)).toBe('<no value>');
    expect(() => renderRouteTemplate('{{ .Other }}', data)).toThrow("can't evaluate");
  });
});
