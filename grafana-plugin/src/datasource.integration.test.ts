/**
 * The plugin's real DataSource against the real backend on loopback, over the browser WebSocket API (jsdom's, which
 * opens real sockets): frames arrive, panels share a socket, a restart of the backend leaves no gap, the frame stays
 * bounded, and a stream's socket closes once its last panel has been gone for `keepStreamsSeconds`.
 */
import {
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  LoadingState,
  dateTime,
  type TimeRange,
} from '@grafana/data';
import { createServer, type Server } from 'http';
import { Subscription } from 'rxjs';
import { DataSource } from './datasource';
import { Backend, eventually, freePort, httpJson, nodeHttp, startBackend } from './test-support/backend';
import { tracked } from './test-support/data-sources';
import { startRouteProxy } from './test-support/route-proxy';
import { DataStreamingOptions, DataStreamingQuery } from './types';

/** Data sources made by a test: their streams are closed after it (a stream outlives its last panel a while). */
const dataSources = tracked();
const dataSource = dataSources.make;

/** A dashboard's time range from `from` to now (a live range, as `now-15m` to `now`). */
export const rangeFrom = (from: number): TimeRange => {
  const to = dateTime(Date.now() + 1000);
  return { from: dateTime(from), to, raw: { from: dateTime(from), to: 'now' } };
};

/** These tests count the events they publish: their panels start now, with no history before them. */
const fromNow = () => rangeFrom(Date.now());

function request(
  targets: DataStreamingQuery[],
  maxDataPoints = 1000,
  range: TimeRange = fromNow()
): DataQueryRequest<DataStreamingQuery> {
  return {
    targets,
    maxDataPoints,
    range,
    requestId: 'test',
    app: 'dashboard',
  } as unknown as DataQueryRequest<DataStreamingQuery>;
}

/** Subscribes and keeps the latest response per key. */
function run(ds: DataSource, targets: DataStreamingQuery[], maxDataPoints?: number, range?: TimeRange) {
  const latest = new Map<string, DataQueryResponse>();
  const subscription: Subscription = ds
    .query(request(targets, maxDataPoints, range))
    .subscribe((response) => latest.set(response.key ?? '', response));
  const values = (key?: string) => {
    const response = key ? latest.get(key) : [...latest.values()][0];
    const field = response?.data[0]?.fields.find((candidate: { name: string }) => candidate.name === 'sequence');
    return field ? (Array.from(field.values) as number[]) : [];
  };
  return { latest, subscription, values };
}

const tick = (sequence: number, channel = 'metrics_updates') => ({ channel, type: 'bench.tick', data: { sequence } });
const ticks = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => tick(from + index));

