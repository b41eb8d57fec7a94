#!/usr/bin/env node
// The fan-out benchmark: our service beside a minimal `ws` broadcast server (the floor of Node.js) and nginx + nchan,
// same load generator, same machine, same run. Subscribers live in worker processes; the publisher posts over HTTP at
// a fixed rate with its send time in each payload. Loopback only; every loop is bounded in count and time.
// Usage: npm run bench:fanout [-- --scenarios S1,S4] [--targets floor,nchan,ours,ours2] [--rounds 3] [--duration 10]
//        [--client-inflate] [--out file.md]
// Before and after a change: BENCH_BASELINE_ROOT=/path/to/a/built/checkout of the earlier commit, and
// --targets ours,baseline: both builds under the same load, taking turns in the same run.
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchServiceEnv } from '../service-env.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const NGINX = '/usr/sbin/nginx';
const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const index = argv.indexOf(`--${name}`);
  return index >= 0 ? argv[index + 1] : fallback;
};
const DURATION_S = Math.min(60, Number(arg('duration', '10')));
// Tails on a shared 2-core machine swing from run to run: every scenario runs this many rounds, the targets taking
// turns within each round, and the table shows the median of the rounds (and each round's p99).
const ROUNDS = Math.max(1, Math.min(9, Number(arg('rounds', '3'))));
const SCENARIOS = [
  { id: 'S1', title: '1,000 WS subscribers, 100 msg/s, 100-byte payloads', transport: 'ws', subscribers: 1000, rate: 100 },
  { id: 'S2', title: '1,000 SSE subscribers, 50 msg/s', transport: 'sse', subscribers: 1000, rate: 50 },
  { id: 'S3', title: '10,000 WS connections held open, 10 msg/s (RSS per connection)', transport: 'ws', subscribers: 10_000, rate: 10 },
  { id: 'S4', title: 'light load: 1,000 WS x 20 msg/s (latency)', transport: 'ws', subscribers: 1000, rate: 20 },
  { id: 'S5', title: '100 WS subscribers at 5,000 msg/s (batching)', transport: 'ws', subscribers: 100, rate: 5000 },
  // Issue #14: payloads of dashboard size, with the compression real clients ask for (`ws` and browsers offer
  // permessage-deflate; EventSource sends Accept-Encoding: gzip) and without, same load. 100 msg/s at 2 KB: at 200
  // msg/s the generator's own inflation of 40,000 messages/s (its subscribers share this 2-core machine, where a
  // browser has a machine of its own) takes the CPU the server needs, and the tail measures the generator.
  ...[
    ['C1', 'ws', 2048, false, 100],
    ['C2', 'ws', 2048, true, 100],
    ['C3', 'ws', 16_384, false, 25],
    ['C4', 'ws', 16_384, true, 25],
    ['C5', 'sse', 2048, false, 100],
    ['C6', 'sse', 2048, true, 100],
    ['C7', 'sse', 16_384, false, 25],
    ['C8', 'sse', 16_384, true, 25],
  ].map(([id, transport, payload, compression, rate]) => ({
    id,
    title: `200 ${transport === 'ws' ? 'WS' : 'SSE'} subscribers, ${rate} msg/s, ${payload / 1024} KB payloads, ${compression ? (transport === 'ws' ? 'permessage-deflate' : 'gzip') : 'uncompressed'}`,
    transport,
    subscribers: 200,
    rate,
    payload,
    compression,
  })),
];
const only = arg('scenarios', '').split(',').filter(Boolean);
const scenarios = only.length ? SCENARIOS.filter((scenario) => only.includes(scenario.id)) : SCENARIOS;

/**
 * The padding of a payload of `bytes`: words and numbers as dashboard JSON has them (compresses about 3 to 1 on its
 * own), never the text `"t":`, which the subscribers scan for.
 */
