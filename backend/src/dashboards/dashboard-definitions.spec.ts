import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config.loader';
import { loadDashboards } from './dashboard-definitions';

const REPO_DASHBOARDS = resolve(__dirname, '../../../config/dashboards');

/** A copy of the repository's definitions with one file changed by `edit`. */
function withEdited(type: string, edit: (definition: any) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'dsa-dashboards-'));
  cpSync(REPO_DASHBOARDS, dir, { recursive: true });
  const file = join(dir, `${type}.json`);
  const definition = JSON.parse(readFileSync(file, 'utf8'));
  edit(definition);
  writeFileSync(file, JSON.stringify(definition));
  return dir;
}

const load = (dir?: string) => loadDashboards(loadConfig({ env: {}, overrides: dir ? { live_dashboard: { definitions_dir: dir } } : {} }));

describe('loadDashboards', () => {
  it('loads the five SPEC dashboards from the repository, valid against the JSON Schema', () => {
    const dashboards = load();
    expect(dashboards.map((dashboard) => dashboard.definition.dashboard_type)).toEqual([
      'operational_overview',
      'business_intelligence',
      'performance_metrics',
      'system_health',
      'real_time_analytics',
    ]);
    for (const dashboard of dashboards) {
      expect(dashboard.queries.size).toBe(dashboard.definition.panels?.length);
      expect(dashboard.definition.update_frequency).toBeLessThanOrEqual(5);
    }
  });

  it.each([
    ['a missing required field', (d: any) => delete d.update_frequency, "/ must have required property 'update_frequency'"],
    ['a bad uuid', (d: any) => (d.dashboard_id = 'not-a-uuid'), '/dashboard_id must match format "uuid"'],
    ['an out-of-range frequency', (d: any) => (d.update_frequency = 61), '/update_frequency must be <= 60'],
    [
      'an unknown panel type',
      (d: any) => (d.panels[1].panel_type = 'pie'),
      '/panels/1/panel_type must be equal to one of the allowed values',
    ],
    ['an unknown channel', (d: any) => (d.data_sources = ['metrics_updates', 'nope']), '/data_sources/1 "nope" is not a channel'],
    [
      'a query syntax error',
      (d: any) => (d.panels[2].data_query = 'avg(latency)'),
      '/panels/2/data_query: avg needs a window, e.g. avg(latency, 60s) at position 12',
    ],
    ['an unknown metric', (d: any) => (d.panels[0].data_query = 'cpu_temp'), '/panels/0/data_query: unknown metric "cpu_temp"'],
    [
      'a wrong group label',
      (d: any) => (d.panels[4].data_query = 'model_queue_depth by node'),
      '/panels/4/data_query: model_queue_depth is labelled by model, not node',
    ],
    [
      'a window longer than the store',
      (d: any) => (d.panels[0].data_query = 'avg(latency, 2h)'),
      'window 7200s is longer than the 900s the metric store keeps',
    ],
  ])('stops on %s, naming the file and the path', (_what, edit, message) => {
    const dir = withEdited('operational_overview', edit);
    expect(() => load(dir)).toThrow(`operational_overview.json: `);
    expect(() => load(dir)).toThrow(message);
  });
});
