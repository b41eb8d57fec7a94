import { Access } from '../auth/access.guard';
import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { WireEvent } from '../bus/stream-message';
import { ApiError } from '../common/api-error';
import { highFrequencyChannel } from '../config/channels';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { HighFrequencyService } from './high-frequency/high-frequency.service';
import { SseService } from './sse/sse.service';
import { StreamsStatusService } from './streams-status.service';
import { unknownChannel } from './subscription-request';

@ApiTags('streams')
@Controller()
export class StreamsController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly status: StreamsStatusService,
    private readonly highFrequency: HighFrequencyService,
    private readonly sse: SseService,
  ) {}

  @Get('streams')
  @ApiOperation({ summary: 'The WebSocket channels' })
  list(): { streams: readonly string[] } {
    return { streams: this.config.websocket.channels };
  }

  @Get('streams/status')
  @ApiOperation({ summary: 'Per channel: subscribers by transport, messages/s, last offset, history depth' })
  streamsStatus(): ReturnType<StreamsStatusService['streams']> {
    return this.status.streams();
  }

  @Get('streams/:channel/recent')
  @ApiOperation({ summary: 'The newest events of a channel from its history (at most 100), oldest first' })
  recent(@Param('channel') channel: string, @Query('limit') limit = '20'): Promise<{ channel: string; events: WireEvent[] }> {
    if (!this.config.websocket.channels.includes(channel)) throw unknownChannel('channel', channel, this.config.websocket.channels);
    const count = Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 100) throw ApiError.badRequest('limit: expected a whole number from 1 to 100');
    return this.status.recent(channel, count);
  }

  @Get('websocket/status')
  @ApiOperation({ summary: 'WebSocket connections, limits and heartbeat' })
  websocketStatus(): Promise<Record<string, unknown>> {
    return this.status.websocket();
  }

  @Get('streams/high_frequency/:name')
  @Access('subscription')
  @ApiOperation({ summary: 'A high-frequency stream as SSE: a snapshot, then the changed keys every update_rate seconds' })
  @ApiParam({ name: 'name', example: 'system_metrics' })
  @ApiProduces('text/event-stream')
  async highFrequencyStream(@Param('name') name: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const settings = this.config.high_frequency_streams;
    if (!settings.enabled) throw ApiError.notFound('high_frequency_disabled', 'high-frequency streams are disabled');
    if (!this.highFrequency.has(name)) throw unknownChannel('high-frequency stream', name, settings.streams);
    await this.sse.open(request, response, highFrequencyChannel(name), {
      names: [highFrequencyChannel(name)],
      compression: settings.compression_enabled,
      attach: {
        policy: { immediate: settings.priority === 'high' },
        beforeLive: (subscriber) => {
          // A fresh subscriber starts from the full state; a resuming one already had it.
          if (request.header('last-event-id') !== undefined || request.query.since !== undefined) return;
          const snapshot = this.highFrequency.snapshot(name);
          subscriber.control({ kind: 'snapshot', channel: name, id: snapshot.id, data: { values: snapshot.values } }, snapshot.id);
        },
      },
    });
  }
}