function padding(bytes) {
  const words = ['gpu-node', 'latency_ms', 'llama-3.1-70b', 'tenant', 'tokens_per_second', 'queue_depth', 'error_rate', 'region'];
  let text = '';
  for (let index = 0; text.length < bytes; index++) {
    text += `${words[(index * 7) % words.length]}=${((index * 7919) % 100_003) / 100} `;
  }
  return text.slice(0, bytes);
}
const onlyTargets = arg('targets', '').split(',').filter(Boolean);
// --client-inflate: subscribers of uncompressed scenarios also inflate a 2 KB message per message received, the work
// their compressed twins' subscribers do, so that a twin's tail differs only by what the server does. On this shared
// machine the generator's inflation competes with the server for the same two cores (a browser inflates on its own).
const CLIENT_INFLATE = argv.includes('--client-inflate');

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const reachable = (port) =>
  new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (response) => {
      response.resume();
      done(true);
    });
    req.on('error', () => done(false));
    req.end();
  });

const listening = (port) =>
  new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(() => done(true)));
    socket.once('error', () => done(false));
  });

/** The target processes: their pids for RSS and CPU, their URLs, the body each expects. */
const TARGETS = {
  floor: {
    name: 'ws broadcast (floor)',
    async start(scenario) {
      const port = await freePort();
      const child = fork(join(HERE, 'floor-server.mjs'), [String(port), scenario.compression ? 'compress' : 'plain'], { stdio: 'ignore' });
      await waitFor(() => reachable(port), 10_000, 'the floor server');
      return {
        pids: () => [child.pid],
        publish: { path: '/pub', body: (payload) => JSON.stringify(payload) },
        subscribe: (transport) => (transport === 'ws' ? `ws://127.0.0.1:${port}/sub` : `http://127.0.0.1:${port}/sse`),
        port,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise((done) => child.on('exit', done));
        },
      };
    },
  },
  nchan: {
    name: 'nginx + nchan',
    missing: () =>
      !existsSync(NGINX) || !existsSync(NCHAN_MODULE) ? 'install the Debian packages nginx-light and libnginx-mod-nchan' : undefined,
    async start() {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'dsa-nchan-'));
      writeFileSync(
        join(dir, 'nginx.conf'),
        readFileSync(join(HERE, 'nchan.conf'), 'utf8').replaceAll('__PORT__', String(port)).replaceAll('__DIR__', dir),
      );
      const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
      await waitFor(() => reachable(port), 10_000, 'nginx');
      return {
        pids: () => [child.pid, ...childPids(child.pid)],
        publish: { path: '/pub', body: (payload) => JSON.stringify(payload) },
        // /subz: nchan_deflate_message_for_websocket (one compressed copy per message) and nginx's gzip.
        subscribe: (transport, _worker, compression) =>
          `${transport === 'ws' ? 'ws' : 'http'}://127.0.0.1:${port}/${compression ? 'subz' : 'sub'}`,
        port,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise((done) => child.on('exit', done));
        },
      };
    },
  },
  ours: {
    name: 'data-streaming-api',
    missing: () => (existsSync(join(ROOT, 'backend/dist/main.js')) ? undefined : 'build it first: npm run build -w backend'),
    start: () => startOurs(1),
  },
  ours2: {
    name: 'data-streaming-api x2 (Redis)',
    // Issue #7: the S1 load spread over two instances sharing Redis; publishes go to the first, subscribers are split.
    scenarios: ['S1', 'S2'],
    missing: async () =>
      !existsSync(join(ROOT, 'backend/dist/main.js'))
        ? 'build it first: npm run build -w backend'
        : (await listening(Number(new URL(REDIS_URL).port || 6379)))
          ? undefined
          : `Redis is not reachable at ${REDIS_URL} (BENCH_REDIS_URL)`,
    start: () => startOurs(2),
  },
  baseline: {
    name: `data-streaming-api at ${process.env.BENCH_BASELINE_ROOT ?? '(BENCH_BASELINE_ROOT)'}`,
    // Only when asked for (--targets): another checkout of the service, built, to compare a change with what it changed.
    explicit: true,
    missing: () =>
      !process.env.BENCH_BASELINE_ROOT
        ? 'set BENCH_BASELINE_ROOT to a built checkout of the commit to compare with'
        : existsSync(join(process.env.BENCH_BASELINE_ROOT, 'backend/dist/main.js'))
          ? undefined
          : `build it first: npm run build -w backend in ${process.env.BENCH_BASELINE_ROOT}`,
    start: () => startOurs(1, process.env.BENCH_BASELINE_ROOT),
  },
};

