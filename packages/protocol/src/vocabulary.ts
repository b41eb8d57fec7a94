/**
 * The fixed vocabularies of the protocol (delivery channels, priorities, notification and rule states, comparison
 * operators) without zod, so that a browser bundle can list them without carrying the schemas
 * (`@data-streaming/protocol/vocabulary`). The schemas of notifications.ts are built from these.
 */

/** Where a notification can be delivered. */
export const DELIVERY_CHANNELS = ['websocket', 'sse', 'email', 'slack'] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

export const PRIORITIES = ['critical', 'warning', 'info'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const NOTIFICATION_STATUSES = ['firing', 'resolved', 'info'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** The types of the streaming events that carry a notification (on `system_alerts` and `/sse/notifications`). */
export const NOTIFICATION_EVENT_TYPES = ['notification.firing', 'notification.resolved', 'notification.info'] as const;

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;

export const RULE_STATES = ['inactive', 'pending', 'firing'] as const;

export const COMPARATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
