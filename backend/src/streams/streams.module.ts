import { Module } from '@nestjs/common';
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
  controllers: [StreamsController, SseController],
  providers: [
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
