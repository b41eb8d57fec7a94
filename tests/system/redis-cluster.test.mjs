// Several instances sharing one Redis (DATA_STREAMING_REDIS_URL): the Redis on 127.0.0.1:6379 with a key prefix of
// this run for the cluster tests, and a redis-server of the test's own, on its own port, for the outage test.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { eventually, freePort, requireBinary, run, sleep, startNginx, startService, subscriber } from './helpers.mjs';

const REDIS_SERVER = requireBinary('/usr/bin/redis-server', 'redis-server');
requireBinary('/usr/sbin/nginx', 'nginx-light');
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `dsa-test-${process.pid}-${Date.now().toString(36)}:`;

/** A subscriber of the client library (helpers.mjs) once its welcome has come; `since`: resume after that id. */
async function subscribe(base, channel, since) {
  const client = subscriber(base, channel, { since });
  await client.opened(5000);
  return client;
}

async function publish(service, events) {
  const response = await fetch(`${service.http}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()).ids;
}

const offsets = (events) => events.map((event) => Number(event.id.split(':')[1]));
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

async function fetchPing(port) {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A redis-server of the test's own on `port`, without persistence. */
async function startOwnRedis(port) {
  const dir = mkdtempSync(join(tmpdir(), 'dsa-redis-'));
  const server = run(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await eventually(() => fetchPing(port), 10_000, `redis-server on ${port} (${server.output()})`);
  return server;
}

/** `count` instances (one process each) on the Redis at `port`, commands timing out after 0.3 s. */
async function startInstancesOn(port, count, extra = {}) {
  const env = {
    DATA_STREAMING_REDIS_URL: `redis://127.0.0.1:${port}`,
    DATA_STREAMING_REDIS_KEY_PREFIX: PREFIX,
    DATA_STREAMING_REDIS_COMMAND_TIMEOUT: '0.3',
    DATA_STREAMING_API_WORKERS: '1',
    ...extra,
  };
  const started = [];
  for (let index = 0; index < count; index++) started.push(await startService(env));
  return started;
}

