// A reconnect wave: 1,000 WebSocket subscribers through one address (as viewers behind one proxy are), as `ws`
// makes them (permessage-deflate offered), on a service whose limits admit 1,000; the service is restarted (SIGTERM,
// then started again on the same port and data directory) and every subscriber reconnects at once, resuming with
// `?since=`, backing off with jitter and honouring Retry-After: each is a client of @data-streaming/client, the
// library the Grafana plugin and the console use (with a shorter backoff than its default). All must be
// back within 3 s of the service answering again. Prints the figures.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '@data-streaming/client';
import WebSocket from 'ws';
import { eventually, freePort, startService } from './helpers.mjs';

const SUBSCRIBERS = 1000;
const CHANNELS = ['metrics_updates', 'system_alerts', 'business_events', 'performance_data'];
/** Backoff of the test's clients: exponential from 100 ms to at most 1 s, each delay drawn from its upper half. */
const BACKOFF = { initialMs: 100, maxMs: 1000 };

/**
 * One viewer: a client of the library (as the Grafana plugin and the console make one) with one subscription. Its
 * welcomes and the refusals it meets are counted off its sockets.
 */
function waveClient(base, channel, figures) {
  const viewer = { welcomes: 0, welcomedAt: undefined, resumed: false, errors: [] };
  const client = createClient({
    url: base,
    backoff: BACKOFF,
    createSocket: (url, protocols) => {
      if (viewer.welcomes > 0) figures.attempts++;
      viewer.resumed ||= url.includes('since=');
      const socket = new WebSocket(url, protocols);
      socket.on('unexpected-response', (_request, response) =>
        figures.refusals.set(response.statusCode, (figures.refusals.get(response.statusCode) ?? 0) + 1),
      );
      socket.on('message', (data) => {
        if (!String(data).startsWith('{"kind":"welcome"')) return;
        viewer.welcomes++;
        viewer.welcomedAt = Date.now();
      });
      return socket;
    },
  });
  client.subscribe(channel, { onEvent: () => undefined, onError: (error) => viewer.errors.push(error) });
  viewer.stop = () => client.close();
  return viewer;
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
    for (let index = 0; index < SUBSCRIBERS; index++) clients.push(waveClient(service.http, CHANNELS[index % CHANNELS.length], figures));
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
    const resumed = clients.filter((client) => client.resumed).length;
    process.stdout.write(
      `reconnect wave: ${SUBSCRIBERS} subscribers from 127.0.0.1; restart took ${((readyAt - stoppedAt) / 1000).toFixed(2)} s; ` +
        `all back ${((allBack - readyAt) / 1000).toFixed(2)} s after the service answered (${((allBack - stoppedAt) / 1000).toFixed(2)} s after the stop); ` +
        `${figures.attempts} reconnect attempts, refusals ${JSON.stringify(Object.fromEntries(figures.refusals))}; ${status.connections} connected, ${resumed} resumed with since\n`,
    );
    assert.equal(status.connections, SUBSCRIBERS);
    assert.deepEqual(
      clients.flatMap((client) => client.errors),
      [],
      'no subscriber gave up',
    );
    assert.equal(resumed, SUBSCRIBERS, 'every subscriber resumed with since');
    assert.ok(allBack - readyAt <= 3000, `all back within 3 s of the restart (took ${allBack - readyAt} ms)`);
  } finally {
    for (const client of clients) client.stop();
    await service.stop();
  }
});
