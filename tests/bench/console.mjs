#!/usr/bin/env node
// The console in a real browser (Debian's Chromium through playwright-core): publish-to-painted latency on the
// streams page at 10 and 100 events/s, beside a floor measured in the same run (a bare WebSocket in the same browser
// appending one element per event: what any page pays), and the page's JavaScript heap at the start and after
// `--minutes` (default 10) of live data: a dashboard page on the demo generator and the streams page at 100 events/s,
// heap read after a forced garbage collection. The start is taken after `--warmup` minutes (default 5) of the page
// open: in the first minutes V8 compiles and optimizes the page's code (a heap snapshot diff of the dashboard page
// between 20 s and 5 min: +213 KB of the +206 KB is code), which is the engine's warm-up and not the page's data;
// the readings from the page's opening are printed too. Rate limits are off (one publisher on one address would
// measure the limiter). Writes docs/BENCHMARKS-CONSOLE.md.
// Usage: node tests/bench/console.mjs [--minutes 10] [--warmup 5] [--seconds 20] [--out FILE]
//
// "Painted": each event's element is observed entering the page (MutationObserver); the time taken is that of the
// first task after the next animation frame (requestAnimationFrame, then a MessageChannel message), which runs once
// the frame holding the element has been produced. The browser's clock and the publisher's are the machine's.
import { existsSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, post, startBuiltService } from './service.mjs';

const CHROMIUM = '/usr/bin/chromium';
const arg = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : process.argv[index + 1];
};
const MINUTES = Math.min(Number(arg('minutes', 10)), 60);
const WARMUP = Math.min(Number(arg('warmup', 5)), 30);
const SECONDS = Math.min(Number(arg('seconds', 20)), 120);
const OUT = arg('out', join(ROOT, 'docs/BENCHMARKS-CONSOLE.md'));
const RATES = [10, 100];
const DASHBOARD = 'operational_overview';
const CHANNEL = 'business_events';

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
const { chromium } = createRequire(join(ROOT, 'package.json'))('playwright-core');

/** In the page: when each element with a data-id enters `selector`, the time after its frame, by id. */
function observePaints(selector) {
  window.paintedAt = {};
  const channel = new MessageChannel();
  let waiting = [];
  channel.port1.onmessage = () => {
    const at = performance.timeOrigin + performance.now();
    for (const id of waiting) window.paintedAt[id] ??= at;
    waiting = [];
  };
  new MutationObserver((records) => {
    const ids = records.flatMap((record) => [...record.addedNodes].map((node) => node.dataset?.id).filter(Boolean));
    if (ids.length === 0) return;
    if (waiting.length === 0) requestAnimationFrame(() => channel.port2.postMessage(0));
    waiting.push(...ids);
  }).observe(document.querySelector(selector), { childList: true });
}

/** In the page, the floor: a bare WebSocket to the channel appending one element per event, nothing else. */
function floorPage(url) {
  document.body.replaceChildren();
  const list = document.createElement('ol');
  list.className = 'events';
  document.body.append(list);
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.kind === 'welcome') resolve();
      for (const event of frame.kind === 'batch' ? frame.events : frame.kind === 'event' ? [frame] : []) {
        const item = document.createElement('li');
        item.dataset.id = event.id;
        item.textContent = JSON.stringify(event.data);
        list.prepend(item);
        while (list.childElementCount > 200) list.lastElementChild.remove();
      }
    };
  });
}

/** Publishes `count` events of `type` at `rate`/s on a schedule that does not drift; returns id → sent time. */
async function publishAt(service, rate, count, type) {
  const sentAt = new Map();
  const start = performance.timeOrigin + performance.now();
  const sends = [];
  for (let n = 0; n < count; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - (performance.timeOrigin + performance.now());
    if (wait > 0) await sleep(wait);
    const at = performance.timeOrigin + performance.now();
    const text = JSON.stringify({
      channel: CHANNEL,
      type,
      data: { n, model: 'llama-3.1-70b-instruct', tenant: `tenant-${n % 5}`, tokens: 412 + n },
    });
    sends.push(
      postForId(service.port, text).then((id) => {
        if (id) sentAt.set(id, at);
      }),
    );
  }
  await Promise.all(sends);
  return sentAt;
}