async function deleteKeys(url, prefix) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe('three instances on one Redis', () => {
  const instances = [];
  // One process per instance (with Redis, service.workers would otherwise start two per instance).
  const env = { DATA_STREAMING_REDIS_URL: SHARED_REDIS, DATA_STREAMING_REDIS_KEY_PREFIX: PREFIX, DATA_STREAMING_API_WORKERS: '1' };

  before(async () => {
    for (let index = 0; index < 3; index++) instances.push(await startService(env));
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await deleteKeys(SHARED_REDIS, PREFIX);
  });

  test('a message published on any instance reaches the subscribers of all three, once each, in offset order', async () => {
    const clients = await Promise.all(instances.map((instance) => subscribe(instance.ws, 'business_events')));
    const start = clients[0].welcomes.at(-1).last_id;
    assert.deepEqual(
      clients.map((client) => client.welcomes.at(-1).last_id),
      [start, start, start],
      'every instance announces the same position',
    );
    const first = Number(start.split(':')[1]);
    const ids = [];
    for (let round = 0; round < 20; round++) {
      // Publishers on all three instances at once: the shared offsets still give one order.
      const answers = await Promise.all(
        instances.map((instance, index) => publish(instance, [{ channel: 'business_events', type: 'order', data: { round, index } }])),
      );
      ids.push(...answers.flat());
    }
    await eventually(() => clients.every((client) => client.events.length >= 60), 10_000, 'all 60 events on every instance');
    await sleep(300);
    for (const client of clients) {
      assert.deepEqual(offsets(client.events), range(first + 1, first + 60), 'each offset once, in order');
      assert.deepEqual(client.events.map((event) => event.id).sort(), [...ids].sort());
    }
    for (const client of clients) client.stop();
  });

  test('a subscriber that leaves one instance and resumes on another gets exactly the missed messages', async () => {
    const onFirst = await subscribe(instances[0].ws, 'metrics_updates');
    await publish(instances[1], [{ channel: 'metrics_updates', type: 'm', data: { seen: true } }]);
    await eventually(() => onFirst.events.length === 1, 5000, 'the first event');
    const lastSeen = onFirst.events[0].id;
    onFirst.stop();

    const missed = await publish(
      instances[2],
      Array.from({ length: 25 }, (_, n) => ({ channel: 'metrics_updates', type: 'm', data: { n } })),
    );
    const resumed = await subscribe(instances[1].ws, 'metrics_updates', lastSeen);
    assert.equal(resumed.welcomes.at(-1).resumed, true);
    assert.equal(resumed.welcomes.at(-1).recovered, true);
    assert.equal(resumed.welcomes.at(-1).replayed, 25);
    const later = await publish(instances[0], [{ channel: 'metrics_updates', type: 'm', data: { after: true } }]);
    await eventually(() => resumed.events.length >= 26, 5000, 'the replay and the next live event');
    await sleep(200);
    assert.deepEqual(
      resumed.events.map((event) => event.id),
      [...missed, ...later],
    );
    resumed.stop();

    // The same over SSE with Last-Event-ID, on the third instance.
    const controller = new AbortController();
    const response = await fetch(`${instances[2].http}/sse/metrics_updates`, {
      headers: { 'last-event-id': lastSeen },
      signal: controller.signal,
    });
    const reader = response.body.getReader();
    let text = '';
    await eventually(
      async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return [...missed, ...later].every((id) => text.includes(`id: ${id}\n`));
      },
      5000,
      'the SSE replay',
    );
    const replayedIds = [...text.matchAll(/^id: (\S+:\d+)$/gm)].map((match) => match[1]).filter((id) => !id.endsWith(':0'));
    assert.deepEqual(
      replayedIds.filter((id) => [...missed, ...later].includes(id) || id === lastSeen),
      [...missed, ...later],
    );
    controller.abort();
  });

  test('behind nginx with provisioning/nginx/data-streaming-api.conf: publish, WebSocket and SSE all pass through', async () => {
    const nginx = await startNginx(instances.map((instance) => new URL(instance.http).host));
    try {
      const base = nginx.http;
      const viaNginx = { http: base, ws: nginx.ws };
      const clients = await Promise.all([0, 1, 2].map(() => subscribe(viaNginx.ws, 'performance_data')));
      const controller = new AbortController();
      const sse = await fetch(`${base}/sse/performance_data`, { signal: controller.signal });
      assert.equal(sse.headers.get('content-type')?.startsWith('text/event-stream'), true);
      const ids = await publish(viaNginx, [{ channel: 'performance_data', type: 'p', data: { via: 'nginx' } }]);
      await eventually(() => clients.every((client) => client.events.length === 1), 5000, 'the event on every client through nginx');
      const reader = sse.body.getReader();
      let text = '';
      await eventually(
        async () => ((text += new TextDecoder().decode((await reader.read()).value)), text.includes(`id: ${ids[0]}`)),
        5000,
        'the event over SSE through nginx',
      );
      controller.abort();
      for (const client of clients) client.stop();
      // The provisioned access log leaves query strings (where tokens may travel) out.
      await fetch(`${base}/health?token=secret-in-the-query`);
      const log = await eventually(
        () => {
          const text = readFileSync(join(nginx.dir, 'access.log'), 'utf8');
          return text.includes('/health') ? text : undefined;
        },
        5000,
        'the access log line',
      );
      assert.equal(log.includes('secret-in-the-query'), false);
    } finally {
      await nginx.stop();
    }
  });

  test('cluster status lists every instance and the totals', async () => {
    const clients = await Promise.all(instances.map((instance) => subscribe(instance.ws, 'system_alerts')));
    const status = await eventually(
      async () => {
        const body = await (await fetch(`${instances[0].http}/streams/status`)).json();
        return body.cluster?.totals.channels.system_alerts?.websocket === 3 ? body : undefined;
      },
      8000,
      'cluster status with three system_alerts subscribers',
    );
    assert.equal(status.cluster.instances.length, 3);
    assert.equal(status.cluster.totals.instances, 3);
    const websocketStatus = await (await fetch(`${instances[1].http}/websocket/status`)).json();
    assert.equal(websocketStatus.cluster.totals.connections.websocket >= 3, true);
    for (const client of clients) client.stop();
  });

  test('an Alertmanager alert posted to two instances is delivered once', async () => {
    const watcher = await subscribe(instances[2].ws, 'system_alerts');
    const alert = {
      version: '4',
      status: 'firing',
      receiver: 'data-streaming-api',
      groupKey: `{}:{alertname="ClusterTest${PREFIX}"}`,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: `ClusterTest${PREFIX}`, severity: 'warning' },
          annotations: { summary: 'posted to two instances' },
          startsAt: new Date().toISOString(),
          fingerprint: `fp${Date.now().toString(16)}`,
        },
      ],
    };
    const answers = await Promise.all(
      instances.slice(0, 2).map((instance) =>
        fetch(`${instance.http}/notifications/alertmanager?channel=websocket`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alert),
        }).then((response) => response.status),
      ),
    );
    assert.deepEqual(answers, [200, 200]);
    await eventually(() => watcher.events.length >= 1, 8000, 'the notification');
    await sleep(2000); // any duplicate would arrive by now
    assert.equal(watcher.events.length, 1, `delivered once, got ${JSON.stringify(watcher.events.map((event) => event.id))}`);
    watcher.stop();
  });
});

