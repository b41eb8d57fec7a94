/**
 * The plugin's query and settings. The query model is the contract with the service's Grafana provisioning
 * (docs/DASHBOARDS.md): `stream` reads a live channel, `dashboard` a panel of a service dashboard.
 */
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

export type QueryType = 'stream' | 'dashboard';

export interface DataStreamingQuery extends DataQuery {
  queryType?: QueryType;
  /** stream: a WebSocket channel of the service. */
  channel?: string;
  /** stream: keep only events of this type. */
  eventType?: string;
  /** stream: paths into the event's `data` to plot (dots for nesting); empty: every number and string. */
  fields?: string[];
  /** stream: one series per event key. */
  groupBy?: 'key';
  /** A display name for the field (the first field when several). */
  alias?: string;
  /** Rows kept by the streaming frame; default: the panel's max data points. */
  bufferSize?: number;
  /** Only keep rows newer than this many seconds. */
  windowSeconds?: number;
  /** dashboard: the service dashboard type and panel id. */
  dashboard?: string;
  panel?: string;
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
}

/** Only Grafana's server sees these (proxy access). */
export interface DataStreamingSecureJsonData {
  apiKey?: string;
}

/** The service's wire protocol (docs/PROTOCOL.md), typed by its protocol package. */
export type { ServerFrame, WireEvent } from '@data-streaming/protocol';
