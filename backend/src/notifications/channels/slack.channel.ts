/**
 * Slack incoming webhook: one attachment coloured by priority. 429 honours Retry-After; 5xx, timeouts and network
 * errors are retried; any other 4xx fails for good with Slack's reason.
 */
import type { Notification } from '../notification';
import { DeliveryError, describeNotification, type DeliveryAdapter } from './delivery-adapter';

const COLORS = { critical: '#d32f2f', warning: '#f9a825', info: '#1e88e5' } as const;

export class SlackChannel implements DeliveryAdapter {
  readonly name = 'slack' as const;

  constructor(private readonly webhookUrl: string) {}

  readiness(): { configured: boolean; reason?: string } {
    return this.webhookUrl ? { configured: true } : { configured: false, reason: 'not configured: set NOTIFICATIONS_SLACK_WEBHOOK_URL' };
  }

  static payload(notification: Notification): Record<string, unknown> {
    const { subject, lines } = describeNotification(notification);
    return {
      text: subject,
      attachments: [
        {
          color: COLORS[notification.priority],
          title: subject,
          text: lines.join('\n'),
          footer: `data-streaming-api · ${notification.idempotency_key}`,
          ts: Math.floor(Date.parse(notification.created_at) / 1000),
        },
      ],
    };
  }

  async deliver(notification: Notification, signal: AbortSignal): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-idempotency-key': notification.idempotency_key },
        body: JSON.stringify(SlackChannel.payload(notification)),
        signal,
      });
    } catch (error) {
      const { name, message } = error as { name?: string; message?: string };
      throw new DeliveryError(
        name === 'TimeoutError' || name === 'AbortError' ? 'Slack: timed out' : `Slack: ${message ?? 'request failed'}`,
        true,
      );
    }
    const body = (await response.text().catch(() => '')).slice(0, 200);
    if (response.ok) return;
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after'));
      throw new DeliveryError(`Slack: HTTP 429 ${body}`.trim(), true, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined);
    }
    throw new DeliveryError(`Slack: HTTP ${response.status} ${body}`.trim(), response.status >= 500);
  }
}
