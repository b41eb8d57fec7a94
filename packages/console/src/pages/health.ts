/**
 * Health: the checks of GET /health (the upstream pollers among them, as `upstream_<name>`), and connections against
 * their limits from GET /websocket/status and GET /streams/status, refreshed every two seconds.
 */
import type { Health, StreamsStatus, WebsocketStatus } from '@data-streaming/protocol';
import { apiKey, getJson } from '../api';
import { clear, h } from '../dom';
import type { Page } from '../shell';

const POLL_MS = 2000;

/** GET /health answers 503 with the same body when unhealthy: read it either way. */
async function health(): Promise<Health> {
  const key = apiKey.get();
  const response = await fetch('/health', { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return (await response.json()) as Health;
}

function detail(check: Record<string, unknown>): string {
  return Object.entries(check)
    .filter(([name]) => name !== 'status')
    .map(([name, value]) => `${name}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' · ');
}

export async function healthPage(): Promise<Page> {
  const summary = h('p', { class: 'health-summary', role: 'status' });
  const checks = h('tbody');
  const limits = h('tbody');
  const refresh = async (): Promise<void> => {
    try {
      const [body, websocket, streams] = await Promise.all([
        health(),
        getJson<WebsocketStatus>('/websocket/status'),
        getJson<StreamsStatus>('/streams/status'),
      ]);
      summary.className = `health-summary ${body.status}`;
      summary.textContent = `${body.status}${body.reasons?.length ? `: ${body.reasons.join('; ')}` : ''} · version ${body.version} · up ${body.uptime_seconds} s`;
      clear(checks);
      for (const [name, check] of Object.entries(body.checks)) {
        checks.append(
          h(
            'tr',
            { 'data-check': name },
            h('th', { scope: 'row' }, name),
            h('td', { class: `state ${check.status}` }, check.status),
            h('td', {}, detail(check)),
          ),
        );
      }
      clear(limits);
      limits.append(
        h(
          'tr',
          { 'data-connections': 'websocket' },
          h('th', { scope: 'row' }, 'WebSocket'),
          h('td', { class: 'num' }, String(websocket.connections)),
          h('td', { class: 'num' }, String(websocket.max_connections)),
        ),
        h(
          'tr',
          { 'data-connections': 'sse' },
          h('th', { scope: 'row' }, 'SSE'),
          h('td', { class: 'num' }, String(streams.connections.sse)),
          h('td', { class: 'num' }, String(streams.connection_limits.sse)),
        ),
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, 'Slow consumers closed'),
          h('td', { class: 'num' }, String(websocket.slow_consumer_disconnects)),
          h('td', {}, ''),
        ),
      );
    } catch (error) {
      summary.className = 'health-summary down';
      summary.textContent = `the service does not answer: ${(error as Error).message}`;
    }
  };
  await refresh();
  const timer = setInterval(() => void refresh(), POLL_MS);
  return {
    title: 'Health',
    element: h(
      'div',
      { class: 'page health' },
      h('h1', {}, 'Health'),
      summary,
      h('h2', {}, 'Checks'),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col' }, 'check'), h('th', { scope: 'col' }, 'state'), h('th', { scope: 'col' }, 'detail')),
        ),
        checks,
      ),
      h('h2', {}, 'Connections'),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            h('th', { scope: 'col', class: 'num' }, 'now'),
            h('th', { scope: 'col', class: 'num' }, 'limit'),
          ),
        ),
        limits,
      ),
    ),
    dispose: () => clearInterval(timer),
  };
}
