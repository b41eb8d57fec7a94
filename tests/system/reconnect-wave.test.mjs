// A reconnect wave: 1,000 WebSocket subscribers through one address (as viewers behind one proxy are), as `ws`
// makes them (permessage-deflate offered), on a service whose limits admit 1,000; the service is restarted (SIGTERM,
// then started again on the same port and data directory) and every subscriber reconnects at once, resuming with
// `?since=`, backing off with jitter and honouring Retry-After the way the shipped Grafana plugin does. All must be
// back within 3 s of the service answering again. Prints the figures.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually, freePort, startService } from './helpers.mjs';

const SUBSCRIBERS = 1000;
const CHANNELS = ['metrics_updates', 'system_alerts', 'business_events', 'performance_data'];
/** Backoff of the test's clients: exponential from 100 ms to at most 1 s, each delay drawn from its upper half. */
const BACKOFF = { initialMs: 100, maxMs: 1000 };

class WaveClient {
  constructor(url, figures) {
    Object.assign(this, { url, figures, attempts: 0, welcomes: 0, lastId: undefined, stopped: false, welcomedAt: undefined });
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const since = this.lastId === undefined ? '' : `?since=${encodeURIComponent(this.lastId)}`;
    const socket = new WebSocket(`${this.url}${since}`);
    this.socket = socket;
    let retryAfterMs;
    socket.on('unexpected-response', (_request, response) => {
      this.figures.refusals.set(response.statusCode, (this.figures.refusals.get(response.statusCode) ?? 0) + 1);
      retryAfterMs = Number(response.headers['retry-after'] ?? 0) * 1000;
      response.resume();
      socket.terminate();
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.kind === 'welcome') {
        this.welcomes++;
        this.welcomedAt = Date.now();
        this.attempts = 0;
        this.lastId = frame.last_id;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket !== socket || this.stopped) return;
      this.figures.attempts++;
      const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** this.attempts++);
      const backoff = ceiling * (0.5 + Math.random() * 0.5);
      const delay = retryAfterMs ? Math.max(backoff, retryAfterMs * (1 + Math.random() * 0.5)) : backoff;
      setTimeout(() => this.connect(), delay);
    });
  }

  stop() {
    this.stopped = true;
    this.socket.terminate();
  }
}

test('1,000 subscribers through one address reconnecting at once after a restart are all back within 3 s', async () => {
  const env = {
    DATA_STREAMING_API_PORT: String(await freePort()),
    DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-wave-')),
    DATA_STREAMING_LOG_LEVEL: 'WARN',
    // Limits that admit 1,000 from one address: the connection limit and the burst of the connection rate.
    WEBSOCKET_MAX_CONNECTIONS: '1100',
    RATE_LIMIT_CONNECTIONS_BURST: '1100',
  };
  let service = await startService(env);
  const figures = { attempts: 0, refusals: new Map() };
  const clients = [];
  try {
    for (let index = 0; index < SUBSCRIBERS; index++)
      clients.push(new WaveClient(`${service.ws}/ws/${CHANNELS[index % CHANNELS.length]}`, figures));
    await eventually(() => (clients.every((client) => client.welcomes === 1) ? true : undefined), 30_000, 'all subscribers to connect');

    const stoppedAt = Date.now();
    await service.stop();
    service = await startService(env);
    const readyAt = Date.now();
    const allBack = await eventually(
      () => (clients.every((client) => client.welcomes === 2) ? Math.max(...clients.map((client) => client.welcomedAt)) : undefined),
      30_000,
      'all subscribers to come back',
    );
    const status = await (await fetch(`${service.http}/websocket/status`)).json();
    const resumed = clients.filter((client) => client.lastId !== undefined).length;
    process.stdout.write(
      `reconnect wave: ${SUBSCRIBERS} subscribers from 127.0.0.1; restart took ${((readyAt - stoppedAt) / 1000).toFixed(2)} s; ` +
        `all back ${((allBack - readyAt) / 1000).toFixed(2)} s after the service answered (${((allBack - stoppedAt) / 1000).toFixed(2)} s after the stop); ` +
        `${figures.attempts} reconnect attempts, refusals ${JSON.stringify(Object.fromEntries(figures.refusals))}; ${status.connections} connected, ${resumed} resumed with since\n`,
    );
    assert.equal(status.connections, SUBSCRIBERS);
    assert.ok(allBack - readyAt <= 3000, `all back within 3 s of the restart (took ${allBack - readyAt} ms)`);
  } finally {
    for (const client of clients) client.stop();
    await service.stop();
  }
});
