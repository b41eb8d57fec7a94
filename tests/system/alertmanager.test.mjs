// The real prometheus-alertmanager (Debian package) on loopback, with a webhook receiver pointing at the service:
// an alert posted to Alertmanager's API reaches a WebSocket client of the service, and so does its resolution.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, freePort, requireBinary, run, startService, subscriber } from './helpers.mjs';

const ALERTMANAGER = requireBinary('/usr/bin/prometheus-alertmanager', 'prometheus-alertmanager');

let service;
let alertmanager;
let alertmanagerUrl;

before(async () => {
  service = await startService();
  const port = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'dsa-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    [
      'route:',
      '  receiver: data-streaming-api',
      '  group_by: [alertname]',
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: data-streaming-api',
      '    webhook_configs:',
      `      - url: ${service.http}/notifications/alertmanager?channel=websocket`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  alertmanager = run(ALERTMANAGER, [
    `--config.file=${config}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  await eventually(
    () =>
      fetch(`${alertmanagerUrl}/-/ready`)
        .then((response) => response.ok)
        .catch(() => false),
    20_000,
    `Alertmanager to be ready (${alertmanager.output()})`,
  );
});

after(async () => {
  alertmanager?.child.kill('SIGTERM');
  await alertmanager?.exited;
  await service?.stop();
});

test('an Alertmanager alert and its resolution reach a WebSocket client as notifications', async () => {
  const alerts = subscriber(service.ws, 'system_alerts');
  await alerts.opened();
  const labels = { alertname: 'DataStreamingLatencyHigh', severity: 'warning', service: 'data-streaming-api' };
  const annotations = { summary: 'Streaming latency above 100 ms for 5 minutes' };
  const postAlert = (alert) =>
    fetch(`${alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
    });
  const startsAt = new Date().toISOString();
  assert.equal((await postAlert({ labels, annotations, startsAt })).status, 200);

  const events = () => alerts.events;
  const firing = await eventually(() => events().find((event) => event.type === 'notification.firing'), 15_000, 'the firing notification');
  assert.equal(firing.data.title, 'DataStreamingLatencyHigh');
  assert.equal(firing.data.priority, 'warning');
  assert.equal(firing.data.message, annotations.summary);
  assert.equal(firing.data.labels.receiver, 'data-streaming-api');

  assert.equal((await postAlert({ labels, annotations, startsAt, endsAt: new Date().toISOString() })).status, 200);
  const resolved = await eventually(
    () => events().find((event) => event.type === 'notification.resolved'),
    15_000,
    'the resolved notification',
  );
  assert.equal(resolved.data.title, 'DataStreamingLatencyHigh');
  assert.equal(resolved.data.labels.fingerprint, firing.data.labels.fingerprint);
  alerts.stop();
});
