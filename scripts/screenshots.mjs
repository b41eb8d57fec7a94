#!/usr/bin/env node
// Regenerates docs/screenshots/: every page of the console, at 1280 x 800 in the light and the dark theme and the
// overview at phone width, from the built service with the demo generator on (Debian's Chromium through
// playwright-core). Usage: npm run screenshots (after npm ci; needs /usr/bin/chromium).
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, sleep, startService } from '../tests/system/helpers.mjs';

const require = createRequire(join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const OUT = join(ROOT, 'docs/screenshots');
mkdirSync(OUT, { recursive: true });
const dashboards = readdirSync(join(ROOT, 'config/dashboards'))
  .filter((name) => name.endsWith('.json') && name !== 'dashboard.schema.json')
  .map((name) => name.replace(/\.json$/, ''));
const pages = [
  ['overview', '/'],
  ...dashboards.map((type) => [`dashboard-${type}`, `/console/dashboards/${type}`]),
  ['streams', '/console/streams?source=ws:metrics_updates'],
  ['notifications', '/console/notifications'],
  ['health', '/console/health'],
];

const service = await startService({ DATA_STREAMING_DEMO_ENABLED: 'true' });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  // Let the demo fill the graphs for a while: 30 s of live data; a few notifications for the feed, as an operator's
  // test sends would make them (the demo's rules fire only when its figures cross their thresholds).
  await sleep(30_000);
  for (const [priority, message] of [
    ['info', 'Nightly index rebuild finished'],
    ['warning', 'GPU memory above 85 % on gpu-node-03'],
    ['critical', 'Error rate above 5 % for llama-3.1-70b-instruct'],
  ])
    await fetch(`${service.http}/notifications/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'operator.test', message, channel: 'websocket', priority }),
    });
  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
    for (const [name, path] of pages) {
      const page = await context.newPage();
      await page.goto(`${service.http}${path}`);
      await page.waitForSelector('.badge.open, .health-summary.healthy', { timeout: 10_000 });
      await sleep(3000);
      await page.screenshot({ path: join(OUT, `${name}-${scheme}.png`), fullPage: true });
      await page.close();
    }
    await context.close();
  }
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${service.http}/`);
  await phone.waitForSelector('.tile dd', { timeout: 10_000 });
  await sleep(2000);
  await phone.screenshot({ path: join(OUT, 'overview-phone.png'), fullPage: true });
  // The sign-in page, as a service with API keys configured shows it (a key refused, as a wrong key leaves it).
  const keyed = await startService({ DATA_STREAMING_API_KEYS: 'screenshot-reader-key-0123456789:read' });
  try {
    const signIn = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn.goto(`${keyed.http}/`);
    await signIn.waitForSelector('#sign-in', { timeout: 10_000 });
    await signIn.keyboard.type('not-a-key-of-this-service');
    await signIn.keyboard.press('Enter');
    await signIn.waitForSelector('.send-result.bad', { timeout: 10_000 });
    await signIn.screenshot({ path: join(OUT, 'sign-in-light.png'), fullPage: true });
  } finally {
    await keyed.stop();
  }
  process.stdout.write(`screenshots written to ${OUT}\n`);
} finally {
  await browser.close();
  await service.stop();
}
