/**
 * The data source: live channels of data-streaming-api as streaming frames, panels of its dashboards, template
 * variables, and a connection test. Every Observable returns a teardown that leaves the shared socket (closed when
 * its last panel goes) and clears its timers.
 */
import {
  CoreApp,
  DataFrame,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  FieldType,
  LoadingState,
  MetricFindValue,
  TestDataSourceResponse,
  createDataFrame,
} from '@grafana/data';
import { Observable, merge } from 'rxjs';
import { createClient, type Client, type Gap, type SocketFactory, type SocketLike } from '@data-streaming/client';
import { LiveFrame, eventRows } from './live/frames';
import { HttpClient, grafanaHttp } from './live/http';
import { DEFAULT_QUERY, DataStreamingOptions, DataStreamingQuery, WireEvent } from './types';

/** What a panel says when the service could not fill a gap in its data. */
function gapNotice(gap: Gap): string {
  const why = gap.reason === 'epoch_changed' ? 'the service restarted' : 'the gap was longer than its history';
  return `Events may be missing: ${why} (resumed at ${gap.welcome?.last_id ?? 'the newest event'}).`;
}

const DEFAULT_CAPACITY = 1000;
const MAX_CAPACITY = 100_000;
const EMIT_EVERY_MS = 100;

export interface PanelValue {
  kind: 'scalar' | 'series';
  value?: number | null;
  label?: string;
  series?: Array<{ label: string; value: number | null }>;
}

interface DashboardPanel {
  panel_id: string;
  title: string;
  unit: string | null;
  value: PanelValue | null;
  updated_at: string | null;
}

interface DashboardData {
  dashboard: string;
  cursor: string;
  panels: DashboardPanel[];
}

export interface DataSourceDependencies {
  createSocket?: SocketFactory;
  http?: HttpClient;
  /** The page's origin, for WebSocket URLs through Grafana's proxy. */
  origin?: string;
}

export class DataSource extends DataSourceApi<DataStreamingQuery, DataStreamingOptions> {
  /** The live connections: one socket per channel, shared by every panel of this data source. */
  readonly live: Client;
  private readonly http: HttpClient;
  private readonly httpBase: string;
  private readonly token: string | undefined;

