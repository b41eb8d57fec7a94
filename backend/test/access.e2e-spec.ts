/**
 * Access control end to end: API key scopes (401/403), subscriber tokens on WebSocket and SSE (header, query,
 * subprotocol; expiry closes with 4001), public channels, the Origin allow-list and CORS, and rate limits (429 with
 * Retry-After) per key and per address. Real ws clients and SSE readers; addresses from 127.0.0.0/8.
 */
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import WebSocket from 'ws';
import { eventually, post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { startService } from './support/process';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

const PUBLISH = 'publish-key-0123456789abcdef';
const READ = 'read-key-0123456789abcdef00';
const ADMIN = 'admin-key-0123456789abcdef0';
const FULL = 'full-key-0123456789abcdef00';
/** A key that looks like a token (two dots) is still a key. */
const DOTTED = 'abcdefgh.ijklmnop.qrstuvwx';
const KEYS = `${PUBLISH}:publish,${READ}:read,${ADMIN}:admin,${FULL},${DOTTED}:publish`;
const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

async function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

async function token(base: string, channels: string[], ttl?: number, key = READ): Promise<string> {
  const response = await post(base, '/auth/token', { channels, ...(ttl === undefined ? {} : { ttl }) }, auth(key));
  expect(response.status).toBe(201);
  return (response.body as { token: string }).token;
}

const refusal = (promise: Promise<unknown>): Promise<{ status: number; body: any; headers: Record<string, string> }> =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as { status: number; body: any; headers: Record<string, string> },
  );

describe('API key scopes', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp({}, { DATA_STREAMING_API_KEYS: KEYS });
  });
  afterAll(() => service.close());

  it('publishing needs the publish scope: 401 without a key, 403 with another scope', async () => {
    const none = await post(service.http, '/events', event());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(none.body).toMatchObject({ error: 'unauthorized' });
    const read = await post(service.http, '/events', event(), auth(READ));
    expect(read.status).toBe(403);
    expect(read.body).toMatchObject({ error: 'forbidden', details: { required: 'publish', scopes: ['read'] } });
    expect((await post(service.http, '/events', event(), auth(PUBLISH))).status).toBe(202);
    expect((await post(service.http, '/events', event(), auth(FULL))).status).toBe(202);
    expect((await post(service.http, '/events', event(), auth(DOTTED))).status).toBe(202);
  });

  it('refresh needs admin, notification sending needs publish, reads need read', async () => {
    expect((await post(service.http, '/dashboards/refresh', {}, auth(PUBLISH))).status).toBe(403);
    expect((await post(service.http, '/dashboards/refresh', {}, auth(ADMIN))).status).toBeLessThan(300);
    const notification = { type: 'test', priority: 'info', title: 'scopes', message: 'm', channel: 'websocket' };
    expect((await post(service.http, '/notifications/send', notification, auth(READ))).status).toBe(403);
    expect((await post(service.http, '/notifications/send', notification, auth(PUBLISH))).status).toBe(202);
    expect((await get(service.http, '/streams/status')).status).toBe(401);
    expect((await get(service.http, '/streams/status', auth(PUBLISH))).status).toBe(403);
    expect((await get(service.http, '/streams/status', auth(READ))).status).toBe(200);
    // Health and metrics stay open for load balancers and Prometheus.
    expect((await get(service.http, '/health')).status).toBe(200);
    expect((await fetch(`${service.http}/metrics`)).status).toBe(200);
  });

  it('says what a credential may do', async () => {
    const verified = await get(service.http, '/auth/verify', auth(PUBLISH));
    expect(verified.body).toMatchObject({ valid: true, keys_required: true, kind: 'key', scopes: ['publish'] });
    expect((await get(service.http, '/auth/verify', auth('wrong-key-0123456789abcdef'))).status).toBe(401);
  });
});

