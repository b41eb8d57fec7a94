/**
 * Grafana provisioning generated from the service's own definitions, typed with Grafana's `@grafana/schema`: one
 * Grafana dashboard per live dashboard (panels on our data source plugin, with a variable for each label its panels
 * group by: model, node, tenant), a channel explorer (any channel and event type, by variables), and "Data Streaming
 * and Live Dashboards" (the SPEC panels on Prometheus). `npm run grafana-dashboards -w backend` writes
 * provisioning/grafana/dashboards/; a test fails when the committed files differ from what this code generates.
 */
import { VariableRefresh, VariableSort, type Dashboard, type DataSourceRef, type Panel, type VariableModel } from '@grafana/schema';
import type { AppConfig } from '../../config/config.schema';
import type { LoadedDashboard, PanelDefinition } from '../dashboard-definitions';
import type { PanelQuery } from '../query/panel-query';

/** The data source contract shared with grafana-plugin/ (docs/ARCHITECTURE.md). */
export const PLUGIN_TYPE = 'llmops-datastreaming-datasource';
export const PLUGIN_DATASOURCE: DataSourceRef = { type: PLUGIN_TYPE, uid: 'data-streaming-api' };
export const PROMETHEUS_DATASOURCE: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/**
 * A query of the plugin (grafana-plugin/src/types.ts): a live channel (`stream`) or a panel of a service dashboard
 * (`dashboard`), as a time series or a table (`format`), kept to the events or series the filters match.
 */
export type DataStreamingQuery = {
  refId: string;
  datasource: DataSourceRef;
  queryType: 'stream' | 'dashboard';
  channel?: string;
  eventType?: string;
  fields?: string[];
  filters?: { field: string; value: string }[];
  groupBy?: 'key';
  dashboard?: string;
  panel?: string;
  format?: 'time_series' | 'table';
  alias?: string;
};

const PANEL_TYPES: Record<PanelDefinition['panel_type'], string> = {
  graph: 'timeseries',
  stat: 'stat',
  table: 'table',
  gauge: 'gauge',
  heatmap: 'heatmap',
};
const UNITS: Record<string, string> = { 'req/s': 'reqps' };
const WIDTH: Record<PanelDefinition['panel_type'], number> = { graph: 12, stat: 6, table: 12, gauge: 6, heatmap: 12 };
const HEIGHT = 8;

/** Lays panels out left to right on Grafana's 24-column grid. */
function layout<T extends { width: number }>(items: T[]): (T & { gridPos: { x: number; y: number; w: number; h: number } })[] {
  let x = 0;
  let y = 0;
  return items.map((item) => {
    if (x + item.width > 24) {
      x = 0;
      y += HEIGHT;
    }
    const placed = { ...item, gridPos: { x, y, w: item.width, h: HEIGHT } };
    x += item.width;
    return placed;
  });
}

/** The source of a query's metric: which channel, event type and key its series come from. */
const sourceOf = (config: AppConfig, query: PanelQuery) =>
  config.metric_store.sources.find((candidate) => candidate.metric === query.metric);

function liveTarget(config: AppConfig, dashboard: string, panel: PanelDefinition, query: PanelQuery): DataStreamingQuery {
  const source = sourceOf(config, query);
  // A panel grouped by a label (model, node, tenant) shows the series its dashboard's variable of that label selects.
  const label = query.by && source ? source.label : undefined;
  // A graph of a metric's current value plots the raw events of its channel: every event, not a sample per refresh.
  if (panel.panel_type === 'graph' && query.fn === 'current' && source) {
    return {
      refId: 'A',
      datasource: PLUGIN_DATASOURCE,
      queryType: 'stream',
      channel: source.channel,
      eventType: source.type,
      fields: [source.field],
      ...(query.by ? { groupBy: 'key' as const } : {}),
      ...(label ? { filters: [{ field: 'key', value: `$${label}` }] } : {}),
      alias: panel.title ?? panel.panel_id,
    };
  }
  return {
    refId: 'A',
    datasource: PLUGIN_DATASOURCE,
    queryType: 'dashboard',
    dashboard,
    panel: panel.panel_id,
    // Tables read label and value fields; time series, heatmaps, stats and gauges a time field and numbers.
    format: panel.panel_type === 'table' ? 'table' : 'time_series',
    ...(label ? { filters: [{ field: 'label', value: `$${label}` }] } : {}),
  };
}

