/**
 * Grafana provisioning: the committed dashboard JSON is exactly what the typed generator produces, and every panel
 * names a provisioned data source and a channel, dashboard and panel that exist in the service's configuration.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { loadConfig } from '../src/config/config.loader';
import { loadDashboards } from '../src/dashboards/dashboard-definitions';
import { grafanaDashboards, PLUGIN_TYPE } from '../src/dashboards/grafana/grafana-dashboards';
import type { VariableModel } from '@grafana/schema';

const GRAFANA = resolve(__dirname, '../../provisioning/grafana');
const config = loadConfig({ env: {} });
const definitions = loadDashboards(config);
const generated = grafanaDashboards(config, definitions);
/** A committed dashboard's template variables. */
const variablesOf = (dashboard: { templating?: { list?: VariableModel[] } }): VariableModel[] => dashboard.templating?.list ?? [];

const committed = new Map(
  readdirSync(join(GRAFANA, 'dashboards'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => [file, JSON.parse(readFileSync(join(GRAFANA, 'dashboards', file), 'utf8'))]),
);
const datasources = (load(readFileSync(join(GRAFANA, 'datasources/datasources.yml'), 'utf8')) as any).datasources as any[];

describe('Grafana provisioning', () => {
  it('commits exactly the generated dashboards (regenerate: npm run grafana-dashboards -w backend)', () => {
    expect([...committed.keys()].sort()).toEqual([...generated.keys()].sort());
    for (const [file, dashboard] of generated) expect(committed.get(file)).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });

  it('provisions our plugin and Prometheus with unique uids and no secret in the file', () => {
    expect(datasources.map((source) => [source.type, source.uid])).toEqual([
      [PLUGIN_TYPE, 'data-streaming-api'],
      ['prometheus', 'prometheus'],
    ]);
    for (const source of datasources)
      expect(source).toMatchObject({
        name: expect.any(String),
        access: 'proxy',
        // Grafana expands provisioning values with Go's os.ExpandEnv: ${NAME}, never a shell default ${NAME:-x}.
        url: expect.stringMatching(/^\$\{[A-Z_]+\}$/),
      });
    // The plugin's proxy route reads the service's URL from jsonData.url (plugin.json), not the top-level url.
    expect(datasources[0].jsonData.url).toBe(datasources[0].url);
    expect(datasources[0].secureJsonData.apiKey).toBe('${DATA_STREAMING_API_KEY}');
    const provider = (load(readFileSync(join(GRAFANA, 'dashboards/dashboards.yml'), 'utf8')) as any).providers[0];
    expect(provider).toMatchObject({ type: 'file', options: { path: expect.stringContaining('/dashboards') } });
  });

  it('gives every live dashboard a panel of its type for each panel of the definition', () => {
    const types = { graph: 'timeseries', stat: 'stat', table: 'table', gauge: 'gauge', heatmap: 'heatmap' };
    for (const { definition } of definitions) {
      const dashboard = committed.get(`dsa-${definition.dashboard_type.replace(/_/g, '-')}.json`);
      expect(dashboard.panels.map((panel: any) => panel.type)).toEqual((definition.panels ?? []).map((panel) => types[panel.panel_type]));
      expect(new Set(dashboard.panels.map((panel: any) => panel.id)).size).toBe(dashboard.panels.length);
    }
  });

  it('names a provisioned data source, and a channel, dashboard and panel that exist, in every panel', () => {
    const uids = new Map(datasources.map((source) => [source.uid, source.type]));
    const panelsOf = new Map(
      definitions.map(({ definition }) => [definition.dashboard_type, new Set((definition.panels ?? []).map((panel) => panel.panel_id))]),
    );
    let checked = 0;
    for (const dashboard of committed.values()) {
      for (const panel of dashboard.panels) {
        expect(uids.get(panel.datasource.uid)).toBe(panel.datasource.type);
        for (const target of panel.targets) {
          expect(uids.get(target.datasource.uid)).toBe(target.datasource.type);
          // A channel is one of the service's, or a variable of the dashboard that lists them (channels()).
          if (target.queryType === 'stream' && String(target.channel).startsWith('$')) {
            const variable = variablesOf(dashboard).find((candidate) => `$${candidate.name}` === target.channel);
            expect(variable).toMatchObject({ type: 'query', query: 'channels()', datasource: target.datasource });
          } else if (target.queryType === 'stream') expect(config.websocket.channels).toContain(target.channel);
          // Every variable a target names is one of its dashboard's.
          for (const name of JSON.stringify(target).match(/\$\{?(\w+)/g) ?? []) {
            expect(variablesOf(dashboard).map((candidate) => candidate.name)).toContain(name.replace(/^\$\{?/, ''));
          }
          if (target.queryType === 'dashboard') expect(panelsOf.get(target.dashboard)?.has(target.panel)).toBe(true);
          if (target.datasource.type === 'prometheus')
            expect(target.expr).toMatch(
              /data_streaming_latency_seconds|dashboard_update_interval_seconds|_connections_total|notification_delivery_total/,
            );
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('has the SPEC panels in "Data Streaming and Live Dashboards"', () => {
    const dashboard = committed.get('data-streaming-overview.json');
    expect(dashboard.title).toBe('Data Streaming and Live Dashboards');
    const byTitle = new Map(dashboard.panels.map((panel: any) => [panel.title, panel]));
    expect(byTitle.get('Streaming latency')).toMatchObject({ type: 'timeseries' });
    expect(byTitle.get('Dashboard update frequency')).toMatchObject({
      type: 'timeseries',
      targets: [{ expr: 'dashboard_update_interval_seconds' }],
    });
    expect((byTitle.get('Streaming connections') as any).targets.map((target: any) => target.legendFormat)).toEqual([
      'Total',
      'WebSocket',
      'SSE',
    ]);
    expect(byTitle.get('Streaming connections')).toMatchObject({ type: 'stat' });
    expect(byTitle.get('Notification delivery rate')).toMatchObject({
      type: 'timeseries',
      targets: [{ expr: 'rate(notification_delivery_total[5m])' }],
    });
  });
});
