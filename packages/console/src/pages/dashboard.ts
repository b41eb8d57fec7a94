/**
 * A dashboard definition, live: every panel by its type with its title and unit, from GET /dashboards/{type}/data,
 * then `/ws/dashboards/{type}` from 15 minutes back (the update history fills the graphs, then live updates follow).
 * Each panel says how old its value is; when updates stop arriving the page says the data is stale instead of
 * freezing silently. A reconnect or a restart of the service keeps what is shown and resumes.
 */
import type { DashboardData, DashboardList, DashboardUpdate, PanelData } from '@data-streaming/protocol';
import { ApiFailure, getJson, liveClient } from '../api';
import { h } from '../dom';
import { age } from '../format';
import { panelView, type PanelView } from '../panels';
import { liveBadge, type Page } from '../shell';

const BACKFILL_MS = 15 * 60_000;

export async function dashboardPage(type: string): Promise<Page> {
  let data: DashboardData;
  let list: DashboardList;
  try {
    [data, list] = await Promise.all([
      getJson<DashboardData>(`/dashboards/${encodeURIComponent(type)}/data`),
      getJson<DashboardList>('/dashboards'),
    ]);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return unknownDashboard(type);
    throw error;
  }
  const interval = (list.dashboards.find((item) => item.dashboard === type)?.update_frequency ?? 5) * 1000;
  const staleAfter = Math.max(15_000, 3 * interval);
  const badge = liveBadge();
  const stale = h('p', { class: 'banner stale', role: 'status', hidden: true });
  const gap = h('p', { class: 'banner', role: 'status', hidden: true });
  const grid = h('div', { class: 'panels' });
  const views = new Map<string, { view: PanelView; changed: number; ageLine: HTMLElement; card: HTMLElement }>();
  let lastUpdate = Date.parse(data.updated_at ?? '') || Date.now();

  const apply = (panels: readonly PanelData[], at: number): void => {
    for (const panel of panels) {
      let entry = views.get(panel.panel_id);
      if (!entry) {
        const view = panelView(panel.panel_type);
        const ageLine = h('span', { class: 'age' });
        const card = h(
          'section',
          { class: `panel panel-${panel.panel_type}`, 'data-panel': panel.panel_id, 'aria-label': panel.title },
          h('header', {}, h('h2', {}, panel.title), ageLine),
          view.element,
        );
        entry = { view, changed: at, ageLine, card };
        views.set(panel.panel_id, entry);
        grid.append(card);
      }
      entry.view.update(panel, at);
      entry.changed = Date.parse(panel.updated_at ?? '') || at;
    }
  };
  apply(data.panels, lastUpdate);

  const tick = (): void => {
    const now = Date.now();
    for (const entry of views.values()) entry.ageLine.textContent = `changed ${age(entry.changed, now)} ago`;
    const quiet = now - lastUpdate > staleAfter;
    stale.hidden = !quiet;
    stale.textContent = quiet ? `Stale: no update for ${age(lastUpdate, now)} (this dashboard updates every ${interval / 1000} s).` : '';
    grid.classList.toggle('is-stale', quiet);
  };
  const timer = setInterval(tick, 1000);
  tick();

  const subscription = liveClient().subscribe(`dashboards/${type}`, {
    from: Date.now() - BACKFILL_MS,
    onSnapshot: (snapshot) => {
      const full = snapshot as DashboardData;
      lastUpdate = Date.parse(full.updated_at ?? '') || Date.now();
      apply(full.panels, lastUpdate);
    },
    onEvent: (event) => {
      if (event.type !== 'dashboard.update') return;
      const update = event.data as DashboardUpdate;
      lastUpdate = Math.max(lastUpdate, Date.parse(event.timestamp));
      apply(update.panels, Date.parse(event.timestamp));
      tick();
    },
    onGap: (notice) => {
      gap.hidden = false;
      gap.textContent =
        notice.reason === 'epoch_changed'
          ? 'The service restarted: updates from while it was down are missing.'
          : 'Some updates could not be replayed.';
    },
    onStatus: badge.set,
    onError: (error) => {
      gap.hidden = false;
      gap.textContent = `Live updates failed: ${error.message}`;
    },
  });

  return {
    title: data.title,
    element: h(
      'div',
      { class: 'page dashboard', 'data-dashboard': type },
      h('div', { class: 'page-head' }, h('h1', {}, data.title), badge.element),
      stale,
      gap,
      grid,
    ),
    dispose: () => {
      clearInterval(timer);
      subscription.unsubscribe();
    },
  };
}

function unknownDashboard(type: string): Page {
  return {
    title: 'Unknown dashboard',
    element: h(
      'div',
      { class: 'page not-found' },
      h('h1', {}, 'Unknown dashboard'),
      h('p', {}, `There is no dashboard "${type}" in this service's definitions.`),
      h('p', {}, h('a', { href: '/' }, 'All dashboards')),
    ),
    dispose: () => undefined,
  };
}
