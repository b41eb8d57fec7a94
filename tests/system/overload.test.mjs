// Overload sheds load, not subscribers: the built service on its defaults (rate limits on) with 200 WebSocket
// subscribers as `ws` makes them (permessage-deflate offered), one of which stops reading, and publishers pushing
// 2 KB events as fast as they can: more than this machine can fan out. Healthy subscribers must all stay connected
// and get every accepted event, in order, once; the stuck one must be closed (4000, or cut when its close frame
// cannot be written); publishers must be told to back off (503 with Retry-After). Prints what it measured.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually, publish, sleep, startService } from './helpers.mjs';

const SUBSCRIBERS = 200;
const LOAD_SECONDS = 6;
const PUBLISHERS = 8;
const BATCH = 10;

/** An event of about 2 KB: dashboard-like rows and a trace id list, compressing to about half. */
function event(sequence) {
  const rows = Array.from({ length: 12 }, (_, index) => ({
    model: `model-${index % 7}`,
    p99_ms: (sequence * 31 + index * 17) % 997,
    ok: index % 3 !== 0,
  }));
  return { channel: 'business_events', type: 'load.event', data: { sequence, rows, traces: randomBytes(500).toString('hex') } };
}

/** A subscriber that checks every event's offset follows the one before (one channel, one epoch). */
class CheckingSubscriber {
  constructor(url, stuck = false) {
    Object.assign(this, { received: 0, last: 0, gaps: 0, duplicates: 0, closeCode: undefined, stuck });
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.on('message', (data) => {
        const now = Date.now();
        if (this.lastMessageAt !== undefined) this.maxGap = Math.max(this.maxGap ?? 0, now - this.lastMessageAt);
        this.lastMessageAt = now;
        const text = String(data);
        if (text.startsWith('{"kind":"welcome"')) {
          this.last = Number(/"last_id":"[^:"]+:(\d+)"/.exec(text)[1]);
          if (stuck) this.socket._socket.pause();
          resolve();
          return;
        }
        // Event envelopes begin with their id; a batch holds several. Offsets only, no full parse of 2 KB each.
        for (const match of text.matchAll(/\{"kind":"event","id":"[^:"]+:(\d+)"/g)) {
          const offset = Number(match[1]);
          if (offset <= this.last) this.duplicates++;
          else if (offset !== this.last + 1) this.gaps++;
          this.last = Math.max(this.last, offset);
          this.received++;
        }
      });
    });
    this.socket.on('close', (code) => {
      this.closeCode = code;
      this.closedAt = Date.now();
    });
  }
}

