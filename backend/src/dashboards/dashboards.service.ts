/**
 * The live dashboards: each panel's query is evaluated over the metric store on its own period (its
 * refresh_interval, else the dashboard's interval); the scheduler works in rounds of at most `batch_size` panels,
 * dashboards with live viewers first when `priority_queue` is on, the most overdue next. Every change moves the
 * dashboard's cursor; the changed panels (all of them in `full` mode) are published on the dashboard's live channel.
 * The time between a dashboard's updates is measured into `dashboard_update_interval_seconds`.
 */
import type { DashboardData, DashboardList, DashboardsStatus, PanelData } from '@data-streaming/protocol';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Gauge } from 'prom-client';
import { PublisherService } from '../bus/publisher.service';
import { ApiError } from '../common/api-error';
import { dashboardChannel } from '../config/channels';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { MetricStoreService } from '../metric-store/metric-store.service';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { FanoutService } from '../streams/fanout/fanout.service';
import { LiveChannelRegistry } from '../streams/live-channels';
import { loadDashboards, type LoadedDashboard, type PanelDefinition } from './dashboard-definitions';
import { formatPanelQuery, type PanelQuery } from './query/panel-query';
import { evaluatePanelQuery, type PanelValue } from './query/panel-query.evaluator';

interface PanelState {
  definition: PanelDefinition;
  query: PanelQuery;
  periodMs: number;
  value: PanelValue | undefined;
  text: string;
  version: number;
  computedAt: number;
  changedAt: number;
}

interface DashboardState {
  loaded: LoadedDashboard;
  type: string;
  channel: string;
  intervalMs: number;
  panels: PanelState[];
  cursor: number;
  lastUpdateAt: number | undefined;
  lastIntervalMs: number | undefined;
  updates: number;
}

export type { DashboardData, PanelData };

const MAX_ROUND_MS = 1000;

