/**
 * Checks the built `dist/` offline the way Grafana's plugin validator would: the layout, plugin.json's fields and
 * version, a module Grafana can load (AMD, no Angular, no deprecated toolkit), and the id that provisioning uses.
 * Run after `npm run build` (the package's test script does).
 */
import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist');
const read = (path: string) => readFileSync(path, 'utf8');

describe('the built plugin (dist/)', () => {
  const plugin = JSON.parse(read(join(DIST, 'plugin.json')));
  const pkg = JSON.parse(read(join(ROOT, 'package.json')));

  it('has the files Grafana and the validator expect', () => {
    for (const file of ['module.js', 'plugin.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'img/logo.svg']) {
      expect(existsSync(join(DIST, file))).toBe(true);
    }
    expect(read(join(DIST, 'README.md'))).toContain('Data Streaming API data source');
  });

  it('has a plugin.json with a valid id, type, version and Grafana dependency', () => {
    expect(plugin.id).toMatch(/^[0-9a-z]+-([0-9a-z]+-)?datasource$/);
    expect(plugin.type).toBe('datasource');
    expect(plugin.info.version).toBe(pkg.version);
    expect(plugin.info.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(plugin.info.keywords.length).toBeGreaterThan(0);
    expect(plugin.dependencies.grafanaDependency).toMatch(/^(<=|>=|<|>|=|~|\^)?\d+(\.[0-9x*]+){1,2}$/);
    for (const logo of Object.values(plugin.info.logos)) {
      expect(existsSync(join(DIST, logo as string))).toBe(true);
    }
    expect(plugin.backend ?? false).toBe(false);
    expect(plugin.executable).toBeUndefined();
  });

  it('streams, takes max data points, and lets Grafana add the API key in proxy access', () => {
    expect(plugin).toMatchObject({ streaming: true, metrics: true, queryOptions: { maxDataPoints: true } });
    expect(plugin.routes).toEqual([
      {
        path: 'api',
        url: '{{ .JsonData.url }}',
        headers: [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiKey }}' }],
      },
    ]);
  });

  it('builds a module Grafana can load: AMD, no Angular, no deprecated toolkit', () => {
    const module = read(join(DIST, 'module.js'));
    // After the scaffold's banner comments, an AMD module whose dependencies Grafana provides.
    expect(module.replace(/^(\/\*.*\*\/\s*)+/, '').startsWith('define([')).toBe(true);
    expect(module).not.toMatch(/\bangular\b|PanelCtrl|QueryCtrl|MetricsPanelCtrl/);
    expect({ ...pkg.dependencies, ...pkg.devDependencies }['@grafana/toolkit']).toBeUndefined();
    for (const name of ['@grafana/data', '@grafana/runtime', '@grafana/ui', 'react']) {
      expect(module).toContain(`"${name}"`);
    }
  });

  it('uses the id that the provisioned data source names', () => {
    const provisioning = read(resolve(ROOT, '../provisioning/grafana/datasources/datasources.yml'));
    expect(provisioning).toContain(`type: ${plugin.id}`);
  });
});
