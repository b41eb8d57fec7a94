/** Provides REDIS: the RedisConnection when DATA_STREAMING_REDIS_URL is set, null otherwise (one process, in memory). */
import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { LeadershipService } from './leadership.service';
import { REDIS, RedisConnection } from './redis.connection';

@Module({
  providers: [
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<RedisConnection | null> => {
        if (config.redis.url === '') return null;
        const connection = new RedisConnection(config.redis.url, config.redis);
        await connection.start();
        return connection;
      },
    },
    LeadershipService,
  ],
  exports: [REDIS, LeadershipService],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisConnection | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.close();
  }
}
