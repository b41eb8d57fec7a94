/** The dashboards API and live channels against the running service, fed through POST /events. */
import { DashboardScheduler } from '../src/dashboards/dashboard-scheduler';
import { eventually, getJson, post, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

const metrics = (service: RunningApp, data: Record<string, number>) =>
  post(service.http, '/events', event({ channel: 'metrics_updates', type: 'llm.metrics', key: 'cluster', data }));
const panel = (body: any, id: string) => body.panels.find((item: { panel_id: string }) => item.panel_id === id);

describe('dashboards', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ live_dashboard: { max_connections: 2 }, dashboard_refresh: { interval: 1 } });
  });
  afterAll(() => service.close());

  it('lists the five dashboards with where to read them', async () => {
    const { body } = await getJson(service.http, '/dashboards');
    expect(body.dashboards.map((item: { dashboard: string }) => item.dashboard)).toEqual([
      'operational_overview',
      'business_intelligence',
      'performance_metrics',
      'system_health',
      'real_time_analytics',
    ]);
    expect(body.dashboards[0].live).toEqual({
      websocket: '/ws/dashboards/operational_overview',
      sse: '/dashboards/operational_overview/stream',
      data: '/dashboards/operational_overview/data',
    });
  });

  it('serves live panel data that changes between calls', async () => {
    await metrics(service, { request_rate: 812.5, error_rate: 0.004, latency: 610, active_requests: 480 });
    const first = await eventually(async () => {
      const { body } = await getJson(service.http, '/dashboards/operational_overview/data');
      return panel(body, 'request_rate').value?.value === 812.5 ? body : undefined;
    });
    expect(first).toMatchObject({ dashboard: 'operational_overview', full: true });
    expect(panel(first, 'error_rate')).toMatchObject({ panel_type: 'stat', query: 'error_rate', value: { kind: 'scalar', value: 0.004 } });
    await metrics(service, { request_rate: 944.1, error_rate: 0.006, latency: 640, active_requests: 512 });
    const second = await eventually(async () => {
      const { body } = await getJson(service.http, '/dashboards/operational_overview/data');
      return panel(body, 'request_rate').value?.value === 944.1 ? body : undefined;
    });
    expect(second.cursor).not.toBe(first.cursor);
  });

  it('returns only what changed after a cursor (delta sync), and answers 304 for an unchanged ETag', async () => {
    // Panels refresh on periods of their own; a forced refresh makes every panel current at once.
    const refresh = () => post(service.http, '/dashboards/refresh', { dashboard: 'operational_overview' });
    await metrics(service, { request_rate: 700, error_rate: 0.01, latency: 500, active_requests: 400 });
    await refresh();
    const before = await fetch(`${service.http}/dashboards/operational_overview/data`);
    const { cursor } = (await before.json()) as { cursor: string };
    const etag = before.headers.get('etag') as string;
    expect(etag).toBe(`W/"${cursor}"`);
    const unchanged = await fetch(`${service.http}/dashboards/operational_overview/data`, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);

    await metrics(service, { error_rate: 0.25 });
    await refresh();
    const delta = (await getJson(service.http, `/dashboards/operational_overview/data?since=${cursor}`)).body;
    expect(delta.full).toBe(false);
    expect(delta.panels.map((item: { panel_id: string }) => item.panel_id).sort()).toEqual(['error_rate', 'error_rate_5m']);
    const changed = await fetch(`${service.http}/dashboards/operational_overview/data`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);

    expect((await getJson(service.http, '/dashboards/operational_overview/data?since=nonsense')).status).toBe(400);
    const foreign = (await getJson(service.http, '/dashboards/operational_overview/data?since=zz99:3')).body;
    expect(foreign.full).toBe(true);
  });

  it('answers an unknown dashboard with 404 and the known ones', async () => {
    const { status, body } = await getJson(service.http, '/dashboards/nope/data');
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: 'unknown_dashboard', details: { known: expect.arrayContaining(['system_health']) } });
    expect((await post(service.http, '/dashboards/refresh', { dashboard: 'nope' })).status).toBe(404);
    expect((await post(service.http, '/dashboards/refresh', { dash: 'x' })).status).toBe(400);
  });

  it('refreshes one or all dashboards on demand', async () => {
    expect((await post(service.http, '/dashboards/refresh', { dashboard: 'system_health' })).body).toEqual({
      refreshed: ['system_health'],
    });
    expect(((await post(service.http, '/dashboards/refresh', '')).body as { refreshed: string[] }).refreshed).toHaveLength(5);
  });

  it('pushes updates to live viewers: a snapshot first, then the changed panels', async () => {
    const viewer = await WsClient.subscribe(`${service.ws}/ws/dashboards/real_time_analytics`);
    const snapshot = await eventually(() => viewer.frames.find((frame) => frame.kind === 'snapshot'));
    expect(snapshot.data).toMatchObject({ dashboard: 'real_time_analytics', full: true });
    expect(snapshot.data.panels).toHaveLength(5);
    await metrics(service, { throughput: 1234.5 });
    const update = await eventually(() =>
      viewer.events.find(
        (item) => item.type === 'dashboard.update' && item.data.panels.some((p: { panel_id: string }) => p.panel_id === 'throughput'),
      ),
    );
    expect(update.channel).toBe('dashboard.real_time_analytics');
    expect(panel(update.data, 'throughput').value).toEqual({ kind: 'scalar', value: 1234.5 });
    expect(update.data.full).toBe(false);
    expect((await getJson(service.http, '/dashboards/status')).body.dashboards.real_time_analytics.live_viewers).toBe(1);

    const sse = await SseReader.open(`${service.http}/dashboards/real_time_analytics/stream`);
    await sse.waitFor((item) => item.event === 'snapshot');
    const refused = await WsClient.connect(`${service.ws}/ws/dashboards/system_health`).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503, body: { error: 'max_connections', message: 'dashboard viewer limit reached (2)' } });
    expect((await WsClient.connect(`${service.ws}/ws/dashboards/nope`).catch((error: unknown) => error)) as object).toMatchObject({
      status: 404,
    });
    viewer.close();
    sse.close();
  });

  it('exports the measured dashboard_update_interval_seconds', async () => {
    const text = await eventually(async () => {
      const body = await (await fetch(`${service.http}/metrics`)).text();
      return /dashboard_update_interval_seconds\{dashboard="operational_overview"\} [0-9.]+/.test(body) ? body : undefined;
    });
    const value = Number(/dashboard_update_interval_seconds\{dashboard="operational_overview"\} ([0-9.]+)/.exec(text)?.[1]);
    expect(value).toBeGreaterThan(0.5);
    expect(value).toBeLessThanOrEqual(5.5);
    const status = (await getJson(service.http, '/dashboards/status')).body.dashboards.operational_overview;
    expect(status.last_update_interval_seconds).toBeGreaterThan(0);
  });
});

describe('the refresh scheduler', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ dashboard_refresh: { enabled: false, batch_size: 3 } });
  });
  afterAll(() => service.close());

  it('serves dashboards with live viewers first, in rounds of batch_size panels', async () => {
    const viewer = await WsClient.subscribe(`${service.ws}/ws/dashboards/system_health`);
    const dashboards = service.app.get(DashboardScheduler);
    const future = Date.now() + 3_600_000;
    dashboards.round(future);
    const status = (await getJson(service.http, '/dashboards/status')).body.dashboards;
    expect(status.system_health.updates).toBe(1);
    expect(
      ['operational_overview', 'business_intelligence', 'performance_metrics', 'real_time_analytics'].map((type) => status[type].updates),
    ).toEqual([0, 0, 0, 0]);
    viewer.close();
  });
});
