/**
 * The dashboards' refresh scheduler: each panel's query is evaluated over the metric store on its own period (its
 * refresh_interval, else the dashboard's interval), in rounds of at most `batch_size` panels, dashboards with live
 * viewers first when `priority_queue` is on, the most overdue next. The changed panels (all of them in `full` mode)
 * are published on the dashboard's live channel, and the time between a dashboard's updates is measured into
 * `dashboard_update_interval_seconds`.
 */
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { PublisherService } from '../bus/publisher.service';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { DashboardStore, type DashboardState, type PanelState } from './dashboard-store';

const MAX_ROUND_MS = 1000;

@Injectable()
export class DashboardScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DashboardScheduler.name);
  private readonly updateInterval: Gauge<'dashboard'>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dashboards: DashboardStore,
    private readonly publisher: PublisherService,
    metrics: StreamingMetrics,
  ) {
    this.updateInterval = new Gauge({
      name: 'dashboard_update_interval_seconds',
      help: 'Measured time between the two latest updates of each live dashboard',
      labelNames: ['dashboard'] as const,
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.live_dashboard.enabled || !this.config.dashboard_refresh.enabled) return;
    const all = this.dashboards.all();
    const fastest = Math.min(...all.flatMap((dashboard) => dashboard.panels.map((panel) => panel.periodMs)), MAX_ROUND_MS * 60);
    const roundMs = Math.max(100, Math.min(fastest, MAX_ROUND_MS, this.config.dashboard_refresh.interval * 1000));
    this.round();
    this.timer = setInterval(() => this.round(), roundMs);
    this.timer.unref();
    for (const dashboard of all) {
      this.logger.log(`Dashboard ${dashboard.type}: ${dashboard.panels.length} panels, live on ${dashboard.channel}`, {
        dashboard: dashboard.type,
      });
    }
  }

  /** One scheduler round: the due panels, most urgent first, at most batch_size of them. */
  round(now = Date.now()): void {
    const settings = this.config.dashboard_refresh;
    const due: { dashboard: DashboardState; panel: PanelState; overdue: number; watched: boolean }[] = [];
    for (const dashboard of this.dashboards.all()) {
      const watched = settings.priority_queue && this.dashboards.viewers(dashboard) > 0;
      for (const panel of dashboard.panels) {
        const overdue = now - (panel.computedAt + panel.periodMs);
        if (overdue >= 0) due.push({ dashboard, panel, overdue, watched });
      }
    }
    due.sort((a, b) => Number(b.watched) - Number(a.watched) || b.overdue - a.overdue);
    const touched = new Map<DashboardState, PanelState[]>();
    for (const { dashboard, panel } of due.slice(0, settings.batch_size)) {
      const changed = this.dashboards.compute(dashboard, panel, now);
      const list = touched.get(dashboard) ?? [];
      if (changed) list.push(panel);
      touched.set(dashboard, list);
    }
    for (const [dashboard, changed] of touched) this.updated(dashboard, changed, now);
  }

  /** Computes every panel of one dashboard, or of all, now, and publishes what changed. */
  refresh(type?: string, now = Date.now()): { refreshed: string[] } {
    const targets = type === undefined ? this.dashboards.all() : [this.dashboards.get(type)];
    for (const dashboard of targets) {
      const changed = dashboard.panels.filter((panel) => this.dashboards.compute(dashboard, panel, now));
      this.updated(dashboard, changed, now);
    }
    return { refreshed: targets.map((dashboard) => dashboard.type) };
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
    const panels = (full ? dashboard.panels : changed).map((panel) => this.dashboards.panelData(panel));
    this.publisher
      .publish(
        dashboard.channel,
        [
          {
            type: 'dashboard.update',
            key: dashboard.type,
            data: { dashboard: dashboard.type, cursor: this.dashboards.cursorOf(dashboard), full, panels },
          },
        ],
        'dashboard',
      )
      .catch((error: unknown) => this.logger.warn(`Dashboard ${dashboard.type} update not published: ${(error as Error).message}`));
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