describe('subscriber tokens', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp({}, { DATA_STREAMING_API_KEYS: KEYS, DATA_STREAMING_TOKEN_SECRET: 's'.repeat(40) });
  });
  afterAll(() => service.close());

  it('are issued to a key with read for known channels and a bounded lifetime', async () => {
    const issued = await post(service.http, '/auth/token', { channels: ['metrics_updates'], ttl: 60 }, auth(READ));
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', channels: ['metrics_updates'], expires_in: 60 });
    expect((await post(service.http, '/auth/token', { channels: ['metrics_updates'] }, auth(PUBLISH))).status).toBe(403);
    expect((await post(service.http, '/auth/token', { channels: ['nope'] }, auth(READ))).status).toBe(400);
    expect((await post(service.http, '/auth/token', { channels: ['metrics_updates'], ttl: 10 ** 9 }, auth(READ))).status).toBe(400);
    // A token cannot mint tokens.
    const minted = (issued.body as { token: string }).token;
    expect((await post(service.http, '/auth/token', { channels: ['metrics_updates'] }, auth(minted))).status).toBe(403);
    // Nor publish: the lean publish path leaves a token to the framework, which verifies it and refuses the scope;
    // a credential shaped like a token that is neither a key nor signed by us is refused as one.
    expect((await post(service.http, '/events', event(), auth(minted))).status).toBe(403);
    const forged = await post(service.http, '/events', event(), auth(`${minted.slice(0, -4)}AAAA`));
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ error: 'invalid_token' });
  });

  it('open the granted channels over WebSocket (query, header or subprotocol) and SSE, and nothing else', async () => {
    const granted = await token(service.http, ['metrics_updates']);
    const byQuery = await WsClient.subscribe(`${service.ws}/ws/metrics_updates?token=${granted}`);
    const byHeader = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`, { headers: auth(granted) });
    const protocolClient = await new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${service.ws}/ws/metrics_updates`, ['data-streaming.v1', `bearer.${granted}`]);
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    }).catch((error: unknown) => error as Error);
    expect(protocolClient).toBeInstanceOf(WebSocket);
    expect((protocolClient as WebSocket).protocol).toBe('data-streaming.v1');
    (protocolClient as WebSocket).close();

    const other = await refusal(WsClient.connect(`${service.ws}/ws/business_events?token=${granted}`));
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ error: 'forbidden' });
    const none = await refusal(WsClient.connect(`${service.ws}/ws/metrics_updates`));
    expect(none.status).toBe(401);

    // real_time_metrics is an SSE view of metrics_updates: granted through its channel.
    const sse = await SseReader.open(`${service.http}/sse/real_time_metrics?token=${granted}`);
    expect(sse.status).toBe(200);
    expect((await SseReader.open(`${service.http}/sse/business_analytics?token=${granted}`)).status).toBe(403);
    await post(service.http, '/events', event({ data: { via: 'token' } }), auth(PUBLISH));
    await byQuery.waitForEvents(1);
    await byHeader.waitForEvents(1);
    await sse.waitForMessages(1);
    byQuery.close();
    byHeader.close();
    sse.close();
  });

  it('refuse forged, tampered, unsigned and foreign tokens with 401 invalid_token', async () => {
    const genuine = await token(service.http, ['metrics_updates']);
    const [header, payload] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, channels: ['*'] })).toString('base64url');
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    const foreignSignature = createHmac('sha256', 'another-secret-of-forty-characters-00000')
      .update(`${header}.${payload}`)
      .digest('base64url');
    for (const forged of [`${header}.${widened}.${genuine.split('.')[2]}`, unsigned, `${header}.${payload}.${foreignSignature}`, 'a.b.c']) {
      const refused = await refusal(WsClient.connect(`${service.ws}/ws/metrics_updates?token=${forged}`));
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'invalid_token' });
      expect(JSON.stringify(refused.body)).not.toContain(forged.slice(0, 20));
    }
  });

  it('close the stream when they expire: WebSocket 4001, SSE an error event with code 4001', async () => {
    const short = await token(service.http, ['metrics_updates'], 1);
    const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates?token=${short}`);
    const sse = await SseReader.open(`${service.http}/sse/metrics_updates`, auth(short));
    expect(await ws.waitForClose(4000)).toBe(4001);
    await sse.waitForEnd(4000);
    expect(sse.events.find((item) => item.event === 'error')?.json).toMatchObject({ code: 4001, reason: 'token_expired' });
    await sleep(1100);
    const expired = await refusal(WsClient.connect(`${service.ws}/ws/metrics_updates?token=${short}`));
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: 'token_expired' });
  });
});

describe('public channels, origins and CORS', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp(
      {},
      {
        DATA_STREAMING_API_KEYS: KEYS,
        DATA_STREAMING_PUBLIC_CHANNELS: 'performance_data',
        DATA_STREAMING_ALLOWED_ORIGINS: 'https://grafana.example.com',
      },
    );
  });
  afterAll(() => service.close());

  it('lets anyone read a public channel, and nothing else', async () => {
    const open = await WsClient.subscribe(`${service.ws}/ws/performance_data`);
    open.close();
    expect((await SseReader.open(`${service.http}/sse/performance_data`)).status).toBe(200);
    expect((await refusal(WsClient.connect(`${service.ws}/ws/system_alerts`))).status).toBe(401);
  });

  it('admits browsers only from allowed origins (or its own), over WebSocket, SSE and CORS', async () => {
    const allowed = await WsClient.subscribe(`${service.ws}/ws/performance_data`, { origin: 'https://grafana.example.com' });
    allowed.close();
    const evil = await refusal(WsClient.connect(`${service.ws}/ws/performance_data`, { origin: 'https://evil.example.com' }));
    expect(evil.status).toBe(403);
    expect(evil.body).toMatchObject({ error: 'origin_not_allowed' });
    const own = await WsClient.subscribe(`${service.ws}/ws/performance_data`, { origin: service.http });
    own.close();
    expect((await SseReader.open(`${service.http}/sse/performance_data`, { origin: 'https://evil.example.com' })).status).toBe(403);

    const preflight = await fetch(`${service.http}/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://grafana.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://grafana.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    const read = await get(service.http, '/streams/status', { ...auth(READ), origin: 'https://grafana.example.com' });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe('https://grafana.example.com');
    const refused = await post(service.http, '/events', event(), { ...auth(PUBLISH), origin: 'https://evil.example.com' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'origin_not_allowed' });
  });
});