async function startOurs(count, root = ROOT) {
  const prefix = `dsa-bench-${process.pid}-${Date.now().toString(36)}:`;
  const instances = [];
  for (let index = 0; index < count; index++) {
    const port = await freePort();
    // BENCH_PROFILE_DIR=/tmp/prof writes a CPU profile of the service (node --cpu-prof) for each scenario.
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
    const child = spawn(process.execPath, [...profile, join(root, 'backend/dist/main.js')], {
      cwd: root,
      stdio: 'ignore',
      env: benchServiceEnv(port, {
        // The defaults allow 200 WebSocket and 100 SSE connections: the bench needs room for its subscribers.
        WEBSOCKET_MAX_CONNECTIONS: '20000',
        SSE_MAX_CONNECTIONS: '5000',
        // One process per instance: with Redis, service.workers would start two per instance.
        ...(count > 1
          ? { DATA_STREAMING_REDIS_URL: REDIS_URL, DATA_STREAMING_REDIS_KEY_PREFIX: prefix, DATA_STREAMING_API_WORKERS: '1' }
          : {}),
      }),
    });
    await waitFor(() => reachable(port), 20_000, 'data-streaming-api');
    instances.push({ child, port });
  }
  const [first] = instances;
  return {
    pids: () => instances.map((instance) => instance.child.pid),
    publish: { path: '/events', body: (payload) => JSON.stringify({ channel: 'metrics_updates', type: 'bench', data: payload }) },
    subscribe: (transport, worker = 0) => {
      const { port } = instances[worker % instances.length];
      return transport === 'ws' ? `ws://127.0.0.1:${port}/ws/metrics_updates` : `http://127.0.0.1:${port}/sse/real_time_metrics`;
    },
    port: first.port,
    // The service's own latency histogram (accept → socket write), to tell its share of a tail from the generator's.
    metrics: `http://127.0.0.1:${first.port}/metrics`,
    stop: async () => {
      for (const { child } of instances) {
        child.kill('SIGTERM');
        await new Promise((done) => child.on('exit', done));
      }
    },
  };
}

function childPids(parent) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function usage(pids) {
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    try {
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      cpu += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone
    }
  }
  return { rss, cpu };
}

async function publishFor(target, rate, seconds, payloadBytes = 100) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  // The payload's other fields and the target's envelope come to about 40 bytes.
  const pad = payloadBytes > 100 ? padding(payloadBytes - 40) : 'x'.repeat(60);
  let sent = 0;
  let failed = 0;
  let inFlight = 0;
  const start = performance.now();
  const total = Math.round(rate * seconds);
  for (let sequence = 0; sequence < total; sequence++) {
    const due = start + (sequence * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    let guard = 0;
    while (inFlight >= 512 && guard++ < 10_000) await sleep(1);
    if (performance.now() - start > seconds * 1000 + 5000) break;
    const body = target.publish.body({ s: sequence, t: now(), p: pad });
    inFlight++;
    sent++;
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.publish.path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        if (response.statusCode >= 300) failed++;
        response.resume();
        response.on('end', () => inFlight--);
      },
    );
    req.on('error', () => {
      failed++;
      inFlight--;
    });
    req.end(body);
  }
  const elapsed = (performance.now() - start) / 1000;
  await waitFor(async () => inFlight === 0, 10_000, 'publishes to finish').catch(() => undefined);
  agent.destroy();
  return { sent: sent - failed, failed, elapsed };
}

/** The cumulative buckets of the service's data_streaming_latency_seconds for one transport: [[le, count], ...]. */
async function serverLatencyBuckets(target, transport) {
  if (!target.metrics) return undefined;
  const text = await (await fetch(target.metrics)).text();
  const label = transport === 'ws' ? 'websocket' : 'sse';
  const pattern = new RegExp(
    `^data_streaming_latency_seconds_bucket\\{(?=[^}]*transport="${label}")[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`,
    'gm',
  );
  return [...text.matchAll(pattern)].map((match) => [match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2])]);
}

