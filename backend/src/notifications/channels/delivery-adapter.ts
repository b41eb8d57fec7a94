/**
 * What delivers a notification on one delivery channel (websocket, sse, email, slack: the protocol's
 * DELIVERY_CHANNELS): an adapter per channel, and how a failed attempt says whether to try again.
 */
import type { Notification, DeliveryChannel } from '../notification';

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

/** The adapter of one delivery channel. */
export interface DeliveryAdapter {
  readonly name: DeliveryChannel;
  /** Whether the configuration has what the channel needs; `reason` says what is missing. */
  readiness(): { configured: boolean; reason?: string };
  /** One attempt; resolves when delivered, throws DeliveryError (or any error: retried) otherwise. */
  deliver(notification: Notification, signal: AbortSignal): Promise<void>;
  close?(): void;
}

/**
 * The adapters by delivery channel (one per name of the protocol's DELIVERY_CHANNELS): the one map the notifications
 * service (readiness, reports) and the dispatcher (attempts) share.
 */
export class DeliveryAdapters {
  private readonly byName: ReadonlyMap<DeliveryChannel, DeliveryAdapter>;

  constructor(channels: readonly DeliveryAdapter[]) {
    this.byName = new Map(channels.map((channel) => [channel.name, channel]));
  }

  get(name: DeliveryChannel): DeliveryAdapter | undefined {
    return this.byName.get(name);
  }

  all(): DeliveryAdapter[] {
    return [...this.byName.values()];
  }
}

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
