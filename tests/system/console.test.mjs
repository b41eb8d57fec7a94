// The browser console as a person opens it: Debian's Chromium (playwright-core) on the built service with the demo
// generator on, nothing else installed. The overview shows every dashboard of config/dashboards/ and the service's
// own tile with live values; each dashboard page shows every panel with a value within 5 s and the values change at
// the dashboard's update interval; an unknown dashboard says so; the service restarted under an open dashboard page
// leaves the panels with their data and they resume; the Content-Security-Policy holds (no inline script or style);
// the page logs no error. Screenshots go to a temporary directory (their paths are printed).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, freePort, sleep, startService } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(join(ROOT, 'package.json'));
const DASHBOARDS = readdirSync(join(ROOT, 'config/dashboards'))
  .filter((name) => name.endsWith('.json') && name !== 'dashboard.schema.json')
  .map((name) => JSON.parse(readFileSync(join(ROOT, 'config/dashboards', name), 'utf8')));
const SHOTS = mkdtempSync(join(tmpdir(), 'dsa-console-'));

let browser;
let service;
let env;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: sudo apt-get install chromium`);
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  env = {
    DATA_STREAMING_DEMO_ENABLED: 'true',
    DATA_STREAMING_API_PORT: String(await freePort()),
    DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-console-data-')),
  };
  service = await startService(env);
});
after(async () => {
  await browser?.close();
  await service?.stop();
  process.stdout.write(`console screenshots: ${SHOTS}\n`);
});

/** A page that records every error it logs, every uncaught exception and every CSP violation. */
async function openPage(path, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${service.http}${path}`);
  return { page, errors };
}

/** The values a dashboard page shows, by panel: text of its stat/gauge value, table cells, or its graph's points. */
const panelValues = (page) =>
  page.$$eval('[data-panel]', (panels) =>
    Object.fromEntries(
      panels.map((panel) => [
        panel.dataset.panel,
        panel.querySelector('.chart')?.dataset.points ??
          [...panel.querySelectorAll('[data-value]')].map((cell) => cell.textContent).join('|'),
      ]),
    ),
  );