  constructor(
    instanceSettings: DataSourceInstanceSettings<DataStreamingOptions>,
    dependencies: DataSourceDependencies = {}
  ) {
    super(instanceSettings);
    const { jsonData } = instanceSettings;
    const origin = dependencies.origin ?? (typeof window === 'undefined' ? 'http://localhost' : window.location.origin);
    if (jsonData.accessMode === 'direct') {
      this.httpBase = (jsonData.url || instanceSettings.url || '').replace(/\/+$/, '');
      this.token = jsonData.readToken || undefined;
    } else {
      // Grafana's data source proxy: the `api` route of plugin.json forwards to the service and adds the API key.
      this.httpBase = `${(instanceSettings.url ?? '').replace(/\/+$/, '')}/api`;
    }
    const absolute = /^https?:\/\//.test(this.httpBase) ? this.httpBase : `${origin}${this.httpBase}`;
    this.http = dependencies.http ?? grafanaHttp;
    this.live = createClient({
      url: absolute,
      ...(this.token ? { credential: { token: this.token } } : {}),
      // The browser's WebSocket; its handler types are narrower than SocketLike's, which is all the client relies on.
      createSocket:
        dependencies.createSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike),
    });
  }

  getDefaultQuery(_app: CoreApp): Partial<DataStreamingQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: DataStreamingQuery): boolean {
    return query.queryType === 'dashboard' ? Boolean(query.dashboard && query.panel) : Boolean(query.channel);
  }

  private get<T>(path: string) {
    return this.http.get<T>(`${this.httpBase}${path}`, this.token ? { Authorization: `Bearer ${this.token}` } : {});
  }

  query(request: DataQueryRequest<DataStreamingQuery>): Observable<DataQueryResponse> {
    const targets = request.targets.filter((target) => !target.hide && this.filterQuery(target));
    if (targets.length === 0) {
      return new Observable((subscriber) => {
        subscriber.next({ data: [], state: LoadingState.Done });
        subscriber.complete();
      });
    }
    return merge(
      ...targets.map((target) =>
        target.queryType === 'dashboard' ? this.dashboardPanel(target, request) : this.stream(target, request)
      )
    );
  }

  /** A live channel as a bounded streaming frame. */
  stream(target: DataStreamingQuery, request: Pick<DataQueryRequest, 'maxDataPoints'>): Observable<DataQueryResponse> {
    const capacity = Math.min(
      MAX_CAPACITY,
      Math.max(1, target.bufferSize ?? request.maxDataPoints ?? DEFAULT_CAPACITY)
    );
    const key = `${this.uid}/${target.refId}/${target.channel}`;
    return new Observable<DataQueryResponse>((subscriber) => {
      const live = new LiveFrame(target.refId, capacity, target.windowSeconds);
      const notices: string[] = [];
      const emit = throttle(() => {
        live.frame.meta = {
          ...live.frame.meta,
          notices: notices.map((text) => ({ severity: 'warning' as const, text })),
          custom: { ...subscription.stats(), channel: target.channel },
        };
        subscriber.next({ data: [live.frame], key, state: LoadingState.Streaming });
      });
      const subscription = this.live.subscribe(target.channel ?? '', {
        onEvents: (events) => {
          const rows = eventRows(events, target);
          if (rows.length > 0) {
            live.append(rows);
            emit.request();
          }
        },
        onGap: (gap) => {
          notices.push(gapNotice(gap));
          emit.request();
        },
        onError: (error) => {
          notices.push(`${target.channel}: ${error.message}`);
          emit.request();
        },
      });
      return () => {
        emit.cancel();
        subscription.unsubscribe();
      };
    });
  }

  /**
   * A panel of a service dashboard: its current data (GET /dashboards/{type}/data), then its updates from the
   * dashboard's live channel. Numbers accumulate as a time series; grouped values are a table of the latest.
   */
  dashboardPanel(
    target: DataStreamingQuery,
    request: Pick<DataQueryRequest, 'maxDataPoints'>
  ): Observable<DataQueryResponse> {
    const dashboard = target.dashboard ?? '';
    const key = `${this.uid}/${target.refId}/dashboard/${dashboard}/${target.panel}`;
    return new Observable<DataQueryResponse>((subscriber) => {
      const history = new LiveFrame(
        target.refId,
        Math.min(MAX_CAPACITY, target.bufferSize ?? request.maxDataPoints ?? DEFAULT_CAPACITY),
        target.windowSeconds
      );
      let closed = false;
      const show = (panel: DashboardPanel | undefined) => {
        if (closed || !panel?.value) {
          return;
        }
        subscriber.next({ data: [panelFrame(target, panel, history)], key, state: LoadingState.Streaming });
      };
      const pick = (data: unknown) =>
        ((data as DashboardData | undefined)?.panels ?? []).find((panel) => panel.panel_id === target.panel);
      this.get<DashboardData>(`/dashboards/${encodeURIComponent(dashboard)}/data`)
        .then((response) => {
          if (response.status !== 200) {
            throw new Error(describeError(response.status, response.data, `dashboard ${dashboard}`));
          }
          show(pick(response.data));
        })
        .catch((error: Error) => {
          if (!closed) {
            subscriber.next({ data: [], key, state: LoadingState.Error, errors: [{ message: error.message }] });
          }
        });
      const subscription = this.live.subscribe(`dashboards/${dashboard}`, {
        onSnapshot: (data) => show(pick(data)),
        onEvents: (events: WireEvent[]) => {
          for (const event of events) {
            show(pick(event.data));
          }
        },
      });
      return () => {
        closed = true;
        subscription.unsubscribe();
      };
    });
  }

  /** Template variables: `channels()`, `fields(<channel>)`, `dashboards()`, `panels(<dashboard>)`. */
  async metricFindQuery(query: string): Promise<MetricFindValue[]> {
    const match = /^\s*(channels|fields|dashboards|panels)\s*\(\s*([a-z0-9_]*)\s*\)\s*$/.exec(query ?? '');
    if (!match) {
      throw new Error('Use channels(), fields(<channel>), dashboards() or panels(<dashboard>)');
    }
    const [, kind, argument] = match;
    switch (kind) {
      case 'channels': {
        const response = await this.get<{ streams: string[] }>('/streams');
        return (response.data?.streams ?? []).map((text) => ({ text }));
      }
      case 'fields':
        return (await this.fields(argument)).map((text) => ({ text }));
      case 'dashboards': {
        const response = await this.get<{ dashboards: Array<{ dashboard: string; title: string }> }>('/dashboards');
        return (response.data?.dashboards ?? []).map((item) => ({ text: item.title, value: item.dashboard }));
      }
      default: {
        const response = await this.get<DashboardData>(`/dashboards/${encodeURIComponent(argument)}/data`);
        return (response.data?.panels ?? []).map((panel) => ({ text: panel.title, value: panel.panel_id }));
      }
    }
  }

  /** The field paths seen in a channel's newest events (numbers and strings of `data`). */
  async fields(channel: string, eventType?: string): Promise<string[]> {
    const response = await this.get<{ events: WireEvent[] }>(`/streams/${encodeURIComponent(channel)}/recent?limit=50`);
    if (response.status !== 200) {
      return [];
    }
    const names = new Set<string>();
    for (const row of eventRows(response.data.events, { refId: 'fields', eventType })) {
      row.values.forEach((_value, name) => names.add(name));
    }
    return [...names].sort();
  }

  /** The channels and dashboards, for the query editor. */
  async channels(): Promise<string[]> {
    const response = await this.get<{ streams: string[] }>('/streams');
    return response.status === 200 ? response.data.streams : [];
  }

  async testDatasource(): Promise<TestDataSourceResponse> {
    const where = this.httpBase || '(no URL)';
    let health;
    try {
      health = await this.get<{ status?: string; service?: string; version?: string; reasons?: string[] }>('/health');
    } catch (error) {
      return {
        status: 'error',
        message: `Cannot reach data-streaming-api at ${where}: ${(error as Error).message || 'no answer'}. Is the service running, and is the URL right?`,
      };
    }
    if (health.data?.service !== 'data-streaming-api') {
      return {
        status: 'error',
        message: `${where} answered HTTP ${health.status}, but not as data-streaming-api: check the URL.`,
      };
    }
    if (health.status !== 200) {
      return {
        status: 'error',
        message: `data-streaming-api at ${where} is ${health.data.status ?? 'unhealthy'}: ${(health.data.reasons ?? []).join('; ')}`,
      };
    }
    const verify = await this.get<{ error?: string; message?: string; scopes?: string[] }>('/auth/verify');
    if (verify.status === 401 || verify.status === 403) {
      return {
        status: 'error',
        message: `data-streaming-api refused the API key: ${verify.data?.message ?? `HTTP ${verify.status}`}`,
      };
    }
    if (verify.data?.scopes && !verify.data.scopes.includes('read')) {
      return {
        status: 'error',
        message: `the API key has the scopes ${verify.data.scopes.join(', ')}; panels need a key with the read scope`,
      };
    }
    const channels = await this.channels();
    const state =
      health.data.status === 'healthy' ? '' : ` (${health.data.status}: ${(health.data.reasons ?? []).join('; ')})`;
    return {
      status: health.data.status === 'healthy' ? 'success' : 'warning',
      message: `data-streaming-api ${health.data.version ?? ''} is ${health.data.status}${state}; channels: ${channels.join(', ')}`,
    };
  }
}

