#!/usr/bin/env node
// Notification delivery latency: POST /notifications/send → a WebSocket client of system_alerts, and → a real SMTP
// server on loopback (smtp-server). Each notification goes through the durable outbox (SQLite, synchronous FULL).
// Usage: node tests/bench/notifications.mjs [-- --count 400]
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startService } from '../system/helpers.mjs';

const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '../../backend/package.json'));
const { WebSocket } = require('ws');
const { SMTPServer } = require('smtp-server');

const countArg = process.argv.indexOf('--count');
const COUNT = Math.min(Number(countArg > 0 ? process.argv[countArg + 1] : 400), 5000);
const DEADLINE_MS = 60_000;
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const mailArrivals = new Map();
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    let raw = '';
    stream.on('data', (chunk) => (raw += chunk));
    stream.on('end', () => {
      const key = /x-idempotency-key: (\S+)/i.exec(raw)?.[1];
      if (key) mailArrivals.set(key, performance.now());
      callback();
    });
  },
});
await new Promise((done) => smtp.listen(0, '127.0.0.1', done));
const service = await startService({
  NOTIFICATIONS_SMTP_URL: `smtp://127.0.0.1:${smtp.server.address().port}`,
  NOTIFICATIONS_EMAIL_FROM: 'bench@example.com',
  NOTIFICATIONS_EMAIL_TO: 'oncall@example.com',
  DATA_STREAMING_LOG_LEVEL: 'WARN',
});

async function measure(channel, arrivals) {
  const sentAt = new Map();
  const start = performance.now();
  for (let index = 0; index < COUNT && performance.now() - start < DEADLINE_MS; index++) {
    const key = `${channel}-${index}`;
    sentAt.set(key, performance.now());
    const response = await fetch(`${service.http}/notifications/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'bench', message: `bench ${index}`, channel, priority: 'info', idempotency_key: key }),
    });
    if (response.status !== 202) throw new Error(`send refused: ${response.status} ${await response.text()}`);
    await new Promise((done) => setTimeout(done, 5));
  }
  const drainUntil = performance.now() + 15_000;
  while ([...sentAt.keys()].some((key) => !arrivals.has(key)) && performance.now() < drainUntil)
    await new Promise((done) => setTimeout(done, 20));
  const latencies = [...sentAt]
    .filter(([key]) => arrivals.has(key))
    .map(([key, at]) => arrivals.get(key) - at)
    .sort((a, b) => a - b);
  return {
    channel,
    sent: sentAt.size,
    delivered: latencies.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
  };
}

const wsArrivals = new Map();
const socket = new WebSocket(`${service.ws}/ws/system_alerts`, { perMessageDeflate: false });
await new Promise((done) => socket.once('open', done));
socket.on('message', (data) => {
  const now = performance.now();
  const frame = JSON.parse(String(data));
  for (const event of frame.kind === 'batch' ? frame.events : [frame]) {
    if (event.data?.idempotency_key) wsArrivals.set(event.data.idempotency_key, now);
  }
});

const results = [];
try {
  results.push(await measure('websocket', wsArrivals));
  results.push(await measure('email', mailArrivals));
} finally {
  socket.close();
  await service.stop();
  smtp.close();
}
const ms = (value) => (value === undefined ? '-' : value.toFixed(1));
console.log(`\nNotification delivery latency, ${COUNT} sends per channel, 5 ms apart, loopback`);
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`,
);
console.log('| send → | delivered | p50 ms | p90 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|---|');
for (const r of results)
  console.log(
    `| ${r.channel === 'email' ? 'SMTP server' : 'WebSocket client'} | ${r.delivered}/${r.sent} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${ms(r.max)} |`,
  );
if (results.some((r) => r.delivered < r.sent)) process.exitCode = 1;