describe('the console', () => {
  test('serves / with a strict Content-Security-Policy, hashed assets cached as immutable and compressed', async () => {
    const response = await fetch(`${service.http}/`);
    assert.equal(response.status, 200);
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await response.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${service.http}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(asset.headers.get('content-encoding'), 'br');
    const deep = await fetch(`${service.http}/console/dashboards/system_health`);
    assert.equal(deep.status, 200);
    assert.equal((await fetch(`${service.http}/console/assets/nope.js`)).status, 404);
  });

  test('the overview shows every dashboard and the service, each with live values', async () => {
    const { page, errors } = await openPage('/');
    for (const definition of DASHBOARDS) {
      await page.waitForSelector(`.tile[data-dashboard="${definition.dashboard_type}"] .badge.open`, { timeout: 5000 });
      await page.waitForSelector(`.tile[data-dashboard="${definition.dashboard_type}"] dd`, { timeout: 5000 });
    }
    await page.waitForFunction(() => document.querySelector('[data-figure="connections"]')?.textContent?.includes('websocket'), null, {
      timeout: 5000,
    });
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  for (const definition of DASHBOARDS) {
    test(`${definition.dashboard_type}: every panel with a value within 5 s, changing at its update interval`, async () => {
      const { page, errors } = await openPage(`/console/dashboards/${definition.dashboard_type}`);
      const opened = Date.now();
      const ids = definition.panels.map((panel) => panel.panel_id);
      // Every panel of the definition, each with a value (a number, cells, or points): not "No data".
      await page
        .waitForFunction(
          (wanted) =>
            wanted.every((id) => {
              const panel = document.querySelector(`[data-panel="${id}"]`);
              if (!panel) return false;
              const chart = panel.querySelector('.chart');
              if (chart) return Number(chart.dataset.points ?? 0) > 0;
              const cells = [...panel.querySelectorAll('[data-value]')];
              return cells.length > 0 && cells.every((cell) => cell.dataset.value !== '');
            }),
          ids,
          { timeout: 5000 },
        )
        .catch(async (error) => {
          throw new Error(`not every panel had a value 5 s after opening: ${JSON.stringify(await panelValues(page))} (${error.message})`);
        });
      await page.waitForSelector('.badge.open', { timeout: 5000 });
      const first = await panelValues(page);
      assert.ok(Date.now() - opened < 5000 + 1000);
      // Two update intervals and a second: some value changed.
      await sleep(definition.update_frequency * 2000 + 1000);
      const later = await panelValues(page);
      assert.notDeepEqual(later, first, 'the values changed');
      await page.screenshot({ path: join(SHOTS, `${definition.dashboard_type}.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('an unknown dashboard shows a clear page; the phone-width overview stays readable', async () => {
    const { page, errors } = await openPage('/console/dashboards/no_such_dashboard');
    await page.waitForSelector('text=Unknown dashboard', { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'unknown.png') });
    await page.close();
    const phone = await openPage('/', { width: 390, height: 844 });
    await phone.page.waitForSelector('.tile dd', { timeout: 5000 });
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scroll at phone width (${overflow} px too wide)`);
    await phone.page.screenshot({ path: join(SHOTS, 'overview-phone.png'), fullPage: true });
    // The unknown dashboard's 404 is the page's own request: the console shows it, and the browser logs it.
    assert.deepEqual(
      errors.filter((text) => !/404/.test(text)),
      [],
    );
    assert.deepEqual(phone.errors, []);
    await phone.page.close();
  });

  test('an event sent with POST /events appears on the streams page: publish-to-visible over 200 events; pause and filters', async () => {
    const { page, errors } = await openPage('/console/streams?source=ws:business_events');
    await page.waitForSelector('.badge.open', { timeout: 5000 });
    await page.fill('#type-filter', 'console.probe');
    // When each event's element enters the page, by its id (the browser's clock and ours are the machine's).
    await page.evaluate(() => {
      window.visibleAt = {};
      new MutationObserver((records) => {
        for (const record of records)
          for (const node of record.addedNodes) if (node.dataset?.id) window.visibleAt[node.dataset.id] ??= Date.now();
      }).observe(document.querySelector('.events'), { childList: true });
    });
    const sentAt = new Map();
    for (let n = 0; n < 200; n++) {
      const at = Date.now();
      const response = await fetch(`${service.http}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'business_events', type: 'console.probe', data: { n } }),
      });
      assert.equal(response.status, 202);
      sentAt.set((await response.json()).ids[0], at);
      await sleep(20);
    }
    await page.waitForFunction((count) => Object.keys(window.visibleAt).length >= count, sentAt.size, { timeout: 10_000 });
    const visibleAt = await page.evaluate(() => window.visibleAt);
    const delays = [...sentAt].map(([id, at]) => visibleAt[id] - at).sort((a, b) => a - b);
    const percentile = (p) => delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))];
    process.stdout.write(
      `console streams page: publish-to-visible over ${delays.length} events p50 ${percentile(50)} ms, p99 ${percentile(99)} ms, max ${delays.at(-1)} ms\n`,
    );
    assert.ok(delays.every((delay) => Number.isFinite(delay)));
    // Only the filtered type is shown; pausing holds new events back and counts them; resuming shows them.
    const types = await page.$$eval('.event .event-head span:nth-child(2)', (spans) => [...new Set(spans.map((span) => span.textContent))]);
    assert.deepEqual(types, ['console.probe']);
    await page.click('#pause');
    const shownBefore = await page.$$eval('.event', (items) => items.length);
    const answer = await fetch(`${service.http}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'business_events', type: 'console.probe', data: { paused: true } }),
    });
    const [pausedId] = (await answer.json()).ids;
    await page.waitForFunction(() => /new while paused/.test(document.querySelector('[data-figure="counts"]').textContent), null, {
      timeout: 5000,
    });
    assert.equal(await page.$(`.event[data-id="${pausedId}"]`), null, 'nothing new is drawn while paused');
    assert.ok((await page.$$eval('.event', (items) => items.length)) === shownBefore);
    await page.click('#pause');
    await page.waitForSelector(`.event[data-id="${pausedId}"]`, { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'streams.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('keyboard only: a skip link, the navigation, the focus on the new page, the stream controls', async () => {
    const { page, errors } = await openPage('/');
    await page.waitForSelector('.tile dd', { timeout: 5000 });
    const focused = () =>
      page.evaluate(() => {
        const element = document.activeElement;
        return {
          tag: element?.tagName,
          id: element?.id,
          text: element?.textContent?.trim(),
          outline: getComputedStyle(element).outlineStyle,
        };
      });
    await page.keyboard.press('Tab');
    assert.deepEqual(
      await focused(),
      { tag: 'A', id: '', text: 'Skip to content', outline: 'solid' },
      'the first Tab reaches the skip link, outlined',
    );
    await page.keyboard.press('Enter');
    assert.equal((await focused()).id, 'main', 'the skip link moves the focus to the content');
    assert.equal(new URL(page.url()).pathname, '/', 'the skip link stays on the page');
    // Shift+Tab back into the navigation, to its Streams link, and open it with Enter.
    let steps = 0;
    for (; steps < 20 && (await focused()).text !== 'Streams'; steps++) await page.keyboard.press('Shift+Tab');
    assert.ok(steps < 20, 'the navigation links are reachable with the keyboard');
    assert.equal((await focused()).outline, 'solid', 'a focused link is outlined');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.page.streams .badge.open', { timeout: 5000 });
    assert.deepEqual(
      { tag: (await focused()).tag, text: (await focused()).text },
      { tag: 'H1', text: 'Streams' },
      'after a navigation the focus is on the new page',
    );
    await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'source', 'Tab goes on from the new page to its first control');
    for (steps = 0; steps < 10 && (await focused()).id !== 'pause'; steps++) await page.keyboard.press('Tab');
    assert.equal((await focused()).id, 'pause');
    await page.keyboard.press('Space');
    assert.equal(await page.getAttribute('#pause', 'aria-pressed'), 'true', 'Space pauses');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#pause', 'aria-pressed'), 'false', 'Enter resumes');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the streams page reads SSE streams and high-frequency streams too', async () => {
    const { page, errors } = await openPage('/console/streams');
    for (const source of ['sse:real_time_metrics', 'hf:system_metrics']) {
      await page.selectOption('#source', source);
      await page.waitForSelector('.badge.open', { timeout: 5000 });
      await page.waitForSelector('.event', { timeout: 5000 });
      assert.equal(new URL(page.url()).searchParams.get('source'), source);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the notifications page: the rules against their thresholds, the outbox, a test notification sent from the form and one from the API appear in the live feed by priority', async () => {
    const status = await (await fetch(`${service.http}/notifications/status`)).json();
    const { page, errors } = await openPage('/console/notifications');
    await page.waitForSelector('.badge.open', { timeout: 5000 });
    // Every configured rule, with each comparison of its condition read against the metric's current value.
    await page.waitForSelector('#rules [data-rule] .comparisons li', { timeout: 5000 });
    const rules = await page.$$eval('#rules [data-rule]', (rows) =>
      rows.map((row) => ({
        name: row.dataset.rule,
        state: row.dataset.state,
        comparisons: [...row.querySelectorAll('.comparisons li')].map((item) => item.textContent),
      })),
    );
    assert.deepEqual(
      rules.map((rule) => rule.name),
      status.rules.map((rule) => rule.name),
    );
    for (const rule of rules) {
      const [comparison] = status.rules.find((item) => item.name === rule.name).comparisons;
      assert.match(rule.comparisons[0], new RegExp(`^${comparison.metric} .+? \\${comparison.op} ${comparison.threshold}`));
    }
    // The form sends a critical test notification to websocket; the API sends a warning one to sse: both reach the feed.
    const marker = `console form ${Date.now()}`;
    await page.fill('#send-message', marker);
    await page.selectOption('#send-priority', 'critical');
    await page.selectOption('#send-channel', 'websocket');
    await page.click('#send-form button[type=submit]');
    await page.waitForSelector('.send-result.ok', { timeout: 5000 });
    const [, formId] = /Accepted: ([0-9a-f-]{36})/.exec(await page.textContent('.send-result'));
    const viaSse = await (
      await fetch(`${service.http}/notifications/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'console.probe', message: `${marker} over sse`, channel: 'sse', priority: 'warning' }),
      })
    ).json();
    for (const [id, priority] of [
      [formId, 'critical'],
      [viaSse.id, 'warning'],
    ]) {
      const item = await page.waitForSelector(`.notification[data-id="${id}"]`, { timeout: 5000 });
      assert.equal(await item.getAttribute('data-priority'), priority);
      assert.equal(await item.$eval('.pill', (pill) => pill.textContent), priority);
    }
    assert.match(await page.textContent(`.notification[data-id="${formId}"] .message`), new RegExp(marker));
    // Its deliveries, and the outbox counting the websocket delivery.
    await page.click(`.notification[data-id="${formId}"] button[aria-expanded]`);
    await page.waitForSelector(`.notification[data-id="${formId}"] .deliveries td`, { timeout: 5000 });
    assert.match(await page.textContent(`.notification[data-id="${formId}"] .deliveries tbody`), /websocket\s*delivered/);
    await page.waitForFunction(
      () => Number(document.querySelector('#outbox [data-channel="websocket"] [data-figure="delivered"]')?.textContent) >= 1,
      null,
      {
        timeout: 5000,
      },
    );
    // The priority filter hides the critical one and keeps the warning.
    await page.uncheck('input[data-filter="Priority"][value="critical"]');
    assert.equal(await page.$(`.notification[data-id="${formId}"]`), null);
    assert.notEqual(await page.$(`.notification[data-id="${viaSse.id}"]`), null);
    await page.check('input[data-filter="Priority"][value="critical"]');
    await page.screenshot({ path: join(SHOTS, 'notifications.png'), fullPage: true });
    // A page opened afterwards has both from history.
    const later = await openPage('/console/notifications');
    for (const id of [formId, viaSse.id]) await later.page.waitForSelector(`.notification[data-id="${id}"]`, { timeout: 5000 });
    // The health page shows connections against both limits.
    await later.page.goto(`${service.http}/console/health`);
    await later.page.waitForSelector('[data-connections="sse"]', { timeout: 5000 });
    const limits = await later.page.$$eval('[data-connections] td:last-child', (cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(limits, ['200', '100']);
    assert.deepEqual([...errors, ...later.errors], []);
    await later.page.close();
    await page.close();
  });

  test('the service restarted under an open dashboard: the panels keep their data and resume', async () => {
    const { page, errors } = await openPage('/console/dashboards/system_health');
    await page.waitForSelector('.badge.open', { timeout: 5000 });
    await sleep(6000);
    const before = await panelValues(page);
    await page.screenshot({ path: join(SHOTS, 'restart-before.png'), fullPage: true });
    await service.stop();
    await page.waitForSelector('.badge.reconnecting', { timeout: 5000 });
    // An update can land between the capture above and the moment the service stops; from here on nothing may change.
    const down = await panelValues(page);
    for (const [panel, value] of Object.entries(before)) {
      assert.ok(down[panel] !== '' && down[panel] !== undefined, `${panel} kept its data when the service went down`);
      if (/^\d+$/.test(value)) assert.ok(Number(down[panel]) >= Number(value), `${panel} kept its ${value} points`);
    }
    await sleep(3000);
    assert.deepEqual(await panelValues(page), down, 'nothing blanked or changed while the service was down');
    service = await startService(env);
    await page.waitForSelector('.badge.open', { timeout: 20_000 });
    await sleep(6000);
    const after = await panelValues(page);
    await page.screenshot({ path: join(SHOTS, 'restart-after.png'), fullPage: true });
    for (const [panel, value] of Object.entries(before)) {
      assert.ok(after[panel] !== '' && after[panel] !== undefined, `${panel} still shows data`);
      if (/^\d+$/.test(value))
        assert.ok(Number(after[panel]) >= Number(value), `${panel}: the graph kept its ${value} points (${after[panel]})`);
    }
    assert.notDeepEqual(after, before, 'the values moved on after the restart');
    // A socket refused while the service was down is logged by Chromium itself; nothing else may be.
    assert.deepEqual(
      errors.filter((text) => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(text)),
      [],
    );
    await page.close();
  });
});

describe('the console with API keys', () => {
  const READER = 'console-reader-key-0001';
  const PUBLISHER = 'console-publisher-key-01';
  let keyed;
  before(async () => {
    keyed = await startService({
      DATA_STREAMING_DEMO_ENABLED: 'true',
      DATA_STREAMING_API_PORT: String(await freePort()),
      DATA_STREAMING_DATA_DIR: mkdtempSync(join(tmpdir(), 'dsa-console-keys-')),
      DATA_STREAMING_API_KEYS: `${READER}:read,${PUBLISHER}:read+publish`,
    });
  });
  after(async () => keyed?.stop());

  test('asks for a key, refuses a wrong one, opens live pages with a read key and sends only with the publish scope', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${keyed.http}/`);
    await page.waitForSelector('#sign-in', { timeout: 5000 });
    assert.equal(await page.textContent('h1'), 'Sign in');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'api-key', 'the key field has the focus');
    // A wrong key is refused and not kept.
    await page.keyboard.type('not-a-key-of-this-service');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.send-result.bad', { timeout: 5000 });
    assert.match(await page.textContent('.send-result'), /refused this key/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    // The read key opens the overview, whose tiles go live over sockets with the tokens it grants.
    await page.fill('#api-key', READER);
    await page.click('#sign-in button[type=submit]');
    await page.waitForSelector('.tile[data-dashboard="system_health"] .badge.open', { timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/');
    assert.match(await page.textContent('[data-account="signed-in"]'), /read/);
    // Reading is not publishing: the form says so and does not send.
    await page.click('nav a[href="/console/notifications"]');
    await page.waitForSelector('#send-form', { timeout: 5000 });
    assert.equal(await page.$eval('#send-form button[type=submit]', (button) => button.disabled), true);
    assert.match(await page.textContent('.send-result'), /publish scope/);
    // Sign out, back in with the publishing key, and send.
    await page.click('nav button.link');
    await page.waitForSelector('#sign-in', { timeout: 5000 });
    await page.fill('#api-key', PUBLISHER);
    await page.click('#sign-in button[type=submit]');
    await page.waitForSelector('#send-form button[type=submit]:not([disabled])', { timeout: 5000 });
    assert.equal(new URL(page.url()).pathname, '/console/notifications');
    await page.waitForSelector('.badge.open', { timeout: 5000 });
    await page.click('#send-form button[type=submit]');
    await page.waitForSelector('.send-result.ok', { timeout: 5000 });
    const [, id] = /Accepted: ([0-9a-f-]{36})/.exec(await page.textContent('.send-result'));
    await page.waitForSelector(`.notification[data-id="${id}"]`, { timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'sign-in-notifications.png'), fullPage: true });
    // The keys are in no URL the page used and in no line the service logged.
    assert.ok(![READER, PUBLISHER].some((key) => page.url().includes(key)));
    assert.ok(![READER, PUBLISHER].some((key) => keyed.output().includes(key)), 'no key in the service log');
    // The wrong key's 401 is logged by Chromium itself; nothing else may be.
    assert.deepEqual(
      errors.filter((text) => !/status of 401/.test(text)),
      [],
    );
    await page.close();
  });
});
