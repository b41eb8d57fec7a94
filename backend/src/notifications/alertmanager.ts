/** Turns an Alertmanager webhook (payload version 4) into notifications: one per alert, firing or resolved. */
import { createHash } from 'node:crypto';
import type { AlertmanagerPayload, NewNotification, DeliveryChannel, Priority } from './notification';

const SEVERITY: Record<string, Priority> = {
  critical: 'critical',
  page: 'critical',
  error: 'critical',
  warning: 'warning',
  warn: 'warning',
};

/** Alertmanager's own fingerprint when given, else a stable hash of the sorted labels. */
function fingerprintOf(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name] ?? ''}`)
    .join('\u0000');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function alertmanagerNotifications(payload: AlertmanagerPayload, channel: DeliveryChannel | 'all'): NewNotification[] {
  return payload.alerts.map((alert) => {
    const name = alert.labels.alertname ?? 'alert';
    const fingerprint = alert.fingerprint ?? fingerprintOf(alert.labels);
    const summary = alert.annotations.summary ?? alert.annotations.description ?? name;
    return {
      type: `alertmanager.${alert.status}`,
      status: alert.status,
      priority: SEVERITY[(alert.labels.severity ?? '').toLowerCase()] ?? 'info',
      title: name,
      message: alert.status === 'firing' ? summary : `Resolved: ${summary}`,
      labels: {
        ...alert.labels,
        ...Object.fromEntries(Object.entries(alert.annotations).map(([key, value]) => [`annotation.${key}`, value])),
        fingerprint,
        receiver: payload.receiver,
      },
      channel,
      // Alertmanager re-sends a group on every change and repeat: one notification per alert, state and episode.
      idempotency_key: `alertmanager:${fingerprint}:${alert.status}:${alert.startsAt}`,
    };
  });
}
