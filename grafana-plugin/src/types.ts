/**
 * The plugin's query and settings. The query model is the contract with the service's Grafana provisioning
 * (docs/DASHBOARDS.md): `stream` reads a channel, `dashboard` a panel of a service dashboard. Every text of a
 * query may hold template variables (`$channel`, `${model}`); multi-value variables give several channels, fields or
 * filter values.
 */
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type QueryType = 'stream' | 'dashboard';

/** Keep only events whose `field` (a path into `data`, or `key` for the event key) is one of `value` (csv). */
export interface EventFilter {
  field: string;
  /** One value, several separated by commas (a multi-value variable), or `*` / empty for any. */
  value: string;
}

/**
 * How a dashboard panel's value becomes a frame: `time_series` accumulates it over time (a time field, then one
 * number field per series: what time series and heatmap panels read), `table` is its latest value (label and value
 * fields: what table, bar gauge and stat panels read).
 */
export type PanelFormat = 'time_series' | 'table';

export interface DataStreamingQuery extends DataQuery {
  queryType?: QueryType;
  /** stream: a WebSocket channel of the service. */
  channel?: string;
  /** stream: keep only events of this type (several separated by commas; `*` or empty: every type). */
  eventType?: string;
  /** stream: paths into the event's `data` to plot (dots for nesting); empty: every number and string. */
  fields?: string[];
  /** stream: keep only the events that match every filter. */
  filters?: EventFilter[];
  /** stream: one series per event key. */
  groupBy?: 'key';
  /** A display name for the field (the first field when several). */
  alias?: string;
  /** Rows kept by the streaming frame; default: the panel's max data points. */
  bufferSize?: number;
  /** Only keep rows newer than this many seconds. */
  windowSeconds?: number;
  /** A warning on the panel when its newest data is older than this (seconds); default 60 (dashboards: 3 updates). */
  staleAfterSeconds?: number;
  /** dashboard: the service dashboard type and panel id. */
  dashboard?: string;
  panel?: string;
  /** dashboard: the frame's shape (default: time_series). */
  format?: PanelFormat;
}

export const DEFAULT_QUERY: Partial<DataStreamingQuery> = { queryType: 'stream', channel: 'metrics_updates' };

export type AccessMode = 'proxy' | 'direct';

export interface DataStreamingOptions extends DataSourceJsonData {
  /** proxy: through Grafana's data source proxy, which adds the API key; direct: the browser calls the service. */
  accessMode?: AccessMode;
  /** The service's URL, e.g. http://127.0.0.1:9102 (the proxy forwards to it; direct access calls it). */
  url?: string;
  /** direct access: a read-only token the browser sends (it is visible to viewers). */
  readToken?: string;
  /** How long a stream and its rows are kept after its last panel leaves (seconds, default 30; at least 5). */
  keepStreamsSeconds?: number;
}

/** Only Grafana's server sees these (proxy access). */
export interface DataStreamingSecureJsonData {
  apiKey?: string;
}

/** The service's wire protocol (docs/PROTOCOL.md), typed by its protocol package. */
export type { DashboardData, PanelData, PanelValue, ServerFrame, WireEvent } from '@data-streaming/protocol';