describe('Redis stopped mid-stream and started again', () => {
  let port;
  let redis;
  const instances = [];
  const startRedis = () => startOwnRedis(port);

  before(async () => {
    port = await freePort();
    redis = await startRedis();
    instances.push(...(await startInstancesOn(port, 2, { DATA_STREAMING_REDIS_MAX_BACKOFF: '0.5' })));
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    redis?.child.kill('SIGKILL');
  });

  test('no process crashes, local delivery continues, and what was published during the outage is forwarded', async (t) => {
    const [a, b] = instances;
    const onA = await subscribe(a.ws, 'business_events');
    const onB = await subscribe(b.ws, 'business_events');
    const accepted = { before: [], during: [], after: [] };
    const send = async (phase, n) => {
      const [id] = await publish(a, [{ channel: 'business_events', type: 'tick', data: { phase, n } }]);
      accepted[phase].push(id);
    };
    for (let n = 0; n < 20; n++) await send('before', n);
    await eventually(() => onB.events.length === 20, 5000, 'the first 20 on both instances');

    redis.child.kill('SIGTERM');
    await redis.exited;
    for (let n = 0; n < 30; n++) {
      await send('during', n);
      await sleep(10);
    }
    const health = await (await fetch(`${a.http}/health`)).json();
    assert.equal(health.status, 'degraded');
    assert.match(health.reasons.join(' '), /bus is degraded: Redis unreachable/);
    // Local delivery went on: A's own subscriber has every accepted event, under local positions.
    await eventually(() => onA.events.length === 50, 5000, "A's subscriber to get the outage events");

    redis = await startRedis();
    await eventually(
      async () => (await (await fetch(`${a.http}/health`)).json()).checks.bus.mode === 'shared',
      15_000,
      'A back on shared positions',
    );
    for (let n = 0; n < 10; n++) await send('after', n);
    await eventually(() => onB.events.length >= 60 && onA.events.length >= 60, 10_000, 'everything on both instances');
    await sleep(300);

    const data = (client) => client.events.map((event) => `${event.data.phase}:${event.data.n}`);
    const expected = [
      ...accepted.before.map((_, n) => `before:${n}`),
      ...accepted.during.map((_, n) => `during:${n}`),
      ...accepted.after.map((_, n) => `after:${n}`),
    ];
    const lostOnB = expected.filter((item) => !data(onB).includes(item));
    const duplicatesOnB = data(onB).length - new Set(data(onB)).size;
    t.diagnostic(
      `outage report: ${accepted.during.length} accepted during the outage; A delivered ${data(onA).filter((item) => item.startsWith('during')).length} of them locally at once; ` +
        `B received ${data(onB).filter((item) => item.startsWith('during')).length} after Redis returned (forwarded); lost on B: ${lostOnB.length}; duplicates on B: ${duplicatesOnB}`,
    );
    assert.deepEqual(data(onA), expected, 'A: everything, in order, once');
    assert.deepEqual(lostOnB, [], 'B: nothing lost');
    assert.equal(duplicatesOnB, 0, 'B: no duplicates');
    assert.equal(a.child.exitCode, null, 'A still running');
    assert.equal(b.child.exitCode, null, 'B still running');
    onA.stop();
    onB.stop();
  });
});

