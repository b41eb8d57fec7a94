/** What every notification channel implements, and how a failed attempt says whether to try again. */
import type { Notification, NotificationChannel } from '../notification';

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** False when another attempt cannot succeed (e.g. HTTP 404 from Slack, SMTP 550). */
    readonly retryable: boolean,
    /** The receiver's own wish (HTTP Retry-After), honoured when longer than our backoff. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface DeliveryChannel {
  readonly name: NotificationChannel;
  /** Whether the configuration has what the channel needs; `reason` says what is missing. */
  readiness(): { configured: boolean; reason?: string };
  /** One attempt; resolves when delivered, throws DeliveryError (or any error: retried) otherwise. */
  deliver(notification: Notification, signal: AbortSignal): Promise<void>;
  close?(): void;
}

export const DELIVERY_CHANNELS = Symbol('DELIVERY_CHANNELS');

export function describeNotification(notification: Notification): { subject: string; lines: string[] } {
  const status = notification.status === 'info' ? '' : ` ${notification.status}`;
  const values = notification.rule
    ? Object.entries(notification.rule.values).map(([metric, value]) => `${metric} = ${value ?? 'no data'}`)
    : [];
  const subject = `[${notification.priority.toUpperCase()}] ${notification.title}${status}${values.length > 0 ? `: ${values.join(', ')}` : ''}`;
  const lines = [
    notification.message,
    '',
    `Priority: ${notification.priority}`,
    `Status: ${notification.status}`,
    ...(notification.rule ? [`Rule: ${notification.rule.name} (${notification.rule.condition})`, `Values: ${values.join(', ')}`] : []),
    `Time: ${notification.created_at}`,
    ...Object.entries(notification.labels).map(([name, value]) => `Label ${name}: ${value}`),
    `Notification: ${notification.id}`,
    `Idempotency key: ${notification.idempotency_key}`,
  ];
  return { subject, lines };
}