/** The upper bound (ms) of the bucket that holds the 99th percentile of what the service observed in between. */
function serverP99(before, after) {
  if (!before || !after?.length) return NaN;
  const counts = after.map(([le, count], index) => [le, count - (before[index]?.[1] ?? 0)]);
  const total = counts.at(-1)[1];
  if (!(total > 0)) return NaN;
  const bucket = counts.find(([, count]) => count >= 0.99 * total);
  return bucket ? bucket[0] * 1000 : Infinity;
}

async function runScenario(scenario, target) {
  // Twins with and without compression get the same generator: two processes for the 200 subscribers of the C
  // scenarios (inflating a compressed stream is the generator's largest cost), one per 500 subscribers otherwise.
  const workers = Math.min(4, Math.max(scenario.payload ? 2 : 1, Math.ceil(scenario.subscribers / 500)));
  const before = usage(target.pids());
  const children = [];
  const connectedReports = [];
  // The subscribe path under a wave: from starting the workers to every subscriber taken (its first frame received).
  const connectStart = performance.now();
  for (let index = 0; index < workers; index++) {
    const count = Math.floor(scenario.subscribers / workers) + (index < scenario.subscribers % workers ? 1 : 0);
    const url = target.subscribe(scenario.transport, index, scenario.compression);
    const options = {
      url,
      transport: scenario.transport,
      count,
      compression: scenario.compression === true,
      inflateAlike: CLIENT_INFLATE && scenario.payload !== undefined && !scenario.compression,
    };
    const child = fork(join(HERE, 'subscriber-worker.mjs'), [JSON.stringify(options)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(child);
    child.on('exit', (code, signal) => {
      if (code !== 0) process.stderr.write(`  a subscriber worker exited early (code ${code}, signal ${signal})\n`);
    });
    connectedReports.push(new Promise((done) => child.once('message', done)));
  }
  const connected = await Promise.race([
    Promise.all(connectedReports),
    sleep(120_000).then(() => {
      throw new Error('subscribers did not connect in 2 minutes');
    }),
  ]);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const subscribers = connected.reduce((sum, report) => sum + report.connected, 0);
  process.stderr.write(
    `  ${subscribers} subscribers connected in ${connectSeconds.toFixed(2)} s; publishing ${scenario.rate} msg/s for ${DURATION_S} s\n`,
  );
  const refused = connected.reduce((sum, report) => sum + report.refused, 0);
  await sleep(1000);
  const idle = usage(target.pids());
  for (const child of children) child.send({ type: 'measure' });
  await sleep(200);
  // The generator: the subscriber workers and this process (the publisher).
  const generatorCpu = () => {
    const own = process.cpuUsage();
    return usage(children.map((child) => child.pid)).cpu + (own.user + own.system) / 1e6;
  };
  const cpuStart = usage(target.pids()).cpu;
  const generatorStart = generatorCpu();
  const serverBefore = await serverLatencyBuckets(target, scenario.transport);
  const published = await publishFor(target, scenario.rate, DURATION_S, scenario.payload);
  const cpuEnd = usage(target.pids()).cpu;
  const generatorEnd = generatorCpu();
  await sleep(2000);
  const serverAfter = await serverLatencyBuckets(target, scenario.transport);
  const results = await Promise.all(
    children.map(
      (child) =>
        new Promise((done) => {
          child.once('message', done);
          child.send({ type: 'stop' });
        }),
    ),
  );
  const latencies = new Float64Array(results.reduce((sum, result) => sum + Buffer.from(result.latencies, 'base64').length / 8, 0));
  let offset = 0;
  for (const result of results) {
    const values = new Float64Array(new Uint8Array(Buffer.from(result.latencies, 'base64')).buffer);
    latencies.set(values, offset);
    offset += values.length;
  }
  latencies.sort();
  const pick = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
  const delivered = results.reduce((sum, result) => sum + result.received, 0);
  const wireBytes = results.reduce((sum, result) => sum + result.wireBytes, 0);
  const expected = published.sent * subscribers;
  await Promise.all(children.map((child) => new Promise((done) => (child.exitCode !== null ? done() : child.once('exit', done)))));
  return {
    subscribers,
    refused,
    connectSeconds,
    published: published.sent,
    publishRate: published.sent / published.elapsed,
    expected,
    delivered,
    loss: expected - delivered,
    deliveredPerSecond: delivered / published.elapsed,
    wirePerMessage: delivered ? wireBytes / delivered : NaN,
    p50: pick(50),
    p90: pick(90),
    p99: pick(99),
    serverP99: serverP99(serverBefore, serverAfter),
    max: latencies.length ? latencies[latencies.length - 1] : NaN,
    rssPerConnection: subscribers ? (idle.rss - before.rss) / subscribers : NaN,
    rss: idle.rss,
    cpu: (cpuEnd - cpuStart) / published.elapsed,
    // The subscriber workers and the publisher: near 200 % (both cores) means the figures measure the generator.
    generatorCpu: (generatorEnd - generatorStart) / published.elapsed,
  };
}

// The targets to measure, each checked once: a missing peer is named in the report, not run.
const targets = [];
const missingPeers = [];
for (const [key, definition] of Object.entries(TARGETS)) {
  if (onlyTargets.length ? !onlyTargets.includes(key) : definition.explicit) continue;
  const missing = await definition.missing?.();
  if (missing) missingPeers.push(`${definition.name}: ${missing}`);
  else targets.push([key, definition]);
}

const runs = new Map();
for (let round = 1; round <= ROUNDS; round++) {
  for (const scenario of scenarios) {
    for (const [key, definition] of targets) {
      if (definition.scenarios && !definition.scenarios.includes(scenario.id)) continue;
      process.stderr.write(`round ${round}/${ROUNDS} ${scenario.id} ${definition.name} ...\n`);
      const target = await definition.start(scenario);
      try {
        const result = await runScenario(scenario, target);
        const id = `${scenario.id}/${key}`;
        if (!runs.has(id)) runs.set(id, { scenario, key, name: definition.name, rounds: [] });
        runs.get(id).rounds.push(result);
      } finally {
        await target.stop();
      }
      await sleep(1000);
    }
  }
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const sum = (values) => values.reduce((total, value) => total + value, 0);
/** One row per scenario and target: counts summed over the rounds, rates, latencies, memory and CPU their medians. */
const rows = [...runs.values()].map(({ rounds, ...run }) => ({
  ...run,
  rounds,
  subscribers: Math.min(...rounds.map((result) => result.subscribers)),
  refused: Math.max(...rounds.map((result) => result.refused)),
  expected: sum(rounds.map((result) => result.expected)),
  delivered: sum(rounds.map((result) => result.delivered)),
  loss: sum(rounds.map((result) => result.loss)),
  ...Object.fromEntries(
    [
      'connectSeconds',
      'publishRate',
      'deliveredPerSecond',
      'wirePerMessage',
      'p50',
      'p90',
      'p99',
      'serverP99',
      'max',
      'rssPerConnection',
      'cpu',
      'generatorCpu',
    ].map((field) => [field, median(rounds.map((result) => result[field]))]),
  ),
}));

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const kb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)}` : '-');
const lines = [];
lines.push(
  `# Fan-out benchmark`,
  '',
  'Written by tests/bench/fanout/run.mjs; analysis and history in docs/ARCHITECTURE.md (Performance).',
  '',
);
lines.push(
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; date ${new Date().toISOString()}.`,
);
lines.push(
  `Command: \`npm run bench:fanout\` (${ROUNDS} rounds of ${DURATION_S} s of publishing per scenario and target, targets taking turns; load generator, publisher and server share the machine). Counts are summed over the rounds; rates, latencies, memory and CPU are the median of the rounds. Generator CPU (subscriber workers and publisher, of 200 %) near the machine's limit means the row measures the generator more than the target. Server p99: the bucket of our service's own latency histogram (accept → socket write) that holds its 99th percentile over the same seconds, its share of the end-to-end tail.`,
  '',
);
if (missingPeers.length) lines.push(`Peers not measured: ${missingPeers.join('; ')}.`, '');
lines.push(
  '| scenario | target | subscribers (refused) | connected in s | published msg/s | expected | delivered | loss | delivered msg/s | wire bytes/msg | p50 ms | p90 ms | p99 ms | server p99 ms | max ms | p99 per round | RSS KB/conn | server CPU | generator CPU |',
);
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  lines.push(
    `| ${row.scenario.id} | ${row.name} | ${row.subscribers} (${row.refused}) | ${fmt(row.connectSeconds, 2)} | ${fmt(row.publishRate, 0)} | ${row.expected} | ${row.delivered} | ${row.loss} | ${fmt(row.deliveredPerSecond, 0)} | ${fmt(row.wirePerMessage, 0)} | ${fmt(row.p50, 2)} | ${fmt(row.p90, 2)} | ${fmt(row.p99, 2)} | ${Number.isFinite(row.serverP99) ? `≤ ${fmt(row.serverP99, 1)}` : '-'} | ${fmt(row.max, 1)} | ${row.rounds.map((result) => fmt(result.p99, 1)).join(' / ')} | ${kb(row.rssPerConnection)} | ${fmt(row.cpu * 100, 0)}% | ${fmt(row.generatorCpu * 100, 0)}% |`,
  );
}
lines.push('', '## Ratios of data-streaming-api to each peer (medians of the same run)', '');
lines.push('| scenario | peer | p99 ratio (lower is better) | delivered msg/s ratio (higher is better) | RSS/conn ratio |');
lines.push('|---|---|---|---|---|');
for (const scenario of scenarios) {
  const ours = rows.find((row) => row.scenario === scenario && row.key === 'ours');
  for (const peer of rows.filter((row) => row.scenario === scenario && row.key !== 'ours' && row.key !== 'ours2')) {
    if (!ours) continue;
    lines.push(
      `| ${scenario.id} | ${peer.name} | ${fmt(ours.p99 / peer.p99, 2)} | ${fmt(ours.deliveredPerSecond / peer.deliveredPerSecond, 2)} | ${fmt(ours.rssPerConnection / peer.rssPerConnection, 2)} |`,
    );
  }
}
const one = rows.find((row) => row.scenario.id === 'S1' && row.key === 'ours');
const two = rows.find((row) => row.scenario.id === 'S1' && row.key === 'ours2');
if (one && two) {
  lines.push(
    '',
    '## Two instances sharing Redis (S1 load: half the subscribers on each, publishing to the first)',
    '',
    '| | p50 ms | p99 ms | loss |',
    '|---|---|---|---|',
    `| one instance | ${fmt(one.p50, 2)} | ${fmt(one.p99, 2)} | ${one.loss} |`,
    `| two instances + Redis | ${fmt(two.p50, 2)} | ${fmt(two.p99, 2)} | ${two.loss} |`,
    `| cost of the Redis hop | ${fmt(two.p50 - one.p50, 2)} | ${fmt(two.p99 - one.p99, 2)} | |`,
  );
}
lines.push('', 'Scenarios:', ...scenarios.map((scenario) => `- ${scenario.id}: ${scenario.title}`));

