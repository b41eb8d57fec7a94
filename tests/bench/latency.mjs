#!/usr/bin/env node
// Publish-to-receipt latency: POST /events → WebSocket subscriber, against our service and, in the same run with the
// same generator, a minimal `ws` broadcast server (the floor of Node.js itself); our service also through the client
// library (@data-streaming/client), to show what it adds. Loopback only; every loop bounded.
// Usage: npm run bench [-- --messages 3000 --rate 300]
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createClient } from '@data-streaming/client';

const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '../../backend/package.json'));
const { WebSocket, WebSocketServer } = require('ws');

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((pair) => pair.trim().split(/\s+/)),
);
const MESSAGES = Math.min(Number(args.messages ?? 3000), 100_000);
const RATE = Math.min(Number(args.rate ?? 300), 10_000);
const MAX_IN_FLIGHT = 64;
const DEADLINE_MS = 120_000;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** A minimal broadcast server: POST body sent as-is to every WebSocket client. */
async function startFloor() {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      for (const client of wss.clients) client.send(body, { binary: false });
      response.writeHead(202).end('{}');
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws/metrics_updates' });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return { name: 'ws broadcast (floor)', http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, stop: async () => server.close() };
}

/** Our service, built, as its own process on its embedded defaults with the demo generator off. */
async function startService() {
  const child = spawn(process.execPath, [resolve(ROOT, 'backend/dist/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NO_COLOR: '1',
      DATA_STREAMING_API_PORT: '0',
      DATA_STREAMING_API_HOST: '127.0.0.1',
      DATA_STREAMING_DEMO_ENABLED: 'false',
      DATA_STREAMING_LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const started = Date.now();
  // WARN level hides the listening line; find the port from /proc instead of logs.
  let port;
  while (!port && Date.now() - started < 15_000) {
    await new Promise((done) => setTimeout(done, 100));
    port = await listeningPort(child.pid);
  }
  if (!port) throw new Error(`service did not start:\n${output}`);
  return {
    name: 'data-streaming-api',
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((done) => child.on('exit', done));
    },
  };
}

async function listeningPort(pid) {
  const { readFile, readdir, readlink } = await import('node:fs/promises');
  try {
    const inodes = new Set();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match) inodes.add(match[1]);
    }
    for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9])) return parseInt(fields[1].split(':')[1], 16);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

async function cpuSeconds(pid) {
  if (!pid) return undefined;
  const { readFile } = await import('node:fs/promises');
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The subscriber: a bare `ws` socket (compression off) that parses each frame, or, with `viaClient`, the client
 * library (@data-streaming/client over the same kind of socket), to show what the library adds.
 */
async function subscribe(target, viaClient, onItems) {
  if (viaClient) {
    const client = createClient({
      url: target.http,
      createSocket: (url, protocols) => new WebSocket(url, protocols, { perMessageDeflate: false }),
    });
    let open = false;
    client.subscribe('metrics_updates', { onEvents: onItems, onStatus: (status) => (open = status === 'open') });
    const until = performance.now() + 10_000;
    while (!open && performance.now() < until) await new Promise((done) => setTimeout(done, 5));
    if (!open) throw new Error('the client did not subscribe within 10 s');
    return { close: () => client.close() };
  }
  const socket = new WebSocket(`${target.ws}/ws/metrics_updates`, { perMessageDeflate: false });
  await new Promise((done, fail) => {
    socket.once('open', done);
    socket.once('error', fail);
  });
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data));
    onItems(frame.kind === 'batch' ? frame.events : [frame]);
  });
  return { close: () => socket.close() };
}

async function measure(target, viaClient = false) {
  const received = new Map();
  const sentAt = new Map();
  const subscription = await subscribe(target, viaClient, (items) => {
    const now = performance.now();
    for (const item of items) {
      const sequence = item.data?.sequence;
      if (sequence !== undefined && !received.has(sequence)) received.set(sequence, now - sentAt.get(sequence));
    }
  });
  const cpuBefore = await cpuSeconds(target.pid);
  const start = performance.now();
  let inFlight = 0;
  let refused = 0;
  for (let sequence = 0; sequence < MESSAGES && performance.now() - start < DEADLINE_MS; sequence++) {
    const due = start + (sequence * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    while (inFlight >= MAX_IN_FLIGHT) await new Promise((done) => setTimeout(done, 1));
    const body = JSON.stringify({ channel: 'metrics_updates', type: 'bench.tick', data: { sequence, pad: 'x'.repeat(60) } });
    inFlight++;
    sentAt.set(sequence, performance.now());
    fetch(`${target.http}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((response) => {
        if (response.status !== 202) refused++;
        return response.arrayBuffer();
      })
      .catch(() => refused++)
      .finally(() => inFlight--);
  }
  const drainUntil = performance.now() + 5000;
  while (received.size < MESSAGES && performance.now() < drainUntil) await new Promise((done) => setTimeout(done, 20));
  const elapsed = (performance.now() - start) / 1000;
  const cpuAfter = await cpuSeconds(target.pid);
  subscription.close();
  const latencies = [...received.values()].sort((a, b) => a - b);
  return {
    target: viaClient ? `${target.name} via @data-streaming/client` : target.name,
    sent: MESSAGES,
    delivered: received.size,
    refused,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
    cpu: cpuBefore === undefined ? undefined : (cpuAfter - cpuBefore) / elapsed,
  };
}

const ms = (value) => (value === undefined ? '-' : value.toFixed(2));
const results = [];
for (const start of [startFloor, startService]) {
  const target = await start();
  try {
    await measure(target); // warm-up run, not reported
    results.push(await measure(target));
    if (start === startService) results.push(await measure(target, true));
  } finally {
    await target.stop();
  }
}

const [floor, ours, viaClient] = results;
console.log(`\nPublish→WebSocket latency, ${MESSAGES} messages at ${RATE}/s, one subscriber, loopback`);
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`,
);
console.log('| target | delivered | refused | p50 ms | p90 ms | p99 ms | max ms | server CPU |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.target} | ${r.delivered}/${r.sent} | ${r.refused} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.cpu === undefined ? '-' : `${Math.round(r.cpu * 100)}%`} |`,
  );
}
console.log(`\nratio to the floor: p50 x${(ours.p50 / floor.p50).toFixed(2)}, p99 x${(ours.p99 / floor.p99).toFixed(2)}`);
console.log(`the client library's cost: p50 +${ms(viaClient.p50 - ours.p50)} ms, p99 +${ms(viaClient.p99 - ours.p99)} ms`);
if (ours.delivered < ours.sent || viaClient.delivered < viaClient.sent) process.exitCode = 1;
