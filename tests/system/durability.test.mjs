// Nothing acknowledged is lost, and no alert is sent twice: the built service on the embedded defaults (durable
// history in SQLite), killed with SIGKILL under load and started again on the same data directory and port, with
// subscribers of the client library (@data-streaming/client over `ws`, permessage-deflate offered as browsers do)
// that reconnect and resume by `?since` by themselves.
// Each test prints what it measured.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { eventually, freePort, publish, sleep, startNginx, startService, subscriber as subscribe } from './helpers.mjs';

async function postJson(http, path, body) {
  const response = await fetch(`${http}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

/** Everything a channel's history holds of `epoch`, read by a subscriber resuming from its start. */
async function historyOf(service, channel, epoch, atLeast) {
  const reader = subscribe(service.ws, channel, { since: `${epoch}:0` });
  await reader.opened();
  await eventually(() => reader.events.length >= atLeast, 20_000, `${atLeast} events of the history of ${channel}`);
  reader.stop();
  return reader.events;
}

const kill = async (service) => {
  service.child.kill('SIGKILL');
  const { signal } = await service.exited;
  assert.equal(signal, 'SIGKILL');
};

const PAD = 'x'.repeat(900);

describe('durable history across kill -9', () => {
  test('50 subscribers and a publisher at 200 events/s, killed at 5 s: every accepted event reaches every subscriber once', async () => {
    const env = { DATA_STREAMING_API_PORT: String(await freePort()), DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-durable-')) };
    let service = await startService(env);
    const port = Number(env.DATA_STREAMING_API_PORT);
    const subscribers = Array.from({ length: 50 }, () => subscribe(service.ws, 'metrics_updates'));
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const accepted = new Map();
    let refused = 0;
    let sequence = 0;
    try {
      await Promise.all(subscribers.map((subscriber) => subscriber.opened()));
      const started = Date.now();
      const requests = [];
      // 200/s for 10 s of wall time (paced by the clock, not by timer accuracy), one event per request; the kill
      // lands at 5 s, the restart follows at once.
      const publisher = setInterval(() => {
        while (sequence < ((Date.now() - started) / 1000) * 200) {
          const seq = ++sequence;
          requests.push(
            publish(agent, port, { channel: 'metrics_updates', type: 'durability.test', data: { seq, pad: PAD } }).then((answer) => {
              if (answer.status === 202) accepted.set(seq, answer.body.ids[0]);
              else refused++;
            }),
          );
        }
      }, 5);
      // A fifth of the subscribers go offline 2.5 s before the kill and come back only after the restart.
      await sleep(2500);
      const offline = subscribers.slice(0, 10);
      for (const subscriber of offline) subscriber.pause();
      await sleep(2500);
      const acceptedBeforeKill = accepted.size;
      await kill(service);
      service = await startService(env);
      const restartedAfter = Date.now() - started;
      await Promise.all(offline.map((subscriber) => subscriber.resume()));
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
      clearInterval(publisher);
      await Promise.all(requests);

      const expected = [...accepted.values()];
      await eventually(
        () => subscribers.every((subscriber) => new Set(subscriber.events.map((event) => event.id)).size >= expected.length),
        20_000,
        'every subscriber to hold every accepted event',
      ).catch(() => undefined);
      let lost = 0;
      let duplicates = 0;
      let unacknowledged = 0;
      const acceptedIds = new Set(expected);
      for (const subscriber of subscribers) {
        const ids = subscriber.events.map((event) => event.id);
        const unique = new Set(ids);
        duplicates += ids.length - unique.size;
        lost += expected.filter((id) => !unique.has(id)).length;
        unacknowledged += [...unique].filter((id) => !acceptedIds.has(id)).length;
      }
      const epochs = new Set(expected.map((id) => id.split(':')[0]));
      const resumes = subscribers.flatMap((subscriber) => subscriber.welcomes.filter((welcome) => welcome.resumed));
      console.log(
        `kill -9 under load: ${sequence} publishes, ${accepted.size} accepted (${acceptedBeforeKill} before the kill), ${refused} refused while down; ` +
          `restarted ${restartedAfter} ms after the start; 50 subscribers (10 offline from 2.5 s): lost ${lost}, duplicates ${duplicates}, ` +
          `delivered but unacknowledged ${unacknowledged}; ${resumes.length} resumes, ${resumes.filter((welcome) => !welcome.recovered).length} not recovered`,
      );
      assert.equal(epochs.size, 1, 'the restart continues the same epoch');
      assert.ok(acceptedBeforeKill > 500 && accepted.size > acceptedBeforeKill, 'events accepted on both sides of the kill');
      assert.equal(lost, 0, 'no accepted event is lost');
      assert.equal(duplicates, 0, 'no event is delivered twice');
      assert.ok(resumes.length >= 50, 'every subscriber resumed');
      assert.ok(
        resumes.every((welcome) => welcome.recovered === true),
        'every resume is recovered',
      );
    } finally {
      for (const subscriber of subscribers) subscriber.stop();
      agent.destroy();
      await service.stop();
    }
  });

  test('100 notifications to websocket, killed mid-burst: every accepted one reaches the subscriber that resumes', async () => {
    const env = { DATA_STREAMING_API_PORT: String(await freePort()), DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-durable-')) };
    let service = await startService(env);
    const subscriber = subscribe(service.ws, 'system_alerts');
    const accepted = new Set();
    let failed = 0;
    try {
      await subscriber.opened();
      let next = 0;
      let killed;
      // Five senders at once; the kill comes when 50 are accepted, with sends and deliveries under way.
      const sender = async () => {
        while (next < 100) {
          const index = next++;
          const key = `burst-${index}`;
          const answer = await postJson(service.http, '/notifications/send', {
            type: 'burst',
            message: `burst ${index}`,
            channel: 'websocket',
            priority: 'critical',
            idempotency_key: key,
          }).catch(() => undefined);
          if (answer?.status === 202) accepted.add(key);
          else failed++;
          if (accepted.size === 50 && !killed) killed = kill(service);
        }
      };
      await Promise.all(Array.from({ length: 5 }, sender));
      await killed;
      service = await startService(env);
      const keys = () =>
        subscriber.events.filter((event) => event.type.startsWith('notification.')).map((event) => event.data.idempotency_key);
      await eventually(() => [...accepted].every((key) => keys().includes(key)), 20_000, 'every accepted notification').catch(
        () => undefined,
      );
      const received = new Set(keys());
      const missing = [...accepted].filter((key) => !received.has(key));
      const { pending, delivered, failed: failedDeliveries } = await (await fetch(`${service.http}/notifications/status`)).json();
      const status = { pending, delivered, failed: failedDeliveries };
      console.log(
        `notifications across kill -9: ${accepted.size} accepted, ${failed} not accepted; the resuming subscriber received ${received.size} ` +
          `(${missing.length} accepted ones missing, ${keys().length - received.size} duplicates, each with the same idempotency key); outbox ${JSON.stringify(status)}`,
      );
      assert.deepEqual(missing, []);
      assert.ok([...received].every((key) => /^burst-\d+$/.test(key)));
      assert.ok(accepted.size >= 50);
    } finally {
      subscriber.stop();
      await service.stop();
    }
  });

  test('an alert firing across kill -9: one firing and one resolution per episode, the cooldown kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsa-durable-'));
    const configFile = join(dir, 'rules.yaml');
    writeFileSync(
      configFile,
      [
        'real_time_notifications:',
        '  evaluation_interval: 0.2',
        '  notification_rules:',
        '    - { name: critical_alert, condition: "error_rate > 0.2", channel: all, priority: critical, cooldown: 15 }',
        'metric_store:',
        '  stale_after: 3',
        '',
      ].join('\n'),
    );
    const env = {
      DATA_STREAMING_API_PORT: String(await freePort()),
      DATA_STREAMING_DATA_DIR: join(dir, 'data'),
      DATA_STREAMING_CONFIG: configFile,
    };
    let service = await startService(env);
    const subscriber = subscribe(service.ws, 'system_alerts');
    let errorRate = 0.5;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        await postJson(service.http, '/events', { channel: 'metrics_updates', type: 'llm.metrics', data: { error_rate: errorRate } }).catch(
          () => undefined,
        );
        await sleep(200);
      }
    })();
    const notices = () => subscriber.events.filter((event) => event.data?.rule?.name === 'critical_alert').map((event) => event.data);
    const keysOf = (status) => [
      ...new Set(
        notices()
          .filter((notice) => notice.status === status)
          .map((notice) => notice.idempotency_key),
      ),
    ];
    const firedAt = (key) => Date.parse(key.split(':').slice(2, -1).join(':'));
    try {
      await subscriber.opened();
      await eventually(() => keysOf('firing').length === 1, 10_000, 'the first firing');
      // Killed while the condition holds, started again at once, the condition still holding: no second firing.
      await kill(service);
      service = await startService(env);
      await sleep(3000);
      assert.equal(keysOf('firing').length, 1, 'no second firing for the episode already firing');
      errorRate = 0.05;
      await eventually(() => keysOf('resolved').length === 1, 10_000, 'the resolution of the first episode');
      // Holds again within the cooldown: the next firing waits until 15 s after the first.
      errorRate = 0.5;
      const held = Date.now();
      await eventually(() => keysOf('firing').length === 2, 20_000, 'the second episode');
      const [first, second] = keysOf('firing');
      assert.ok(
        firedAt(second) - firedAt(first) >= 15_000,
        `the cooldown held across the restart (${firedAt(second) - firedAt(first)} ms)`,
      );
      // Killed while firing; the condition clears while the service is down (its data goes stale): resolved once.
      feeding = false;
      await feeder;
      await kill(service);
      await sleep(3500);
      service = await startService(env);
      await eventually(() => keysOf('resolved').length === 2, 10_000, 'the resolution of the second episode after the restart');
      await sleep(1000);
      const all = notices();
      const byKey = new Map();
      for (const notice of all) byKey.set(notice.idempotency_key, (byKey.get(notice.idempotency_key) ?? 0) + 1);
      console.log(
        `alert across kill -9: episodes ${keysOf('firing').length}, firings ${keysOf('firing').length}, resolutions ${keysOf('resolved').length}, ` +
          `deliveries ${all.length} (repeats of a key: ${all.length - byKey.size}); second firing ${firedAt(second) - firedAt(first)} ms after the first ` +
          `(cooldown 15 s, waited ${Date.now() - held} ms from the condition holding again)`,
      );
      assert.deepEqual(keysOf('firing').length, 2);
      assert.deepEqual(
        keysOf('resolved').map((key) => key.replace(/resolved$/, 'firing')),
        keysOf('firing'),
        'each episode resolved once, under its own key',
      );
    } finally {
      feeding = false;
      await feeder;
      subscriber.stop();
      await service.stop();
    }
  });

  test('a data directory that stops taking writes: publishes refused with 503, nothing acknowledged lost', async (t) => {
    assert.equal(process.getuid?.(), 0, 'this test mounts a small tmpfs as the data directory: run it as root (CI does)');
    const dir = mkdtempSync(join(tmpdir(), 'dsa-full-'));
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]);
    t.after(() => execFileSync('umount', ['-l', dir]));
    const env = { DATA_STREAMING_API_PORT: String(await freePort()), DATA_STREAMING_DATA_DIR: dir };
    let service = await startService(env);
    const port = Number(env.DATA_STREAMING_API_PORT);
    const agent = new Agent({ keepAlive: true });
    const accepted = new Map();
    let sequence = 0;
    const big = 'y'.repeat(64 * 1024);
    const send = async () => {
      const seq = ++sequence;
      const answer = await publish(agent, port, { channel: 'metrics_updates', type: 'disk.test', data: { seq, big } });
      if (answer.status === 202) accepted.set(seq, answer.body.ids[0]);
      return answer;
    };
    const filler = join(dir, 'filler');
    try {
      for (let index = 0; index < 20; index++) assert.equal((await send()).status, 202);
      // The disk fills up: another writer takes every free block.
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(1 << 20));
      } catch (error) {
        assert.equal(error.code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
      let refusal;
      for (let attempt = 0; attempt < 2000 && !refusal; attempt++) {
        const answer = await send();
        if (answer.status === 503) refusal = answer;
        else assert.equal(answer.status, 202, JSON.stringify(answer));
      }
      assert.ok(refusal, 'a publish is refused once the history cannot be written');
      assert.equal(refusal.body.error, 'history_unavailable');
      assert.ok(Number(refusal.headers['retry-after']) > 0);
      const health = await (await fetch(`${service.http}/health`)).json();
      assert.equal(health.status, 'degraded');
      assert.ok(
        health.reasons.some((reason) => reason.includes('history')),
        JSON.stringify(health.reasons),
      );
      const refusedAfterFull = [];
      for (let index = 0; index < 10; index++) refusedAfterFull.push((await send()).status);
      assert.deepEqual(refusedAfterFull, Array(10).fill(503));
      const acceptedWhileFull = accepted.size;

      // Space comes back: publishing resumes by itself.
      rmSync(filler);
      await eventually(async () => (await send()).status === 202, 10_000, 'a publish accepted again');
      for (let index = 0; index < 10; index++) assert.equal((await send()).status, 202);
      assert.equal((await (await fetch(`${service.http}/health`)).json()).status, 'healthy');

      await kill(service);
      service = await startService(env);
      const epoch = [...accepted.values()][0].split(':')[0];
      const events = await historyOf(service, 'metrics_updates', epoch, accepted.size);
      const stored = new Map(events.map((event) => [event.data.seq, event.id]));
      const offsets = events.map((event) => Number(event.id.split(':')[1]));
      const lost = [...accepted].filter(([seq, id]) => stored.get(seq) !== id);
      console.log(
        `disk full: ${sequence} publishes, ${accepted.size} accepted (${acceptedWhileFull} before space came back), ${sequence - accepted.size} refused with 503; ` +
          `after kill -9 and restart the history holds ${events.length}: lost ${lost.length}, offsets 1..${offsets.at(-1)} without a hole: ${offsets.every((offset, index) => offset === index + 1)}`,
      );
      assert.equal(lost.length, 0);
      assert.equal(events.length, accepted.size, 'nothing refused was written');
      assert.ok(offsets.every((offset, index) => offset === index + 1));
    } finally {
      agent.destroy();
      await service.stop();
    }
  });

  test('keep-alive publishers at 300 events/s for 1 minute: no failed request, and a retried publish is accepted once', async () => {
    // The rate limit stays on at its defaults: 300/s from one address is what one publisher may send.
    const service = await startService({ DATA_STREAMING_HISTORY_SIZE: '50000' });
    const nginx = await startNginx([new URL(service.http).host]);
    const direct = Number(new URL(service.http).port);
    // Clients as they come: Node's agent without an idle timeout of its own (it then keeps idle sockets until the
    // server closes them), undici's fetch (Node's), and nginx in front with its upstream keep-alive pool (60 s).
    const agents = {
      node: new Agent({ keepAlive: true, scheduling: 'lifo', maxSockets: 16 }),
      nginx: new Agent({ keepAlive: true, maxSockets: 16 }),
    };
    const outcomes = { accepted: 0, failed: [], replays: 0, replayMismatches: 0, epoch: undefined };
    let sequence = 0;
    const post = (client, body, key) => {
      const headers = { 'idempotency-key': key };
      if (client === 'fetch') {
        return fetch(`${service.http}/events`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then(
          async (response) => ({
            status: response.status,
            headers: { 'idempotent-replayed': response.headers.get('idempotent-replayed') },
            body: await response.json(),
          }),
          (error) => ({ error: error.cause?.code ?? error.message }),
        );
      }
      return publish(agents[client], client === 'nginx' ? nginx.port : direct, body, headers);
    };
    const one = async (client, withRetry) => {
      const seq = ++sequence;
      const key = `soak-${seq}`;
      const body = { channel: 'business_events', type: 'keepalive.test', data: { seq, key, client } };
      const answer = await post(client, body, key);
      if (answer.status !== 202) {
        outcomes.failed.push(`${client}: ${answer.error ?? answer.status}`);
        return;
      }
      outcomes.accepted++;
      outcomes.epoch ??= answer.body.ids[0].split(':')[0];
      if (!withRetry) return;
      // The client did not see the answer (as after a reset) and sends the same request again.
      const again = await post(client, body, key);
      if (again.status === 202 && again.headers['idempotent-replayed'] === 'true') outcomes.replays++;
      if (again.status !== 202 || again.body.ids[0] !== answer.body.ids[0]) outcomes.replayMismatches++;
    };
    const started = Date.now();
    const pending = new Set();
    const track = (promise) => {
      pending.add(promise);
      void promise.finally(() => pending.delete(promise));
    };
    let tick = 0;
    // Every 20 ms: 3 by Node's agent, 1 by fetch, 2 through nginx (300/s); every 5 s a burst of 16 on Node's agent and
    // 16 through nginx, which reaches the connections that were idle since the last burst.
    await new Promise((done) => {
      const timer = setInterval(() => {
        tick++;
        const clients = ['node', 'node', 'node', 'fetch', 'nginx', 'nginx'];
        clients.forEach((client, index) => track(one(client, tick % 10 === 0 && index % 3 === 0)));
        if (tick % 250 === 0) for (let index = 0; index < 16; index++) for (const client of ['node', 'nginx']) track(one(client, false));
        if (Date.now() - started >= 60_000) {
          clearInterval(timer);
          done();
        }
      }, 20);
    });
    await Promise.all(pending);
    try {
      const history = await historyOf(service, 'business_events', outcomes.epoch, outcomes.accepted);
      const perKey = new Map();
      for (const event of history) perKey.set(event.data.key, (perKey.get(event.data.key) ?? 0) + 1);
      const repeated = [...perKey.values()].filter((count) => count > 1).length;
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `keep-alive publishers (Node agent, fetch, nginx): ${sequence} requests in ${seconds.toFixed(1)} s (${Math.round(sequence / seconds)}/s), ` +
          `${outcomes.accepted} accepted, ${outcomes.failed.length} failed ${JSON.stringify([...new Set(outcomes.failed)])}; ` +
          `${outcomes.replays} retries answered as replays (${outcomes.replayMismatches} with other ids); keys stored more than once: ${repeated}`,
      );
      assert.deepEqual(outcomes.failed, []);
      assert.ok(outcomes.replays > 500);
      assert.equal(outcomes.replayMismatches, 0);
      assert.equal(repeated, 0);
    } finally {
      for (const agent of Object.values(agents)) agent.destroy();
      await nginx.stop();
      await service.stop();
    }
  });
});
