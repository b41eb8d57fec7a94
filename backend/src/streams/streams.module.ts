import { Module } from '@nestjs/common';
import { AsyncApiController } from './asyncapi.controller';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { Compressor } from './compression';
import { ConnectionRegistry } from './connection-registry';
import { FanoutService } from './fanout/fanout.service';
import { HighFrequencyService } from './high-frequency/high-frequency.service';
import { LiveChannelRegistry } from './live-channels';
import { SseController } from './sse/sse.controller';
import { SseService } from './sse/sse.service';
import { StreamsStatusService } from './streams-status.service';
import { StreamsController } from './streams.controller';
import { WebSocketGateway } from './websocket/websocket.gateway';

@Module({
  controllers: [StreamsController, SseController, AsyncApiController],
  providers: [
    {
      provide: Compressor,
      inject: [APP_CONFIG],
      useFactory: ({ performance_optimization: settings }: AppConfig) =>
        new Compressor({ level: settings.compression_level, threshold: settings.compression_threshold }),
    },
    ConnectionRegistry,
    FanoutService,
    HighFrequencyService,
    LiveChannelRegistry,
    SseService,
    StreamsStatusService,
    WebSocketGateway,
  ],
  exports: [FanoutService, ConnectionRegistry, LiveChannelRegistry, SseService],
})
export class StreamsModule {}