/** A GET from a chosen loopback address (127.0.0.0/8), to tell clients apart by address. */
/** Open WebSocket connections, from /streams/status. */
async function websocketConnections(service: RunningApp): Promise<number> {
  const body = (await (await fetch(`${service.http}/streams/status`)).json()) as { connections: { websocket: number } };
  return body.connections.websocket;
}

function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('rate limits', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp(
      {
        rate_limits: { publish_per_second: 2, publish_burst: 3, connections_per_second: 1, connections_burst: 2 },
        auth: { public_channels: ['performance_data'] },
      },
      { DATA_STREAMING_API_KEYS: KEYS },
    );
  });
  afterAll(() => service.close());

  it('answer publishing past the limit with 429 and Retry-After, per key: another key behind the same address has its own', async () => {
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await post(service.http, '/events', event(), auth(PUBLISH))).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const limited = await post(service.http, '/events', event(), auth(PUBLISH));
    expect(limited.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(limited.body).toMatchObject({ error: 'too_many_requests' });
    // Many clients behind one proxy share its address: each credential is judged on its own.
    expect((await post(service.http, '/events', event(), auth(FULL))).status).toBe(202);
  });

  it('answer new connections past the limit with 429, per key, and anonymous readers per address', async () => {
    const url = `${service.http}/sse/performance_data`;
    const readers = [await SseReader.open(url, auth(READ)), await SseReader.open(url, auth(READ)), await SseReader.open(url, auth(READ))];
    expect(readers.map((reader) => reader.status)).toEqual([200, 200, 429]);
    expect(readers[2]?.response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    const ws = await refusal(WsClient.connect(`${service.ws}/ws/performance_data`, { headers: auth(READ) }));
    expect(ws.status).toBe(429);
    // The public channel's anonymous readers: by address; the key's empty bucket is not theirs.
    const anonymous = [await SseReader.open(url), await SseReader.open(url), await SseReader.open(url)];
    expect(anonymous.map((reader) => reader.status)).toEqual([200, 200, 429]);
    expect(await getFrom('127.0.0.2', url)).toBe(200);
    for (const reader of [...readers, ...anonymous]) reader.close();
  });

  it("refuse a browser's upgrade for now with close 1013 and the Retry-After, which it can read", async () => {
    const origin = { origin: service.http };
    // The anonymous budget of this address was spent above; a browser (Origin) is told in-band.
    const browser = await WsClient.connect(`${service.ws}/ws/performance_data`, { headers: origin });
    const code = await browser.waitForClose();
    expect(code).toBe(1013);
    expect(JSON.parse(browser.closeReason)).toEqual({ code: 'too_many_requests', retry_after_seconds: expect.any(Number) });
  });
});

