/**
 * The protocol's schemas by name, as JSON Schema: the components the service's OpenAPI document (`/openapi.json`)
 * and AsyncAPI document (`/asyncapi.json`) refer to, generated from the zod schemas so that neither can drift from
 * what the service checks and sends. Request bodies are described as they are taken (defaults optional), everything
 * else as it is sent.
 */
import { z } from 'zod';
import { tokenRequestSchema, tokenResponseSchema, verifyResponseSchema } from './auth.js';
import {
  dashboardDataSchema,
  dashboardListSchema,
  dashboardRefreshBodySchema,
  dashboardRefreshResponseSchema,
  dashboardUpdateSchema,
  dashboardsStatusSchema,
  highFrequencyValuesSchema,
} from './dashboards.js';
import { errorBodySchema } from './errors.js';
import { historyPageSchema, jsonValue, publishEventSchema, publishResponseSchema, streamsListSchema, wireEventSchema } from './events.js';
import {
  batchFrameSchema,
  clientMessageSchema,
  errorFrameSchema,
  pongFrameSchema,
  refusedReasonSchema,
  serverFrameSchema,
  snapshotFrameSchema,
  tryAgainLaterReasonSchema,
  welcomeFrameSchema,
} from './frames.js';
import {
  alertmanagerResponseSchema,
  alertmanagerWebhookSchema,
  deliveryChannelsReportSchema,
  notificationDetailSchema,
  notificationSchema,
  notificationsStatusSchema,
  sendNotificationResponseSchema,
  sendNotificationSchema,
} from './notifications.js';
import { healthSchema, recentEventsSchema, streamsStatusSchema, websocketStatusSchema } from './status.js';

/** What clients send: described with defaults optional. */
export const REQUEST_SCHEMAS = {
  PublishEvent: publishEventSchema,
  SendNotification: sendNotificationSchema,
  AlertmanagerWebhook: alertmanagerWebhookSchema,
  TokenRequest: tokenRequestSchema,
  DashboardRefresh: dashboardRefreshBodySchema,
  ClientMessage: clientMessageSchema,
} as const;

/** What the service sends. */
export const RESPONSE_SCHEMAS = {
  ErrorBody: errorBodySchema,
  PublishResponse: publishResponseSchema,
  WireEvent: wireEventSchema,
  WelcomeFrame: welcomeFrameSchema,
  BatchFrame: batchFrameSchema,
  SnapshotFrame: snapshotFrameSchema,
  ErrorFrame: errorFrameSchema,
  PongFrame: pongFrameSchema,
  ServerFrame: serverFrameSchema,
  TryAgainLaterReason: tryAgainLaterReasonSchema,
  RefusedReason: refusedReasonSchema,
  Health: healthSchema,
  StreamsList: streamsListSchema,
  StreamsStatus: streamsStatusSchema,
  WebsocketStatus: websocketStatusSchema,
  RecentEvents: recentEventsSchema,
  HistoryPage: historyPageSchema,
  DashboardList: dashboardListSchema,
  DashboardsStatus: dashboardsStatusSchema,
  DashboardData: dashboardDataSchema,
  DashboardUpdate: dashboardUpdateSchema,
  DashboardRefreshResponse: dashboardRefreshResponseSchema,
  HighFrequencyValues: highFrequencyValuesSchema,
  Notification: notificationSchema,
  NotificationDetail: notificationDetailSchema,
  NotificationsStatus: notificationsStatusSchema,
  DeliveryChannelsReport: deliveryChannelsReportSchema,
  SendNotificationResponse: sendNotificationResponseSchema,
  AlertmanagerResponse: alertmanagerResponseSchema,
  TokenResponse: tokenResponseSchema,
  VerifyResponse: verifyResponseSchema,
} as const;

export type SchemaName = keyof typeof REQUEST_SCHEMAS | keyof typeof RESPONSE_SCHEMAS | 'JsonValue';

export type JsonSchema = Record<string, unknown>;

/**
 * Every named schema as JSON Schema for `target` (OpenAPI 3.0's dialect, or draft 7 for AsyncAPI), each referring to
 * the others as `<prefix><Name>` (e.g. `#/components/schemas/`).
 */
export function componentSchemas(target: 'openapi-3.0' | 'draft-7', prefix: string): Record<SchemaName, JsonSchema> {
  const convert = (schemas: Record<string, z.ZodType>, io: 'input' | 'output') => {
    const registry = z.registry<{ id: string }>();
    registry.add(jsonValue, { id: 'JsonValue' });
    for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
    const { schemas: converted } = z.toJSONSchema(registry, { target, io, unrepresentable: 'any', uri: (id) => `${prefix}${id}` });
    // `$id` and `$schema` are not keywords of OpenAPI 3.0 schema objects; the documents name each schema by its key.
    return Object.fromEntries(
      Object.entries(converted).map(([id, { $id: _id, $schema: _schema, ...schema }]) => [id, schema as JsonSchema]),
    );
  };
  return { ...convert(RESPONSE_SCHEMAS, 'output'), ...convert(REQUEST_SCHEMAS, 'input') } as Record<SchemaName, JsonSchema>;
}
