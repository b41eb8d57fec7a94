// Compression and in-band refusals as a real browser sees them: Debian's Chromium (through playwright-core) opens a
// WebSocket (it offers permessage-deflate by default) and an EventSource (it sends Accept-Encoding: gzip) to the
// built service and decodes what the service compressed once per message; a WebSocket refused at the connection
// limit is seen by the page as close 1013 with the Retry-After in its reason, which is all a browser can read.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startService } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(join(ROOT, 'package.json'));

let browser;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: sudo apt-get install chromium`);
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(() => browser?.close());

/** Dashboard-like JSON of about `bytes` bytes. */
const payload = (sequence, bytes) => ({
  sequence,
  rows: Array.from({ length: Math.ceil(bytes / 60) }, (_, index) => ({ model: `model-${index % 7}`, p99_ms: index * 1.5 + sequence })),
});

test('Chromium decodes permessage-deflate frames and a gzip event stream made once per message', async () => {
  const service = await startService();
  const page = await browser.newPage();
  try {
    const sseResponse = page.waitForResponse((response) => response.url().includes('/sse/business_analytics'));
    await page.goto(`${service.http}/health`);
    await page.evaluate(() => {
      window.received = { ws: [], sse: [] };
      window.socket = new WebSocket(`ws://${location.host}/ws/business_events`);
      window.socket.onmessage = (message) => {
        const frame = JSON.parse(message.data);
        if (frame.kind === 'event') window.received.ws.push(frame.data);
        if (frame.kind === 'batch') window.received.ws.push(...frame.events.map((event) => event.data));
      };
      window.source = new EventSource('/sse/business_analytics');
      window.source.onmessage = (message) => window.received.sse.push(JSON.parse(message.data).data);
      return Promise.all([
        new Promise((resolve) => window.socket.addEventListener('message', resolve, { once: true })),
        new Promise((resolve) => window.source.addEventListener('welcome', resolve, { once: true })),
      ]);
    });
    const extensions = await page.evaluate(() => window.socket.extensions);
    const encoding = (await sseResponse).headers()['content-encoding'];

    const published = [...Array.from({ length: 10 }, (_, index) => payload(index, 2048)), payload(10, 16_384), payload(11, 100)];
    const events = published.map((data) => ({ channel: 'business_events', type: 'browser.test', data }));
    for (const body of [events.slice(0, 10), ...events.slice(10)]) {
      const response = await fetch(`${service.http}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 202);
    }
    await page.waitForFunction((count) => window.received.ws.length >= count && window.received.sse.length >= count, published.length, {
      timeout: 10_000,
    });
    const received = await page.evaluate(() => window.received);
    process.stdout.write(`browser: Chromium negotiated "${extensions}" on WebSocket and Content-Encoding "${encoding}" on SSE\n`);
    assert.match(extensions, /permessage-deflate/);
    assert.equal(encoding, 'gzip');
    assert.deepEqual(received.ws, published);
    assert.deepEqual(received.sse, published);
  } finally {
    await page.close();
    await service.stop();
  }
});

test('a browser refused at the connection limit sees close 1013 with the Retry-After', async () => {
  const service = await startService({ WEBSOCKET_MAX_CONNECTIONS: '1' });
  const page = await browser.newPage();
  try {
    await page.goto(`${service.http}/health`);
    const closed = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const first = new WebSocket(`ws://${location.host}/ws/metrics_updates`);
          first.onopen = () => {
            const second = new WebSocket(`ws://${location.host}/ws/metrics_updates`);
            second.onclose = (event) => resolve({ code: event.code, reason: event.reason });
          };
        }),
    );
    process.stdout.write(`browser: the refused WebSocket closed with ${closed.code} ${closed.reason}\n`);
    assert.equal(closed.code, 1013);
    assert.deepEqual(JSON.parse(closed.reason), { code: 'max_connections', retry_after_seconds: 5 });
  } finally {
    await page.close();
    await service.stop();
  }
});