describe('DataSource against the backend', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend();
  });
  // Each test starts once the sockets of the one before are closed, so that counting connections counts its own.
  afterEach(() => {
    dataSources.closeAll();
    return eventually(
      async () => ((await backend.websocketConnections()) === 0 ? true : undefined),
      5000,
      'no connection left'
    );
  });
  afterAll(() => backend.stop());

  it('streams a channel into a frame, with a stable key and the Streaming state', async () => {
    const ds = dataSource(backend.url);
    const { latest, subscription, values } = run(ds, [{ refId: 'A', queryType: 'stream', channel: 'metrics_updates' }]);
    await eventually(async () => ((await backend.websocketConnections()) === 1 ? true : undefined));
    await backend.publish(ticks(0, 5));
    await eventually(() => (values().length === 5 ? true : undefined));
    const [response] = [...latest.values()];
    expect(response.state).toBe(LoadingState.Streaming);
    expect(response.key).toBe('data-streaming-api/A/metrics_updates');
    expect(values()).toEqual([0, 1, 2, 3, 4]);
    subscription.unsubscribe();
  });

  it('shares one socket between panels on one channel and closes it once the last panel has been gone a while', async () => {
    const ds = dataSource(backend.url, { keepStreamsSeconds: 5 });
    const range = fromNow(); // one dashboard: its panels share the time range
    const first = run(ds, [{ refId: 'A', queryType: 'stream', channel: 'business_events' }], undefined, range);
    const second = run(
      ds,
      [{ refId: 'B', queryType: 'stream', channel: 'business_events', fields: ['sequence'] }],
      undefined,
      range
    );
    let seen = -1;
    await eventually(
      async () => ((seen = await backend.websocketConnections()) === 1 ? true : undefined),
      10_000,
      'one shared connection'
    ).catch((error: Error) => {
      throw new Error(`${error.message} (the backend counts ${seen}, the client ${ds.live.connections})`);
    });
    await backend.publish([tick(1, 'business_events')]);
    await eventually(() => (first.values().length === 1 && second.values().length === 1 ? true : undefined));
    expect(ds.live.connections).toBe(1);
    first.subscription.unsubscribe();
    expect(await backend.websocketConnections()).toBe(1);
    second.subscription.unsubscribe();
    const gone = Date.now();
    // Kept for keepStreamsSeconds after the last panel (a refresh or a dashboard visited again finds its rows).
    await new Promise((done) => setTimeout(done, 3000));
    expect(await backend.websocketConnections()).toBe(1);
    await eventually(
      async () => ((await backend.websocketConnections()) === 0 ? true : undefined),
      8000,
      'the backend to count no connection'
    );
    expect(Date.now() - gone).toBeGreaterThanOrEqual(5000);
    expect(ds.live.connections).toBe(0);
    expect(ds.streams.size).toBe(0);
  });

  it('keeps a frame of at most its capacity over 10,000 messages, with flat memory', async () => {
    const ds = dataSource(backend.url);
    const { subscription, values } = run(ds, [
      { refId: 'A', queryType: 'stream', channel: 'performance_data', bufferSize: 500 },
    ]);
    await eventually(async () => ((await backend.websocketConnections()) === 1 ? true : undefined));
    const heap = () => {
      (global as { gc?: () => void }).gc?.();
      return process.memoryUsage().heapUsed;
    };
    let before = 0;
    for (let start = 0; start < 10_000; start += 1000) {
      await backend.publish(ticks(start, start + 1000).map((event) => ({ ...event, channel: 'performance_data' })));
      await eventually(() => (values().at(-1) === start + 999 ? true : undefined), 10_000, `message ${start + 999}`);
      if (start === 1000) {
        before = heap();
      }
    }
    const after = heap();
    expect(values()).toHaveLength(500);
    expect(values()[0]).toBe(9500);
    expect(values().at(-1)).toBe(9999);
    // Eight thousand more messages through a 500-row frame: the heap must not keep them.
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
    subscription.unsubscribe();
  });

  it('lists channels, fields, dashboards and panels for template variables', async () => {
    const ds = dataSource(backend.url);
    await backend.publish([
      {
        channel: 'metrics_updates',
        type: 'llm.metrics',
        data: { error_rate: 0.01, latency_ms: { p95: 500 }, model: 'm' },
      },
      tick(7),
    ]);
    expect((await ds.metricFindQuery('channels()')).map((item) => item.text)).toEqual([
      'metrics_updates',
      'system_alerts',
      'business_events',
      'performance_data',
    ]);
    expect((await ds.metricFindQuery('fields(metrics_updates)')).map((item) => item.text)).toEqual(
      expect.arrayContaining(['error_rate', 'latency_ms.p95', 'model', 'sequence'])
    );
    expect(await ds.fields('metrics_updates', 'llm.metrics')).toEqual(['error_rate', 'latency_ms.p95', 'model']);
    expect((await ds.metricFindQuery('dashboards()')).map((item) => item.value)).toContain('system_health');
    expect((await ds.metricFindQuery('panels(operational_overview)')).map((item) => item.value)).toContain(
      'error_rate'
    );
    await expect(ds.metricFindQuery('select *')).rejects.toThrow('Use channels()');
  });

  it('shows a service dashboard panel and follows its live updates', async () => {
    const ds = dataSource(backend.url);
    await backend.publish([
      { channel: 'metrics_updates', type: 'llm.metrics', key: 'cluster', data: { error_rate: 0.02 } },
    ]);
    await eventually(async () => {
      const data = (
        await nodeHttp.get<{ panels: Array<{ panel_id: string; value: { value: number } | null }> }>(
          `${backend.url}/dashboards/operational_overview/data`
        )
      ).data;
      return data.panels.find((panel) => panel.panel_id === 'error_rate')?.value?.value === 0.02 ? true : undefined;
    });
    const latest: DataQueryResponse[] = [];
    const subscription = ds
      .query(request([{ refId: 'A', queryType: 'dashboard', dashboard: 'operational_overview', panel: 'error_rate' }]))
      .subscribe((response) => latest.push(response));
    const valuesOf = (response?: DataQueryResponse) => Array.from(response?.data[0]?.fields[1]?.values ?? []);
    await eventually(() => (valuesOf(latest.at(-1)).includes(0.02) ? true : undefined));
    await backend.publish([
      { channel: 'metrics_updates', type: 'llm.metrics', key: 'cluster', data: { error_rate: 0.07 } },
    ]);
    await eventually(() => (valuesOf(latest.at(-1)).at(-1) === 0.07 ? true : undefined), 5000, 'the live update');
    const table = ds.query(
      request([{ refId: 'B', queryType: 'dashboard', dashboard: 'operational_overview', panel: 'model_queue_depth' }])
    );
    const tableSubscription = table.subscribe(() => undefined);
    subscription.unsubscribe();
    tableSubscription.unsubscribe();
  });

  it('tests the connection: version and channels, or a clear reason', async () => {
    const ok = await dataSource(backend.url).testDatasource();
    expect(ok.status).toBe('success');
    expect(ok.message).toMatch(
      /^data-streaming-api 0\.1\.0 is healthy; channels: metrics_updates, system_alerts, business_events, performance_data$/
    );

    const nothing = await dataSource(`http://127.0.0.1:${await freePort()}`).testDatasource();
    expect(nothing).toMatchObject({
      status: 'error',
      message: expect.stringMatching(
        /^Cannot reach data-streaming-api at http:\/\/127\.0\.0\.1:\d+: .*Is the service running/
      ),
    });

    const other: Server = createServer((_request, response) =>
      response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>')
    );
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', done));
    const wrong = await dataSource(`http://127.0.0.1:${(other.address() as { port: number }).port}`).testDatasource();
    expect(wrong).toMatchObject({
      status: 'error',
      message: expect.stringContaining('answered HTTP 404, but not as data-streaming-api: check the URL'),
    });
    other.close();
  });
});

