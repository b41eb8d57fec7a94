/**
 * The data that known event types and snapshots carry: a subscriber (or a test) that knows an event's `type` can read
 * its `data` by the schema here. Events of other types carry whatever their producer published.
 */
import type { z } from 'zod';
import {
  DASHBOARD_UPDATE_TYPE,
  HIGH_FREQUENCY_UPDATE_TYPE,
  dashboardDataSchema,
  dashboardUpdateSchema,
  highFrequencyValuesSchema,
} from './dashboards.js';
import { notificationSchema } from './notifications.js';
import { NOTIFICATION_EVENT_TYPES } from './vocabulary.js';

export const EVENT_DATA_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  [DASHBOARD_UPDATE_TYPE]: dashboardUpdateSchema,
  [HIGH_FREQUENCY_UPDATE_TYPE]: highFrequencyValuesSchema,
  ...Object.fromEntries(NOTIFICATION_EVENT_TYPES.map((type) => [type, notificationSchema])),
};

/** The data of a snapshot frame: a dashboard's data (`/ws/dashboards/{type}`), or a high-frequency stream's values. */
export function snapshotDataSchema(channel: string): z.ZodType {
  return channel.startsWith('dashboard.') ? dashboardDataSchema : highFrequencyValuesSchema;
}
