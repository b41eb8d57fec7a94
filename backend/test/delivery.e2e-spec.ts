/** How delivery behaves under load and trouble: batching only under pressure, heartbeats, slow SSE readers. */
import { eventually, getJson, post, startApp, type RunningApp } from './support/app';
import { event, events } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe('batching', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({
      performance_optimization: { batch_size: 10, buffer_size: 1_000_000 },
      websocket: { max_queue_bytes: 64 * 1024 * 1024 },
    });
  });
  afterAll(() => service.close());

  it('sends one frame per message at low load', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    for (let index = 0; index < 5; index++) await post(service.http, '/events', event());
    await ws.waitForEvents(5);
    expect(ws.frames.filter((frame) => frame.kind === 'event')).toHaveLength(5);
    expect(ws.frames.some((frame) => frame.kind === 'batch')).toBe(false);
    ws.close();
  });

  it('coalesces what piles up behind a busy socket into batches of at most batch_size, in order', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`, { perMessageDeflate: false });
    const raw = (ws.socket as unknown as { _socket: import('node:net').Socket })._socket;
    // A client that stops reading for a moment: once the kernel buffers are full the server's socket is busy.
    raw.pause();
    const ids: string[] = [];
    const payload = 'b'.repeat(16 * 1024);
    for (let round = 0; round < 12; round++) {
      const { body } = await post(service.http, '/events', events(40, { data: { round, payload } }));
      ids.push(...(body as { ids: string[] }).ids);
    }
    raw.resume();
    const received = await ws.waitForEvents(ids.length, 20_000);
    expect(received.map((item) => item.id)).toEqual(ids);
    const batches = ws.frames.filter((frame) => frame.kind === 'batch');
    expect(batches.length).toBeGreaterThan(0);
    expect(Math.max(...batches.map((frame) => frame.events.length as number))).toBeLessThanOrEqual(10);
    expect(batches[0]).toMatchObject({ channel: 'metrics_updates' });
    ws.close();
  });
});

describe('heartbeat', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ websocket: { heartbeat_interval: 0.2 } });
  });
  afterAll(() => service.close());

  it('keeps answering peers alive and terminates a peer that stops answering pings', async () => {
    const alive = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const dead = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const raw = (dead.socket as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    await eventually(
      async () => ((await getJson(service.http, '/websocket/status')).body.dead_peers_terminated === 1 ? true : undefined),
      3000,
    );
    expect((await getJson(service.http, '/websocket/status')).body.connections).toBe(1);
    expect(alive.closeCode).toBeUndefined();
    alive.close();
  });

  it('keeps a peer that is still reading a backlog, whose pong waits behind the frames sent before the ping', async () => {
    const before = (await getJson(service.http, '/websocket/status')).body.dead_peers_terminated as number;
    const reader = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: false });
    const raw = (reader.socket as unknown as { _socket: import('node:net').Socket })._socket;
    // It reads one chunk every 20 ms while about 8 MB are published to it: more than loopback's socket buffers
    // take, so seconds of backlog sit ahead of each ping through many heartbeats of 200 ms, the last megabytes of it
    // in the kernel where the service's own byte counts no longer move.
    raw.pause();
    let reading = false;
    const trickle = setInterval(() => {
      if (reading) return;
      reading = true;
      raw.once('data', () => {
        raw.pause();
        reading = false;
      });
      raw.resume();
    }, 20);
    const payload = 'h'.repeat(16 * 1024);
    const started = Date.now();
    try {
      for (let round = 0; round < 12; round++)
        await post(service.http, '/events', events(40, { channel: 'business_events', data: { payload } }));
      await reader.waitForEvents(480, 30_000);
      expect(Date.now() - started).toBeGreaterThan(1000); // the backlog outlasted several heartbeats
    } finally {
      clearInterval(trickle);
      raw.resume();
    }
    expect(reader.closeCode).toBeUndefined();
    expect((await getJson(service.http, '/websocket/status')).body.dead_peers_terminated).toBe(before);
    reader.close();
  }, 40_000);
});

describe('slow SSE reader', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({
      service: { max_body_bytes: 192 * 1024 },
      sse: { max_queue_bytes: 256 * 1024 },
      // A connection that takes nothing is closed after 2 load checks of 500 ms (the default waits for 30).
      performance_optimization: { overload_stall_checks: 2 },
    });
  });
  afterAll(() => service.close());

  it('ends the stream of a reader that stops reading while another keeps receiving', async () => {
    const reader = await SseReader.open(`${service.http}/sse/business_analytics`);
    const stuck = await SseReader.open(`${service.http}/sse/business_analytics`);
    await stuck.waitFor((item) => item.event === 'welcome');
    stuck.response.socket.pause();
    const payload = 'q'.repeat(16 * 1024);
    let sent = 0;
    let slow = false;
    // Bounded: at most 2,000 requests of 8 x 16 KiB.
    for (let round = 0; round < 2000 && !slow; round++) {
      await post(service.http, '/events', events(8, { channel: 'business_events', data: { round, payload } }));
      sent += 8;
      const metrics = await (await fetch(`${service.http}/metrics`)).text();
      slow = /streaming_slow_consumer_disconnects_total\{transport="sse"\} 1/.test(metrics);
    }
    expect(slow).toBe(true);
    await reader.waitForMessages(sent, 20_000);
    expect(reader.ended).toBe(false);
    stuck.response.socket.resume();
    await stuck.waitForEnd(10_000);
    expect(stuck.events.at(-1)).toMatchObject({ event: 'error', json: { code: 4000, reason: 'slow_consumer' } });
    reader.close();
  });
});