test('one stuck subscriber among 200 under more load than the machine carries: nobody healthy closed, publishers pushed back, nothing accepted lost', async () => {
  // The queue cap at its lowest (service.max_body_bytes), so that the stuck subscriber passes it within the run
  // once loopback's socket buffers (megabytes) are full.
  const service = await startService({
    DATA_STREAMING_LOG_LEVEL: 'WARN',
    WEBSOCKET_MAX_CONNECTIONS: '300',
    WEBSOCKET_MAX_QUEUE_BYTES: '1048576',
  });
  const port = Number(new URL(service.http).port);
  const subscribers = [];
  try {
    for (let index = 0; index < SUBSCRIBERS; index++) {
      const subscriber = new CheckingSubscriber(`${service.ws}/ws/business_events`, index === 0);
      subscribers.push(subscriber);
      await subscriber.opened;
    }
    const [stuck, ...healthy] = subscribers;

    const agent = new Agent({ keepAlive: true, maxSockets: PUBLISHERS });
    const outcome = { accepted: 0, overloaded: 0, other: new Map(), lastOffset: 0 };
    const end = Date.now() + LOAD_SECONDS * 1000;
    let sequence = 0;
    const overloadedSeen = [];
    const healthWatch = setInterval(async () => {
      const body = await (await fetch(`${service.http}/health`)).json().catch(() => undefined);
      if (body?.checks?.load?.state === 'overloaded') overloadedSeen.push(body.checks.load);
    }, 250);
    /** Publishers posting batches until `done()`, `pauseMs` apart (0: flat out), honouring 503 overloaded. */
    const publishUntil = (done, pauseMs) =>
      Promise.all(
        Array.from({ length: PUBLISHERS }, async () => {
          while (!done()) {
            const answer = await publish(
              agent,
              port,
              Array.from({ length: BATCH }, () => event(++sequence)),
            );
            if (answer.status === 202) {
              outcome.accepted += BATCH;
              const ids = answer.body.ids;
              outcome.lastOffset = Math.max(outcome.lastOffset, Number(ids.at(-1).split(':')[1]));
            } else if (answer.status === 503 && answer.body.error === 'overloaded') {
              outcome.overloaded++;
              const retryAfter = Number(answer.headers['retry-after']);
              assert.ok(retryAfter >= 1, 'an overloaded refusal says Retry-After');
              await sleep(retryAfter * 1000);
            } else {
              const what = String(answer.status ?? answer.error);
              outcome.other.set(what, (outcome.other.get(what) ?? 0) + 1);
            }
            if (pauseMs > 0) await sleep(pauseMs);
          }
        }),
      );
    await publishUntil(() => Date.now() >= end, 0);
    // Loopback socket buffers hold megabytes the service cannot see: until they are full, the stuck subscriber is
    // not past its cap. A lighter tail of publishing (bounded: 60 s) goes on until the service has closed it.
    let stuckClosed = false;
    const watchStuck = setInterval(async () => {
      const body = await (await fetch(`${service.http}/websocket/status`)).json().catch(() => undefined);
      if (body?.slow_consumer_disconnects >= 1) stuckClosed = true;
    }, 500);
    const tailEnd = Date.now() + 60_000;
    await publishUntil(() => stuckClosed || Date.now() >= tailEnd, 200);
    clearInterval(watchStuck);
    clearInterval(healthWatch);
    agent.destroy();

    // Everyone healthy catches up with the last accepted event; the stuck one is closed once the service keeps up.
    // The 199 clients share this process and one core: they read slower than the service writes, and the backlog
    // they have not read sits in loopback socket buffers. Wait while they make progress (bounded: 180 s).
    const caughtUpBy = Date.now() + 180_000;
    let least = -1;
    for (;;) {
      const behind = healthy.filter((subscriber) => subscriber.last < outcome.lastOffset);
      if (behind.length === 0) break;
      const now = Math.min(...behind.map((subscriber) => subscriber.last));
      if (!(now > least && Date.now() < caughtUpBy)) {
        const gaps = healthy.map((subscriber) => subscriber.maxGap ?? 0).sort((a, b) => b - a);
        process.stdout.write(
          `overload: longest gaps between messages of healthy clients ${gaps.slice(0, 12).join(', ')} ms; service log: ${service.output().slice(-3000)}\n`,
        );
        assert.fail(
          `healthy subscribers stopped catching up: ${behind.length} behind at ${now} of ${outcome.lastOffset}; ` +
            `close codes of those behind: ${JSON.stringify(behind.map((subscriber) => subscriber.closeCode ?? null).filter(Boolean))}`,
        );
      }
      least = now;
      await sleep(5000);
    }
    // The stuck client reads nothing, so it cannot see its close until it reads again: the service's count says it.
    let lastStatus;
    const waitFrom = Date.now();
    const closedByService = await eventually(
      async () => {
        const body = (lastStatus = await (await fetch(`${service.http}/websocket/status`)).json());
        return body.slow_consumer_disconnects >= 1 && body.connections === SUBSCRIBERS - 1 ? body : undefined;
      },
      20_000,
      'the stuck subscriber to be closed',
    ).catch(async (error) => {
      const codes = {};
      for (const subscriber of healthy)
        if (subscriber.closeCode !== undefined) codes[subscriber.closeCode] = (codes[subscriber.closeCode] ?? 0) + 1;
      const closedAts = healthy.filter((subscriber) => subscriber.closedAt).map((subscriber) => subscriber.closedAt - waitFrom);
      const dead = /^websocket_dead_peers_terminated_total \S+/m.exec(await (await fetch(`${service.http}/metrics`)).text())?.[0];
      const closedHealthy = `${JSON.stringify(codes)} from ${Math.min(...closedAts)} to ${Math.max(...closedAts)} ms after the wait began; ${dead}`;
      process.stdout.write(
        `overload: /websocket/status ${JSON.stringify({ connections: lastStatus?.connections, slow_consumer_disconnects: lastStatus?.slow_consumer_disconnects })}, ` +
          `healthy clients closed by code ${closedHealthy}; service log: ${service.output().slice(-3000)}\n`,
      );
      throw error;
    });
    stuck.socket._socket.resume();
    await eventually(() => (stuck.closeCode !== undefined ? true : undefined), 10_000, 'the stuck client to see its close');
    const closedHealthy = healthy.filter((subscriber) => subscriber.closeCode !== undefined);
    const lost = healthy.reduce((sum, subscriber) => sum + subscriber.gaps, 0);
    const duplicates = healthy.reduce((sum, subscriber) => sum + subscriber.duplicates, 0);
    const status = closedByService;
    process.stdout.write(
      `overload: ${SUBSCRIBERS} subscribers (1 stuck), ${PUBLISHERS} publishers of ${BATCH} x 2 KB for ${LOAD_SECONDS} s: ` +
        `${outcome.accepted} events accepted, ${outcome.overloaded} requests refused 503 overloaded` +
        `${outcome.other.size > 0 ? `, other answers ${JSON.stringify(Object.fromEntries(outcome.other))}` : ''}; ` +
        `/health overloaded in ${overloadedSeen.length} polls (max event-loop delay ${Math.max(0, ...overloadedSeen.map((load) => load.event_loop_delay_ms))} ms, ` +
        `max lagging ${Math.max(0, ...overloadedSeen.map((load) => load.lagging_subscribers))}); healthy closed ${closedHealthy.length}, ` +
        `stuck closed with ${stuck.closeCode}; gaps ${lost}, duplicates ${duplicates}; slow-consumer closes ${status.slow_consumer_disconnects}; ` +
        `longest pause of a healthy client between two messages ${Math.max(...healthy.map((subscriber) => subscriber.maxGap ?? 0))} ms\n`,
    );
    assert.equal(closedHealthy.length, 0, 'no healthy subscriber is closed');
    assert.ok([4000, 1006].includes(stuck.closeCode), `the stuck subscriber is closed as slow (4000) or cut, got ${stuck.closeCode}`);
    assert.ok(outcome.overloaded > 0, 'publishers are told to back off');
    assert.equal(lost, 0, 'no healthy subscriber misses an accepted event');
    assert.equal(duplicates, 0);
    assert.ok(
      healthy.every((subscriber) => subscriber.received === outcome.accepted),
      'each healthy subscriber got every accepted event',
    );
    assert.equal(outcome.other.size, 0, 'no other refusals or errors');
  } finally {
    for (const subscriber of subscribers) subscriber.socket.terminate();
    await service.stop();
  }
});
