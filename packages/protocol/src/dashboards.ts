/**
 * Live dashboards and high-frequency streams: the data of `GET /dashboards/{type}/data`, the updates on
 * `/ws/dashboards/{type}` (snapshot, then `dashboard.update` events), `GET /dashboards` and `GET /dashboards/status`;
 * the snapshot and `high_frequency.update` events of a high-frequency stream.
 */
import { z } from 'zod';
import { anyData, channelName, eventId, eventType, isoTime } from './events.js';

export const PANEL_TYPES = ['graph', 'stat', 'table', 'gauge', 'heatmap'] as const;
export type PanelType = (typeof PANEL_TYPES)[number];

/** A windowed value computed from less than its window (after a restart, history did not reach back that far). */
export const partialWindowSchema = z.strictObject({
  covered_seconds: z.number().min(0),
  window_seconds: z.number().positive(),
});

export const panelValueSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('scalar'), value: z.number().nullable(), partial: partialWindowSchema.optional() }),
  z.strictObject({
    kind: z.literal('series'),
    /** What the series are by (the grouping label). */
    label: z.string(),
    series: z.array(z.strictObject({ label: z.string(), value: z.number().nullable() })),
    partial: partialWindowSchema.optional(),
  }),
]);
export type PanelValue = z.infer<typeof panelValueSchema>;

export const panelDataSchema = z.strictObject({
  panel_id: z.string(),
  panel_type: z.enum(PANEL_TYPES),
  title: z.string(),
  unit: z.string().nullable(),
  /** The panel's query, in the query language of docs/DASHBOARDS.md. */
  query: z.string(),
  value: panelValueSchema.nullable(),
  /** The dashboard cursor at which the value last changed. */
  version: z.number().int().min(0),
  updated_at: isoTime.nullable(),
});
export type PanelData = z.infer<typeof panelDataSchema>;

/** A dashboard cursor: `<process epoch>:<number>`; pass it as `since` for only what changed after it. */
export const dashboardCursor = z.string().regex(/^[0-9a-z]{1,32}:(0|[1-9]\d{0,15})$/, 'a dashboard cursor: epoch:number');

/** GET /dashboards/{type}/data, and the data of a dashboard's snapshot frame. */
export const dashboardDataSchema = z.strictObject({
  dashboard: channelName,
  dashboard_id: z.string(),
  title: z.string(),
  cursor: dashboardCursor,
  /** True when every panel is here; false for the panels changed after `since`. */
  full: z.boolean(),
  updated_at: isoTime.nullable(),
  panels: z.array(panelDataSchema),
});
export type DashboardData = z.infer<typeof dashboardDataSchema>;

/** The data of a `dashboard.update` event: the changed panels (every panel when `full`). */
export const dashboardUpdateSchema = z.strictObject({
  dashboard: channelName,
  cursor: dashboardCursor,
  full: z.boolean(),
  panels: z.array(panelDataSchema),
});
export type DashboardUpdate = z.infer<typeof dashboardUpdateSchema>;
export const DASHBOARD_UPDATE_TYPE = 'dashboard.update';

/** GET /dashboards: the definitions and where each is live. */
export const dashboardListSchema = z.strictObject({
  dashboards: z.array(
    z.strictObject({
      dashboard: channelName,
      dashboard_id: z.string(),
      title: z.string(),
      update_frequency: z.number().int().min(1),
      data_sources: z.array(z.string()),
      panels: z.number().int().min(0),
      live: z.strictObject({ websocket: z.string(), sse: z.string(), data: z.string() }),
    }),
  ),
});
export type DashboardList = z.infer<typeof dashboardListSchema>;

/** GET /dashboards/status. */
export const dashboardsStatusSchema = z.strictObject({
  enabled: z.boolean(),
  refresh: z.strictObject({
    enabled: z.boolean(),
    mode: z.string(),
    batch_size: z.number().int(),
    priority_queue: z.boolean(),
  }),
  max_viewers: z.number().int(),
  dashboards: z.record(
    z.string(),
    z.strictObject({
      dashboard_id: z.string(),
      interval_seconds: z.number(),
      last_update: isoTime.nullable(),
      last_update_interval_seconds: z.number().nullable(),
      updates: z.number().int().min(0),
      live_viewers: z.number().int().min(0),
      panels: z.number().int().min(0),
      cursor: dashboardCursor,
      cache: z.strictObject({ enabled: z.boolean(), etag: z.string() }),
    }),
  ),
});
export type DashboardsStatus = z.infer<typeof dashboardsStatusSchema>;

/** POST /dashboards/refresh: one dashboard, or every one when the body is empty. */
export const dashboardRefreshBodySchema = z.strictObject({ dashboard: z.string().min(1).max(64).optional() });
export type DashboardRefreshBody = z.infer<typeof dashboardRefreshBodySchema>;

/** 200 of POST /dashboards/refresh: the dashboards refreshed. */
export const dashboardRefreshResponseSchema = z.strictObject({ refreshed: z.array(channelName) });
export type DashboardRefreshResponse = z.infer<typeof dashboardRefreshResponseSchema>;

/** A high-frequency stream's latest value of one key. */
export const conflatedValueSchema = z.strictObject({ type: eventType, timestamp: isoTime, data: anyData });
export type ConflatedValue = z.infer<typeof conflatedValueSchema>;

/** The data of a high-frequency `snapshot` (every key) and of a `high_frequency.update` event (the keys that changed). */
export const highFrequencyValuesSchema = z.strictObject({ values: z.record(z.string(), conflatedValueSchema) });
export type HighFrequencyValues = z.infer<typeof highFrequencyValuesSchema>;
export const HIGH_FREQUENCY_UPDATE_TYPE = 'high_frequency.update';

/** A snapshot id and the state it stands for, as live channels offer them. */
export const liveSnapshotSchema = z.strictObject({ id: eventId, data: anyData });
