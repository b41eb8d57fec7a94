/**
 * The client library (@data-streaming/client) against the real service: `ws` sockets (with and without a browser's
 * Origin) and fetch-read SSE, one shared socket, resume across a restart of the service, gap notices, refusals that
 * are not retried, and token renewal with no 4001 in a healthy session.
 */
import { createClient, type ClientError, type Gap, type SocketLike, type WireEvent } from '@data-streaming/client';
import WebSocket from 'ws';
import { eventually, freePort, getJson, post, sleep, startApp, tempDataDir, type RunningApp } from './support/app';

/** `ws` sockets as the client opens them, remembering how each one closed. */
function sockets(origin?: string) {
  const closes: number[] = [];
  let opened = 0;
  const createSocket = (url: string, protocols: string[]): SocketLike => {
    opened++;
    const socket = new WebSocket(url, protocols, origin ? { origin } : {});
    socket.on('close', (code) => closes.push(code));
    return socket as unknown as SocketLike;
  };
  return { createSocket, closes, opened: () => opened };
}

const publish = (service: RunningApp, from: number, count: number, headers: Record<string, string> = {}) =>
  post(
    service.http,
    '/events',
    Array.from({ length: count }, (_, index) => ({ channel: 'metrics_updates', type: 'client.test', data: { seq: from + index } })),
    headers,
  );

const seqs = (events: WireEvent[]) => events.map((event) => (event.data as { seq: number }).seq);

