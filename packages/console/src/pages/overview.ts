/**
 * The overview: a tile per dashboard definition with its live state (the first few stat and gauge values, when it
 * last updated, whether it is live), and the service's own tile (streaming latency of the last minute, dashboard update
 * interval, connections by transport, notification delivery rate, messages per second), from the status API every
 * few seconds.
 */
import type {
  DashboardData,
  DashboardList,
  DashboardUpdate,
  DashboardsStatus,
  LatencyFigures,
  NotificationsStatus,
  PanelData,
  StreamsStatus,
} from '@data-streaming/protocol';
import { getJson, liveClient } from '../api';
import { clear, h } from '../dom';
import { age, formatValue } from '../format';
import { scalarOf } from '../panels';
import { liveBadge, type Page } from '../shell';

const SERVICE_POLL_MS = 2000;
const TILE_VALUES = 3;

function dashboardTile(item: DashboardList['dashboards'][number]): { element: HTMLElement; dispose: () => void } {
  const badge = liveBadge();
  const values = h('dl', { class: 'tile-values' });
  const updated = h('p', { class: 'age' }, 'waiting for data');
  const panels = new Map<string, PanelData>();
  let lastUpdate: number | undefined;
  const render = (): void => {
    clear(values);
    const shown = [...panels.values()].filter((panel) => panel.panel_type === 'stat' || panel.panel_type === 'gauge').slice(0, TILE_VALUES);
    for (const panel of shown)
      values.append(h('dt', {}, panel.title), h('dd', { 'data-panel': panel.panel_id }, formatValue(scalarOf(panel.value), panel.unit)));
  };
  const merge = (list: readonly PanelData[], at: number): void => {
    for (const panel of list) panels.set(panel.panel_id, panel);
    lastUpdate = at;
    render();
  };
  const subscription = liveClient().subscribe(`dashboards/${item.dashboard}`, {
    onSnapshot: (data) => merge((data as DashboardData).panels, Date.parse((data as DashboardData).updated_at ?? '') || Date.now()),
    onEvent: (event) => {
      if (event.type === 'dashboard.update') merge((event.data as DashboardUpdate).panels, Date.parse(event.timestamp));
    },
    onStatus: badge.set,
  });
  const timer = setInterval(() => {
    if (lastUpdate !== undefined) updated.textContent = `updated ${age(lastUpdate)} ago · every ${item.update_frequency} s`;
  }, 1000);
  const element = h(
    'a',
    { class: 'tile', href: `/console/dashboards/${encodeURIComponent(item.dashboard)}`, 'data-dashboard': item.dashboard },
    h('div', { class: 'tile-head' }, h('h2', {}, item.title), badge.element),
    h('p', { class: 'muted' }, `${item.panels} panels · ${item.data_sources.join(', ')}`),
    values,
    updated,
  );
  return {
    element,
    dispose: () => {
      clearInterval(timer);
      subscription.unsubscribe();
    },
  };
}

function latencyText(figures: LatencyFigures): string {
  return figures.samples === 0 ? 'no deliveries' : `p50 ${formatValue(figures.p50_ms, 'ms')} · p99 ${formatValue(figures.p99_ms, 'ms')}`;
}

function serviceTile(): { element: HTMLElement; dispose: () => void } {
  const values = h('dl', { class: 'tile-values' });
  const updated = h('p', { class: 'age' }, 'waiting for data');
  // The delivery rate: notifications delivered between two readings of the counter.
  let previous: { delivered: number; at: number } | undefined;
  const refresh = async (): Promise<void> => {
    try {
      const [streams, dashboards, notifications] = await Promise.all([
        getJson<StreamsStatus>('/streams/status'),
        getJson<DashboardsStatus>('/dashboards/status'),
        getJson<NotificationsStatus>('/notifications/status'),
      ]);
      const rate = Object.values(streams.channels).reduce((sum, channel) => sum + channel.messages_per_second, 0);
      const intervals = Object.values(dashboards.dashboards)
        .map((item) => item.last_update_interval_seconds)
        .filter((value): value is number => value !== null);
      const connections = streams.connections as Record<string, number>;
      const now = Date.now();
      const deliveryRate =
        previous && now > previous.at ? (notifications.delivered - previous.delivered) / ((now - previous.at) / 1000) : null;
      previous = { delivered: notifications.delivered, at: now };
      clear(values);
      values.append(
        h('dt', {}, `Streaming latency, WebSocket (${streams.latency.window_seconds} s)`),
        h('dd', { 'data-figure': 'latency-websocket' }, latencyText(streams.latency.websocket)),
        h('dt', {}, `Streaming latency, SSE (${streams.latency.window_seconds} s)`),
        h('dd', { 'data-figure': 'latency-sse' }, latencyText(streams.latency.sse)),
        h('dt', {}, 'Connections by transport'),
        h(
          'dd',
          { 'data-figure': 'connections' },
          Object.entries(connections)
            .map(([transport, count]) => `${transport} ${count}`)
            .join(' · '),
        ),
        h('dt', {}, 'Messages per second'),
        h('dd', { 'data-figure': 'rate' }, formatValue(rate, 'short')),
        h('dt', {}, 'Dashboard update interval'),
        h(
          'dd',
          { 'data-figure': 'dashboard-interval' },
          intervals.length ? formatValue((intervals.reduce((a, b) => a + b, 0) / intervals.length) * 1000, 'ms') : 'No data',
        ),
        h('dt', {}, 'Notification delivery rate'),
        h(
          'dd',
          { 'data-figure': 'notifications' },
          `${deliveryRate === null ? 'measuring' : `${formatValue(Math.max(0, deliveryRate), 'short')}/s`} · ${notifications.delivered} delivered, ${notifications.failed} failed`,
        ),
      );
      updated.textContent = `updated ${new Date(streams.timestamp).toLocaleTimeString()}`;
    } catch (error) {
      updated.textContent = `status unavailable: ${(error as Error).message}`;
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), SERVICE_POLL_MS);
  return {
    element: h(
      'a',
      { class: 'tile service', href: '/console/health', 'data-dashboard': 'service' },
      h('div', { class: 'tile-head' }, h('h2', {}, 'Data Streaming and Live Dashboards')),
      h('p', { class: 'muted' }, 'the service itself'),
      values,
      updated,
    ),
    dispose: () => clearInterval(timer),
  };
}

export async function overviewPage(): Promise<Page> {
  const list = await getJson<DashboardList>('/dashboards');
  const tiles = [serviceTile(), ...list.dashboards.map(dashboardTile)];
  return {
    title: 'Overview',
    element: h(
      'div',
      { class: 'page overview' },
      h('h1', {}, 'Live dashboards'),
      h('div', { class: 'tiles' }, ...tiles.map((tile) => tile.element)),
    ),
    dispose: () => tiles.forEach((tile) => tile.dispose()),
  };
}
