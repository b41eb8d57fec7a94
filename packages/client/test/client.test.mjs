// The client's behaviour against sockets and streams a test drives by hand (what a server could send, including what
// it should not), with the clock mocked. Its behaviour against the real service is in backend/test/client.e2e-spec.ts.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ClientError, createClient, pathsOf } from '../dist/index.js';
import { SseParser } from '../dist/sse-parser.js';

class ScriptedSocket {
  static opened = [];
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  readyState = 0;
  closedWith;

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    ScriptedSocket.opened.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  send(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  close(code) {
    this.readyState = 3;
    this.closedWith = code;
  }
}

const last = () => ScriptedSocket.opened.at(-1);
const event = (offset) => ({
  kind: 'event',
  id: `e:${offset}`,
  channel: 'c',
  type: 't',
  timestamp: new Date(offset * 1000).toISOString(),
  data: { offset },
});
const welcome = (fields = {}) => ({
  kind: 'welcome',
  channel: 'c',
  epoch: 'e',
  last_id: 'e:0',
  resumed: false,
  recovered: true,
  replayed: 0,
  ...fields,
});
const client = (options = {}) =>
  createClient({
    url: 'http://x',
    createSocket: (url, protocols) => new ScriptedSocket(url, protocols),
    backoff: { initialMs: 100, maxMs: 1000 },
    ...options,
  });
/** Lets the client's connect (async: it may await a token) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Advances the mocked clock in steps until a new socket opens; returns how long that took. */
function waitForSocket(limitMs = 20_000) {
  const before = ScriptedSocket.opened.length;
  let waited = 0;
  while (ScriptedSocket.opened.length === before && waited < limitMs) {
    mock.timers.tick(10);
    waited += 10;
  }
  return waited;
}

describe('client', () => {
  beforeEach(() => {
    ScriptedSocket.opened = [];
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  it('maps channels to their paths', () => {
    assert.deepEqual(pathsOf('metrics_updates'), { websocket: '/ws/metrics_updates', sse: '/sse/metrics_updates' });
    assert.deepEqual(pathsOf('dashboards/system_health'), {
      websocket: '/ws/dashboards/system_health',
      sse: '/dashboards/system_health/stream',
    });
    assert.deepEqual(pathsOf('high_frequency/system_metrics'), { sse: '/streams/high_frequency/system_metrics' });
  });

  it('skips and counts malformed frames, and delivers the rest in order', async () => {
    const received = [];
    const subscription = client().subscribe('c', { onEvent: (item) => received.push(item.data.offset) });
    await settle();
    const socket = last();
    assert.equal(socket.url, 'ws://x/ws/c');
    assert.deepEqual(socket.protocols, ['data-streaming.v1']);
    socket.open();
    socket.send(event(1));
    socket.send('{not json');
    socket.send({ kind: 'batch', events: 'nope' });
    socket.send({ kind: 'batch', channel: 'c', events: [event(2), { kind: 'event' }, event(3)] });
    socket.send({ no: 'kind' });
    socket.send({ kind: 'mystery' });
    assert.deepEqual(received, [1, 2, 3]);
    assert.equal(subscription.stats().malformed, 5);
    assert.equal(subscription.lastId, 'e:3');
    subscription.unsubscribe();
    assert.equal(socket.closedWith, 1000);
  });

  it('reconnects with growing, jittered delays, resuming after the last event, and reports a gap', async () => {
    const gaps = [];
    client().subscribe('c', { onEvent: () => undefined, onGap: (gap) => gaps.push(gap) });
    await settle();
    last().send(event(7));
    const delays = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      last().drop();
      const waited = waitForSocket();
      await settle();
      delays.push(waited);
    }
    [100, 200, 400, 800, 1000].forEach((ceiling, index) => {
      assert.ok(delays[index] >= ceiling / 2, `delay ${index}: ${delays[index]}`);
      assert.ok(delays[index] <= ceiling + 10, `delay ${index}: ${delays[index]}`);
    });
    await settle();
    assert.equal(last().url, 'ws://x/ws/c?since=e%3A7');
    const frame = welcome({ epoch: 'f', last_id: 'f:3', resumed: true, recovered: false, reason: 'epoch_changed', replayed: 3 });
    last().send(frame);
    assert.deepEqual(gaps, [{ reason: 'epoch_changed', lastId: 'e:7', welcome: frame }]);
  });

  it('resumes from where the stream stood when joined if the connection drops before the first event', async () => {
    const subscription = client().subscribe('c', { onEvent: () => undefined });
    await settle();
    last().send(welcome({ last_id: 'e:41' }));
    assert.equal(subscription.lastId, 'e:41');
    last().drop();
    waitForSocket();
    await settle();
    assert.equal(last().url, 'ws://x/ws/c?since=e%3A41');
    subscription.unsubscribe();
  });

  it('shares one socket among live subscribers, closes it and clears every timer when the last leaves', async () => {
    const shared = client();
    const first = shared.subscribe('c', { onEvent: () => undefined });
    const second = shared.subscribe('c', { onEvent: () => undefined });
    await settle();
    assert.equal(ScriptedSocket.opened.length, 1);
    first.unsubscribe();
    assert.equal(last().closedWith, undefined);
    last().drop();
    second.unsubscribe();
    mock.timers.tick(10_000);
    await settle();
    assert.equal(ScriptedSocket.opened.length, 1);
    assert.equal(shared.connections, 0);
  });

  it('gives subscribers that ask for the same start before it is served one socket, and a later one its own', async () => {
    const shared = client();
    shared.subscribe('c', { from: 1000, onEvent: () => undefined });
    shared.subscribe('c', { from: 1000, onEvent: () => undefined });
    await settle();
    assert.equal(ScriptedSocket.opened.length, 1);
    assert.equal(last().url, 'ws://x/ws/c?from=1000');
    last().send(welcome({ resumed: true, replayed: 1 }));
    shared.subscribe('c', { from: 1000, onEvent: () => undefined });
    // A live subscriber waits for the replay to end before it joins.
    shared.subscribe('c', { onEvent: () => undefined });
    await settle();
    assert.deepEqual(
      ScriptedSocket.opened.map((socket) => socket.url),
      ['ws://x/ws/c?from=1000', 'ws://x/ws/c?from=1000', 'ws://x/ws/c'],
    );
    assert.throws(() => shared.subscribe('c', { since: 'e:1', from: 1 }), ClientError);
  });

  it('says when the replay the welcome announced has been delivered, once per connection, and at once when live', async () => {
    const shared = client();
    const heard = [];
    shared.subscribe('c', {
      from: 1000,
      onEvents: (events) => heard.push(events.map((item) => item.data.offset)),
      onReplayed: () => heard.push('replayed'),
    });
    await settle();
    last().send(welcome({ resumed: true, replayed: 3 }));
    last().send({ kind: 'batch', channel: 'c', events: [event(1), event(2)] });
    assert.deepEqual(heard, [[1, 2]]);
    last().send(event(3));
    last().send(event(4));
    assert.deepEqual(heard, [[1, 2], [3], 'replayed', [4]]);
    // A live subscriber joining the connection, now live, hears it at once.
    let joined = 0;
    shared.subscribe('c', { onEvent: () => undefined, onReplayed: () => joined++ });
    assert.equal(joined, 1);
    // A reconnect's welcome with nothing to replay.
    last().drop();
    waitForSocket();
    await settle();
    last().send(welcome({ resumed: true, replayed: 0, last_id: 'e:4' }));
    assert.deepEqual(heard.slice(4), ['replayed']);
    assert.equal(joined, 2);
  });

  it('waits at least the Retry-After of a 1013 close, with jitter, so that a wave of refused subscribers spreads out', async () => {
    const delays = [];
    for (let subscriber = 0; subscriber < 20; subscriber++) {
      ScriptedSocket.opened = [];
      const { unsubscribe } = client().subscribe('c', { onEvent: () => undefined });
      await settle();
      last().drop(1013, JSON.stringify({ code: 'max_connections', retry_after_seconds: 5 }));
      delays.push(waitForSocket());
      unsubscribe();
    }
    assert.ok(Math.min(...delays) >= 5000, String(Math.min(...delays)));
    assert.ok(Math.max(...delays) <= 7510, String(Math.max(...delays)));
    assert.ok(Math.max(...delays) - Math.min(...delays) > 500);
  });

  it('reports a refusal for good (a browser close 4404, ws "Unexpected server response: 401") and does not retry', async () => {
    const errors = [];
    const statuses = [];
    client().subscribe('nope', { onEvent: () => undefined, onError: (error) => errors.push(error), onStatus: (s) => statuses.push(s) });
    await settle();
    last().drop(4404, JSON.stringify({ code: 'unknown_channel', message: 'unknown channel "nope"' }));
    client().subscribe('c', { onEvent: () => undefined, onError: (error) => errors.push(error) });
    await settle();
    last().onerror({ message: 'Unexpected server response: 401' });
    last().drop(1006);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(ScriptedSocket.opened.length, 2);
    assert.deepEqual(
      errors.map((error) => [error.code, error.status]),
      [
        ['unknown_channel', 404],
        ['http_401', 401],
      ],
    );
    assert.equal(errors[0].message, 'unknown channel "nope"');
    assert.deepEqual(statuses, ['connecting', 'closed']);
  });

  it('reads a refusal from ws in Node: its Retry-After, its error body; open only once the service speaks', async () => {
    /** A socket with the part of ws' API the client uses for refusals: 'unexpected-response', terminate(). */
    class NodeSocket extends ScriptedSocket {
      listeners = {};
      on(name, listener) {
        this.listeners[name] = listener;
      }
      terminate() {
        this.drop(1006);
      }
      refuse(status, headers, body) {
        const handlers = {};
        this.listeners['unexpected-response']?.({}, { statusCode: status, headers, on: (name, fn) => (handlers[name] = fn) });
        handlers.data?.(JSON.stringify(body));
        handlers.end?.();
      }
    }
    const errors = [];
    const statuses = [];
    const node = client({ createSocket: (url, protocols) => new NodeSocket(url, protocols) });
    node.subscribe('c', { onEvent: () => undefined, onStatus: (status) => statuses.push(status) });
    await settle();
    last().open();
    last().refuse(429, { 'retry-after': '5' }, { error: 'rate_limited', message: 'too many connections' });
    const waited = waitForSocket();
    assert.ok(waited >= 5000 && waited <= 7510, String(waited));
    await settle();
    last().send(welcome());
    assert.deepEqual(statuses, ['connecting', 'reconnecting', 'reconnecting', 'open']);
    node.subscribe('nope', { onEvent: () => undefined, onError: (error) => errors.push(error) });
    await settle();
    last().refuse(404, {}, { error: 'unknown_channel', message: 'unknown channel "nope"' });
    mock.timers.tick(60_000);
    assert.equal(ScriptedSocket.opened.length, 3);
    assert.deepEqual(
      errors.map((error) => [error.code, error.status, error.message]),
      [['unknown_channel', 404, 'unknown channel "nope"']],
    );
  });

  it('renews a token before it expires, and after a 4001 at once, resuming from the last event', async () => {
    let issued = 0;
    const getToken = async () => ({ token: `t${++issued}`, expiresAt: Date.now() + 60_000 });
    client({ credential: { getToken } }).subscribe('c', { onEvent: () => undefined });
    await settle();
    assert.deepEqual(last().protocols, ['data-streaming.v1', 'bearer.t1']);
    last().send(event(4));
    // 10 % of the token's life before it expires (at least 5 s): at 54 s, not before.
    mock.timers.tick(53_900);
    await settle();
    assert.equal(ScriptedSocket.opened.length, 1);
    mock.timers.tick(200);
    await settle();
    assert.equal(ScriptedSocket.opened.length, 2);
    assert.equal(ScriptedSocket.opened[0].closedWith, 1000);
    assert.deepEqual(last().protocols, ['data-streaming.v1', 'bearer.t2']);
    assert.equal(last().url, 'ws://x/ws/c?since=e%3A4');
    last().drop(4001, 'token expired');
    await settle();
    assert.equal(ScriptedSocket.opened.length, 3);
    assert.deepEqual(last().protocols, ['data-streaming.v1', 'bearer.t3']);
  });

  it('sends a credential a subprotocol cannot hold as ?token=', async () => {
    client({ credential: { token: 'key with spaces' } }).subscribe('c', { onEvent: () => undefined });
    await settle();
    assert.equal(last().url, 'ws://x/ws/c?token=key+with+spaces');
    assert.deepEqual(last().protocols, ['data-streaming.v1']);
  });

  it('reads SSE with fetch: headers, the refusal body, events and the reason the stream ends', async () => {
    const requests = [];
    const encoder = new TextEncoder();
    const stream = (text) =>
      new ReadableStream({
        start(controller) {
          for (const piece of [text.slice(0, 17), text.slice(17)]) controller.enqueue(encoder.encode(piece));
          controller.close();
        },
      });
    const answers = [
      new Response(JSON.stringify({ error: 'forbidden', message: 'the token does not grant real_time_metrics' }), {
        status: 403,
        headers: { 'content-type': 'application/json' },
      }),
      new Response(
        stream(
          `retry: 5000\n\nevent: welcome\ndata: ${JSON.stringify(welcome())}\n\nid: e:1\ndata: ${JSON.stringify(event(1))}\n\n: keep-alive\n\n` +
            `event: error\ndata: {"kind":"error","code":4000,"reason":"slow_consumer","message":"m"}\n\n`,
        ),
        { status: 200 },
      ),
    ];
    const fetch = async (url, init) => {
      requests.push([url, init.headers]);
      return answers.shift() ?? new Promise(() => undefined);
    };
    const errors = [];
    const sse = createClient({ url: 'http://x/', transport: 'sse', fetch, credential: { token: 'k' } });
    sse.subscribe('real_time_metrics', { onEvent: () => undefined, onError: (error) => errors.push(error) });
    await settle();
    await settle();
    assert.deepEqual(
      errors.map((error) => [error.code, error.status]),
      [['forbidden', 403]],
    );
    const received = [];
    sse.subscribe('real_time_metrics', { onEvent: (item) => received.push(item.id) });
    for (let turn = 0; turn < 10; turn++) await settle();
    assert.deepEqual(received, ['e:1']);
    assert.deepEqual(requests[1], ['http://x/sse/real_time_metrics', { accept: 'text/event-stream', authorization: 'Bearer k' }]);
    // Ended as a slow consumer: back after a backoff, resuming after e:1.
    waitForSocket(2000);
    for (let turn = 0; turn < 5; turn++) await settle();
    assert.equal(requests[2]?.[0], 'http://x/sse/real_time_metrics?since=e%3A1');
    sse.close();
  });
});

describe('SseParser', () => {
  it('parses events split anywhere, with CR, LF or CRLF, comments and multi-line data', () => {
    const text = 'event: welcome\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: comment\nid: x:1\ndata: two\n\nid: x:2\rdata: three\r\r';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const messages = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      assert.deepEqual(messages, [
        { event: 'welcome', id: undefined, data: '{"a":\n1}' },
        { event: 'message', id: 'x:1', data: 'two' },
        { event: 'message', id: 'x:2', data: 'three' },
      ]);
    }
  });
});
