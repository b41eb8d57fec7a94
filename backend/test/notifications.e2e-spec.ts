/** Notifications delivered for real on loopback: WebSocket, SSE, an SMTP server, and a Slack stand-in. */
import { performance } from 'node:perf_hooks';
import { eventually, getJson, post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { startSmtp, startWebhook } from './support/receivers';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

type Smtp = Awaited<ReturnType<typeof startSmtp>>;
type Webhook = Awaited<ReturnType<typeof startWebhook>>;

const send = (service: RunningApp, body: Record<string, unknown>) => post(service.http, '/notifications/send', body);

describe('notifications', () => {
  let smtp: Smtp;
  let slack: Webhook;
  let service: RunningApp;

  beforeAll(async () => {
    smtp = await startSmtp();
    slack = await startWebhook();
    service = await startApp({
      real_time_notifications: {
        smtp_url: smtp.url,
        email_from: 'alerts@example.com',
        email_to: ['oncall@example.com'],
        slack_webhook_url: slack.url,
        delivery_timeout: 0.5,
        retry_base_delay: 0.05,
        retry_max_delay: 0.5,
        evaluation_interval: 0.1,
      },
    });
  });
  afterEach(() => slack.respond((_call, response) => response.writeHead(200).end('ok')));
  afterAll(async () => {
    await service.close();
    await Promise.all([smtp.close(), slack.close()]);
  });

  const notification = async (id: string) => (await getJson(service.http, `/notifications/${id}`)).body;
  const delivered = (id: string, channel: string) =>
    eventually(
      async () => {
        const found = await notification(id);
        const row = found.deliveries?.find((delivery: { channel: string }) => delivery.channel === channel);
        return row?.state === 'delivered' || row?.state === 'failed' ? found : undefined;
      },
      10_000,
      `delivery of ${id} by ${channel}`,
    );

  it('lists every configured channel in /notifications/status', async () => {
    const status = (await getJson(service.http, '/notifications/status')).body;
    expect(status.delivery_channels).toEqual(['websocket', 'sse', 'email', 'slack']);
  });

  it('delivers the SPEC test notification to a WebSocket client of system_alerts', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    const start = performance.now();
    const response = await send(service, { type: 'test', message: 'Test notification', channel: 'websocket' });
    expect(response.status).toBe(202);
    const { id, channels } = response.body as { id: string; channels: string[] };
    expect(channels).toEqual(['websocket']);
    const [received] = await ws.waitForEvents(1);
    const latency = performance.now() - start;
    expect(received).toMatchObject({
      channel: 'system_alerts',
      type: 'notification.info',
      data: { id, type: 'test', message: 'Test notification', priority: 'info', channels: ['websocket'] },
    });
    expect(latency).toBeLessThan(1000);
    const found = await delivered(id, 'websocket');
    expect(found.deliveries).toEqual([expect.objectContaining({ channel: 'websocket', state: 'delivered', attempts: 1 })]);
    ws.close();
  });

  it('delivers the sse channel on /sse/notifications only', async () => {
    const sse = await SseReader.open(`${service.http}/sse/notifications`);
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    await sse.waitFor((item) => item.event === 'welcome');
    const { body } = await send(service, {
      type: 'deploy',
      message: 'Model rollout finished',
      channel: 'sse',
      priority: 'info',
      labels: { model: 'm1' },
    });
    const [received] = await sse.waitForMessages(1);
    expect(received.data).toMatchObject({ id: (body as { id: string }).id, labels: { model: 'm1' } });
    await sleep(200);
    expect(ws.events).toEqual([]);
    sse.close();
    ws.close();
  });

  it('mails a notification through the SMTP server with priority, title, time and key', async () => {
    const { body } = await send(service, {
      type: 'capacity',
      title: 'GPU pool nearly full',
      message: 'gpu-node-03 at 97%',
      channel: 'email',
      priority: 'warning',
    });
    const { id } = body as { id: string };
    const stored = await delivered(id, 'email');
    const mail = await eventually(() => smtp.mails.find((item) => item.headers['x-notification-id'] === id));
    expect(mail.from).toBe('alerts@example.com');
    expect(mail.to).toEqual(['oncall@example.com']);
    expect(mail.subject).toBe('[WARNING] GPU pool nearly full');
    expect(mail.body).toContain('gpu-node-03 at 97%');
    expect(mail.body).toContain('Priority: warning');
    expect(mail.body).toMatch(/Time: \d{4}-\d\d-\d\dT/);
    // The notification's own key, which a receiver uses to drop a re-sent copy.
    expect(stored.idempotency_key).toMatch(/^\S{8,}$/);
    expect(mail.headers['x-idempotency-key']).toBe(stored.idempotency_key);
  });

  it('posts to Slack with the colour of the priority', async () => {
    const { body } = await send(service, {
      type: 'incident',
      title: 'Gateway down',
      message: 'api-gateway is not answering',
      channel: 'slack',
      priority: 'critical',
    });
    const { id } = body as { id: string };
    const stored = await delivered(id, 'slack');
    expect(stored.deliveries[0].state).toBe('delivered');
    const call = slack.calls.find((item) => String(item.body?.attachments?.[0]?.text).includes(id));
    expect(call?.body).toMatchObject({
      text: '[CRITICAL] Gateway down',
      attachments: [{ color: '#d32f2f', title: '[CRITICAL] Gateway down' }],
    });
    expect(stored.idempotency_key).toMatch(/^\S{8,}$/);
    expect(call?.headers['x-idempotency-key']).toBe(stored.idempotency_key);
  });

  it('honours Slack 429 Retry-After, retries 5xx and a hang, and keeps the same idempotency key', async () => {
    let calls = 0;
    slack.respond((_call, response) => {
      calls++;
      if (calls === 1) response.writeHead(429, { 'retry-after': '1' }).end('rate_limited');
      else if (calls === 2) response.writeHead(503).end('unavailable');
      else if (calls === 3)
        return; // hang: the attempt times out after delivery_timeout
      else response.writeHead(200).end('ok');
    });
    const first = slack.calls.length;
    const { body } = await send(service, { type: 'incident', message: 'retry me', channel: 'slack', priority: 'warning' });
    const found = await delivered((body as { id: string }).id, 'slack');
    expect(found.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 4 });
    const attempts = slack.calls.slice(first);
    expect(attempts).toHaveLength(4);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(new Set(attempts.map((call) => call.headers['x-idempotency-key'])).size).toBe(1);
  });

  it('fails a Slack 4xx for good, with the reason, and counts it', async () => {
    slack.respond((_call, response) => response.writeHead(404).end('no_service'));
    const { body } = await send(service, { type: 'incident', message: 'nobody home', channel: 'slack', priority: 'info' });
    const found = await delivered((body as { id: string }).id, 'slack');
    expect(found.deliveries[0]).toMatchObject({ state: 'failed', attempts: 1, last_error: 'Slack: HTTP 404 no_service' });
    const channels = (await getJson(service.http, '/notifications/channels')).body.channels;
    expect(channels.find((channel: { channel: string }) => channel.channel === 'slack')).toMatchObject({
      enabled: true,
      configured: true,
      last_failure: { reason: 'Slack: HTTP 404 no_service' },
    });
    const metrics = await (await fetch(`${service.http}/metrics`)).text();
    expect(metrics).toMatch(/^notification_delivery_total\{channel="slack",status="failed"\} 1$/m);
    expect(metrics).toMatch(/^notification_delivery_latency_seconds_count\{channel="websocket"\} [1-9]/m);
    expect(metrics).toMatch(/^notification_outbox_depth\{state="failed"\} 1$/m);
  });

  it('refuses a bad body naming the field, and an unknown channel', async () => {
    const missing = await send(service, { type: 'test', channel: 'websocket' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_notification', message: expect.stringContaining('message:') });
    const unknown = await send(service, { type: 'test', message: 'x', channel: 'pigeon' });
    expect(unknown.status).toBe(400);
    expect((unknown.body as { message: string }).message).toBe(
      'the notification is invalid: channel: expected one of: websocket, sse, email, slack, all',
    );
    const priority = await send(service, { type: 'test', message: 'x', channel: 'websocket', priority: 'urgent' });
    expect((priority.body as { message: string }).message).toContain('priority');
    expect((await getJson(service.http, '/notifications/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await getJson(service.http, '/notifications/not-a-uuid')).status).toBe(400);
  });

  it('does not store a notification twice for the same idempotency key', async () => {
    const body = { type: 'test', message: 'once', channel: 'websocket', idempotency_key: 'deploy-42' };
    const first = (await send(service, body)).body as { id: string; deduplicated: boolean };
    const second = (await send(service, body)).body as { id: string; deduplicated: boolean };
    expect(first.deduplicated).toBe(false);
    expect(second).toMatchObject({ id: first.id, deduplicated: true });
  });

  it('turns an Alertmanager webhook into notifications, deduplicated by fingerprint and status', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    const alert = (status: 'firing' | 'resolved', fingerprint: string) => ({
      status,
      labels: { alertname: 'DataStreamingLatencyHigh', severity: 'warning', instance: '127.0.0.1:9102' },
      annotations: { summary: 'Streaming latency above 100 ms' },
      startsAt: '2026-11-26T10:00:00Z',
      endsAt: status === 'resolved' ? '2026-11-26T10:10:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint,
    });
    const payload = (status: 'firing' | 'resolved') => ({
      version: '4',
      groupKey: '{}:{alertname="DataStreamingLatencyHigh"}',
      truncatedAlerts: 0,
      status,
      receiver: 'data-streaming-api',
      groupLabels: { alertname: 'DataStreamingLatencyHigh' },
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://127.0.0.1:9093',
      alerts: [alert(status, 'aaaa1111'), alert(status, 'bbbb2222')],
    });
    const firing = await post(service.http, '/notifications/alertmanager?channel=websocket', payload('firing'));
    expect(firing.status).toBe(200);
    expect(firing.body).toMatchObject({ accepted: 2, deduplicated: 0 });
    const again = await post(service.http, '/notifications/alertmanager?channel=websocket', payload('firing'));
    expect(again.body).toMatchObject({ accepted: 0, deduplicated: 2 });
    const resolved = await post(service.http, '/notifications/alertmanager?channel=websocket', payload('resolved'));
    expect(resolved.body).toMatchObject({ accepted: 2 });
    const received = await ws.waitForEvents(4);
    expect(received.map((item) => item.type)).toEqual([
      'notification.firing',
      'notification.firing',
      'notification.resolved',
      'notification.resolved',
    ]);
    expect(received[0]?.data).toMatchObject({
      title: 'DataStreamingLatencyHigh',
      priority: 'warning',
      message: 'Streaming latency above 100 ms',
      labels: { fingerprint: 'aaaa1111' },
    });
    await sleep(200);
    expect(ws.events).toHaveLength(4);
    expect((await post(service.http, '/notifications/alertmanager', { version: '3', alerts: [] })).status).toBe(400);
    ws.close();
  });

  it('fires the three SPEC rules from live metrics, on their channels, and resolves them', async () => {
    const ws = await WsClient.subscribe(`${service.ws}/ws/system_alerts`);
    const sse = await SseReader.open(`${service.http}/sse/notifications`);
    await sse.waitFor((item) => item.event === 'welcome');
    const mailsBefore = smtp.mails.length;
    const metrics = (data: Record<string, number>) =>
      post(service.http, '/events', event({ channel: 'metrics_updates', type: 'llm.metrics', key: 'cluster', data }));

    await metrics({ error_rate: 0.31, latency: 2650, throughput: 1480 });
    const firing = await eventually(
      () => {
        const names = new Set(
          [...ws.events, ...sse.messages].filter((item) => item.type === 'notification.firing').map((item) => item.data.rule?.name),
        );
        return names.size === 3 ? names : undefined;
      },
      5000,
      'three rules firing',
    );
    expect([...firing].sort()).toEqual(['critical_alert', 'performance_warning', 'system_info']);
    const critical = ws.events.find((item) => item.data.rule?.name === 'critical_alert');
    expect(critical?.data).toMatchObject({
      priority: 'critical',
      status: 'firing',
      rule: { condition: 'error_rate > 0.2', values: { error_rate: 0.31 } },
    });
    expect(ws.events.some((item) => item.data.rule?.name === 'system_info')).toBe(false);
    expect(sse.messages.some((item) => item.data.rule?.name === 'performance_warning')).toBe(false);
    const mail = await eventually(() =>
      smtp.mails.slice(mailsBefore).find((item) => item.subject.startsWith('[CRITICAL] critical_alert firing')),
    );
    expect(mail.subject).toBe('[CRITICAL] critical_alert firing: error_rate = 0.31');
    expect(mail.body).toContain('Rule: critical_alert (error_rate > 0.2)');
    await eventually(() => slack.calls.find((call) => call.body?.text === '[CRITICAL] critical_alert firing: error_rate = 0.31'));

    await metrics({ error_rate: 0.01, latency: 420, throughput: 610 });
    await eventually(
      () => {
        const names = new Set(
          [...ws.events, ...sse.messages].filter((item) => item.type === 'notification.resolved').map((item) => item.data.rule?.name),
        );
        return names.size === 3 ? true : undefined;
      },
      5000,
      'three rules resolved',
    );
    const rules = (await getJson(service.http, '/notifications/status')).body.rules;
    expect(rules.map((rule: { state: string }) => rule.state)).toEqual(['inactive', 'inactive', 'inactive']);
    ws.close();
    sse.close();
  });
});

describe('notifications with channels missing or switched off', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ real_time_notifications: { info_enabled: false } });
  });
  afterAll(() => service.close());

  it('refuses an explicit channel that is not configured, naming what is missing', async () => {
    const response = await send(service, { type: 'test', message: 'x', channel: 'email', priority: 'critical' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'channel_unavailable',
      message: 'channel email is not configured: set NOTIFICATIONS_SMTP_URL, NOTIFICATIONS_EMAIL_FROM, NOTIFICATIONS_EMAIL_TO',
    });
  });

  it('sends `all` to the configured channels only, and reports the others', async () => {
    const response = await send(service, { type: 'test', message: 'x', channel: 'all', priority: 'warning' });
    expect(response.status).toBe(202);
    expect((response.body as { channels: string[] }).channels).toEqual(['websocket', 'sse']);
    const channels = (await getJson(service.http, '/notifications/channels')).body.channels;
    expect(channels.map((channel: { channel: string; configured: boolean }) => [channel.channel, channel.configured])).toEqual([
      ['websocket', true],
      ['sse', true],
      ['email', false],
      ['slack', false],
    ]);
    // The status lists the channels that can deliver; email and Slack come in once configured (the first suite).
    expect((await getJson(service.http, '/notifications/status')).body.delivery_channels).toEqual(['websocket', 'sse']);
  });

  it('suppresses a priority that is switched off, saying which switch', async () => {
    const response = await send(service, { type: 'test', message: 'x', channel: 'websocket', priority: 'info' });
    expect(response.body).toEqual({
      id: null,
      suppressed: true,
      reason: 'info notifications are switched off (REAL_TIME_NOTIFICATIONS_INFO_ENABLED=false)',
    });
  });
});
