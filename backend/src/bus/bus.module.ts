/**
 * Provides BUS: the Redis bus when DATA_STREAMING_REDIS_URL is set (instances share positions and history); else the
 * durable bus (history in SQLite under storage.data_dir, the default) or, with `storage.durability: memory`, the
 * in-memory bus.
 */
import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { join, resolve } from 'node:path';
import { APP_CONFIG } from '../config/config.module';
import { historySize, isDerivedChannel } from '../config/channels';
import type { AppConfig } from '../config/config.schema';
import { MetricsModule } from '../metrics/metrics.module';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { REDIS, type RedisConnection } from '../redis/redis.connection';
import { RedisModule } from '../redis/redis.module';
import { BUS, type Bus, type BusOptions } from './bus.port';
import type { Retention } from './channel-log';
import { DurableBus } from './durable.bus';
import { MemoryBus, newEpoch } from './memory.bus';
import { PublisherService } from './publisher.service';
import { RedisBus } from './redis.bus';
import { SqliteHistory } from './sqlite-history';

export const historyPath = (config: AppConfig): string => join(resolve(config.storage.data_dir), 'history.sqlite');

/** How much history a channel keeps: by count (its history size), payload bytes and age. */
export function retention(config: AppConfig, channel: string): Retention {
  return {
    capacity: historySize(config, channel),
    maxBytes: config.service.history_max_bytes,
    maxAgeMs: config.service.history_max_age * 1000,
  };
}

@Module({
  imports: [MetricsModule, RedisModule],
  providers: [
    {
      provide: BUS,
      inject: [APP_CONFIG, REDIS, StreamingMetrics],
      useFactory: async (config: AppConfig, redis: RedisConnection | null, metrics: StreamingMetrics): Promise<Bus> => {
        const options: BusOptions = {
          retention: (channel: string) => retention(config, channel),
          idempotency: { windowMs: config.service.idempotency_window * 1000, maxKeys: config.service.idempotency_max_keys },
        };
        if (!redis) {
          const durability = config.storage.durability;
          if (durability === 'memory') return new MemoryBus(options);
          const store = new SqliteHistory(
            historyPath(config),
            durability === 'fsync' ? 'FULL' : 'NORMAL',
            config.storage.sqlite_cache_kb,
            newEpoch,
          );
          return new DurableBus(store, { ...options, durability, isLocal: isDerivedChannel });
        }
        const bus = new RedisBus(redis, {
          ...options,
          channels: [...config.websocket.channels, config.real_time_notifications.sse_stream],
          isLocal: isDerivedChannel,
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
    if (this.bus instanceof RedisBus || this.bus instanceof DurableBus) this.bus.close();
  }
}
