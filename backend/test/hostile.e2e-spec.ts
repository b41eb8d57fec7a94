/**
 * The hostile-input suite: every case gets a clear refusal (an HTTP status with the JSON error shape, or a documented
 * WebSocket close code), a well-behaved subscriber keeps receiving throughout, and memory stays bounded. Real
 * sockets only: raw TCP for what no well-behaved client would send, `ws` for frames, fast-check for generated input.
 * The closing line reports the cases tried, the refusals and the heap before and after (docs/SECURITY.md).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { eventually, getJson, post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

const tally = { tried: 0, refused: 0 };
/** Records one hostile case and whether the service refused it as documented. */
function refusedAs(ok: boolean): boolean {
  tally.tried++;
  if (ok) tally.refused++;
  return ok;
}

/** Sends raw bytes on a fresh TCP connection and collects whatever comes back until the server closes it. */
function raw(port: number, chunks: (string | Buffer)[], gapMs = 0, timeoutMs = 5000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ text, closedAfterMs: Date.now() - started });
    };
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
    socket.on('close', finish);
    socket.on('error', finish);
    setTimeout(finish, timeoutMs).unref();
    socket.on('connect', () => {
      void (async () => {
        for (const chunk of chunks) {
          if (socket.destroyed) return;
          socket.write(chunk);
          if (gapMs > 0) await sleep(gapMs);
        }
      })();
    });
  });
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const jsonBodyOf = (text: string): any => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4) || 'null');

