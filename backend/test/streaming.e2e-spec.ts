/** Live delivery over real WebSocket and SSE clients against the listening service. */
import { eventually, post, startApp, type RunningApp } from './support/app';
import { event, events } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe('live delivery', () => {
  let service: RunningApp;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    service = await startApp();
  });
  afterEach(() => open.splice(0).forEach((client) => client.close()));
  afterAll(() => service.close());

  it('delivers a published event to WebSocket and SSE subscribers with its data unchanged', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const sse = await SseReader.open(`${service.http}/sse/real_time_metrics`);
    open.push(ws, sse);
    await sse.waitFor((item) => item.event === 'welcome');
    const published = event({ key: 'gpu-node-01', timestamp: '2026-11-26T10:00:00.000+01:00' });

    const response = await post(service.http, '/events', published);

    expect(response.status).toBe(202);
    const body = response.body as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(1);
    const [received] = await ws.waitForEvents(1);
    expect(received).toEqual({
      kind: 'event',
      id: body.ids[0],
      channel: 'metrics_updates',
      type: published.type,
      timestamp: published.timestamp,
      key: 'gpu-node-01',
      data: published.data,
    });
    const [viaSse] = await sse.waitForMessages(1);
    expect(viaSse).toEqual(received);
    expect(sse.events.find((item) => item.event === 'message')?.id).toBe(body.ids[0]);
  });

  it('keeps the order of a batch and answers the ids in request order', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/business_events`);
    open.push(ws);
    const batch = [
      ...events(3, { channel: 'business_events' }),
      event({ channel: 'system_alerts' }),
      ...events(2, { channel: 'business_events' }),
    ];

    const response = await post(service.http, '/events', batch);

    expect(response.status).toBe(202);
    const { ids } = response.body as { ids: string[] };
    expect(ids).toHaveLength(6);
    const received = await ws.waitForEvents(5);
    expect(received.map((item) => item.data)).toEqual(batch.filter((item) => item.channel === 'business_events').map((item) => item.data));
    expect(received.map((item) => item.id)).toEqual([ids[0], ids[1], ids[2], ids[4], ids[5]]);
    const offsets = received.map((item) => Number(String(item.id).split(':')[1]));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('answers SSE with the streaming headers and the retry interval', async () => {
    const sse = await SseReader.open(`${service.http}/sse/system_status`);
    open.push(sse);
    await sse.waitFor((item) => item.event === 'welcome');
    expect(sse.status).toBe(200);
    expect(sse.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sse.response.headers['x-accel-buffering']).toBe('no');
    expect(sse.response.headers['cache-control']).toContain('no-cache');
    expect(sse.retry).toBe(service.config.sse.retry_timeout);
  });

  it('gzips SSE when asked and flushes every event at once', async () => {
    const sse = await SseReader.open(`${service.http}/sse/business_analytics`, { 'accept-encoding': 'gzip' });
    open.push(sse);
    await sse.waitFor((item) => item.event === 'welcome');
    expect(sse.response.headers['content-encoding']).toBe('gzip');
    const published = event({ channel: 'business_events' });
    await post(service.http, '/events', published);
    const [received] = await sse.waitForMessages(1, 2000);
    expect(received.data).toEqual(published.data);
  });

  it('serves an SSE stream of a WebSocket channel by its channel name too', async () => {
    const sse = await SseReader.open(`${service.http}/sse/performance_data`);
    open.push(sse);
    const welcome = await sse.waitFor((item) => item.event === 'welcome');
    expect(welcome.json.channel).toBe('performance_data');
  });

  it('negotiates permessage-deflate when compression is enabled', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`, { perMessageDeflate: true });
    open.push(ws);
    expect(ws.socket.extensions).toContain('permessage-deflate');
    const big = event({ channel: 'system_alerts', data: { text: 'x'.repeat(5000) } });
    await post(service.http, '/events', big);
    const [received] = await ws.waitForEvents(1);
    expect(received?.data).toEqual(big.data);
  });

  it('answers the application-level ping and reports other client messages', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    open.push(ws);
    ws.socket.send('{"kind":"ping"}');
    ws.socket.send('hello');
    await eventually(() => (ws.frames.some((frame) => frame.kind === 'pong') ? true : undefined));
    const error = await eventually(() => ws.frames.find((frame) => frame.kind === 'error'));
    expect(error.reason).toBe('unsupported_message');
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
  });
});

describe('with the demo generator on', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ demo: { enabled: true } });
  });
  afterAll(() => service.close());

  it('streams live data on every WebSocket channel and SSE stream', async () => {
    const channels = service.config.websocket.channels;
    const sockets = await Promise.all(channels.map((channel) => WsClient.subscribe(`${service.ws}/ws/${channel}`)));
    const readers = await Promise.all(service.config.sse.streams.map((stream) => SseReader.open(`${service.http}/sse/${stream}`)));
    try {
      // system_alerts carries component status every 5 s; the others every second.
      await Promise.all(sockets.map((socket) => socket.waitForEvents(1, 8000)));
      await Promise.all(readers.map((reader) => reader.waitForMessages(1, 8000)));
      for (const [index, socket] of sockets.entries()) expect(socket.events[0]?.channel).toBe(channels[index]);
    } finally {
      sockets.forEach((socket) => socket.close());
      readers.forEach((reader) => reader.close());
    }
  });
});

describe('SSE keep-alive', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ sse: { keep_alive_interval: 0.2 } });
  });
  afterAll(() => service.close());

  it('sends a keep-alive comment every keep_alive_interval on an idle stream', async () => {
    const sse = await SseReader.open(`${service.http}/sse/operational_data`);
    await eventually(() => (sse.comments.filter((comment) => comment === 'keep-alive').length >= 2 ? true : undefined), 2000);
    expect(sse.messages).toEqual([]);
    sse.close();
  });
});