@Injectable()
export class DashboardsService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DashboardsService.name);
  /** Names this process's cursors: a cursor from another process or lifetime is answered in full. */
  readonly epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly dashboards = new Map<string, DashboardState>();
  private readonly updateInterval: Gauge<'dashboard'>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: MetricStoreService,
    private readonly publisher: PublisherService,
    private readonly fanout: FanoutService,
    private readonly liveChannels: LiveChannelRegistry,
    metrics: StreamingMetrics,
  ) {
    this.updateInterval = new Gauge({
      name: 'dashboard_update_interval_seconds',
      help: 'Measured time between the two latest updates of each live dashboard',
      labelNames: ['dashboard'] as const,
      registers: [metrics.registry],
    });
  }

  onModuleInit(): void {
    if (!this.config.live_dashboard.enabled) return;
    for (const loaded of loadDashboards(this.config)) {
      const type = loaded.definition.dashboard_type;
      const intervalMs = Math.min(loaded.definition.update_frequency, this.config.live_dashboard.update_interval) * 1000;
      this.dashboards.set(type, {
        loaded,
        type,
        channel: dashboardChannel(type),
        intervalMs,
        cursor: 0,
        lastUpdateAt: undefined,
        lastIntervalMs: undefined,
        updates: 0,
        panels: (loaded.definition.panels ?? []).map((definition) => ({
          definition,
          query: loaded.queries.get(definition.panel_id) as PanelQuery,
          periodMs: (definition.refresh_interval ?? intervalMs / 1000) * 1000,
          value: undefined,
          text: '',
          version: 0,
          computedAt: 0,
          changedAt: 0,
        })),
      });
    }
    this.liveChannels.register('dashboards', {
      names: () => this.types(),
      resolve: (name) => {
        const dashboard = this.dashboards.get(name);
        if (!dashboard) return undefined;
        return { channel: dashboard.channel, pool: 'dashboard', snapshot: () => ({ id: this.cursorOf(dashboard), data: this.data(name) }) };
      },
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.live_dashboard.enabled || !this.config.dashboard_refresh.enabled) return;
    const fastest = Math.min(
      ...[...this.dashboards.values()].flatMap((dashboard) => dashboard.panels.map((panel) => panel.periodMs)),
      MAX_ROUND_MS * 60,
    );
    const roundMs = Math.max(100, Math.min(fastest, MAX_ROUND_MS, this.config.dashboard_refresh.interval * 1000));
    this.round();
    this.timer = setInterval(() => this.round(), roundMs);
    this.timer.unref();
    for (const [type, dashboard] of this.dashboards) {
      this.logger.log(`Dashboard ${type}: ${dashboard.panels.length} panels, live on ${dashboard.channel}`, { dashboard: type });
    }
  }

  types(): string[] {
    return [...this.dashboards.keys()];
  }

  private dashboard(type: string): DashboardState {
    const dashboard = this.dashboards.get(type);
    if (!dashboard) throw ApiError.notFound('unknown_dashboard', `unknown dashboard "${type.slice(0, 80)}"`, { known: this.types() });
    return dashboard;
  }

  viewers(dashboard: DashboardState): number {
    const counts = this.fanout.subscriberCounts(dashboard.channel);
    return counts.websocket + counts.sse;
  }

  /** One scheduler round: the due panels, most urgent first, at most batch_size of them. */
  round(now = Date.now()): void {
    const settings = this.config.dashboard_refresh;
    const due: { dashboard: DashboardState; panel: PanelState; overdue: number; watched: boolean }[] = [];
    for (const dashboard of this.dashboards.values()) {
      const watched = settings.priority_queue && this.viewers(dashboard) > 0;
      for (const panel of dashboard.panels) {
        const overdue = now - (panel.computedAt + panel.periodMs);
        if (overdue >= 0) due.push({ dashboard, panel, overdue, watched });
      }
    }
    due.sort((a, b) => Number(b.watched) - Number(a.watched) || b.overdue - a.overdue);
    const touched = new Map<DashboardState, PanelState[]>();
    for (const { dashboard, panel } of due.slice(0, settings.batch_size)) {
      const changed = this.compute(dashboard, panel, now);
      const list = touched.get(dashboard) ?? [];
      if (changed) list.push(panel);
      touched.set(dashboard, list);
    }
    for (const [dashboard, changed] of touched) this.updated(dashboard, changed, now);
  }

  /** Computes every panel of one dashboard, or of all, now, and publishes what changed. */
  refresh(type?: string, now = Date.now()): { refreshed: string[] } {
    const targets = type === undefined ? [...this.dashboards.values()] : [this.dashboard(type)];
    for (const dashboard of targets) {
      const changed = dashboard.panels.filter((panel) => this.compute(dashboard, panel, now));
      this.updated(dashboard, changed, now);
    }
    return { refreshed: targets.map((dashboard) => dashboard.type) };
  }

  private compute(dashboard: DashboardState, panel: PanelState, now: number): boolean {
    const value = evaluatePanelQuery(panel.query, this.store, now);
    const text = JSON.stringify(value);
    panel.computedAt = now;
    if (text === panel.text) return false;
    panel.value = value;
    panel.text = text;
    panel.version = ++dashboard.cursor;
    panel.changedAt = now;
    return true;
  }

  private updated(dashboard: DashboardState, changed: PanelState[], now: number): void {
    if (dashboard.lastUpdateAt !== undefined) {
      dashboard.lastIntervalMs = now - dashboard.lastUpdateAt;
      this.updateInterval.labels(dashboard.type).set(dashboard.lastIntervalMs / 1000);
    }
    dashboard.lastUpdateAt = now;
    dashboard.updates++;
    const strategies = this.config.dashboard_refresh.refresh_strategies;
    const full = this.config.dashboard_refresh.mode === 'full' || strategies.full_refresh || !strategies.incremental_update;
    // smart_refresh: nothing changed, nothing to push.
    if (changed.length === 0 && strategies.smart_refresh) return;
    const panels = (full ? dashboard.panels : changed).map((panel) => this.panelData(panel));
    this.publisher
      .publish(
        dashboard.channel,
        [
          {
            type: 'dashboard.update',
            key: dashboard.type,
            data: { dashboard: dashboard.type, cursor: this.cursorOf(dashboard), full, panels },
          },
        ],
        'dashboard',
      )
      .catch((error: unknown) => this.logger.warn(`Dashboard ${dashboard.type} update not published: ${(error as Error).message}`));
  }

  private cursorOf(dashboard: DashboardState): string {
    return `${this.epoch}:${dashboard.cursor}`;
  }

  private panelData(panel: PanelState): PanelData {
    return {
      panel_id: panel.definition.panel_id,
      panel_type: panel.definition.panel_type,
      title: panel.definition.title ?? panel.definition.panel_id,
      unit: panel.definition.unit ?? null,
      query: formatPanelQuery(panel.query),
      value: panel.value ?? null,
      version: panel.version,
      updated_at: panel.changedAt === 0 ? null : new Date(panel.changedAt).toISOString(),
    };
  }

  /**
   * The dashboard's data: every panel, or with `since` (a cursor from an earlier answer) only the panels changed
   * after it. Without background refresh, or with caching off, the panels are computed for this call.
   */
  data(type: string, since?: string): DashboardData {
    const dashboard = this.dashboard(type);
    if (!this.config.dashboard_refresh.enabled || !this.config.live_dashboard.caching_enabled) {
      for (const panel of dashboard.panels) this.compute(dashboard, panel, Date.now());
    }
    let after: number | undefined;
    if (since !== undefined && this.config.dashboard_refresh.refresh_strategies.delta_sync) {
      const match = /^([0-9a-z]{1,32}):(0|[1-9]\d{0,15})$/.exec(since);
      if (!match) throw ApiError.badRequest(`since: "${since.slice(0, 80)}" is not a dashboard cursor (epoch:number)`);
      const cursor = Number(match[2]);
      if (match[1] === this.epoch && cursor > dashboard.cursor) {
        throw new ApiError(400, 'position_ahead', `since: ${since} is beyond the dashboard's cursor ${this.cursorOf(dashboard)}`);
      }
      if (match[1] === this.epoch) after = cursor;
    }
    const { definition } = dashboard.loaded;
    return {
      dashboard: type,
      dashboard_id: definition.dashboard_id,
      title: definition.title ?? type,
      cursor: this.cursorOf(dashboard),
      full: after === undefined,
      updated_at: dashboard.lastUpdateAt === undefined ? null : new Date(dashboard.lastUpdateAt).toISOString(),
      panels: dashboard.panels.filter((panel) => after === undefined || panel.version > after).map((panel) => this.panelData(panel)),
    };
  }

  /** An entity tag for the dashboard's current data: it changes exactly when the cursor moves. */
  etag(type: string): string {
    return `W/"${this.cursorOf(this.dashboard(type))}"`;
  }

  definitions(): DashboardList['dashboards'] {
    return [...this.dashboards.values()].map((dashboard) => ({
      dashboard: dashboard.type,
      dashboard_id: dashboard.loaded.definition.dashboard_id,
      title: dashboard.loaded.definition.title ?? dashboard.type,
      update_frequency: dashboard.loaded.definition.update_frequency,
      data_sources: dashboard.loaded.definition.data_sources,
      panels: dashboard.panels.length,
      live: {
        websocket: `/ws/dashboards/${dashboard.type}`,
        sse: `/dashboards/${dashboard.type}/stream`,
        data: `/dashboards/${dashboard.type}/data`,
      },
    }));
  }

  status(): DashboardsStatus {
    const dashboards = Object.fromEntries(
      [...this.dashboards.values()].map((dashboard) => [
        dashboard.type,
        {
          dashboard_id: dashboard.loaded.definition.dashboard_id,
          interval_seconds: dashboard.intervalMs / 1000,
          last_update: dashboard.lastUpdateAt === undefined ? null : new Date(dashboard.lastUpdateAt).toISOString(),
          last_update_interval_seconds: dashboard.lastIntervalMs === undefined ? null : dashboard.lastIntervalMs / 1000,
          updates: dashboard.updates,
          live_viewers: this.viewers(dashboard),
          panels: dashboard.panels.length,
          cursor: this.cursorOf(dashboard),
          cache: { enabled: this.config.live_dashboard.caching_enabled, etag: this.etag(dashboard.type) },
        },
      ]),
    );
    return {
      enabled: this.config.live_dashboard.enabled,
      refresh: {
        enabled: this.config.dashboard_refresh.enabled,
        mode: this.config.dashboard_refresh.mode,
        batch_size: this.config.dashboard_refresh.batch_size,
        priority_queue: this.config.dashboard_refresh.priority_queue,
      },
      max_viewers: this.config.live_dashboard.max_connections,
      dashboards,
    };
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
