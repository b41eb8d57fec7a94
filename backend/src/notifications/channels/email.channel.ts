/** Email over SMTP with nodemailer: a pooled transport whose connection, greeting and socket timeouts fit the attempt. */
import { createTransport, type Transporter } from 'nodemailer';
import type { Notification } from '../notification';
import { DeliveryError, describeNotification, type DeliveryAdapter } from './delivery-adapter';

export interface EmailSettings {
  smtpUrl: string;
  from: string;
  to: readonly string[];
  timeoutMs: number;
}

export class EmailChannel implements DeliveryAdapter {
  readonly name = 'email' as const;
  private transport: Transporter | undefined;

  constructor(private readonly settings: EmailSettings) {}

  readiness(): { configured: boolean; reason?: string } {
    const missing = [
      ...(this.settings.smtpUrl ? [] : ['NOTIFICATIONS_SMTP_URL']),
      ...(this.settings.from ? [] : ['NOTIFICATIONS_EMAIL_FROM']),
      ...(this.settings.to.length > 0 ? [] : ['NOTIFICATIONS_EMAIL_TO']),
    ];
    return missing.length === 0 ? { configured: true } : { configured: false, reason: `not configured: set ${missing.join(', ')}` };
  }

  async deliver(notification: Notification, signal: AbortSignal): Promise<void> {
    const timeout = this.settings.timeoutMs;
    this.transport ??= createTransport({
      url: this.settings.smtpUrl,
      pool: true,
      maxConnections: 2,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    const { subject, lines } = describeNotification(notification);
    const sending = this.transport.sendMail({
      from: this.settings.from,
      to: [...this.settings.to],
      subject,
      text: lines.join('\n'),
      messageId: `<${notification.idempotency_key.replace(/[^A-Za-z0-9._-]/g, '_')}@data-streaming-api>`,
      headers: {
        'X-Notification-Id': notification.id,
        'X-Idempotency-Key': notification.idempotency_key,
        'X-Priority': notification.priority === 'critical' ? '1' : notification.priority === 'warning' ? '2' : '3',
      },
    });
    try {
      await abortable(sending, signal);
    } catch (error) {
      const { responseCode, message } = error as { responseCode?: number; message?: string };
      // SMTP 5xx is a permanent refusal (no such mailbox, policy); 4xx and connection trouble may pass.
      const permanent = typeof responseCode === 'number' && responseCode >= 500;
      throw new DeliveryError(`SMTP: ${message ?? String(error)}`, !permanent);
    }
  }

  close(): void {
    this.transport?.close();
  }
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DeliveryError('timed out', true));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DeliveryError('timed out', true));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
