/**
 * What the dashboards answer: each one's data (every panel, or those changed after a cursor), its entity tag, the
 * list of definitions with their live endpoints, the status, and the live channel `/ws/dashboards/{type}` (a new
 * viewer's snapshot is the dashboard's data). Read from the dashboard store, which the scheduler keeps current.
 */
import type { DashboardData, DashboardList, DashboardsStatus, PanelData } from '@data-streaming/protocol';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { LiveChannelRegistry, type LiveChannel } from '../streams/live-channels';
import { DashboardStore, type DashboardState } from './dashboard-store';

export type { DashboardData, PanelData };

@Injectable()
export class DashboardReadModel implements OnModuleInit {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly dashboards: DashboardStore,
    private readonly liveChannels: LiveChannelRegistry,
  ) {}

  onModuleInit(): void {
    if (!this.config.live_dashboard.enabled) return;
    this.liveChannels.register('dashboards', {
      names: () => this.dashboards.types(),
      resolve: (name) => {
        const dashboard = this.dashboards.find(name);
        return dashboard && this.liveChannelOf(dashboard);
      },
    });
  }

  /** 404 dashboards_disabled when live dashboards are switched off. */
  ensureEnabled(): void {
    if (!this.config.live_dashboard.enabled)
      throw ApiError.notFound('dashboards_disabled', 'live dashboards are disabled (LIVE_DASHBOARD_ENABLED)');
  }

  /**
   * A conditional read of the dashboard's data: with caching and background refresh on, its entity tag, and
   * `notModified` when `ifNoneMatch` names it (the body is then not needed).
   */
  read(
    type: string,
    since: string | undefined,
    ifNoneMatch: string | undefined,
  ): { data: DashboardData; etag?: string; notModified: boolean } {
    this.ensureEnabled();
    const data = this.data(type, since);
    if (!this.config.live_dashboard.caching_enabled || !this.config.dashboard_refresh.enabled) return { data, notModified: false };
    const etag = this.etag(type);
    return { data, etag, notModified: ifNoneMatch !== undefined && ifNoneMatch.split(/\s*,\s*/).includes(etag) };
  }

  /** The dashboard's live channel (for its SSE stream), or 404 unknown_dashboard. */
  liveChannel(type: string): LiveChannel {
    this.ensureEnabled();
    return this.liveChannelOf(this.dashboards.get(type));
  }

  private liveChannelOf(dashboard: DashboardState): LiveChannel {
    return {
      channel: dashboard.channel,
      pool: 'dashboard',
      snapshot: () => ({ id: this.dashboards.cursorOf(dashboard), data: this.data(dashboard.type) }),
    };
  }

  /**
   * The dashboard's data: every panel, or with `since` (a cursor from an earlier answer) only the panels changed
   * after it. Without background refresh, or with caching off, the panels are computed for this call.
   */
  data(type: string, since?: string): DashboardData {
    const dashboard = this.dashboards.get(type);
    if (!this.config.dashboard_refresh.enabled || !this.config.live_dashboard.caching_enabled) {
      for (const panel of dashboard.panels) this.dashboards.compute(dashboard, panel, Date.now());
    }
    let after: number | undefined;
    if (since !== undefined && this.config.dashboard_refresh.refresh_strategies.delta_sync) {
      const match = /^([0-9a-z]{1,32}):(0|[1-9]\d{0,15})$/.exec(since);
      if (!match) throw ApiError.badRequest(`since: "${since.slice(0, 80)}" is not a dashboard cursor (epoch:number)`);
      const cursor = Number(match[2]);
      if (match[1] === this.dashboards.epoch && cursor > dashboard.cursor) {
        throw new ApiError(
          400,
          'position_ahead',
          `since: ${since} is beyond the dashboard's cursor ${this.dashboards.cursorOf(dashboard)}`,
        );
      }
      if (match[1] === this.dashboards.epoch) after = cursor;
    }
    const { definition } = dashboard.loaded;
    return {
      dashboard: type,
      dashboard_id: definition.dashboard_id,
      title: definition.title ?? type,
      cursor: this.dashboards.cursorOf(dashboard),
      full: after === undefined,
      updated_at: dashboard.lastUpdateAt === undefined ? null : new Date(dashboard.lastUpdateAt).toISOString(),
      panels: dashboard.panels
        .filter((panel) => after === undefined || panel.version > after)
        .map((panel) => this.dashboards.panelData(panel)),
    };
  }

  /** An entity tag for the dashboard's current data: it changes exactly when the cursor moves. */
  etag(type: string): string {
    return `W/"${this.dashboards.cursorOf(this.dashboards.get(type))}"`;
  }

  definitions(): DashboardList['dashboards'] {
    return this.dashboards.all().map((dashboard) => ({
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
      this.dashboards.all().map((dashboard) => [
        dashboard.type,
        {
          dashboard_id: dashboard.loaded.definition.dashboard_id,
          interval_seconds: dashboard.intervalMs / 1000,
          last_update: dashboard.lastUpdateAt === undefined ? null : new Date(dashboard.lastUpdateAt).toISOString(),
          last_update_interval_seconds: dashboard.lastIntervalMs === undefined ? null : dashboard.lastIntervalMs / 1000,
          updates: dashboard.updates,
          live_viewers: this.dashboards.viewers(dashboard),
          panels: dashboard.panels.length,
          cursor: this.dashboards.cursorOf(dashboard),
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
}