describe('DataSource with API keys, scopes and tokens on the backend', () => {
  const FULL = 'plugin-test-key-0123456789';
  const READ = 'plugin-read-key-0123456789';
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({
      env: {
        DATA_STREAMING_API_KEYS: `${FULL},${READ}:read,plugin-publish-key-0123456789:publish`,
        DATA_STREAMING_TOKEN_SECRET: 'plugin-test-token-secret-0123456789abcdef',
        // jsdom's WebSocket sends the page's origin, as a browser showing Grafana would.
        DATA_STREAMING_ALLOWED_ORIGINS: 'http://localhost',
      },
    });
  });
  afterAll(() => backend.stop());

  it('reports a refused key', async () => {
    const refused = await dataSource(backend.url, { readToken: 'not-the-key-0000000000' }).testDatasource();
    expect(refused).toEqual({
      status: 'error',
      message: 'data-streaming-api refused the API key: the API key is not valid',
    });
    expect((await dataSource(backend.url, { readToken: FULL }).testDatasource()).status).toBe('success');
    expect(await dataSource(backend.url, { readToken: 'plugin-publish-key-0123456789' }).testDatasource()).toEqual({
      status: 'error',
      message: 'the API key has the scopes publish; panels need a key with the read scope',
    });
  });

  it('direct mode: streams with a read-scoped key, and with a subscriber token for the channel', async () => {
    const issued = await httpJson<{ token: string }>(
      'POST',
      `${backend.url}/auth/token`,
      { channels: ['metrics_updates'], ttl: 300 },
      { authorization: `Bearer ${READ}` }
    );
    expect(issued.status).toBe(201);
    for (const readToken of [READ, issued.data.token]) {
      const ds = dataSource(backend.url, { readToken });
      expect((await ds.testDatasource()).status).toBe('success');
      const panel = run(ds, [{ refId: 'A', channel: 'metrics_updates' } as DataStreamingQuery]);
      await eventually(
        async () => ((await backend.websocketConnections()) === 1 ? true : undefined),
        5000,
        'the socket'
      );
      await backend.publish(ticks(0, 5));
      await eventually(
        () => (panel.values().length === 5 ? true : undefined),
        5000,
        `5 values with ${readToken.slice(0, 12)}…`
      );
      panel.subscription.unsubscribe();
      ds.streams.closeAll();
      await eventually(
        async () => ((await backend.websocketConnections()) === 0 ? true : undefined),
        5000,
        'no socket'
      );
    }
  });

  it("proxy mode: plugin.json's route adds the API key, over HTTP and the WebSocket upgrade", async () => {
    for (const [apiKey, expected] of [
      [READ, 'success'],
      ['not-the-key-0000000000', 'error'],
    ] as const) {
      const proxy = await startRouteProxy({
        uid: 'data-streaming-api',
        jsonData: { url: backend.url },
        secureJsonData: { apiKey },
      });
      try {
        const settings = {
          uid: 'data-streaming-api',
          type: 'llmops-datastreaming-datasource',
          name: 'Data Streaming API',
          url: '/api/datasources/proxy/uid/data-streaming-api',
          access: 'proxy',
          readOnly: true,
          jsonData: { accessMode: 'proxy', url: backend.url },
          meta: {} as DataSourceInstanceSettings['meta'],
        } as DataSourceInstanceSettings<DataStreamingOptions>;
        const http = {
          get: <T>(url: string, headers?: Record<string, string>) => nodeHttp.get<T>(`${proxy.origin}${url}`, headers),
        };
        const ds = new DataSource(settings, { http, origin: proxy.origin });
        expect((await ds.testDatasource()).status).toBe(expected);
        if (expected === 'success') {
          const panel = run(ds, [{ refId: 'A', channel: 'metrics_updates' } as DataStreamingQuery]);
          await eventually(
            async () => ((await backend.websocketConnections()) === 1 ? true : undefined),
            5000,
            'the proxied socket'
          );
          await backend.publish(ticks(0, 3));
          await eventually(() => (panel.values().length === 3 ? true : undefined), 5000, '3 values through the proxy');
          panel.subscription.unsubscribe();
          ds.streams.closeAll();
          await eventually(
            async () => ((await backend.websocketConnections()) === 0 ? true : undefined),
            5000,
            'no socket'
          );
        }
      } finally {
        await proxy.close();
      }
    }
  });
});

