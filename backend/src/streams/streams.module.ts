import { Module } from '@nestjs/common';
import { Admission } from './admission';
import { AsyncApiController } from './asyncapi.controller';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { Compressor } from './compression';
import { ConnectionLimits } from './connection-limits';
import { FanoutService } from './fanout/fanout.service';
import { HighFrequencyController } from './high-frequency/high-frequency.controller';
import { HighFrequencyService } from './high-frequency/high-frequency.service';
import { LiveChannelRegistry } from './live-channels';
import { SseController } from './sse/sse.controller';
import { SseService } from './sse/sse.service';
import { StreamsStatusService } from './streams-status.service';
import { StreamsController } from './streams.controller';
import { WebSocketUpgradeHandler } from './websocket/websocket-upgrade.handler';
import { AuthModule } from '../auth/auth.module';
import { BusModule } from '../bus/bus.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';

@Module({
  imports: [AuthModule, BusModule, MetricsModule, RedisModule],
  controllers: [StreamsController, HighFrequencyController, SseController, AsyncApiController],
  providers: [
    {
      provide: Compressor,
      inject: [APP_CONFIG],
      useFactory: ({ performance_optimization: settings }: AppConfig) =>
        new Compressor({ level: settings.compression_level, threshold: settings.compression_threshold }),
    },
    Admission,
    ConnectionLimits,
    FanoutService,
    HighFrequencyService,
    LiveChannelRegistry,
    SseService,
    StreamsStatusService,
    WebSocketUpgradeHandler,
  ],
  exports: [FanoutService, ConnectionLimits, LiveChannelRegistry, SseService],
})
export class StreamsModule {}