function describeError(status: number, data: unknown, what: string): string {
  const message = typeof data === 'object' && data !== null ? (data as { message?: string }).message : undefined;
  return `${what}: HTTP ${status}${message ? `: ${message}` : ''}`;
}

/** The frame of one dashboard panel: a number accumulates over time; grouped values are a table. */
function panelFrame(target: DataStreamingQuery, panel: DashboardPanel, history: LiveFrame): DataFrame {
  const value = panel.value as PanelValue;
  const name = target.alias || panel.title;
  if (value.kind === 'series') {
    const series = value.series ?? [];
    return createDataFrame({
      refId: target.refId,
      name,
      fields: [
        { name: value.label ?? 'label', type: FieldType.string, values: series.map((item) => item.label) },
        {
          name,
          type: FieldType.number,
          values: series.map((item) => item.value),
          config: panel.unit ? { unit: panel.unit } : {},
        },
      ],
    });
  }
  const time = panel.updated_at ? Date.parse(panel.updated_at) : Date.now();
  if (typeof value.value === 'number') {
    history.append([{ time, values: new Map([[name, value.value]]) }]);
  }
  const field = history.frame.fields.find((candidate) => candidate.name === name);
  if (field && panel.unit) {
    field.config = { ...field.config, unit: panel.unit };
  }
  return history.frame;
}

/** Emits at once, then at most once per EMIT_EVERY_MS while requests keep coming. */
function throttle(emit: () => void): { request: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const fire = () => {
    timer = undefined;
    if (pending) {
      pending = false;
      emit();
      timer = setTimeout(fire, EMIT_EVERY_MS);
    }
  };
  return {
    request: () => {
      pending = true;
      if (!timer) {
        fire();
      }
    },
    cancel: () => {
      if (timer) {
        clearTimeout(timer);
      }
      timer = undefined;
      pending = false;
    },
  };
}
