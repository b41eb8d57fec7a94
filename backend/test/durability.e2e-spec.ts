/**
 * Durable history on the embedded default and publishes that can be retried: the built service killed with SIGKILL
 * and started again on the same data directory, real WebSocket clients resuming by `?since`, and POST /events with an
 * Idempotency-Key on both of its paths (the lean one and the framework's). The load versions of these, and the full
 * disk, are system tests (tests/system/durability.test.mjs).
 */
import { gzipSync } from 'node:zlib';
import { eventually, getJson, post, startApp, tempDataDir, type RunningApp } from './support/app';
import { event, events } from './support/factories';
import { startService } from './support/process';
import { WsClient } from './support/ws-client';

const ids = (body: unknown): string[] => (body as { ids: string[] }).ids;

describe('durable history across kill -9', () => {
  it('continues the epoch and offsets, and a resuming client gets everything accepted (recovered)', async () => {
    const dataDir = tempDataDir();
    let service = await startService({ DATA_STREAMING_DATA_DIR: dataDir });
    try {
      const client = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
      const seen = ids((await post(service.http, '/events', events(3))).body);
      await eventually(() => (client.events.length === 3 ? true : undefined), 5000, 'the first three');
      client.socket.terminate();
      // Accepted while the client is away, then the process dies without a chance to flush anything.
      const missed = ids((await post(service.http, '/events', events(40))).body);
      service.child.kill('SIGKILL');
      await service.exited;

      service = await startService({ DATA_STREAMING_DATA_DIR: dataDir });
      const resumed = await WsClient.connect(`${service.ws}/ws/metrics_updates?since=${seen[2]}`);
      const welcome = await resumed.welcome();
      expect(welcome).toMatchObject({ resumed: true, recovered: true, replayed: 40, epoch: seen[0]?.split(':')[0] });
      await eventually(() => (resumed.events.length === 40 ? true : undefined), 5000, 'the missed forty');
      expect(resumed.events.map((frame) => frame.id)).toEqual(missed);
      const next = ids((await post(service.http, '/events', event())).body);
      expect(next[0]).toBe(`${welcome.epoch}:44`);
      resumed.socket.close();

      const status = await getJson(service.http, '/streams/status');
      expect(status.body.storage).toMatchObject({ durability: 'disk', path: `${dataDir}/history.sqlite` });
      const { database_bytes: database, wal_bytes: wal } = status.body.storage as { database_bytes: number; wal_bytes: number };
      expect(database + wal).toBeGreaterThan(0);
      expect(status.body.channels.metrics_updates).toMatchObject({ history_depth: 44, history_bytes: expect.any(Number) });
    } finally {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }, 40_000);

  it('rebuilds the metric store from history: dashboards answer at once, and a 5-minute window says it is partial', async () => {
    const dataDir = tempDataDir();
    let service = await startService({ DATA_STREAMING_DATA_DIR: dataDir });
    try {
      const metrics = Array.from({ length: 5 }, (_, index) => ({
        channel: 'metrics_updates',
        type: 'llm.metrics',
        key: 'cluster',
        data: { error_rate: 0.01 * (index + 1), latency: 200, request_rate: 50, active_requests: 7, throughput: 900 },
      }));
      expect((await post(service.http, '/events', metrics)).status).toBe(202);
      service.child.kill('SIGKILL');
      await service.exited;

      service = await startService({ DATA_STREAMING_DATA_DIR: dataDir });
      const data = await getJson(service.http, '/dashboards/operational_overview/data');
      const panel = (id: string) =>
        (data.body.panels as { panel_id: string; value: Record<string, unknown> }[]).find((p) => p.panel_id === id);
      expect(panel('error_rate')?.value).toMatchObject({ kind: 'scalar', value: 0.05 });
      expect(panel('active_requests')?.value).toMatchObject({ kind: 'scalar', value: 7 });
      // The history began seconds ago: the 5-minute average is computed, and says from how much.
      const windowed = panel('error_rate_5m')?.value as { value: number; partial: { covered_seconds: number; window_seconds: number } };
      expect(windowed.value).toBeCloseTo(0.03, 6);
      expect(windowed.partial.window_seconds).toBe(300);
      expect(windowed.partial.covered_seconds).toBeLessThan(60);
    } finally {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }, 40_000);

  it('with storage.durability memory, a restart is a new epoch and says so', async () => {
    const env = { DATA_STREAMING_DATA_DIR: tempDataDir(), DATA_STREAMING_DURABILITY: 'memory' };
    let service = await startService(env);
    try {
      const [first] = ids((await post(service.http, '/events', event())).body);
      expect((await getJson(service.http, '/streams/status')).body.storage).toMatchObject({ durability: 'memory' });
      service.child.kill('SIGKILL');
      await service.exited;
      service = await startService(env);
      const resumed = await WsClient.connect(`${service.ws}/ws/metrics_updates?since=${first}`);
      expect(await resumed.welcome()).toMatchObject({ recovered: false, reason: 'epoch_changed' });
      resumed.socket.close();
    } finally {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  }, 40_000);
});

describe('POST /events with an Idempotency-Key', () => {
  let running: RunningApp;
  beforeAll(async () => {
    running = await startApp({ auth: { api_keys: ['publisher-one-0123456789', 'publisher-two-0123456789'] } });
  });
  afterAll(() => running.close());
  const as = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

  it('publishes once: the retry answers the same ids, marked as a replay, on the lean and the framework path', async () => {
    const body = events(2);
    const first = await post(running.http, '/events', body, as('publisher-one-0123456789', { 'idempotency-key': 'order-42' }));
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(running.http, '/events', body, as('publisher-one-0123456789', { 'idempotency-key': 'order-42' }));
    expect(again).toMatchObject({ status: 202, body: first.body });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // A gzipped body takes the framework's path: the same key and request are the same publish there too.
    const gzipped = await fetch(`${running.http}/events`, {
      method: 'POST',
      headers: as('publisher-one-0123456789', {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'idempotency-key': '"order-42"',
      }),
      body: gzipSync(JSON.stringify(body)),
    });
    expect(gzipped.status).toBe(202);
    expect(gzipped.headers.get('idempotent-replayed')).toBe('true');
    expect(await gzipped.json()).toEqual(first.body);
    const state = await getJson(running.http, '/streams/status', as('publisher-one-0123456789'));
    expect(state.body.channels.metrics_updates.last_offset).toBe(ids(first.body)[1]);
  });

  it('keeps one publisher’s keys apart from another’s', async () => {
    const one = await post(running.http, '/events', event(), as('publisher-one-0123456789', { 'idempotency-key': 'shared-name' }));
    const two = await post(running.http, '/events', event(), as('publisher-two-0123456789', { 'idempotency-key': 'shared-name' }));
    expect([one.status, two.status]).toEqual([202, 202]);
    expect(ids(two.body)).not.toEqual(ids(one.body));
  });

  it('refuses a key reused for another request (422), a malformed key (400), and answers concurrent retries once', async () => {
    const key = as('publisher-one-0123456789', { 'idempotency-key': 'reused' });
    expect((await post(running.http, '/events', event(), key)).status).toBe(202);
    const reused = await post(running.http, '/events', event(), key);
    expect(reused).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
    for (const bad of ['', 'x'.repeat(256), 'two words', '"unterminated']) {
      const answer = await post(running.http, '/events', event(), as('publisher-one-0123456789', { 'idempotency-key': bad }));
      expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_idempotency_key' } });
    }
    // Ten copies of one request at once: one publish; the others replay it or are told it is in progress (409).
    const body = event();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(running.http, '/events', body, as('publisher-one-0123456789', { 'idempotency-key': 'at-once' })),
      ),
    );
    const accepted = answers.filter((answer) => answer.status === 202);
    const inProgress = answers.filter((answer) => answer.status === 409);
    expect(accepted.length + inProgress.length).toBe(10);
    expect(new Set(accepted.map((answer) => ids(answer.body)[0])).size).toBe(1);
    for (const answer of inProgress) {
      expect(answer.body).toMatchObject({ error: 'idempotency_key_in_use' });
      expect(answer.headers.get('retry-after')).toBe('1');
    }
  });
});
