#!/usr/bin/env node
// What durable history costs: POST /events requests per second (nothing subscribed) and delivered messages per
// second (50 WebSocket subscribers, a publisher going flat out) with storage.durability memory, disk (the default)
// and fsync, in the same run, rounds taking turns. The goal (issue #13): the default costs under 15 % of memory's
// figures. A fourth row, disk with performance.heap_compaction off, tells what V8's compaction on every full
// collection (on by default, for steady memory) costs. Rate limits are off (one load generator on one address would measure the limiter). Writes
// docs/BENCHMARKS-DURABILITY.md. Usage: node tests/bench/durability.mjs [--rounds 3] [--seconds 4] [--out FILE]
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT, postFlatOut, startBuiltService } from './service.mjs';

const arg = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : process.argv[index + 1];
};
const ROUNDS = Math.min(Number(arg('rounds', 3)), 10);
const SECONDS = Math.min(Number(arg('seconds', 4)), 60);
const OUT = arg('out', join(ROOT, 'docs/BENCHMARKS-DURABILITY.md'));
const COMPACTION_OFF = 'disk, heap compaction off';
/** Each row: its name and the environment it adds to the bench's. */
const MODES = {
  memory: { DATA_STREAMING_DURABILITY: 'memory' },
  disk: { DATA_STREAMING_DURABILITY: 'disk' },
  fsync: { DATA_STREAMING_DURABILITY: 'fsync' },
  [COMPACTION_OFF]: { DATA_STREAMING_DURABILITY: 'disk', DATA_STREAMING_HEAP_COMPACTION: 'false' },
};
const NAMES = Object.keys(MODES);
const CONNECTIONS = 16;
const SUBSCRIBERS = 50;
const body = { channel: 'metrics_updates', type: 'bench', data: { sequence: 1, model: 'llama-3.1-8b-instruct', pad: 'x'.repeat(200) } };

// Subscribers in a thread of their own, so that their reading does not slow the publisher's loop: they count the
// events they receive (batch frames hold several), permessage-deflate off (compression is a cost of its own).
const SUBSCRIBER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.ws);
let events = 0;
const sockets = [];
let open = 0;
for (let index = 0; index < workerData.count; index++) {
  const socket = new WebSocket(workerData.url, { perMessageDeflate: false });
  socket.on('open', () => { if (++open === workerData.count) parentPort.postMessage({ open }); });
  socket.on('message', (data) => {
    const text = String(data);
    for (let at = text.indexOf('"kind":"event"'); at >= 0; at = text.indexOf('"kind":"event"', at + 1)) events++;
  });
  sockets.push(socket);
}
parentPort.on('message', (command) => {
  if (command === 'count') parentPort.postMessage({ events });
  if (command === 'close') { for (const socket of sockets) socket.terminate(); parentPort.postMessage({ closed: true }); }
});`;

function subscribers(url) {
  const worker = new Worker(SUBSCRIBER_THREAD, {
    eval: true,
    workerData: { url, count: SUBSCRIBERS, ws: join(ROOT, 'node_modules/ws/index.js') },
  });
  const next = () => new Promise((done) => worker.once('message', done));
  return {
    ready: next(),
    count: async () => {
      worker.postMessage('count');
      return (await next()).events;
    },
    close: async () => {
      worker.postMessage('close');
      await next();
      await worker.terminate();
    },
  };
}

async function round(mode) {
  const service = await startBuiltService(MODES[mode]);
  try {
    const ingest = await postFlatOut(service.port, { seconds: SECONDS, connections: CONNECTIONS, body });
    const readers = subscribers(`${service.ws}/ws/metrics_updates`);
    await readers.ready;
    const before = await readers.count();
    const published = await postFlatOut(service.port, { seconds: SECONDS, connections: CONNECTIONS, body });
    // Let the last bursts arrive (bounded).
    let delivered = (await readers.count()) - before;
    for (let wait = 0; wait < 20 && delivered < published.accepted * SUBSCRIBERS; wait++) {
      await new Promise((done) => setTimeout(done, 100));
      delivered = (await readers.count()) - before;
    }
    await readers.close();
    return {
      requests: ingest.accepted / SECONDS,
      refused: ingest.refused + published.refused,
      delivered: delivered / SECONDS,
      lost: published.accepted * SUBSCRIBERS - delivered,
    };
  } finally {
    await service.stop();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = Object.fromEntries(NAMES.map((mode) => [mode, []]));
for (let index = 0; index < ROUNDS; index++) {
  for (const mode of NAMES) {
    const result = await round(mode);
    results[mode].push(result);
    process.stdout.write(
      `round ${index + 1} ${mode}: ${Math.round(result.requests)} requests/s, ${Math.round(result.delivered)} delivered msg/s (lost ${result.lost})\n`,
    );
  }
}

const figures = Object.fromEntries(
  NAMES.map((mode) => [
    mode,
    {
      requests: median(results[mode].map((result) => result.requests)),
      delivered: median(results[mode].map((result) => result.delivered)),
      lost: results[mode].reduce((sum, result) => sum + result.lost, 0),
      refused: results[mode].reduce((sum, result) => sum + result.refused, 0),
    },
  ]),
);
const cost = (mode, field) => 1 - figures[mode][field] / figures.memory[field];
const percent = (value) => `${(value * 100).toFixed(1)} %`;
const rows = NAMES.map((mode) => {
  const perRound = (field) => results[mode].map((result) => Math.round(result[field])).join(' / ');
  return `| ${mode}${mode === 'disk' ? ' (default)' : ''} | ${Math.round(figures[mode].requests)} | ${perRound('requests')} | ${mode === 'memory' ? '' : percent(cost(mode, 'requests'))} | ${Math.round(figures[mode].delivered)} | ${perRound('delivered')} | ${mode === 'memory' ? '' : percent(cost(mode, 'delivered'))} | ${figures[mode].lost} |`;
});
const met = cost('disk', 'requests') < 0.15 && cost('disk', 'delivered') < 0.15;
const cpu = cpus();
const report = [
  '# Durable history: what it costs',
  '',
  'Written by tests/bench/durability.mjs; the design is in docs/ARCHITECTURE.md (Durable history).',
  '',
  `Machine: ${cpu.length} x ${cpu[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; date ${new Date().toISOString()}.`,
  `Command: \`node tests/bench/durability.mjs --rounds ${ROUNDS} --seconds ${SECONDS}\` (also part of \`npm run bench\`). Each round starts the built service afresh per mode, the modes taking turns;`,
  `the table shows the median of ${ROUNDS} rounds and each round. Requests: ${CONNECTIONS} keep-alive connections posting one ~300-byte event each, as fast as answered, for ${SECONDS} s, nothing subscribed.`,
  `Delivered: the same publisher with ${SUBSCRIBERS} WebSocket subscribers (permessage-deflate off) reading in another thread; messages delivered per second, summed over subscribers. Rate limits off.`,
  '',
  '| durability | POST /events requests/s | per round | cost | delivered msg/s | per round | cost | lost |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  `Goal (the default costs under 15 %): ${met ? 'met' : 'not met'}: requests ${percent(cost('disk', 'requests'))}, delivered ${percent(cost('disk', 'delivered'))}.`,
  `Heap compaction on every full GC (performance.heap_compaction, on by default; every row but the last has it): disk against disk without it, requests ${percent(1 - figures.disk.requests / figures[COMPACTION_OFF].requests)}, delivered ${percent(1 - figures.disk.delivered / figures[COMPACTION_OFF].delivered)}.`,
  '',
].join('\n');
writeFileSync(OUT, report);
process.stdout.write(`\n${report}`);
