/** The status endpoints, /metrics and OpenAPI, read while real clients are connected. */
import { getJson, post, startApp, type RunningApp } from './support/app';
import { events } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe('status and metrics', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp();
  });
  afterAll(() => service.close());

  it('answers /health with the SPEC body', async () => {
    const { status, body } = await getJson(service.http, '/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'healthy', service: 'data-streaming-api' });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  });

  it('lists the WebSocket channels at /streams', async () => {
    expect((await getJson(service.http, '/streams')).body).toEqual({
      streams: ['metrics_updates', 'system_alerts', 'business_events', 'performance_data'],
    });
  });

  it('counts subscribers by transport, offsets and depth in /streams/status and /websocket/status', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    const sse = await SseReader.open(`${service.http}/sse/system_status`);
    await sse.waitFor((item) => item.event === 'welcome');
    const { body: accepted } = await post(service.http, '/events', events(3, { channel: 'system_alerts' }));

    const streams = (await getJson(service.http, '/streams/status')).body;
    expect(streams.channels.system_alerts).toMatchObject({
      subscribers: { websocket: 1, sse: 1, total: 2 },
      last_offset: (accepted as { ids: string[] }).ids[2],
      history_depth: 3,
      history_capacity: 10000,
      sse_streams: ['system_status'],
      high_frequency_streams: ['operational_events'],
    });
    expect(streams.connections).toEqual({ websocket: 1, sse: 1, total: 2 });

    const websocket = (await getJson(service.http, '/websocket/status')).body;
    expect(websocket).toMatchObject({
      connections: 1,
      max_connections: 200,
      heartbeat_interval_seconds: 30,
      per_channel: { system_alerts: 1, metrics_updates: 0 },
      slow_consumer_close_code: 4000,
    });

    await ws.waitForEvents(3);
    const metrics = await (await fetch(`${service.http}/metrics`)).text();
    expect(metrics).toMatch(/^streaming_connections_total 2$/m);
    expect(metrics).toMatch(/^websocket_connections_total 1$/m);
    expect(metrics).toMatch(/^sse_connections_total 1$/m);
    expect(metrics).toMatch(/^streaming_messages_published_total\{channel="system_alerts",source="http"\} 3$/m);
    expect(metrics).toMatch(/^streaming_messages_delivered_total\{transport="websocket"\} 3$/m);
    const latencyCount = /^data_streaming_latency_seconds_count\{transport="websocket"\} (\d+)$/m.exec(metrics);
    expect(Number(latencyCount?.[1])).toBeGreaterThan(0);
    expect(metrics).toContain('process_resident_memory_bytes');
    ws.close();
    sse.close();
  });

  it('serves the OpenAPI document', async () => {
    const { status, body } = await getJson(service.http, '/openapi.json');
    expect(status).toBe(200);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/events',
        '/health',
        '/streams',
        '/streams/status',
        '/websocket/status',
        '/sse/{stream}',
        '/streams/high_frequency/{name}',
        '/metrics',
      ]),
    );
  });
});

describe('the endpoints clients use to discover', () => {
  let service: RunningApp;
  const key = 'discover-key-0123456789';

  beforeAll(async () => {
    service = await startApp({}, { DATA_STREAMING_API_KEYS: key });
  });
  afterAll(() => service.close());

  it('returns the newest events of a channel, oldest first, bounded', async () => {
    await post(service.http, '/events', events(30, { channel: 'business_events' }), { authorization: `Bearer ${key}` });
    const auth = { authorization: `Bearer ${key}` };
    expect((await getJson(service.http, '/streams/business_events/recent?limit=5')).status).toBe(401);
    const { status, body } = await getJson(service.http, '/streams/business_events/recent?limit=5', auth);
    expect(status).toBe(200);
    expect(body.events).toHaveLength(5);
    expect(body.events.map((event: { id: string }) => Number(event.id.split(':')[1]))).toEqual([26, 27, 28, 29, 30]);
    expect((await getJson(service.http, '/streams/business_events/recent?limit=500', auth)).status).toBe(400);
    expect((await getJson(service.http, '/streams/nope/recent', auth)).status).toBe(404);
  });

  it('verifies an API key, and says the version in /health', async () => {
    expect((await fetch(`${service.http}/auth/verify`)).status).toBe(401);
    expect((await fetch(`${service.http}/auth/verify`, { headers: { authorization: 'Bearer wrong-key-000000000000' } })).status).toBe(401);
    const ok = await fetch(`${service.http}/auth/verify`, { headers: { authorization: `Bearer ${key}` } });
    expect(await ok.json()).toEqual({ valid: true, keys_required: true, kind: 'key', scopes: ['publish', 'read', 'admin'] });
    expect((await getJson(service.http, '/health')).body.version).toBe('0.1.0');
  });
});
