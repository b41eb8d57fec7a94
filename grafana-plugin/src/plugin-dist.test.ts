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
    // The plugin's own README (the repository's grafana-plugin/README.md), its placeholders filled by the build.
    const readme = read(join(DIST, 'README.md'));
    expect(readme.split('\n')[0]).toBe(read(join(ROOT, 'README.md')).split('\n')[0]);
    expect(readme).toContain(`version ${pkg.version}`);
    expect(/%VERSION%|%TODAY%|yarn|@grafana\/toolkit/.exec(readme)?.[0]).toBeUndefined();
    // Every script it names exists (the create-plugin template's README named scripts this package does not have).
    const named = [...readme.matchAll(/npm run ([\w:-]+)\b(?! -w)/g)].map((match) => match[1] as string);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((script) => !(script in pkg.scripts))).toEqual([]);
  });

  it('says in its README the Grafana range that plugin.json declares, and the limits of a frontend-only source', () => {
    const readme = read(join(DIST, 'README.md'));
    const lowest = /^>=\s*(\d+\.\d+\.\d+)$/.exec(plugin.dependencies.grafanaDependency)?.[1];
    expect(lowest).toBeDefined();
    expect(readme).toContain(`Grafana ${lowest} or later`);
    for (const limit of [/alert/i, /expression/i, /public dashboards/i, /socket/i]) {
      expect(readme).toMatch(limit);
    }
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

  it('is src/plugin.json with only its version and date filled in', () => {
    const source = JSON.parse(read(join(ROOT, 'src/plugin.json')));
    expect(plugin).toEqual({
      ...source,
      buildMode: 'production',
      info: { ...source.info, version: plugin.info.version, updated: plugin.info.updated },
    });
    expect(plugin).toMatchObject({ streaming: true, metrics: true, queryOptions: { maxDataPoints: true } });
    // Which keys the routes resolve against every provisioned data source is provisioning.test.ts's check.
    expect(plugin.routes.length).toBeGreaterThan(0);
    expect(plugin.info.links.length).toBeGreaterThan(0);
  });

  it('builds a module Grafana can load: AMD, no Angular, no deprecated toolkit', () => {
    const module = read(join(DIST, 'module.js'));
    // After the scaffold's banner comments, an AMD module whose dependencies Grafana provides.
    const amd = /^define\((\[[^\]]*\])/.exec(module.replace(/^(\/\*.*\*\/\s*)+/, ''));
    expect(amd).not.toBeNull();
    const dependencies: string[] = JSON.parse((amd as RegExpExecArray)[1] as string);
    expect(dependencies).toEqual(expect.arrayContaining(['@grafana/data', '@grafana/runtime', '@grafana/ui', 'react']));
    expect(/\bangular\b|PanelCtrl|QueryCtrl|MetricsPanelCtrl/.exec(module)?.[0]).toBeUndefined();
    expect({ ...pkg.dependencies, ...pkg.devDependencies }['@grafana/toolkit']).toBeUndefined();
    // React is Grafana's (18 below 13.2, 19 from it): none of it bundled, none of what React 19 removed used.
    const removed = /__SECRET_INTERNALS|ReactCurrentOwner|findDOMNode|unmountComponentAtNode|\.defaultProps\s*=/.exec(
      module
    );
    expect(removed?.[0]).toBeUndefined();
  });

  it('uses the id that the provisioned data source names', () => {
    const provisioning = read(resolve(ROOT, '../provisioning/grafana/datasources/datasources.yml'));
    expect(provisioning).toContain(`type: ${plugin.id}`);
  });
});