describe('connection rate and connection limit together', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp({
      websocket: { max_connections: 2 },
      rate_limits: { connections_per_second: 0.001, connections_burst: 3 },
    });
  });
  afterAll(() => service.close());

  it('take from the rate only for admitted connections: refusals at the limit cost nothing', async () => {
    const url = `${service.ws}/ws/metrics_updates`;
    const admitted = [await WsClient.subscribe(url), await WsClient.subscribe(url)];
    for (let attempt = 0; attempt < 5; attempt++) expect((await refusal(WsClient.connect(url))).status).toBe(503);
    // One of the three tokens is left, whatever the five refusals did.
    admitted.shift()?.close();
    await eventually(async () => ((await websocketConnections(service)) === 1 ? true : undefined));
    admitted.push(await WsClient.subscribe(url));
    admitted.shift()?.close();
    await eventually(async () => ((await websocketConnections(service)) === 1 ? true : undefined));
    const limited = await refusal(WsClient.connect(url));
    expect(limited.status).toBe(429);
    for (const client of admitted) client.close();
  });
});

describe('rate limits behind a proxy (trust_forwarded_for)', () => {
  let service: RunningApp;
  beforeAll(async () => {
    service = await startApp(
      {
        rate_limits: {
          publish_per_second: 1,
          publish_burst: 3,
          connections_per_second: 1,
          connections_burst: 2,
          trust_forwarded_for: true,
        },
        auth: { public_channels: ['performance_data'] },
      },
      { DATA_STREAMING_API_KEYS: KEYS },
    );
  });
  afterAll(() => service.close());

  it('count the address the proxy saw (the last X-Forwarded-For entry), whatever the client put before it', async () => {
    const url = `${service.http}/sse/performance_data`;
    const readers = [];
    for (let index = 0; index < 3; index++) {
      readers.push(await SseReader.open(url, { 'x-forwarded-for': `10.0.0.${index}, 127.0.0.9` }));
    }
    expect(readers.map((reader) => reader.status)).toEqual([200, 200, 429]);
    // Another address: its own bucket.
    readers.push(await SseReader.open(url, { 'x-forwarded-for': '127.0.0.10' }));
    expect(readers[3]?.status).toBe(200);
    for (const reader of readers) reader.close();
  });

  it('limit failed authentications per address, so keys cannot be guessed at speed', async () => {
    const statuses = [];
    for (let index = 0; index < 3; index++) {
      statuses.push(
        (await post(service.http, '/events', event(), { ...auth(`guess-${index}-0123456789abcdef`), 'x-forwarded-for': '127.0.0.11' }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 429]);
  });
});

describe('secrets in logs', () => {
  it('never logs a token, an API key or a token query parameter, even at DEBUG', async () => {
    const service = await startService({ DATA_STREAMING_API_KEYS: KEYS, DATA_STREAMING_LOG_LEVEL: 'DEBUG' });
    try {
      const issued = await post(service.http, '/auth/token', { channels: ['metrics_updates'], ttl: 60 }, auth(READ));
      const granted = (issued.body as { token: string }).token;
      const ws = await WsClient.subscribe(`${service.ws}/ws/metrics_updates?token=${granted}`);
      await refusal(WsClient.connect(`${service.ws}/ws/business_events?token=${granted}`));
      await refusal(WsClient.connect(`${service.ws}/ws/metrics_updates?token=${granted}x`));
      await post(service.http, '/events', event(), auth('not-a-key-0123456789abcdef'));
      ws.close();
      await sleep(300);
      const output = service.output();
      expect(output).toContain('listening on');
      for (const secret of [granted, granted.split('.')[2] as string, READ, PUBLISH, FULL, 'not-a-key-0123456789abcdef']) {
        expect(output).not.toContain(secret);
      }
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });
});
