/**
 * The data source: channels of data-streaming-api as streaming frames, panels of its dashboards, template
 * variables, and a connection test. A panel opens with its time range from the service's history and then follows
 * live; its stream is shared with every panel of the same query and kept for `keepStreamsSeconds` after the last one
 * leaves, so a refresh, a time range change or an edit that keeps the stream continues the rows it had. A range that
 * ends in the past is answered from history alone. Every Observable returns a teardown that releases its stream and
 * clears its timers.
 */
import {
  CoreApp,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourceInstanceSettings,
  LoadingState,
  MetricFindValue,
  TestDataSourceResponse,
  type QueryResultMetaNotice,
  type ScopedVars,
} from '@grafana/data';
import { Observable, merge } from 'rxjs';
import { createClient, type Client, type SocketFactory, type SocketLike } from '@data-streaming/client';
import { ChannelStream, historyRows, type ChannelQuery, type StreamContext } from './live/channel-stream';
import { DashboardStream, type DashboardQuery } from './live/dashboard-stream';
import { LiveFrame, eventRows, readPath } from './live/frames';
import { HttpClient, grafanaHttp } from './live/http';
import { SharedStreams } from './live/shared-streams';
import { interpolate, interpolateText } from './live/variables';
import type { HistoryPage } from '@data-streaming/protocol';
import { DEFAULT_QUERY, DashboardData, DataStreamingOptions, DataStreamingQuery, WireEvent } from './types';

const DEFAULT_CAPACITY = 1000;
const MAX_CAPACITY = 100_000;
const EMIT_EVERY_MS = 100;
/** How often a panel's freshness notice is brought up to date while nothing new arrives. */
const FRESHNESS_EVERY_MS = 5000;
/**
 * How long a new stream's panel waits for the history of its range before showing what it has: its first frame
 * holds the whole range, unless the service takes longer than this to answer (it is down, say).
 */
const REPLAY_WAIT_MS = 5000;
const DEFAULT_KEEP_SECONDS = 30;
const MIN_KEEP_SECONDS = 5;
const DEFAULT_STALE_SECONDS = 60;
/** Without Grafana's raw range (a caller that gives only times), a range ending this close to now is live. */
const LIVE_SLACK_MS = 5000;
/** Without a time range (a query run outside a dashboard), a stream opens this far back. */
const DEFAULT_LOOKBACK_MS = 15 * 60_000;

export interface DataSourceDependencies {
  createSocket?: SocketFactory;
  http?: HttpClient;
  /** The page's origin, for WebSocket URLs through Grafana's proxy. */
  origin?: string;
}

type Range = Pick<DataQueryRequest, 'range'>['range'] | undefined;

/**
 * The range in ms, and whether it is live: it ends at `now` (Grafana's raw `to` is the text `now`; `now-5m` or an
 * absolute time is a range of the past). Without a raw range, one that ends within LIVE_SLACK_MS of now is live.
 */
function rangeOf(range: Range): { from: number; to: number; live: boolean } {
  const now = Date.now();
  const from = range?.from?.valueOf();
  const to = range?.to?.valueOf();
  const rawTo = range?.raw?.to;
  const endsNow =
    rawTo === undefined
      ? !Number.isFinite(to) || (to as number) >= now - LIVE_SLACK_MS
      : typeof rawTo === 'string' && rawTo.trim() === 'now';
  return {
    from: Number.isFinite(from) ? (from as number) : now - DEFAULT_LOOKBACK_MS,
    to: Number.isFinite(to) ? (to as number) : now,
    live: range === undefined || endsNow,
  };
}