describe('hostile input', () => {
  let service: RunningApp;
  let port: number;
  let witness: WsClient;
  let heapBefore: number;

  beforeAll(async () => {
    service = await startApp({
      // A short history, so that what the heap holds afterwards is not the (bounded) history of the floods.
      service: { max_body_bytes: 64 * 1024, headers_timeout: 1, history_size: 100 },
      websocket: { message_size_limit: 4096, max_connections: 30, max_queue_bytes: 256 * 1024, max_client_pings_per_second: 10 },
      // A connection that takes nothing is closed after 2 load checks of 500 ms (the default waits for 30).
      performance_optimization: { overload_stall_checks: 2 },
      sse: { max_connections: 10 },
    });
    port = Number(new URL(service.http).port);
    // The well-behaved subscriber: it must see every accepted event whatever the others do.
    witness = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    global.gc?.();
    heapBefore = process.memoryUsage().heapUsed;
  });

  afterAll(async () => {
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    witness.close();
    await service.close();
    process.stderr.write(
      `hostile-input suite: ${tally.tried} cases tried, ${tally.refused} refused as documented; ` +
        `heap of the running service and its clients before ${(heapBefore / 2 ** 20).toFixed(1)} MB, after ${(heapAfter / 2 ** 20).toFixed(1)} MB\n`,
    );
    // Bounded: the floods leave no more behind than a short history and the test's own records.
    if (global.gc) expect(heapAfter - heapBefore).toBeLessThan(32 * 2 ** 20);
  });

  afterEach(async () => {
    // After every case the service still answers and the witness still receives.
    const marker = `alive-${Date.now()}-${Math.random()}`;
    const published = await post(service.http, '/events', event({ data: { marker } }));
    expect(published.status).toBe(202);
    await eventually(() => witness.events.find((frame) => frame.data?.marker === marker), 5000, 'the witness to receive');
  });

  it('refuses malformed JSON, of every kind, with 400 malformed_json', async () => {
    for (const body of ['{', '{"channel":', '[1,2', '{"a":1}}', "{'a':1}", 'NaN', '{"a":01}', '\u0000', '{"a":"\\x41"}', ']']) {
      const response = await post(service.http, '/events', body);
      expect(refusedAs(response.status === 400 && (response.body as { error: string }).error === 'malformed_json')).toBe(true);
    }
  });

  it('refuses nesting deeper than max_json_depth, however deep, without overflowing the stack', async () => {
    for (const depth of [33, 1000, 100_000]) {
      const array = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const inData = `{"channel":"metrics_updates","type":"x","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      for (const body of [array, inData]) {
        const response = await post(service.http, '/events', body);
        const error = (response.body as { error?: string }).error;
        expect(
          refusedAs([400, 413].includes(response.status) && ['too_deep', 'malformed_json', 'payload_too_large'].includes(error ?? '')),
        ).toBe(true);
      }
    }
  });

  it('refuses every generated body that is not a valid event with 400 naming the problem, never 500 (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.record({ channel: fc.string(), type: fc.jsonValue(), data: fc.jsonValue() })),
        async (body) => {
          const response = await post(service.http, '/events', JSON.stringify(body));
          if (response.status === 202) return true;
          return refusedAs(response.status === 400 && typeof (response.body as { message?: unknown }).message === 'string');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses huge bodies with 413, declared or streamed, and huge headers with 431', async () => {
    const declared = await raw(port, [
      `POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{`,
    ]);
    expect(refusedAs(statusOf(declared.text) === 413 && jsonBodyOf(declared.text).error === 'payload_too_large')).toBe(true);
    const streamed = await post(service.http, '/events', event({ data: { blob: 'x'.repeat(200 * 1024) } }));
    expect(refusedAs(streamed.status === 413)).toBe(true);
    const headers = await raw(port, [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`]);
    expect(refusedAs(statusOf(headers.text) === 431)).toBe(true);
  });

  it('answers a request Node cannot parse with the documented JSON error, not a bare status line', async () => {
    // The README's own ?since=… copied with its raw "…" (UTF-8 bytes in the request line), as curl sends it.
    const copied = await raw(port, [
      Buffer.from('GET /dashboards/operational_overview/data?since=\u2026 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8'),
    ]);
    expect(statusOf(copied.text)).toBe(400);
    expect(copied.text).toMatch(/\r\ncontent-type: application\/json/i);
    expect(jsonBodyOf(copied.text)).toEqual({ error: 'malformed_request', message: expect.stringContaining('percent-encoded') });
    const control = await raw(port, ['GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n']);
    expect(statusOf(control.text)).toBe(400);
    expect(jsonBodyOf(control.text).error).toBe('malformed_request');
    const garbage = await raw(port, ['NOT HTTP AT ALL\r\n\r\n']);
    expect(jsonBodyOf(garbage.text).error).toBe('malformed_request');
    const headers = await raw(port, [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`]);
    expect(statusOf(headers.text)).toBe(431);
    expect(jsonBodyOf(headers.text).error).toBe('headers_too_large');
    // The service goes on answering.
    expect((await getJson(service.http, '/health')).status).toBe(200);
  });

  it("gives every response an X-Request-Id: the caller's when it is a plain token, else one of its own", async () => {
    const own = await fetch(`${service.http}/health`);
    expect(own.headers.get('x-request-id')).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    const again = await fetch(`${service.http}/health`);
    expect(again.headers.get('x-request-id')).not.toBe(own.headers.get('x-request-id'));
    const given = await fetch(`${service.http}/streams`, { headers: { 'x-request-id': 'proxy-7f3a.42' } });
    expect(given.headers.get('x-request-id')).toBe('proxy-7f3a.42');
    const odd = await fetch(`${service.http}/health`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
  });

  it('refuses a body that is not valid UTF-8 with 400 invalid_utf8', async () => {
    const invalid = Buffer.concat([
      Buffer.from('{"channel":"metrics_updates","type":"x","data":{"s":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}}'),
    ]);
    const response = await fetch(`${service.http}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: invalid,
    });
    expect(refusedAs(response.status === 400 && ((await response.json()) as { error: string }).error === 'invalid_utf8')).toBe(true);
  });

  it('closes WebSockets that send oversized, fragmented-oversized, invalid UTF-8 or binary frames, with the documented codes', async () => {
    const cases: [string, (socket: WebSocket) => void, number][] = [
      ['oversized frame', (socket) => socket.send('x'.repeat(10_000)), 1009],
      [
        'oversized in fragments',
        (socket) => {
          for (let index = 0; index < 5; index++) socket.send('y'.repeat(1000), { fin: false });
          socket.send('end', { fin: true });
        },
        1009,
      ],
      ['invalid UTF-8 text', (socket) => socket.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false }), 1007],
      ['binary frame', (socket) => socket.send(Buffer.from([1, 2, 3]), { binary: true }), 1003],
    ];
    for (const [, misbehave, code] of cases) {
      const client = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
      misbehave(client.socket);
      expect(refusedAs((await client.waitForClose(5000)) === code)).toBe(true);
    }
  });

  it('closes a ping flood with 1008 and answers a few pings normally', async () => {
    const calm = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    calm.socket.ping();
    calm.socket.send('{"kind":"ping"}');
    await eventually(() => calm.frames.find((frame) => frame.kind === 'pong'), 2000, 'pong');
    const flood = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    for (let index = 0; index < 200; index++) flood.socket.ping();
    expect(refusedAs((await flood.waitForClose(5000)) === 1008)).toBe(true);
    expect(calm.closeCode).toBeUndefined();
    calm.close();
  });

  it('gives back the connection slot of every refused handshake (no key, bad version): the limit stays usable', async () => {
    for (let index = 0; index < 40; index++) {
      const { text } = await raw(port, [
        `GET /ws/metrics_updates HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: ${index % 2 ? '13' : '99'}\r\n\r\n`,
      ]);
      expect(refusedAs(statusOf(text) === 400 || statusOf(text) === 426)).toBe(true);
    }
    const status = await eventually(
      async () => {
        const body = (await (await fetch(`${service.http}/websocket/status`)).json()) as { connections: number };
        return body.connections === 1 ? body : undefined;
      },
      5000,
      'the slots to come back',
    );
    expect(status.connections).toBe(1);
    (await WsClient.subscribe(`${service.ws}/ws/metrics_updates`)).close();
  });

  it('cuts off a client that sends its headers one byte at a time, on time, while others are served', async () => {
    const request = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const slow = raw(port, request.split(''), 150, 10_000); // ASCII only
    await sleep(300);
    expect((await fetch(`${service.http}/health`)).status).toBe(200);
    const { text, closedAfterMs } = await slow;
    expect(refusedAs(statusOf(text) !== 200 && closedAfterMs < 3000)).toBe(true);
    // The same on a keep-alive connection after a first, fast request: the next request's headers are timed too.
    const second = await raw(port, [request, ...request.split('')], 300, 15_000);
    expect(refusedAs((second.text.match(/HTTP\/1\.1 200/g) ?? []).length === 1 && second.closedAfterMs < 8000)).toBe(true);
  }, 20_000);

  it('refuses a burst of connections past every limit cleanly (503 + Retry-After), keeping the admitted ones', async () => {
    const connections = async (): Promise<number> =>
      ((await (await fetch(`${service.http}/websocket/status`)).json()) as { connections: number }).connections;
    await eventually(async () => ((await connections()) === 1 ? true : undefined), 5000, 'only the witness connected');
    const admitted: WsClient[] = [];
    const refusals: number[] = [];
    for (let index = 0; index < 40; index++) {
      try {
        admitted.push(await WsClient.connect(`${service.ws}/ws/business_events`));
      } catch (error) {
        refusals.push((error as { status: number }).status);
      }
    }
    expect(admitted.length).toBe(29); // the limit of 30, less the witness
    for (const status of refusals) expect(refusedAs(status === 503)).toBe(true);
    const sse = await Promise.all(Array.from({ length: 12 }, () => SseReader.open(`${service.http}/sse/metrics_updates`)));
    for (const reader of sse.slice(10))
      expect(refusedAs(reader.status === 503 && reader.response.headers['retry-after'] !== undefined)).toBe(true);
    for (const reader of sse) reader.close();
    for (const client of admitted) client.close();
    await eventually(async () => ((await connections()) === 1 ? true : undefined), 5000, 'the burst to close');
  });

  it('closes a subscriber that never reads as a slow consumer, and memory does not follow it', async () => {
    const stuck = await WsClient.subscribe(`${service.ws}/ws/business_events`);
    (stuck.socket as unknown as { _socket: Socket })._socket.pause();
    // Random text: what piles up is the same compressed (ws offers permessage-deflate) or not. Loopback's socket
    // buffers take megabytes before the connection stops taking bytes; then it is closed within the stall checks.
    // Bounded: at most 1,500 requests of 6 x 8 KB, stopping once the service reports the close.
    const slowCloses = async () =>
      ((await (await fetch(`${service.http}/websocket/status`)).json()) as { slow_consumer_disconnects: number }).slow_consumer_disconnects;
    for (let round = 0; round < 1500 && (round % 50 !== 49 || (await slowCloses()) === 0); round++) {
      await post(
        service.http,
        '/events',
        Array.from({ length: 6 }, () => event({ channel: 'business_events', data: { blob: randomBytes(4000).toString('hex') } })),
      );
    }
    const status = await eventually(
      async () => {
        const body = (await (await fetch(`${service.http}/websocket/status`)).json()) as { slow_consumer_disconnects: number };
        return body.slow_consumer_disconnects >= 1 ? body : undefined;
      },
      10_000,
      'the slow consumer to be closed',
    );
    expect(refusedAs(status.slow_consumer_disconnects >= 1)).toBe(true);
    stuck.socket.terminate();
  });

  it('answers unknown paths and traversal attempts with 404 JSON, over HTTP and WebSocket upgrades', async () => {
    const paths = [
      '/../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/sse/..%2f..%2fetc%2fpasswd',
      '/streams/%00',
      '/docs/../../package.json',
      '/ws/../../etc/passwd',
    ];
    for (const path of paths) {
      const { text } = await raw(port, [`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      expect(refusedAs([400, 404].includes(statusOf(text)) && !text.includes('root:') && typeof jsonBodyOf(text).error === 'string')).toBe(
        true,
      );
    }
    for (const path of ['/ws/../../etc/passwd', '/ws/%2e%2e%2fsecret', '/ws/metrics_updates/../../x']) {
      const refused = await WsClient.connect(`${service.ws}${path}`).then(
        () => 0,
        (error: unknown) => (error as { status?: number }).status ?? 0,
      );
      expect(refusedAs(refused === 404 || refused === 400)).toBe(true);
    }
  });

  it('refuses a Last-Event-ID that is not a position with 400', async () => {
    for (const header of ['', 'x', ':', '1:', 'abc:-1', 'abc:1e3', 'ABC:1', `${'a'.repeat(40)}:1`, 'abc:99999999999999999999', '../1']) {
      const reader = await SseReader.open(`${service.http}/sse/metrics_updates`, { 'last-event-id': header });
      const status = reader.status;
      reader.close();
      if (header === '') expect(status).toBe(200);
      else expect(refusedAs(status === 400)).toBe(true);
    }
  });

  it('refuses every generated ?since that is not a position with 400 (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), async (text) => {
        // Refused positions never take a connection slot: the check comes before admission.
        const status = await WsClient.connect(`${service.ws}/ws/metrics_updates?since=${encodeURIComponent(text)}`).then(
          (client) => {
            client.socket.terminate();
            return 101;
          },
          (error: unknown) => (error as { status?: number }).status ?? 0,
        );
        return status === 101 || refusedAs(status === 400);
      }),
      { numRuns: 60 },
    );
  });
});
