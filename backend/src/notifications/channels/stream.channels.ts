/**
 * The streaming channels: `websocket` publishes on the system_alerts channel, `sse` on the notification SSE stream
 * (`real_time_notifications.sse_stream`). Both go through the bus, so history and resume apply.
 */
import type { PublisherService } from '../../bus/publisher.service';
import type { Notification, DeliveryChannel } from '../notification';
import type { DeliveryAdapter } from './delivery-adapter';

export const WEBSOCKET_NOTIFICATION_CHANNEL = 'system_alerts';

export class StreamChannel implements DeliveryAdapter {
  constructor(
    readonly name: DeliveryChannel,
    private readonly busChannel: string,
    private readonly publisher: PublisherService,
  ) {}

  readiness(): { configured: boolean } {
    return { configured: true };
  }

  async deliver(notification: Notification): Promise<void> {
    await this.publisher.publish(
      this.busChannel,
      [{ type: `notification.${notification.status}`, key: notification.idempotency_key, data: notification }],
      'notification',
    );
  }
}