export class DataSource extends DataSourceApi<DataStreamingQuery, DataStreamingOptions> {
  /** The live connections: one socket per channel and start, shared by every panel of this data source. */
  readonly live: Client;
  /** The panels' streams, shared and kept after their last panel leaves. */
  readonly streams: SharedStreams;
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
    const keepSeconds = Math.max(MIN_KEEP_SECONDS, jsonData.keepStreamsSeconds ?? DEFAULT_KEEP_SECONDS);
    this.streams = new SharedStreams(keepSeconds * 1000);
  }

  getDefaultQuery(_app: CoreApp): Partial<DataStreamingQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: DataStreamingQuery): boolean {
    return query.queryType === 'dashboard' ? Boolean(query.dashboard && query.panel) : Boolean(query.channel);
  }

  private get context(): StreamContext {
    return {
      client: this.live,
      http: this.http,
      base: this.httpBase,
      headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
    };
  }

  private get<T>(path: string) {
    return this.http.get<T>(`${this.httpBase}${path}`, this.context.headers);
  }

  query(request: DataQueryRequest<DataStreamingQuery>): Observable<DataQueryResponse> {
    const targets = request.targets
      .filter((target) => !target.hide && this.filterQuery(target))
      .flatMap((target) => interpolate(target, request.scopedVars))
      .filter((target) => this.filterQuery(target));
    if (targets.length === 0) {
      return new Observable((subscriber) => {
        subscriber.next({ data: [], state: LoadingState.Done });
        subscriber.complete();
      });
    }
    return merge(
      ...targets.map((target) =>
        target.queryType === 'dashboard'
          ? this.dashboardPanel(target as DashboardQuery, request)
          : this.stream(target as ChannelQuery, request)
      )
    );
  }

  private capacity(target: DataStreamingQuery, request: Pick<DataQueryRequest, 'maxDataPoints'>): number {
    return Math.min(MAX_CAPACITY, Math.max(1, target.bufferSize ?? request.maxDataPoints ?? DEFAULT_CAPACITY));
  }

  /**
   * A channel as a bounded streaming frame, from the start of the panel's range. A range that ended in the past
   * is one frame of history.
   */
  stream(
    target: ChannelQuery,
    request: Pick<DataQueryRequest, 'maxDataPoints'> & Partial<Pick<DataQueryRequest, 'range'>>
  ): Observable<DataQueryResponse> {
    const capacity = this.capacity(target, request);
    const key = `${this.uid}/${target.refId}/${target.channel}`;
    const range = rangeOf(request.range);
    if (!range.live) {
      return this.pastStream(target, capacity, range, key);
    }
    const identity = JSON.stringify([
      'stream',
      target.channel,
      target.eventType ?? '',
      target.fields ?? [],
      target.filters ?? [],
      target.groupBy ?? '',
      target.alias ?? '',
      capacity,
      target.windowSeconds ?? 0,
    ]);
    const staleAfterMs = (target.staleAfterSeconds ?? DEFAULT_STALE_SECONDS) * 1000;
    return this.shared(
      identity,
      () => new ChannelStream(this.context, target, capacity, range.from),
      (stream) => {
        stream.extendTo(range.from);
      },
      (stream) => {
        if (stream.error) {
          return { data: [], key, state: LoadingState.Error, errors: [{ message: stream.error }] };
        }
        const frame = stream.live.frame;
        frame.meta = {
          ...frame.meta,
          notices: stream.panelNotices(staleAfterMs),
          custom: { ...stream.stats(), ...stream.freshness.custom(), channel: target.channel },
        };
        return { data: [frame], key, state: LoadingState.Streaming };
      }
    );
  }

  /** A range that ended: the newest events of it (up to the panel's capacity) from history, once. */
  private pastStream(
    target: ChannelQuery,
    capacity: number,
    range: { from: number; to: number },
    key: string
  ): Observable<DataQueryResponse> {
    return new Observable<DataQueryResponse>((subscriber) => {
      let closed = false;
      historyRows(this.context, target, range.from, range.to, capacity)
        .then(({ rows, reachedFrom }) => {
          if (closed) {
            return;
          }
          const frame = new LiveFrame(target.refId, capacity, target.windowSeconds);
          frame.append(rows);
          const notices: QueryResultMetaNotice[] =
            reachedFrom !== undefined && reachedFrom > range.from
              ? [
                  {
                    severity: 'info',
                    text: `History of ${target.channel} reaches back to ${new Date(reachedFrom).toISOString()} only, after the start of the time range.`,
                  },
                ]
              : [];
          frame.frame.meta = { ...frame.frame.meta, notices, custom: { channel: target.channel } };
          subscriber.next({ data: [frame.frame], key, state: LoadingState.Done });
          subscriber.complete();
        })
        .catch((error: Error) => {
          if (!closed) {
            subscriber.next({ data: [], key, state: LoadingState.Error, errors: [{ message: error.message }] });
            subscriber.complete();
          }
        });
      return () => {
        closed = true;
      };
    });
  }

  /**
   * A panel of a service dashboard: its updates from the start of the panel's range, then live, with its current
   * value; a time series of its values, or its latest value as a table (`format`).
   */
  dashboardPanel(
    target: DashboardQuery,
    request: Pick<DataQueryRequest, 'maxDataPoints'> & Partial<Pick<DataQueryRequest, 'range'>>
  ): Observable<DataQueryResponse> {
    const capacity = this.capacity(target, request);
    const key = `${this.uid}/${target.refId}/dashboard/${target.dashboard}/${target.panel}`;
    this.intervalsLearnt ??= this.learnIntervals().catch(() => undefined);
    const range = rangeOf(request.range);
    const identity = JSON.stringify([
      'dashboard',
      target.dashboard,
      target.panel,
      target.format ?? 'time_series',
      target.filters ?? [],
      target.alias ?? '',
      capacity,
      target.windowSeconds ?? 0,
    ]);
    return this.shared(
      identity,
      () => new DashboardStream(this.context, target, capacity, range.from),
      () => undefined,
      (stream) => {
        if (stream.error) {
          return { data: [], key, state: LoadingState.Error, errors: [{ message: stream.error }] };
        }
        const frame = stream.frame();
        if (!frame) {
          return undefined;
        }
        const interval = this.dashboardIntervals.get(target.dashboard) ?? 5;
        const staleAfterMs = (target.staleAfterSeconds ?? Math.max(15, 3 * interval)) * 1000;
        frame.meta = {
          ...frame.meta,
          notices: stream.panelNotices(staleAfterMs),
          custom: { ...stream.stats(), ...stream.freshness.custom(), dashboard: target.dashboard, panel: target.panel },
        };
        return { data: [frame], key, state: LoadingState.Streaming };
      }
    );
  }

  /** The update interval of each service dashboard (seconds), learnt from GET /dashboards. */
  private readonly dashboardIntervals = new Map<string, number>();
  private intervalsLearnt: Promise<void> | undefined;

  /**
   * An Observable of a shared stream: attached (made by `create` if it is not there, `reuse`d when it is), its
   * response emitted at once (the rows it has: nothing blanks) or, for a new stream, once the history of its range
   * has arrived (REPLAY_WAIT_MS at most), then on every change at most every EMIT_EVERY_MS,
   * and every FRESHNESS_EVERY_MS so that its age stays true; released on unsubscribe.
   */
  private shared<S extends ChannelStream | DashboardStream>(
    identity: string,
    create: () => S,
    reuse: (stream: S) => void,
    respond: (stream: S) => DataQueryResponse | undefined
  ): Observable<DataQueryResponse> {
    return new Observable<DataQueryResponse>((subscriber) => {
      let stream: S | undefined;
      const emit = throttle(() => {
        const ready =
          stream && (stream.replayed || stream.error !== undefined || Date.now() - stream.openedAt >= REPLAY_WAIT_MS);
        const response = ready ? respond(stream as S) : undefined;
        if (response) {
          subscriber.next(response);
        }
        return response !== undefined;
      });
      const attached = this.streams.attach(identity, create, () => emit.request());
      stream = attached.stream;
      if (attached.reused) {
        reuse(stream);
      }
      emit.request();
      const waited = Date.now() - stream.openedAt;
      const patience = stream.replayed
        ? undefined
        : setTimeout(() => emit.request(), Math.max(0, REPLAY_WAIT_MS - waited));
      const freshness = setInterval(() => emit.request(), FRESHNESS_EVERY_MS);
      return () => {
        clearTimeout(patience);
        clearInterval(freshness);
        emit.cancel();
        attached.release();
      };
    });
  }

  /**
   * Template variables: `channels()`, `fields(<channel>)`, `values(<channel>, <field>[, <event type>])` (the values
   * of a field of `data`, or of `key` or `type`, in the channel's recent events, of one type or all),
   * `dashboards()`, `panels(<dashboard>)`; variables in the query are replaced first (a chained variable:
   * `values($channel, model)`).
   */
  async metricFindQuery(query: string, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const text = interpolateText(query ?? '', options?.scopedVars);
    const match =
      /^\s*(channels|fields|values|dashboards|panels)\s*\(\s*([a-z0-9_/]*)\s*(?:,\s*([A-Za-z0-9_.]+)\s*)?(?:,\s*([A-Za-z0-9_.:-]+)\s*)?\)\s*$/.exec(
        text
      );
    if (!match || (match[1] === 'values') !== (match[3] !== undefined) || (match[1] !== 'values' && match[4])) {
      throw new Error(
        'Use channels(), fields(<channel>), values(<channel>, <field>[, <event type>]), dashboards() or panels(<dashboard>)'
      );
    }
    const [, kind, argument, field, eventType] = match;
    switch (kind) {
      case 'channels':
        return (await this.channels()).map((text) => ({ text }));
      case 'fields':
        return (await this.fields(argument)).map((text) => ({ text }));
      case 'values':
        return (await this.values(argument, field as string, eventType)).map((text) => ({ text }));
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

  /** The channel's newest events (up to 1,000, from its history), for the editor's and the variables' choices. */
  private async recent(channel: string): Promise<WireEvent[]> {
    const response = await this.get<HistoryPage>(
      `/streams/${encodeURIComponent(channel)}/history?order=desc&limit=1000`
    );
    return response.status === 200 ? response.data.events : [];
  }

  /** The values a field (a path into `data`, or `key` or `type`) takes in the channel's newest events, sorted. */
  async values(channel: string, field: string, eventType?: string): Promise<string[]> {
    const values = new Set<string>();
    for (const event of await this.recent(channel)) {
      if (eventType && event.type !== eventType) {
        continue;
      }
      const value = field === 'key' ? event.key : field === 'type' ? event.type : readPath(event.data, field);
      if (typeof value === 'string' || typeof value === 'number') {
        values.add(String(value));
      }
    }
    return [...values].sort();
  }

  /** The field paths seen in a channel's newest events (numbers and strings of `data`). */
  async fields(channel: string, eventType?: string): Promise<string[]> {
    const names = new Set<string>();
    for (const row of eventRows(await this.recent(channel), { refId: 'fields', eventType })) {
      row.values.forEach((_value, name) => names.add(name));
    }
    return [...names].sort();
  }

  /** The channels and dashboards, for the query editor. */
  async channels(): Promise<string[]> {
    const response = await this.get<{ streams: string[] }>('/streams');
    return response.status === 200 ? response.data.streams : [];
  }

  /** Learns each dashboard's update interval (for its panels' staleness). */
  private async learnIntervals(): Promise<void> {
    const response = await this.get<{ dashboards: Array<{ dashboard: string; update_frequency: number }> }>(
      '/dashboards'
    );
    for (const item of response.status === 200 ? response.data.dashboards : []) {
      this.dashboardIntervals.set(item.dashboard, item.update_frequency);
    }
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

/** Emits at once, then at most once per EMIT_EVERY_MS while requests keep coming; `emit` says whether it emitted. */
function throttle(emit: () => boolean): { request: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const fire = () => {
    timer = undefined;
    if (pending) {
      pending = false;
      // Only what was emitted counts: a stream not ready yet shows its first frame the moment it is.
      if (emit()) {
        timer = setTimeout(fire, EMIT_EVERY_MS);
      }
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