/** What every live dashboard of ours has: read-only, live (no refresh: its panels stream), the last 15 minutes. */
const LIVE_DASHBOARD = {
  tags: ['data-streaming-api', 'live'],
  editable: false,
  schemaVersion: 41,
  version: 1,
  refresh: '',
  liveNow: true,
  time: { from: 'now-15m', to: 'now' },
  timezone: 'browser',
} satisfies Partial<Dashboard>;

/** A variable of our data source: a query of the plugin's variable language, refreshed when the dashboard loads. */
function queryVariable(name: string, label: string, query: string, options: { multi: boolean; current: string }): VariableModel {
  const all = options.current === '$__all';
  return {
    type: 'query',
    name,
    label,
    datasource: PLUGIN_DATASOURCE,
    query,
    refresh: VariableRefresh.onDashboardLoad,
    sort: VariableSort.alphabeticalAsc,
    multi: options.multi,
    includeAll: options.multi,
    ...(options.multi ? { allValue: '*' } : {}),
    current: all ? { selected: true, text: ['All'], value: ['$__all'] } : { selected: true, text: options.current, value: options.current },
    options: [],
  };
}

/** One variable for each label (model, node, tenant) a panel of the dashboard groups by: All by default. */
function labelVariables(config: AppConfig, loaded: LoadedDashboard): VariableModel[] {
  const variables = new Map<string, VariableModel>();
  for (const query of loaded.queries.values()) {
    const source = sourceOf(config, query);
    if (!query.by || !source || variables.has(source.label)) continue;
    variables.set(
      source.label,
      queryVariable(
        source.label,
        `${(source.label[0] ?? '').toUpperCase()}${source.label.slice(1)}`,
        `values(${source.channel}, key, ${source.type})`,
        {
          multi: true,
          current: '$__all',
        },
      ),
    );
  }
  return [...variables.values()];
}

export function liveGrafanaDashboard(config: AppConfig, loaded: LoadedDashboard): Dashboard {
  const { definition } = loaded;
  const panels = layout((definition.panels ?? []).map((panel) => ({ panel, width: WIDTH[panel.panel_type] })));
  return {
    uid: `dsa-${definition.dashboard_type.replace(/_/g, '-')}`,
    title: `Live: ${definition.title ?? definition.dashboard_type}`,
    description: `Live dashboard ${definition.dashboard_type} of data-streaming-api (definition ${definition.dashboard_id})`,
    ...LIVE_DASHBOARD,
    templating: { list: labelVariables(config, loaded) },
    panels: panels.map(({ panel, gridPos }, index): Panel => ({
      id: index + 1,
      type: PANEL_TYPES[panel.panel_type],
      title: panel.title ?? panel.panel_id,
      description: `data_query: ${panel.data_query}`,
      datasource: PLUGIN_DATASOURCE,
      gridPos,
      maxDataPoints: 1000,
      targets: [liveTarget(config, definition.dashboard_type, panel, loaded.queries.get(panel.panel_id) as PanelQuery)],
      fieldConfig: { defaults: { unit: UNITS[panel.unit ?? ''] ?? panel.unit ?? 'short' }, overrides: [] },
      options: {},
    })),
  };
}

/** Any channel of the service, live: its numbers over time and its events as a table, chosen by variables. */
export function channelExplorerDashboard(config: AppConfig): Dashboard {
  const target = (refId: string): DataStreamingQuery => ({
    refId,
    datasource: PLUGIN_DATASOURCE,
    queryType: 'stream',
    channel: '$channel',
    eventType: '$type',
  });
  return {
    uid: 'dsa-channel-explorer',
    title: 'Live: Channel explorer',
    description: 'Any channel of data-streaming-api, live: pick the channel and the event type',
    ...LIVE_DASHBOARD,
    templating: {
      list: [
        queryVariable('channel', 'Channel', 'channels()', { multi: false, current: config.websocket.channels[0] ?? 'metrics_updates' }),
        queryVariable('type', 'Event type', 'values($channel, type)', { multi: true, current: '$__all' }),
      ],
    },
    panels: [
      {
        id: 1,
        type: 'timeseries',
        title: 'Numbers of $channel',
        description: 'Every number in the events of the channel and type chosen above',
        datasource: PLUGIN_DATASOURCE,
        gridPos: { x: 0, y: 0, w: 24, h: HEIGHT },
        maxDataPoints: 1000,
        targets: [target('A')],
        fieldConfig: { defaults: { unit: 'short' }, overrides: [] },
        options: {},
      },
      {
        id: 2,
        type: 'table',
        title: 'Events of $channel',
        description: 'The newest events of the channel and type chosen above, a row each',
        datasource: PLUGIN_DATASOURCE,
        gridPos: { x: 0, y: HEIGHT, w: 24, h: 2 * HEIGHT },
        maxDataPoints: 500,
        targets: [target('A')],
        fieldConfig: { defaults: {}, overrides: [] },
        options: { sortBy: [{ displayName: 'time', desc: true }] },
      },
    ],
  };
}

