import { ApiErrors, ApiJsonResponse } from '../common/openapi';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WireEvent } from '../bus/stream-message';
import type { HistoryPage } from '@data-streaming/protocol';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamsStatusService } from './streams-status.service';

@ApiTags('streams')
@Controller()
export class StreamsController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly status: StreamsStatusService,
  ) {}

  @Get('streams')
  @ApiOperation({ summary: 'The WebSocket channels' })
  @ApiJsonResponse(200, 'StreamsList', 'The WebSocket channels')
  list(): { streams: readonly string[] } {
    return { streams: this.config.websocket.channels };
  }

  @Get('streams/status')
  @ApiOperation({ summary: 'Per channel: subscribers by transport, messages/s, last offset, history depth' })
  @ApiJsonResponse(200, 'StreamsStatus', 'Every channel, the connections and the history storage')
  streamsStatus(): ReturnType<StreamsStatusService['streams']> {
    return this.status.streams();
  }

  @Get('streams/:channel/recent')
  @ApiOperation({ summary: 'The newest events of a channel from its history (at most 100), oldest first' })
  @ApiJsonResponse(200, 'RecentEvents', 'The newest events, oldest first')
  @ApiErrors('bad_request', 'unknown_channel')
  recent(@Param('channel') channel: string, @Query('limit') limit = '20'): Promise<{ channel: string; events: WireEvent[] }> {
    return this.status.recent(channel, limit);
  }

  @Get('streams/:channel/history')
  @ApiOperation({
    summary: 'Events of a channel accepted in [from, to] (ISO 8601 or ms), oldest or newest first, a page at a time',
    description:
      'Query: from (optional; default the oldest held, not in the future), to (default now), limit 1..1000 (default 100), ' +
      'order asc|desc (default asc), cursor (next_cursor of the previous page; it carries from, to and order).',
  })
  @ApiJsonResponse(200, 'HistoryPage', 'One page of events and the cursor of the next')
  @ApiErrors('bad_request', 'time_ahead', 'unknown_channel', 'history_unavailable')
  history(@Param('channel') channel: string, @Query() query: Record<string, unknown>): Promise<HistoryPage> {
    return this.status.history(channel, query);
  }

  @Get('websocket/status')
  @ApiOperation({ summary: 'WebSocket connections, limits and heartbeat' })
  @ApiJsonResponse(200, 'WebsocketStatus', 'Connections, limits and heartbeat')
  websocketStatus(): Promise<Record<string, unknown>> {
    return this.status.websocket();
  }
}
