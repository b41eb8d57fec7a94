/**
 * The log as an operator reads it (`journalctl -u citadel-data-streaming-api.service | grep websocket`): the service
 * runs as a process with its output captured (not a terminal, so JSON lines), through a scripted scenario: a
 * WebSocket refused at its connection limit, a subscriber that stops reading closed as a slow consumer, an email that
 * the mail server refuses, an upstream that goes down. Then each of the task's greps finds the lines that explain
 * what happened, every line is one JSON object with the documented fields, and no secret appears anywhere.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SMTPServer } from 'smtp-server';
import WebSocket from 'ws';
import { eventually, getJson } from './support/app';
import { startService } from './support/process';

const API_KEY = 'logscenario-key-5f0c2a9e7d1b4c36';
const SMTP_PASSWORD = 'smtp-pass-8d3e41aa';
const UPSTREAM_PASSWORD = 'upstream-pass-77c0e1f2';
const auth = { authorization: `Bearer ${API_KEY}` };

interface LogLine {
  time: string;
  level: string;
  component: string;
  context?: string;
  message: string;
  pid: number;
  [field: string]: unknown;
}

/** `grep <pattern>` over the captured output: the raw lines that contain it. */
const grep = (output: string, pattern: string): string[] => output.split('\n').filter((line) => line.includes(pattern));