// The goals of the fan-out issue, judged on this run.
const find = (id, key) => rows.find((row) => row.scenario.id === id && row.key === key);
/** In how many rounds `ours` beat the peer's run of the same round. */
const roundsWon = (ours, peer, beats) => {
  const paired = Math.min(ours.rounds.length, peer?.rounds.length ?? 0);
  const won = ours.rounds.slice(0, paired).filter((result, index) => beats(result, peer.rounds[index])).length;
  return `${won} of ${paired} rounds`;
};
/** S1 and S2: no loss, p99 at or below nchan's. */
const noLossAndNchanP99 = [
  'no loss, p99 at or below nchan',
  (ours, nchan) => ours.loss === 0 && nchan && ours.p99 <= nchan.p99,
  (ours, nchan) =>
    `loss ${ours.loss}, p99 ${fmt(ours.p99, 2)} ms vs nchan ${fmt(nchan?.p99, 2)} ms (at or below in ${roundsWon(ours, nchan, (a, b) => a.p99 <= b.p99)})`,
];
const goals = [
  ['S1', ...noLossAndNchanP99],
  ['S2', ...noLossAndNchanP99],
  [
    'S3',
    'at most 15 KB RSS per idle WebSocket',
    (ours) => ours.rssPerConnection <= 15 * 1024,
    (ours) => `${kb(ours.rssPerConnection)} KB per connection`,
  ],
  [
    'S4',
    'p99 under 30 ms',
    (ours) => ours.p99 < 30,
    (ours, nchan) =>
      `p99 ${fmt(ours.p99, 2)} ms (under 30 ms in ${ours.rounds.filter((result) => result.p99 < 30).length} of ${ours.rounds.length} rounds; nchan ${fmt(nchan?.p99, 2)} ms)`,
  ],
  [
    'S5',
    'delivered msg/s at least twice nchan',
    (ours, nchan) => nchan && ours.deliveredPerSecond >= 2 * nchan.deliveredPerSecond,
    (ours, nchan) =>
      `${fmt(ours.deliveredPerSecond, 0)} vs nchan ${fmt(nchan?.deliveredPerSecond, 0)} msg/s, of ${fmt(ours.publishRate * ours.subscribers, 0)} offered`,
  ],
];
// Compression (issue #14): each compressed scenario against its uncompressed twin, same target, same run.
for (const [on, off] of [
  ['C2', 'C1'],
  ['C4', 'C3'],
  ['C6', 'C5'],
  ['C8', 'C7'],
]) {
  goals.push([
    on,
    `compressed p99 within 2x of uncompressed (${off}), no loss`,
    (ours) => {
      const plain = find(off, 'ours');
      return plain !== undefined && ours.loss === 0 && ours.p99 <= 2 * plain.p99;
    },
    (ours, nchan) => {
      const plain = find(off, 'ours');
      return (
        `p99 ${fmt(ours.p99, 2)} ms vs ${fmt(plain?.p99, 2)} ms uncompressed (the service's own: ≤ ${fmt(ours.serverP99, 1)} vs ≤ ${fmt(plain?.serverP99, 1)} ms); wire ${fmt(ours.wirePerMessage, 0)} vs ${fmt(plain?.wirePerMessage, 0)} bytes/msg; ` +
        `loss ${ours.loss}; nchan compressed p99 ${fmt(nchan?.p99, 2)} ms, ${fmt(nchan?.wirePerMessage, 0)} bytes/msg; ws floor compressed p99 ${fmt(find(on, 'floor')?.p99, 2)} ms`
      );
    },
  ]);
}
lines.push('', '## Goals, judged on this run', '', '| scenario | goal | met | figures |', '|---|---|---|---|');
for (const [id, goal, met, figures] of goals) {
  const ours = find(id, 'ours');
  if (!ours) continue;
  const nchan = find(id, 'nchan');
  lines.push(`| ${id} | ${goal} | ${met(ours, nchan) ? 'yes' : 'no'} | ${figures(ours, nchan)} |`);
}
const shortfalls = rows.filter((row) => row.publishRate < 0.95 * row.scenario.rate);
if (shortfalls.length) {
  lines.push(
    '',
    `Publisher below the scenario's rate (the generator, not the target, set the load): ${shortfalls
      .map((row) => `${row.scenario.id} ${row.name} ${fmt(row.publishRate, 0)} of ${row.scenario.rate} msg/s`)
      .join('; ')}.`,
  );
}
const report = lines.join('\n');
process.stdout.write(`\n${report}\n`);
const out = arg('out', join(ROOT, 'docs/BENCHMARKS.md'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${report}\n`);
process.stderr.write(`written to ${out}\n`);
