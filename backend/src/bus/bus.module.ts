/**
 * Provides BUS: the Redis bus when DATA_STREAMING_REDIS_URL is set (instances share positions and history), the
 * in-memory bus otherwise.
 */
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { DASHBOARD_PREFIX, HIGH_FREQUENCY_PREFIX, historySize } from '../config/channels';
import type { AppConfig } from '../config/config.schema';
import { MetricsModule } from '../metrics/metrics.module';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { REDIS, type RedisConnection } from '../redis/redis.connection';
import { BUS, type Bus } from './bus.port';
import { MemoryBus } from './memory.bus';
import { PublisherService } from './publisher.service';
import { RedisBus } from './redis.bus';

@Global()
@Module({
  imports: [MetricsModule],
  providers: [
    {
      provide: BUS,
      inject: [APP_CONFIG, REDIS, StreamingMetrics],
      useFactory: async (config: AppConfig, redis: RedisConnection | null, metrics: StreamingMetrics): Promise<Bus> => {
        const history = { historySize: (channel: string) => historySize(config, channel) };
        if (!redis) return new MemoryBus(history);
        const bus = new RedisBus(redis, {
          ...history,
          channels: [...config.websocket.channels, config.real_time_notifications.sse_stream],
          isLocal: (channel) => channel.startsWith(DASHBOARD_PREFIX) || channel.startsWith(HIGH_FREQUENCY_PREFIX),
          maxPending: config.redis.max_pending,
          onDropped: (count) => metrics.busForwardDropped.inc(count),
          onModeChange: (shared) => metrics.busMode.set(shared ? 1 : 0),
        });
        await bus.start();
        return bus;
      },
    },
    PublisherService,
  ],
  exports: [BUS, PublisherService],
})
export class BusModule implements OnApplicationShutdown {
  constructor(@Inject(BUS) private readonly bus: Bus) {}

  onApplicationShutdown(): void {
    if (this.bus instanceof RedisBus) this.bus.close();
  }
}
