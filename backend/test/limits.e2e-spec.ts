/** Limits refuse cleanly: connection caps, client frame size, unknown channels and paths, slow consumers. */
import { randomBytes } from 'node:crypto';
import { eventually, getJson, post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe('limits', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({
      service: { max_body_bytes: 192 * 1024 },
      websocket: { max_connections: 3, message_size_limit: 1024, max_queue_bytes: 256 * 1024 },
      // A connection that takes nothing is closed after 2 load checks of 500 ms (the default waits for 30).
      performance_optimization: { overload_stall_checks: 2 },
      sse: { max_connections: 2 },
    });
  });
  afterAll(() => service.close());

  it('refuses the WebSocket past max_connections with 503 and Retry-After, and admits again after one leaves', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => WsClient.subscribe(`${service.ws}/ws/metrics_updates`)));
    const refusal = await WsClient.connect(`${service.ws}/ws/metrics_updates`).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ status: 503, body: { error: 'max_connections', details: { limit: 3 } } });
    expect((refusal as { headers: Record<string, string> }).headers['retry-after']).toBe('5');

    clients[0]?.close();
    await eventually(async () => ((await getJson(service.http, '/websocket/status')).body.connections === 2 ? true : undefined));
    const admitted = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    admitted.close();
    clients.forEach((client) => client.close());
    await eventually(async () => ((await getJson(service.http, '/websocket/status')).body.connections === 0 ? true : undefined));
  });

  it('refuses the SSE stream past max_connections with 503 and Retry-After, and admits again after one leaves', async () => {
    const readers = await Promise.all([1, 2].map(() => SseReader.open(`${service.http}/sse/real_time_metrics`)));
    const refused = await SseReader.open(`${service.http}/sse/real_time_metrics`);
    expect(refused.status).toBe(503);
    expect(refused.response.headers['retry-after']).toBe('5');
    readers[0]?.close();
    await eventually(async () => ((await getJson(service.http, '/streams/status')).body.connections.sse === 1 ? true : undefined));
    const admitted = await SseReader.open(`${service.http}/sse/real_time_metrics`);
    expect(admitted.status).toBe(200);
    admitted.close();
    readers[1]?.close();
  });

  it('closes a client that sends a frame over message_size_limit with 1009', async () => {
    const client = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    client.socket.send('x'.repeat(2048));
    expect(await client.waitForClose()).toBe(1009);
  });

  it('closes a client that sends binary frames with 1003', async () => {
    const client = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    client.socket.send(Buffer.from([1, 2, 3]));
    expect(await client.waitForClose()).toBe(1003);
  });

  it('refuses unknown channels and paths with 404 and the known names', async () => {
    await expect(WsClient.connect(`${service.ws}/ws/nope`)).rejects.toMatchObject({
      status: 404,
      body: { error: 'unknown_channel', details: { known: service.config.websocket.channels } },
    });
    await expect(WsClient.connect(`${service.ws}/ws/../../etc/passwd`)).rejects.toMatchObject({ status: 404 });
    await expect(WsClient.connect(`${service.ws}/elsewhere`)).rejects.toMatchObject({ status: 404, body: { error: 'not_found' } });
    const sse = await getJson(service.http, '/sse/nope');
    expect(sse.status).toBe(404);
    expect(sse.body).toMatchObject({ error: 'unknown_channel', message: 'unknown SSE stream "nope"' });
    const highFrequency = await getJson(service.http, '/streams/high_frequency/nope');
    expect(highFrequency.status).toBe(404);
  });

  it('closes a subscriber that stops reading with 4000 while a reading subscriber gets everything', async () => {
    // Without permessage-deflate: the 'y' payload would compress to nothing and never pass the cap.
    const reader = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: false });
    const stuck = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: false });
    const rawSocket = (stuck.socket as unknown as { _socket: import('node:net').Socket })._socket;
    rawSocket.pause();

    const payload = 'y'.repeat(16 * 1024);
    let sent = 0;
    let slow = 0;
    // Bounded: at most 2,000 requests of 8 x 16 KiB, stopping as soon as the server reports the slow consumer.
    for (let round = 0; round < 2000 && slow === 0; round++) {
      const batch = Array.from({ length: 8 }, (_, index) => event({ channel: 'business_events', data: { round, index, payload } }));
      expect((await post(service.http, '/events', batch)).status).toBe(202);
      sent += batch.length;
      slow = (await getJson(service.http, '/websocket/status')).body.slow_consumer_disconnects as number;
    }
    expect(slow).toBe(1);
    await reader.waitForEvents(sent, 20_000);
    expect(reader.closeCode).toBeUndefined();
    const metrics = await (await fetch(`${service.http}/metrics`)).text();
    expect(metrics).toMatch(/streaming_slow_consumer_disconnects_total\{transport="websocket"\} 1/);

    rawSocket.resume();
    expect(await stuck.waitForClose(10_000)).toBe(4000);
    expect(stuck.closeReason).toBe('slow consumer');
    reader.close();
  });
});

describe('overload', () => {
  let service: RunningApp;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    // Thresholds so low that one subscriber with a backlog makes the service count as behind its load.
    service = await startApp({
      performance_optimization: { overload_check_interval: 50, overload_min_lagging: 1, overload_lagging_share: 0.01 },
    });
  });
  afterEach(() => open.splice(0).forEach((client) => client.close()));
  afterAll(() => service.close());

  it('pushes back on publishers with 503 overloaded and Retry-After, says so in /health, and recovers', async () => {
    const stuck = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: false });
    open.push(stuck);
    (stuck.socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const payload = randomBytes(8 * 1024).toString('hex');
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    let accepted = 0;
    // Bounded: at most 500 requests, until the first refusal.
    for (let round = 0; round < 500 && refused === undefined; round++) {
      const answer = await post(
        service.http,
        '/events',
        Array.from({ length: 4 }, () => event({ channel: 'business_events', data: { payload } })),
      );
      if (answer.status === 202) accepted += 4;
      else refused = answer;
      await sleep(2);
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.body).toMatchObject({ error: 'overloaded', details: { retry_after_seconds: 1 } });
    const health = await getJson(service.http, '/health');
    expect(health.body).toMatchObject({ status: 'degraded', checks: { load: { status: 'degraded', state: 'overloaded' } } });
    const metrics = await (await fetch(`${service.http}/metrics`)).text();
    expect(metrics).toMatch(/streaming_overloaded 1/);
    expect(metrics).toMatch(/streaming_events_rejected_total\{reason="overloaded"\} [1-9]/);
    // Held, not closed: it is not its fault alone while the service counts as behind.
    expect(stuck.closeCode).toBeUndefined();
    expect(accepted).toBeGreaterThan(0);

    stuck.socket.terminate();
    await eventually(async () => ((await getJson(service.http, '/health')).body.checks?.load?.state === 'ok' ? true : undefined), 5000);
    expect((await post(service.http, '/events', event({ channel: 'business_events' }))).status).toBe(202);
  });
});
