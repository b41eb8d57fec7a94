/**
 * Notifications: the send endpoint, the Alertmanager receiver and the rule engine accept into the outbox (Redis,
 * shared by every instance, when DATA_STREAMING_REDIS_URL is set; SQLite local to this process otherwise), and the
 * dispatcher delivers from it.
 */
import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { join, resolve } from 'node:path';
import { PublisherService } from '../bus/publisher.service';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { REDIS, type RedisConnection } from '../redis/redis.connection';
import { DeliveryAdapters } from './channels/delivery-adapter';
import { EmailChannel } from './channels/email.channel';
import { SlackChannel } from './channels/slack.channel';
import { StreamChannel, WEBSOCKET_NOTIFICATION_CHANNEL } from './channels/stream.channels';
import { DispatcherService } from './delivery/dispatcher.service';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';
import type { Outbox } from './outbox/outbox.port';
import { SqliteOutbox } from './outbox/sqlite.outbox';
import { OUTBOX } from './outbox/outbox.token';
import { RedisOutbox } from './outbox/redis.outbox';
import { RuleEngineService } from './rules/rule-engine.service';
import { RULE_STATES, RedisRuleStates, SqliteRuleStates, type RuleStateStore } from './rules/rule-state.store';
import { BusModule } from '../bus/bus.module';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricStoreModule } from '../metric-store/metric-store.module';
import { RedisModule } from '../redis/redis.module';

/** The SQLite file of the outbox and the rule state (one instance, no Redis). */
const notificationsPath = (config: AppConfig): string => join(resolve(config.storage.data_dir), 'notifications.sqlite');

@Module({
  imports: [BusModule, MetricsModule, MetricStoreModule, RedisModule],
  controllers: [NotificationsController],
  providers: [
    {
      provide: OUTBOX,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: AppConfig, redis: RedisConnection | null): Outbox =>
        redis
          ? new RedisOutbox(redis, config.real_time_notifications.retention)
          : new SqliteOutbox(notificationsPath(config), config.storage.sqlite_cache_kb),
    },
    {
      provide: RULE_STATES,
      inject: [APP_CONFIG, REDIS],
      useFactory: (config: AppConfig, redis: RedisConnection | null): RuleStateStore =>
        redis ? new RedisRuleStates(redis) : new SqliteRuleStates(notificationsPath(config), config.storage.sqlite_cache_kb),
    },
    {
      provide: DeliveryAdapters,
      inject: [APP_CONFIG, PublisherService],
      useFactory: (config: AppConfig, publisher: PublisherService): DeliveryAdapters => {
        const settings = config.real_time_notifications;
        return new DeliveryAdapters([
          new StreamChannel('websocket', WEBSOCKET_NOTIFICATION_CHANNEL, publisher),
          new StreamChannel('sse', settings.sse_stream, publisher),
          new EmailChannel({
            smtpUrl: settings.smtp_url,
            from: settings.email_from,
            to: settings.email_to,
            timeoutMs: settings.delivery_timeout * 1000,
          }),
          new SlackChannel(settings.slack_webhook_url),
        ]);
      },
    },
    DispatcherService,
    NotificationsService,
    RuleEngineService,
  ],
  exports: [NotificationsService],
})
export class NotificationsModule implements OnApplicationShutdown {
  constructor(@Inject(OUTBOX) private readonly outbox: Outbox) {}

  async onApplicationShutdown(): Promise<void> {
    await this.outbox.close();
  }
}
