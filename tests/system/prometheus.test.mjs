// The monitoring files checked by their own tools (promtool, amtool), and the real `prometheus` binary (Debian
// package) scraping the running service: every SPEC metric has live values, and a low-threshold rule fires.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, eventually, freePort, requireBinary, run, startService, subscriber } from './helpers.mjs';

const PROMETHEUS = requireBinary('/usr/bin/prometheus', 'prometheus');
const PROMTOOL = requireBinary('/usr/bin/promtool', 'prometheus');
const AMTOOL = requireBinary('/usr/bin/amtool', 'prometheus-alertmanager');

const tool = (binary, ...args) => execFileSync(binary, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('promtool checks the alert rules and passes their unit tests', () => {
  assert.match(tool(PROMTOOL, 'check', 'rules', 'alerts/data-streaming.rules.yml'), /SUCCESS: 9 rules found/);
  assert.match(tool(PROMTOOL, 'test', 'rules', 'alerts/data-streaming.rules.test.yml'), /SUCCESS/);
});

test('promtool checks the Prometheus configuration, amtool the Alertmanager one', () => {
  assert.match(tool(PROMTOOL, 'check', 'config', 'provisioning/prometheus/prometheus.yml'), /is valid prometheus config file syntax/);
  assert.match(tool(AMTOOL, 'check-config', 'provisioning/alertmanager/alertmanager.yml'), /SUCCESS/);
});

test('the SPEC alert rules are named, written and graded as the SPEC says', () => {
  const rules = tool(PROMTOOL, 'check', 'rules', '--lint=none', 'alerts/data-streaming.rules.yml');
  assert.match(rules, /SUCCESS/);
  const text = execFileSync('cat', [join(ROOT, 'alerts/data-streaming.rules.yml')], { encoding: 'utf8' });
  for (const [name, expr] of [
    ['DataStreamingLatencyHigh', 'data_streaming_latency_seconds > 0.1'],
    ['DashboardUpdateFrequencyLow', 'dashboard_update_interval_seconds > 10'],
    ['StreamingConnectionCountHigh', 'streaming_connections_total > 500'],
  ]) {
    assert.match(
      text,
      new RegExp(`- alert: ${name}\\n\\s+expr: ${expr.replace(/[.>]/g, '\\$&')}\\n\\s+for: 5m\\n\\s+labels:\\n\\s+severity: warning`),
    );
  }
  assert.match(text, /- name: data_streaming_alerts/);
});

describe('Prometheus scraping the service', () => {
  let service;
  let prometheus;
  let api;
  const clients = [];

  before(async () => {
    service = await startService({ DATA_STREAMING_DEMO_ENABLED: 'true' });
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    const dir = mkdtempSync(join(tmpdir(), 'dsa-prometheus-'));
    writeFileSync(
      join(dir, 'low-thresholds.rules.yml'),
      [
        'groups:',
        '  - name: low_thresholds',
        '    rules:',
        '      - alert: StreamingConnectionCountLowThreshold',
        '        expr: streaming_connections_total > 0',
        '        labels: { severity: info }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${join(ROOT, 'alerts/data-streaming.rules.yml')}', 'low-thresholds.rules.yml']`,
        'scrape_configs:',
        '  - job_name: data-streaming-api',
        `    static_configs: [{ targets: ['${new URL(service.http).host}'] }]`,
        '',
      ].join('\n'),
    );
    prometheus = run(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    await eventually(
      () =>
        fetch(`http://127.0.0.1:${port}/-/ready`)
          .then((r) => r.ok)
          .catch(() => false),
      30_000,
      `Prometheus (${prometheus.output()})`,
    );
    // Subscribers, so that deliveries are measured and connections counted; one notification delivered.
    for (const channel of ['metrics_updates', 'performance_data']) {
      const live = subscriber(service.ws, channel);
      await live.opened();
      clients.push({ close: () => live.stop() });
    }
    const sse = await fetch(`${service.http}/sse/real_time_metrics`);
    clients.push({ close: () => sse.body.cancel() });
    const sent = await fetch(`${service.http}/notifications/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'test', message: 'Test notification', channel: 'websocket' }),
    });
    assert.equal(sent.status, 202);
  });

  after(async () => {
    for (const client of clients) client.close();
    prometheus?.child.kill('SIGTERM');
    await prometheus?.exited;
    await service?.stop();
  });

  const query = async (expr) => {
    const body = await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json();
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };

  test('returns every SPEC metric with live values', async () => {
    const expectations = {
      data_streaming_latency_seconds_count: (value) => value > 0,
      data_streaming_latency_seconds: (value) => value >= 0 && value < 1,
      dashboard_update_interval_seconds: (value) => value > 0 && value <= 5.5,
      streaming_connections_total: (value) => value === 3,
      websocket_connections_total: (value) => value === 2,
      sse_connections_total: (value) => value === 1,
      'notification_delivery_total{status="delivered"}': (value) => value >= 1,
      'sum(rate(streaming_messages_published_total[10s]))': (value) => value > 0,
    };
    for (const [expr, check] of Object.entries(expectations)) {
      const result = await eventually(
        async () => {
          const series = await query(expr);
          return series.length > 0 && series.every((sample) => check(Number(sample.value[1]))) ? series : undefined;
        },
        30_000,
        `${expr} with a live value`,
      );
      assert.ok(result.length > 0, expr);
    }
    const dashboards = await query('dashboard_update_interval_seconds');
    assert.deepEqual(dashboards.map((sample) => sample.metric.dashboard).sort(), [
      'business_intelligence',
      'operational_overview',
      'performance_metrics',
      'real_time_analytics',
      'system_health',
    ]);
  });

  test('a rule with a low threshold reaches the firing state', async () => {
    const alert = await eventually(
      async () => {
        const body = await (await fetch(`${api}/alerts`)).json();
        return body.data.alerts.find((item) => item.labels.alertname === 'StreamingConnectionCountLowThreshold' && item.state === 'firing');
      },
      30_000,
      'the alert to fire',
    );
    assert.equal(alert.labels.job, 'data-streaming-api');
  });
});