const prometheus = (expr: string, legendFormat: string, refId: string) => ({
  refId,
  datasource: PROMETHEUS_DATASOURCE,
  expr,
  legendFormat,
});

/** SPEC: "Data Streaming and Live Dashboards", the service's own monitoring on Prometheus. */
export function monitoringGrafanaDashboard(): Dashboard {
  const panels: Panel[] = [
    {
      type: 'timeseries',
      title: 'Streaming latency',
      description: 'Time from accepting an event to writing it to a subscriber (alert: DataStreamingLatencyHigh, p99 > 100 ms for 5 m)',
      targets: [
        prometheus(
          'histogram_quantile(0.99, sum by (le, transport) (rate(data_streaming_latency_seconds_bucket[5m])))',
          'p99 {{transport}}',
          'A',
        ),
        prometheus(
          'histogram_quantile(0.5, sum by (le, transport) (rate(data_streaming_latency_seconds_bucket[5m])))',
          'p50 {{transport}}',
          'B',
        ),
      ],
      fieldConfig: { defaults: { unit: 's' }, overrides: [] },
    },
    {
      type: 'timeseries',
      title: 'Dashboard update frequency',
      description: 'Measured seconds between the updates of each live dashboard (alert: DashboardUpdateFrequencyLow, > 10 s for 5 m)',
      targets: [prometheus('dashboard_update_interval_seconds', '{{dashboard}}', 'A')],
      fieldConfig: { defaults: { unit: 's' }, overrides: [] },
    },
    {
      type: 'stat',
      title: 'Streaming connections',
      description: 'Open connections: total, WebSocket, SSE (alert: StreamingConnectionCountHigh, > 500 for 5 m)',
      targets: [
        prometheus('sum(streaming_connections_total)', 'Total', 'A'),
        prometheus('sum(websocket_connections_total)', 'WebSocket', 'B'),
        prometheus('sum(sse_connections_total)', 'SSE', 'C'),
      ],
      fieldConfig: { defaults: { unit: 'short' }, overrides: [] },
      options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, textMode: 'value_and_name', graphMode: 'area' },
    },
    {
      type: 'timeseries',
      title: 'Notification delivery rate',
      description: 'Notification deliveries per second, by channel and outcome',
      targets: [prometheus('rate(notification_delivery_total[5m])', '{{channel}} {{status}}', 'A')],
      fieldConfig: { defaults: { unit: 'ops' }, overrides: [] },
    },
  ];
  return {
    uid: 'data-streaming-overview',
    title: 'Data Streaming and Live Dashboards',
    description: 'data-streaming-api monitoring: streaming latency, dashboard update frequency, connections, notification deliveries',
    tags: ['data-streaming-api', 'prometheus'],
    editable: false,
    schemaVersion: 41,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    panels: layout(panels.map((panel) => ({ panel, width: 12 }))).map(({ panel, gridPos }, index) => ({
      ...panel,
      id: index + 1,
      datasource: PROMETHEUS_DATASOURCE,
      gridPos,
      options: panel.options ?? {},
    })),
  };
}

/** Every provisioned dashboard, by the file name it is written to. */
export function grafanaDashboards(config: AppConfig, loaded: readonly LoadedDashboard[]): Map<string, Dashboard> {
  const files = new Map<string, Dashboard>();
  const dashboards = [
    ...loaded.map((item) => liveGrafanaDashboard(config, item)),
    channelExplorerDashboard(config),
    monitoringGrafanaDashboard(),
  ];
  for (const dashboard of dashboards) {
    files.set(`${dashboard.uid ?? 'dashboard'}.json`, dashboard);
  }
  return files;
}