describe('the log of a scripted incident', () => {
  let output = '';
  let service: Awaited<ReturnType<typeof startService>>;
  let started: ChildProcess | undefined;
  let smtp: SMTPServer;
  let upstream: Server;
  let smtpPort: number;
  let upstreamPort: number;

  beforeAll(async () => {
    // A mail server that takes the login and refuses every recipient for good (550).
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'alerts' }),
      onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 })),
    });
    smtp.on('error', () => undefined);
    await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
    smtpPort = (smtp.server.address() as { port: number }).port;
    // An upstream that answers, then goes away.
    upstream = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    upstreamPort = (upstream.address() as { port: number }).port;

    service = await startService({
      DATA_STREAMING_API_KEYS: `${API_KEY}:read+publish+admin`,
      WEBSOCKET_MAX_CONNECTIONS: '2',
      WEBSOCKET_MAX_QUEUE_BYTES: '1048576',
      // A connection that takes nothing is closed after 2 load checks (the default waits for 30).
      STREAMING_OVERLOAD_STALL_CHECKS: '2',
      DATA_STREAMING_HISTORY_SIZE: '200',
      RATE_LIMIT_ENABLED: 'false',
      NOTIFICATIONS_SMTP_URL: `smtp://alerts:${SMTP_PASSWORD}@127.0.0.1:${smtpPort}`,
      NOTIFICATIONS_EMAIL_FROM: 'dsa@example.test',
      NOTIFICATIONS_EMAIL_TO: 'oncall@example.test',
      REAL_TIME_EVENT_PROCESSING_ENDPOINT: `http://svc:${UPSTREAM_PASSWORD}@127.0.0.1:${upstreamPort}`,
      MONITORING_POLL_INTERVAL: '0.2',
    });
    started = service.child;

    // 1. A WebSocket refused at the connection limit (2 admitted, the third refused).
    const admitted = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${service.ws}/ws/metrics_updates`, { headers: auth });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    const refusedStatus = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${service.ws}/ws/system_alerts`, { headers: auth });
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    });
    expect(refusedStatus).toBe(503);

    // 2. One of them stops reading while the channel is busy: closed as a slow consumer.
    const stuck = admitted[0] as WebSocket;
    (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
    const closed = new Promise<number>((resolve) => stuck.once('close', (code) => resolve(code)));
    // Random text: what piles up is the same compressed (ws offers permessage-deflate) or not. Loopback's socket
    // buffers take megabytes first. Bounded: at most 1,500 requests of 6 x 8 KB, stopping once the close is logged.
    for (let round = 0; round < 1500 && (round % 25 !== 24 || grep(service.output(), 'Closing slow').length === 0); round++) {
      const events = Array.from({ length: 6 }, (_, index) => ({
        channel: 'metrics_updates',
        type: 'log.scenario',
        data: { sequence: round * 6 + index, blob: randomBytes(4000).toString('hex') },
      }));
      const response = await fetch(`${service.http}/events`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      expect(response.status).toBe(202);
    }
    await eventually(() => (grep(service.output(), 'Closing slow').length > 0 ? true : undefined), 20_000, 'the slow consumer closed');
    stuck.terminate();
    await closed;
    (admitted[1] as WebSocket).close();

    // 3. An email the mail server refuses for good.
    const sent = await fetch(`${service.http}/notifications/send`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'log.scenario', message: 'disk almost full', priority: 'critical', channel: 'email' }),
    });
    expect(sent.status).toBe(202);
    await eventually(() => (grep(service.output(), 'not delivered by email').length > 0 ? true : undefined), 20_000, 'the failed email');

    // 4. The upstream goes down.
    await eventually(() => (grep(service.output(), 'Polling').length > 0 ? true : undefined), 10_000, 'polling');
    upstream.closeAllConnections();
    await new Promise<void>((done) => upstream.close(() => done()));
    await eventually(() => (grep(service.output(), 'is down').length > 0 ? true : undefined), 20_000, 'the upstream down');
    expect((await getJson(service.http, '/health')).body.status).toBe('degraded');

    service.child.kill('SIGTERM');
    await service.exited;
    output = service.output();
  }, 90_000);

  afterAll(async () => {
    // The service, if it started (a failed start leaves nothing to stop).
    if (started?.exitCode === null) started.kill('SIGKILL');
    await new Promise<void>((done) => smtp.close(() => done()));
    if (upstream.listening) upstream.close();
  });

  it('writes one JSON object per line, with time, level, component, message and pid', () => {
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(20);
    for (const text of lines) {
      const line = JSON.parse(text) as LogLine;
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
      expect(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']).toContain(line.level);
      expect(typeof line.component).toBe('string');
      expect(typeof line.message).toBe('string');
      expect(line.pid).toBe(service.child.pid);
    }
  });

  it('grep websocket: the refusal at the limit, with the limit and its key, and the slow consumer closed', () => {
    const lines = grep(output, 'websocket').map((text) => JSON.parse(text) as LogLine);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        component: 'websocket',
        message: 'websocket connection refused: max_connections (2 open, limit 2: websocket.max_connections, WEBSOCKET_MAX_CONNECTIONS)',
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        component: 'websocket',
        channel: 'metrics_updates',
        connection: expect.stringMatching(/^ws-\d+$/),
        message: expect.stringMatching(/^Closing slow websocket subscriber of metrics_updates/),
      }),
    );
  });

  it('grep dashboard: the dashboards that run and where they are live', () => {
    const lines = grep(output, 'dashboard').map((text) => JSON.parse(text) as LogLine);
    expect(lines.filter((line) => line.component === 'dashboard' && /^Dashboard \w+: \d+ panels/.test(line.message))).toHaveLength(5);
  });

  it('grep notification: the email refused by the mail server, with the notification and the reason', () => {
    const lines = grep(output, 'notification').map((text) => JSON.parse(text) as LogLine);
    const failed = lines.find((line) => /not delivered by email/.test(line.message));
    expect(failed).toMatchObject({ level: 'ERROR', component: 'notification', channel: 'email' });
    expect(failed?.message).toMatch(/SMTP: .*550/);
  });

  it('grep ERROR: the failed email and the upstream that went down, nothing else', () => {
    const lines = grep(output, 'ERROR').map((text) => JSON.parse(text) as LogLine);
    expect(lines.map((line) => line.component).sort()).toEqual(['notification', 'upstream']);
    const down = lines.find((line) => line.component === 'upstream');
    expect(down?.message).toBe(
      `Upstream real_time_event_processing at http://127.0.0.1:${upstreamPort} is down: fetch failed: ECONNREFUSED; polling again with backoff`,
    );
  });

  it('writes no secret: not the API key, not the SMTP password, not the upstream credentials', () => {
    for (const secret of [API_KEY, SMTP_PASSWORD, UPSTREAM_PASSWORD]) expect(output).not.toContain(secret);
  });
});