describe('DataSource across a backend restart', () => {
  it('reconnects with backoff and resumes, so the frame has no gap', async () => {
    const port = await freePort();
    let backend = await startBackend({ port });
    const ds = dataSource(backend.url);
    const { latest, subscription, values } = run(ds, [
      { refId: 'A', queryType: 'stream', channel: 'system_alerts', fields: ['sequence'] },
    ]);
    try {
      await eventually(async () => ((await backend.websocketConnections()) === 1 ? true : undefined));
      await backend.publish(ticks(0, 30).map((event) => ({ ...event, channel: 'system_alerts' })));
      await eventually(() => (values().length === 30 ? true : undefined));

      await backend.stop();
      backend = await startBackend({ port });
      // Published before the plugin is back: the resume must bring them.
      await backend.publish(ticks(30, 45).map((event) => ({ ...event, channel: 'system_alerts' })));
      await eventually(
        async () => ((await backend.websocketConnections()) === 1 ? true : undefined),
        20_000,
        'the plugin to reconnect'
      );
      await backend.publish(ticks(45, 60).map((event) => ({ ...event, channel: 'system_alerts' })));
      await eventually(() => (values().length === 60 ? true : undefined), 10_000, 'all 60 messages');
      expect(values()).toEqual(Array.from({ length: 60 }, (_, index) => index));
      const meta = [...latest.values()][0].data[0].meta;
      expect(meta.custom.reconnects).toBeGreaterThanOrEqual(1);
      expect(meta.notices).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ severity: 'warning', text: expect.stringContaining('may be missing') }),
          expect.objectContaining({ severity: 'info', text: expect.stringMatching(/^Newest data \d+ (ms|s) old/) }),
        ])
      );
    } finally {
      subscription.unsubscribe();
      ds.streams.closeAll();
      await backend.stop();
    }
  });
});