describe('a publish that times out while Redis stays connected', () => {
  let port;
  let redis;
  const instances = [];
  before(async () => {
    port = await freePort();
    redis = await startOwnRedis(port);
    instances.push(...(await startInstancesOn(port, 2)));
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    redis?.child.kill('SIGKILL');
  });

  test('goes local, then forwards and returns to shared positions by itself, without a duplicate', async (t) => {
    const [a, b] = instances;
    const onB = await subscribe(b.ws, 'business_events');
    const admin = new Redis(port, '127.0.0.1');
    await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    admin.disconnect();
    await publish(a, [{ channel: 'business_events', type: 'tick', data: { paused: true } }]);
    const bus = async () => (await (await fetch(`${a.http}/health`)).json()).checks.bus;
    assert.equal((await bus()).mode, 'local');
    await eventually(async () => ((await bus()).mode === 'shared' ? true : undefined), 15_000, 'shared positions again');
    await eventually(() => onB.events.some((event) => event.data.paused), 10_000, 'the paused publish on B');
    await sleep(500);
    const copies = onB.events.filter((event) => event.data.paused).length;
    t.diagnostic(`publish during CLIENT PAUSE: reached B ${copies} time(s) (its script ran late; the forward skipped it)`);
    assert.equal(copies, 1);
    onB.stop();
  });
});

describe('service.workers with Redis', () => {
  const prefix = `${PREFIX}workers:`;
  let service;
  before(async () => {
    service = await startService({
      DATA_STREAMING_REDIS_URL: SHARED_REDIS,
      DATA_STREAMING_REDIS_KEY_PREFIX: prefix,
      DATA_STREAMING_API_WORKERS: '2',
    });
  });
  after(async () => {
    await service?.stop();
    await deleteKeys(SHARED_REDIS, prefix);
  });

  test('runs that many processes on one port, sharing the bus', async () => {
    const status = await eventually(
      async () => {
        const body = await (await fetch(`${service.http}/streams/status`)).json();
        return body.cluster?.totals.instances === 2 ? body : undefined;
      },
      10_000,
      'two workers in cluster status',
    );
    assert.equal(new Set(status.cluster.instances.map((instance) => instance.instance.split('-')[1])).size, 2, 'two processes');
    // Connections land on either worker; every subscriber gets every message.
    const clients = [];
    for (let index = 0; index < 6; index++) clients.push(await subscribe(service.ws, 'performance_data'));
    const ids = await publish(service, [
      { channel: 'performance_data', type: 'p', data: {} },
      { channel: 'performance_data', type: 'p', data: {} },
    ]);
    await eventually(() => clients.every((client) => client.events.length === 2), 5000, 'both events on all six clients');
    for (const client of clients)
      assert.deepEqual(
        client.events.map((event) => event.id),
        ids,
      );
    for (const client of clients) client.stop();
  });
});