describe('the client library against the service', () => {
  let service: RunningApp;

  afterEach(async () => {
    await service.close();
  });

  it('shares one WebSocket among subscribers, reads the same events over SSE, and leaves nothing open', async () => {
    service = await startApp();
    const { createSocket, opened } = sockets();
    const ws = createClient({ url: service.http, createSocket });
    const sse = createClient({ url: service.http, transport: 'sse' });
    const first: WireEvent[] = [];
    const second: WireEvent[] = [];
    const overSse: WireEvent[] = [];
    const statuses: string[] = [];
    const a = ws.subscribe('metrics_updates', { onEvent: (event) => first.push(event), onStatus: (status) => statuses.push(status) });
    const b = ws.subscribe('metrics_updates', { onEvents: (events) => second.push(...events) });
    const c = sse.subscribe('metrics_updates', { onEvent: (event) => overSse.push(event) });
    await eventually(() => statuses.includes('open') || undefined, 5000, 'open');
    await eventually(
      async () => (await getJson(service.http, '/streams/status')).body.connections.total === 2 || undefined,
      5000,
      'both connected',
    );
    expect((await publish(service, 1, 20)).status).toBe(202);
    await eventually(() => (first.length === 20 && second.length === 20 && overSse.length === 20) || undefined, 5000, '20 events each');
    expect(opened()).toBe(1);
    expect(seqs(first)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(second.map((event) => event.id)).toEqual(first.map((event) => event.id));
    expect(overSse.map((event) => event.id)).toEqual(first.map((event) => event.id));
    expect(a.lastId).toBe(first.at(-1)?.id);
    a.unsubscribe();
    b.unsubscribe();
    c.unsubscribe();
    expect(ws.connections).toBe(0);
    expect(sse.connections).toBe(0);
    await eventually(
      async () => (await getJson(service.http, '/streams/status')).body.connections.total === 0 || undefined,
      5000,
      'all closed',
    );
  });

  it('comes back after a restart of the service and resumes with nothing missing or repeated, over both transports', async () => {
    const port = await freePort();
    const dataDir = tempDataDir();
    const config = { service: { port }, storage: { data_dir: dataDir } };
    service = await startApp(config);
    const received: Record<'websocket' | 'sse', WireEvent[]> = { websocket: [], sse: [] };
    const gaps: Gap[] = [];
    const clients = (['websocket', 'sse'] as const).map((transport) => {
      const client = createClient({
        url: service.http,
        transport,
        createSocket: sockets().createSocket,
        backoff: { initialMs: 100, maxMs: 500 },
      });
      client.subscribe('metrics_updates', { onEvent: (event) => received[transport].push(event), onGap: (gap) => gaps.push(gap) });
      return client;
    });
    await sleep(300);
    await publish(service, 1, 10);
    await eventually(() => (received.websocket.length === 10 && received.sse.length === 10) || undefined, 5000, 'before the restart');
    await service.close();
    // Published while the service is down (nothing), then after it is back: the clients resume with since.
    service = await startApp(config);
    await publish(service, 11, 10);
    await eventually(() => (received.websocket.length >= 20 && received.sse.length >= 20) || undefined, 10_000, 'after the restart');
    await sleep(200);
    for (const transport of ['websocket', 'sse'] as const)
      expect(seqs(received[transport])).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(gaps).toEqual([]);
    for (const client of clients) client.close();
  });

  it('reports a gap the service could not fill as a typed notice', async () => {
    service = await startApp({ storage: { durability: 'memory' } });
    const gaps: Gap[] = [];
    const client = createClient({ url: service.http, createSocket: sockets().createSocket });
    client.subscribe('metrics_updates', { since: 'someotherepoch:5', onEvent: () => undefined, onGap: (gap) => gaps.push(gap) });
    await eventually(() => gaps[0], 5000, 'a gap');
    expect(gaps[0]).toMatchObject({ reason: 'epoch_changed', welcome: { resumed: true, recovered: false } });
    client.close();
  });

  it('reports an unknown channel or a refused credential as an error and does not retry, from Node and from a browser', async () => {
    service = await startApp({ auth: { api_keys: ['client-read-key-0123456789:read'] } });
    for (const origin of [undefined, service.http]) {
      const { createSocket, opened } = sockets(origin);
      const errors: ClientError[] = [];
      const client = createClient({ url: service.http, createSocket, credential: { token: 'client-read-key-0123456789' } });
      client.subscribe('no_such_channel', { onEvent: () => undefined, onError: (error) => errors.push(error) });
      await eventually(() => errors[0], 5000, 'the error');
      expect(errors[0]).toMatchObject({ code: 'unknown_channel', status: 404 });
      const refused = createClient({ url: service.http, createSocket, credential: { token: 'wrong-key-0123456789' } });
      refused.subscribe('metrics_updates', { onEvent: () => undefined, onError: (error) => errors.push(error) });
      await eventually(() => errors[1], 5000, 'the second error');
      expect(errors[1]?.status).toBe(401);
      await sleep(1500);
      expect(opened()).toBe(2);
      expect(errors).toHaveLength(2);
      client.close();
      refused.close();
    }
    const sse = createClient({ url: service.http, transport: 'sse', credential: { token: 'client-read-key-0123456789' } });
    const errors: ClientError[] = [];
    sse.subscribe('no_such_channel', { onEvent: () => undefined, onError: (error) => errors.push(error) });
    await eventually(() => errors[0], 5000, 'the SSE error');
    expect(errors[0]).toMatchObject({ code: 'unknown_channel', status: 404 });
    sse.close();
  });

  it('waits the Retry-After of a refused upgrade from Node as from a browser, then connects', async () => {
    // One connection every 2 s per address: the second subscriber is refused with 429 and Retry-After: 2 (ws in
    // Node reads the HTTP response; a browser gets the 1013 close with retry_after_seconds).
    service = await startApp({ rate_limits: { connections_per_second: 0.5, connections_burst: 1 } });
    for (const origin of [undefined, service.http]) {
      await sleep(2100); // the bucket full again
      const attempts: number[] = [];
      const { createSocket } = sockets(origin);
      const client = createClient({
        url: service.http,
        createSocket: (url, protocols) => (attempts.push(Date.now()), createSocket(url, protocols)),
        backoff: { initialMs: 50, maxMs: 100 },
      });
      const opened: string[] = [];
      const statuses = (channel: string) => (status: string) => status === 'open' && opened.push(channel);
      client.subscribe('metrics_updates', { onEvent: () => undefined, onStatus: statuses('metrics_updates') });
      await eventually(() => opened.length === 1 || undefined, 5000, 'the first subscription');
      client.subscribe('system_alerts', { onEvent: () => undefined, onStatus: statuses('system_alerts') });
      await eventually(() => opened.length === 2 || undefined, 8000, 'the refused subscription, admitted on a retry');
      // The first attempt on system_alerts was refused; the one admitted came after the Retry-After, not the backoff.
      expect(attempts).toHaveLength(3);
      expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(1900);
      client.close();
    }
  });

  it('renews subscriber tokens before they expire: no 4001, every event once', async () => {
    const key = 'client-renewing-key-0123456789';
    service = await startApp({ auth: { api_keys: [`${key}:read+publish`], token_secret: 'client-renewal-secret-0123456789abcdef' } });
    let issued = 0;
    const getToken = async (channel: string) => {
      issued++;
      const response = await post(service.http, '/auth/token', { channels: [channel], ttl: 6 }, { authorization: `Bearer ${key}` });
      const body = response.body as { token: string; expires_at: string };
      return { token: body.token, expiresAt: body.expires_at };
    };
    const { createSocket, closes } = sockets();
    const received: WireEvent[] = [];
    const client = createClient({ url: service.http, createSocket, credential: { getToken } });
    client.subscribe('metrics_updates', { onEvent: (event) => received.push(event) });
    await sleep(300);
    // Across three renewals (each 5 s before its token's expiry, that is every second here), events keep coming.
    for (let round = 0; round < 16; round++) {
      await publish(service, round * 5 + 1, 5, { authorization: `Bearer ${key}` });
      await sleep(250);
    }
    await eventually(() => (received.length >= 80 ? true : undefined), 5000, '80 events');
    expect(issued).toBeGreaterThanOrEqual(3);
    expect(closes).not.toContain(4001);
    expect(seqs(received)).toEqual(Array.from({ length: 80 }, (_, index) => index + 1));
    client.close();
  });
});
