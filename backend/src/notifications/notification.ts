/**
 * A notification: what is stored in the outbox, published on the streaming channels, mailed and posted to Slack.
 * One schema per way in (the send endpoint, the Alertmanager receiver) and one type for what is stored.
 */
import { z } from 'zod';
import { NOTIFICATION_CHANNELS, PRIORITIES } from '../config/config.schema';

export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export type Priority = (typeof PRIORITIES)[number];

export interface Notification {
  id: string;
  /** The same on every delivery attempt and every channel: receivers use it to drop duplicates. */
  idempotency_key: string;
  type: string;
  status: 'firing' | 'resolved' | 'info';
  priority: Priority;
  title: string;
  message: string;
  labels: Record<string, string>;
  rule?: { name: string; condition: string; values: Record<string, number | null> };
  created_at: string;
  channels: NotificationChannel[];
}

/** What a producer asks for; the service adds id, time and the resolved channels. */
export type NewNotification = Omit<Notification, 'id' | 'created_at' | 'channels' | 'idempotency_key'> & {
  idempotency_key?: string;
  channel: NotificationChannel | 'all';
};

const labels = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/, 'label names are letters, digits and _ . -'), z.string().max(1024))
  .refine((value) => Object.keys(value).length <= 64, 'at most 64 labels');

export const sendBodySchema = z.strictObject({
  type: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only'),
  message: z.string().min(1).max(4000),
  channel: z.enum([...NOTIFICATION_CHANNELS, 'all'], { error: `expected one of: ${[...NOTIFICATION_CHANNELS, 'all'].join(', ')}` }),
  priority: z.enum(PRIORITIES).default('info'),
  title: z.string().min(1).max(200).optional(),
  labels: labels.optional(),
  idempotency_key: z.string().min(1).max(200).optional(),
});

export type SendBody = z.infer<typeof sendBodySchema>;

/** Alertmanager's webhook payload, version 4. Unknown fields are kept out, not refused: Alertmanager adds some. */
export const alertmanagerSchema = z.object({
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

export type AlertmanagerPayload = z.infer<typeof alertmanagerSchema>;
