/**
 * The live dashboards' state: their definitions loaded at start, each panel's latest value and version, and each
 * dashboard's cursor (moved by every change) under this process's epoch. The scheduler computes panels through it;
 * the read model answers from it.
 */
import type { PanelData } from '@data-streaming/protocol';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { dashboardChannel } from '../config/channels';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { MetricStoreService } from '../metric-store/metric-store.service';
import { FanoutService } from '../streams/fanout/fanout.service';
import { loadDashboards, type LoadedDashboard, type PanelDefinition } from './dashboard-definitions';
import { formatPanelQuery, type PanelQuery } from './query/panel-query';
import { evaluatePanelQuery, type PanelValue } from './query/panel-query.evaluator';

export interface PanelState {
  definition: PanelDefinition;
  query: PanelQuery;
  periodMs: number;
  value: PanelValue | undefined;
  text: string;
  version: number;
  computedAt: number;
  changedAt: number;
}

export interface DashboardState {
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

@Injectable()
export class DashboardStore implements OnModuleInit {
  /** Names this process's cursors: a cursor from another process or lifetime is answered in full. */
  readonly epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly dashboards = new Map<string, DashboardState>();

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly store: MetricStoreService,
    private readonly fanout: FanoutService,
  ) {}

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
  }

  all(): DashboardState[] {
    return [...this.dashboards.values()];
  }

  types(): string[] {
    return [...this.dashboards.keys()];
  }

  find(type: string): DashboardState | undefined {
    return this.dashboards.get(type);
  }

  /** The dashboard of `type`, or 404 unknown_dashboard. */
  get(type: string): DashboardState {
    const dashboard = this.dashboards.get(type);
    if (!dashboard) throw ApiError.notFound('unknown_dashboard', `unknown dashboard "${type.slice(0, 80)}"`, { known: this.types() });
    return dashboard;
  }

  viewers(dashboard: DashboardState): number {
    const counts = this.fanout.subscriberCounts(dashboard.channel);
    return counts.websocket + counts.sse;
  }

  /** Evaluates a panel's query now; true when its value changed (its version then moves the dashboard's cursor). */
  compute(dashboard: DashboardState, panel: PanelState, now: number): boolean {
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

  cursorOf(dashboard: DashboardState): string {
    return `${this.epoch}:${dashboard.cursor}`;
  }

  panelData(panel: PanelState): PanelData {
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
}