/** One POST /events (fetch keeps its connections alive); resolves with the event's id. */
async function postForId(port, text) {
  const response = await fetch(`http://127.0.0.1:${port}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  if (response.status !== 202) throw new Error(`POST /events answered ${response.status}: ${await response.text()}`);
  return (await response.json()).ids[0];
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (value) => (value === undefined ? '-' : value.toFixed(1));

/** Publish-to-painted on one page at one rate: p50, p99, max, and how many never painted. */
async function paintLatency(page, service, rate, label) {
  const type = `bench.paint.${label}.${rate}`;
  await page.evaluate(observePaints, '.events');
  const sentAt = await publishAt(service, rate, Math.round(rate * SECONDS), type);
  await page
    .waitForFunction((count) => Object.keys(window.paintedAt).length >= count, sentAt.size, { timeout: 10_000 })
    .catch(() => undefined);
  const paintedAt = await page.evaluate(() => window.paintedAt);
  const delays = [...sentAt]
    .map(([id, at]) => paintedAt[id] - at)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return {
    rate,
    label,
    events: sentAt.size,
    missing: sentAt.size - delays.length,
    p50: percentile(delays, 50),
    p90: percentile(delays, 90),
    p99: percentile(delays, 99),
    max: delays.at(-1),
  };
}

/** The page's used JS heap in bytes after a forced collection, and its DOM node count. */
async function heapOf(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return { used: usedSize, nodes: metrics.find((metric) => metric.name === 'Nodes')?.value };
}

const service = await startBuiltService({ DATA_STREAMING_DEMO_ENABLED: 'true' });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const latency = [];
const heap = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Publish-to-painted: the console's streams page (filtered to the bench's type), then the floor page.
  for (const rate of RATES) {
    const consolePage = await context.newPage();
    await consolePage.goto(`${service.http}/console/streams?source=ws:${CHANNEL}`);
    await consolePage.waitForSelector('.badge.open', { timeout: 10_000 });
    await consolePage.fill('#type-filter', `bench.paint.console.${rate}`);
    process.stdout.write(`publish-to-painted: console streams page at ${rate} events/s for ${SECONDS} s\n`);
    latency.push(await paintLatency(consolePage, service, rate, 'console'));
    await consolePage.close();

    const floor = await context.newPage();
    await floor.goto(`${service.http}/health`);
    await floor.evaluate(floorPage, `${service.ws}/ws/${CHANNEL}`);
    process.stdout.write(`publish-to-painted: floor page at ${rate} events/s for ${SECONDS} s\n`);
    latency.push(await paintLatency(floor, service, rate, 'floor'));
    await floor.close();
  }

  // The heap over minutes of live data: a dashboard on the demo generator, the streams page at 100 events/s.
  const dashboard = await context.newPage();
  await dashboard.goto(`${service.http}/console/dashboards/${DASHBOARD}`);
  const streams = await context.newPage();
  await streams.goto(`${service.http}/console/streams?source=ws:${CHANNEL}`);
  await Promise.all([dashboard, streams].map((page) => page.waitForSelector('.badge.open', { timeout: 10_000 })));
  const cdps = await Promise.all([dashboard, streams].map((page) => context.newCDPSession(page)));
  for (const cdp of cdps) await cdp.send('Performance.enable');
  const end = Date.now() + (WARMUP + MINUTES) * 60_000 + 30_000;
  let stopped = false;
  const load = (async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const text = JSON.stringify({
      channel: CHANNEL,
      type: 'bench.heap',
      data: { model: 'llama-3.1-8b-instruct', tokens: 512, pad: 'x'.repeat(300) },
    });
    for (let n = 0; !stopped && Date.now() < end; n++) {
      await post(agent, service.port, '/events', text);
      await sleep(10);
    }
    agent.destroy();
  })();
  await sleep(20_000); // warm-up: graphs fill their windows, the stream list fills to what it keeps
  const startedAt = Date.now();
  for (let minute = 0; ; minute++) {
    const [onDashboard, onStreams] = await Promise.all(cdps.map(heapOf));
    heap.push({ minute, dashboard: onDashboard, streams: onStreams });
    process.stdout.write(
      `heap at ${minute} min: dashboard ${(onDashboard.used / 1048576).toFixed(2)} MB (${onDashboard.nodes} nodes), streams ${(onStreams.used / 1048576).toFixed(2)} MB (${onStreams.nodes} nodes)\n`,
    );
    if (minute >= WARMUP + MINUTES) break;
    await sleep(Math.max(0, startedAt + (minute + 1) * 60_000 - Date.now()));
  }
  stopped = true;
  await load;
  await context.close();
} finally {
  await browser.close();
  await service.stop();
}

const mb = (bytes) => (bytes / 1048576).toFixed(2);
const opened = heap[0];
const first = heap[WARMUP];
const last = heap.at(-1);
const fromOpen = (page) => (((last[page].used - opened[page].used) / opened[page].used) * 100).toFixed(1);
const growth = (page) => (last[page].used - first[page].used) / first[page].used;
// "Must not grow": the heap at the end within 5 % of the start (a collector's noise), judged per page.
const heapMet = ['dashboard', 'streams'].every((page) => growth(page) <= 0.05);
const report = `# Console benchmark (issue #16)

Written by \`node tests/bench/console.mjs --minutes ${MINUTES} --warmup ${WARMUP} --seconds ${SECONDS}\` (also part of \`npm run bench\`) on
${new Date().toISOString()}. Host: ${cpus().length} x ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node
${process.version}; Debian Chromium headless (\`--headless --no-sandbox --disable-gpu --disable-background-networking\`)
through playwright-core, on the built service with the demo generator on and rate limits off.

## Publish-to-painted

From \`POST /events\` sent to the event's element in a produced frame (MutationObserver, then the first task after
the next animation frame). The console's streams page (\`/console/streams?source=ws:${CHANNEL}\`, filtered to the
bench's type, pretty-printed JSON) beside the floor: a bare WebSocket in the same browser that appends one element per
event. ${SECONDS} s at each rate.

| page | events/s | events | not painted | p50 ms | p90 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|---|
${latency.map((row) => `| ${row.label === 'console' ? 'console streams page' : 'floor (bare WebSocket)'} | ${row.rate} | ${row.events} | ${row.missing} | ${ms(row.p50)} | ${ms(row.p90)} | ${ms(row.p99)} | ${ms(row.max)} |`).join('\n')}

## JavaScript heap over ${MINUTES} minutes of live data

Used heap after a forced garbage collection (CDP \`HeapProfiler.collectGarbage\`, \`Runtime.getHeapUsage\`), each
minute from 20 s after the pages opened: \`/console/dashboards/${DASHBOARD}\` on the demo generator, and the streams
page while \`POST /events\` adds about 100 events/s. The start is minute ${WARMUP}: before it V8 is still compiling and
optimizing the page's code (code space grows, the page's data does not). Goal: it does not grow (minute
${WARMUP + MINUTES} within 5 % of minute ${WARMUP}): **${heapMet ? 'met' : 'not met'}** (dashboard
${(growth('dashboard') * 100).toFixed(1)} %, streams ${(growth('streams') * 100).toFixed(1)} %; from the pages' opening,
warm-up included: dashboard ${fromOpen('dashboard')} %, streams ${fromOpen('streams')} %).

| minute | dashboard heap MB | dashboard DOM nodes | streams heap MB | streams DOM nodes |
|---|---|---|---|---|
${heap.map((row) => `| ${row.minute}${row.minute < WARMUP ? ' (warm-up)' : ''} | ${mb(row.dashboard.used)} | ${row.dashboard.nodes} | ${mb(row.streams.used)} | ${row.streams.nodes} |`).join('\n')}
`;
writeFileSync(OUT, report);
process.stdout.write(`${report}\nwritten to ${OUT}\n`);
