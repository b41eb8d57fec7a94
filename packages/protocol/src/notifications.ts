/**
 * Notifications: the object stored in the outbox and delivered unchanged on every delivery channel, the two ways in
 * (POST /notifications/send, the Alertmanager webhook) and the status bodies.
 */
import { z } from 'zod';
import { isoTime } from './events.js';
import { COMPARATORS, DELIVERY_CHANNELS, DELIVERY_STATES, NOTIFICATION_STATUSES, PRIORITIES, RULE_STATES } from './vocabulary.js';

const labels = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/, 'label names are letters, digits and _ . -'), z.string().max(1024))
  .refine((value) => Object.keys(value).length <= 64, 'at most 64 labels');

/** A notification as the service stores and delivers it (the limits of what it takes in are on the ways in). */
export const notificationSchema = z.strictObject({
  id: z.uuid(),
  /** The same on every delivery attempt and every channel: receivers use it to drop duplicates. */
  idempotency_key: z.string().min(1),
  type: z.string().min(1),
  status: z.enum(NOTIFICATION_STATUSES),
  priority: z.enum(PRIORITIES),
  title: z.string().min(1),
  message: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  /** For a rule's notification: the rule, its condition and the values it saw. */
  rule: z
    .strictObject({
      name: z.string(),
      condition: z.string(),
      values: z.record(z.string(), z.number().nullable()),
    })
    .optional(),
  created_at: isoTime,
  channels: z.array(z.enum(DELIVERY_CHANNELS)),
});
export type Notification = z.infer<typeof notificationSchema>;

/** POST /notifications/send. */
export const sendNotificationSchema = z.strictObject({
  type: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only'),
  message: z.string().min(1).max(4000),
  channel: z.enum([...DELIVERY_CHANNELS, 'all'], { error: `expected one of: ${[...DELIVERY_CHANNELS, 'all'].join(', ')}` }),
  priority: z.enum(PRIORITIES).default('info'),
  title: z.string().min(1).max(200).optional(),
  labels: labels.optional(),
  idempotency_key: z.string().min(1).max(200).optional(),
});
export type SendNotification = z.input<typeof sendNotificationSchema>;

/** 202 of POST /notifications/send: stored (or the same key's earlier notification), or suppressed by priority. */
export const sendNotificationResponseSchema = z.union([
  z.strictObject({ id: z.uuid(), deduplicated: z.boolean(), channels: z.array(z.enum(DELIVERY_CHANNELS)) }),
  z.strictObject({ id: z.null(), suppressed: z.literal(true), reason: z.string() }),
]);
export type SendNotificationResponse = z.infer<typeof sendNotificationResponseSchema>;

/** Alertmanager's webhook payload, version 4. Unknown fields are dropped, not refused: Alertmanager adds some. */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  receiver: z.string(),
  status: z.enum(['firing', 'resolved']),
  groupKey: z.string(),
  externalURL: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  groupLabels: z.record(z.string(), z.string()).optional(),
  commonLabels: z.record(z.string(), z.string()).optional(),
  commonAnnotations: z.record(z.string(), z.string()).optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string(),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().optional(),
      }),
    )
    .max(1000),
});
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;

/** 200 of POST /notifications/alertmanager: per alert, its notification id (null when suppressed). */
export const alertmanagerResponseSchema = z.strictObject({
  accepted: z.number().int().min(0),
  deduplicated: z.number().int().min(0),
  suppressed: z.number().int().min(0),
  ids: z.array(z.uuid().nullable()),
});
export type AlertmanagerResponse = z.infer<typeof alertmanagerResponseSchema>;

const stateCounts = z.strictObject({ pending: z.number().int(), delivered: z.number().int(), failed: z.number().int() });

/**
 * One comparison of a rule's condition, read as `metric op threshold` (a number on the left is moved to the right,
 * the operator turned): the metric's current value, the threshold (a number, or another metric's current value), and
 * whether it holds. A metric with no current value holds nothing.
 */
export const ruleComparisonSchema = z.strictObject({
  metric: z.string(),
  op: z.enum(COMPARATORS),
  threshold: z.number().nullable(),
  /** Set when the threshold is another metric. */
  threshold_metric: z.string().optional(),
  value: z.number().nullable(),
  holds: z.boolean(),
});
export type RuleComparison = z.infer<typeof ruleComparisonSchema>;

/** A notification rule and where it stands. */
export const ruleStatusSchema = z.strictObject({
  name: z.string(),
  condition: z.string(),
  state: z.enum(RULE_STATES),
  /** Since when the rule is pending or firing (null while inactive). */
  since: isoTime.nullable(),
  /** The last time it fired (null when it never did). */
  last_fired_at: isoTime.nullable(),
  /** `for:` and `cooldown`, seconds. */
  for_seconds: z.number().min(0),
  cooldown_seconds: z.number().min(0),
  priority: z.enum(PRIORITIES),
  channel: z.string(),
  comparisons: z.array(ruleComparisonSchema),
});
export type RuleStatus = z.infer<typeof ruleStatusSchema>;

/** GET /notifications/status. */
export const notificationsStatusSchema = z.strictObject({
  notifications_enabled: z.boolean(),
  delivery_channels: z.array(z.enum(DELIVERY_CHANNELS)),
  pending: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  by_channel: z.record(z.string(), stateCounts),
  rules: z.array(ruleStatusSchema),
});
export type NotificationsStatus = z.infer<typeof notificationsStatusSchema>;

/** GET /notifications/channels. */
export const deliveryChannelsReportSchema = z.strictObject({
  channels: z.array(
    z.strictObject({
      channel: z.enum(DELIVERY_CHANNELS),
      enabled: z.boolean(),
      configured: z.boolean(),
      /** Why the channel cannot deliver (what to set). */
      reason: z.string().optional(),
      queue_depth: z.number().int(),
      delivered: z.number().int(),
      failed: z.number().int(),
      last_success: isoTime.nullable(),
      last_failure: z.strictObject({ at: isoTime, reason: z.string() }).nullable(),
    }),
  ),
});
export type DeliveryChannelsReport = z.infer<typeof deliveryChannelsReportSchema>;

/** GET /notifications/{id}: the notification and its delivery per channel. */
export const notificationDetailSchema = notificationSchema.extend({
  deliveries: z.array(
    z.strictObject({
      channel: z.enum(DELIVERY_CHANNELS),
      state: z.enum(DELIVERY_STATES),
      attempts: z.number().int().min(0),
      last_error: z.string().nullable(),
      delivered_at: isoTime.nullable(),
      next_attempt_at: isoTime.nullable(),
    }),
  ),
});
export type NotificationDetail = z.infer<typeof notificationDetailSchema>;
