/**
 * A panel of one of the service's dashboards as a frame: its updates from the panel's time range on (the dashboard's
 * update history, then live updates), and its current value (GET /dashboards/{type}/data). As a time series, every
 * value is a row (a time field, one number field per series: what time series and heatmap panels read); as a table,
 * the latest value is label and value fields (what table, bar gauge and stat panels read).
 */
import { FieldType, createDataFrame, type DataFrame, type QueryResultMetaNotice } from '@grafana/data';
import type { Client, Subscription } from '@data-streaming/client';
import type { DashboardData, DataStreamingQuery, PanelData, WireEvent } from '../types';
import type { StreamContext } from './channel-stream';
import { LiveFrame, labelFilter, type Row } from './frames';
import { Freshness } from './freshness';
import type { SharedStream } from './shared-streams';

export type DashboardQuery = DataStreamingQuery & { dashboard: string; panel: string };

export class DashboardStream implements SharedStream {
  changed: () => void = () => undefined;
  readonly freshness = new Freshness();
  error: string | undefined;
  /** Whether the panel's updates of the range have been delivered (what follows is live): the first frame waits. */
  replayed = false;
  readonly openedAt = Date.now();
  /** The panel as last seen (title, unit, latest value). */
  latest: PanelData | undefined;
  private readonly history: LiveFrame;
  private readonly subscription: Subscription;
  private readonly keeps: (label: string) => boolean;
  private closed = false;

  constructor(
    context: StreamContext,
    readonly query: DashboardQuery,
    capacity: number,
    from: number
  ) {
    this.history = new LiveFrame(query.refId, capacity, query.windowSeconds);
    this.keeps = labelFilter(query.filters);
    context.http
      .get<DashboardData & { message?: string }>(
        `${context.base}/dashboards/${encodeURIComponent(query.dashboard)}/data`,
        context.headers
      )
      .then((response) => {
        if (response.status !== 200) {
          throw new Error(
            `dashboard ${query.dashboard}: HTTP ${response.status}${response.data?.message ? `: ${response.data.message}` : ''}`
          );
        }
        const panel = response.data.panels.find((candidate) => candidate.panel_id === query.panel);
        if (!panel) {
          throw new Error(`dashboard ${query.dashboard} has no panel ${query.panel}`);
        }
        this.show(panel);
      })
      .catch((error: Error) => {
        this.error = error.message;
        this.changed();
      });
    this.subscription = (context.client as Client).subscribe(`dashboards/${query.dashboard}`, {
      from,
      onSnapshot: (data) => this.showAll(data as DashboardData),
      onReplayed: () => {
        this.replayed = true;
        this.changed();
      },
      onEvents: (events: WireEvent[]) => {
        for (const event of events) {
          this.showAll(event.data as DashboardData);
        }
      },
      onError: (error) => {
        this.error = `dashboard ${query.dashboard}: ${error.message}`;
        this.changed();
      },
    });
  }

  private showAll(data: DashboardData | undefined): void {
    const panel = data?.panels?.find((candidate) => candidate.panel_id === this.query.panel);
    if (panel) {
      this.show(panel);
    }
  }

  private show(panel: PanelData): void {
    if (this.closed) {
      return;
    }
    this.error = undefined;
    if (!this.latest || Date.parse(panel.updated_at ?? '') >= Date.parse(this.latest.updated_at ?? '')) {
      this.latest = panel;
    }
    const row = this.rowOf(panel);
    if (row) {
      this.freshness.saw(row.time);
      // Updates replayed from history and the current value race: keep the rows in time order, each time once.
      const last = this.history.lastTime;
      if (last === undefined || row.time > last) {
        this.history.append([row]);
      } else if (row.time < (this.history.firstTime ?? 0)) {
        this.history.prepend([row]);
      }
    }
    this.changed();
  }

  private rowOf(panel: PanelData): Row | undefined {
    const value = panel.value;
    const time = Date.parse(panel.updated_at ?? '');
    if (!value || !Number.isFinite(time)) {
      return undefined;
    }
    const name = this.query.alias || panel.title;
    const values = new Map<string, number>();
    if (value.kind === 'scalar') {
      if (value.value !== null) {
        values.set(name, value.value);
      }
    } else {
      for (const item of value.series) {
        if (item.value !== null && this.keeps(item.label)) {
          values.set(item.label, item.value);
        }
      }
    }
    return values.size === 0 ? undefined : { time, values };
  }

  /** The panel's frame in the query's format, with the panel's unit on its numbers. */
  frame(): DataFrame | undefined {
    const panel = this.latest;
    if (!panel) {
      return undefined;
    }
    const unit = panel.unit ?? undefined;
    if (this.query.format === 'table') {
      return tableFrame(this.query, panel, unit, this.keeps);
    }
    const frame = this.history.frame;
    for (const field of frame.fields) {
      if (field.type === FieldType.number && unit) {
        field.config = { ...field.config, unit };
      }
    }
    return frame;
  }

  panelNotices(staleAfterMs: number, now = Date.now()): QueryResultMetaNotice[] {
    const partial = this.latest?.value?.partial;
    return [
      ...(partial
        ? [
            {
              severity: 'info' as const,
              text: `Computed from ${Math.round(partial.covered_seconds)} s of its ${partial.window_seconds} s window: the service's history does not reach further back.`,
            },
          ]
        : []),
      this.freshness.notice(`dashboard ${this.query.dashboard}`, staleAfterMs, now),
    ];
  }

  stats(): { malformed: number; reconnects: number } {
    return this.subscription.stats();
  }

  close(): void {
    this.closed = true;
    this.subscription.unsubscribe();
  }
}

/** The panel's latest value as label and value fields (a scalar is one row named by the panel). */
function tableFrame(
  query: DashboardQuery,
  panel: PanelData,
  unit: string | undefined,
  keeps: (label: string) => boolean
): DataFrame {
  const value = panel.value;
  const name = query.alias || panel.title;
  const rows =
    value === null
      ? []
      : value.kind === 'scalar'
        ? [{ label: name, value: value.value }]
        : value.series.filter((item) => keeps(item.label)).map((item) => ({ label: item.label, value: item.value }));
  return createDataFrame({
    refId: query.refId,
    name,
    fields: [
      {
        name: value?.kind === 'series' ? value.label : 'panel',
        type: FieldType.string,
        values: rows.map((row) => row.label),
      },
      { name, type: FieldType.number, values: rows.map((row) => row.value), config: unit ? { unit } : {} },
    ],
  });
}
