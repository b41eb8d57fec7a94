/**
 * A notification: what is stored in the outbox, published on the streaming channels, mailed and posted to Slack.
 * Its shape and the two ways in (the send endpoint, the Alertmanager receiver) are the protocol's; what a producer
 * inside the service asks for is defined here.
 */
import { DELIVERY_CHANNELS, type DeliveryChannel, type Notification } from '@data-streaming/protocol';

export type { AlertmanagerWebhook as AlertmanagerPayload, DeliveryChannel, Notification, Priority } from '@data-streaming/protocol';

export const isDeliveryChannel = (value: unknown): value is DeliveryChannel => (DELIVERY_CHANNELS as readonly unknown[]).includes(value);

/** What a producer asks for; the service adds id, time and the resolved channels. */
export type NewNotification = Omit<Notification, 'id' | 'created_at' | 'channels' | 'idempotency_key'> & {
  idempotency_key?: string;
  channel: DeliveryChannel | 'all';
};
