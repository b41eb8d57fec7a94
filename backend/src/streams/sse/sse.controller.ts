import { Access } from '../../common/access';
import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { sseSource } from '../../config/channels';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { ApiError } from '../../common/api-error';
import { unknownChannel } from '../subscription-request';
import { ConnectionLimits } from '../connection-limits';
import { SseService } from './sse.service';

@ApiTags('streams')
@Access('subscription')
@Controller('sse')
export class SseController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly sse: SseService,
    private readonly connections: ConnectionLimits,
  ) {}

  @Get(':stream')
  @ApiOperation({ summary: 'Server-Sent Events stream; resume with Last-Event-ID or ?since=epoch:offset' })
  @ApiParam({ name: 'stream', example: 'real_time_metrics' })
  @ApiProduces('text/event-stream')
  async stream(@Param('stream') stream: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    if (!this.config.sse.enabled) throw ApiError.notFound('sse_disabled', 'SSE streaming is disabled');
    const channel = sseSource(this.config, stream);
    if (channel === undefined) {
      this.connections.refused('sse', 'unknown_channel');
      throw unknownChannel('SSE stream', stream, [...this.config.sse.streams, ...this.config.websocket.channels]);
    }
    await this.sse.open(request, response, { channel }, { names: [stream, channel], compression: this.config.sse.compression_enabled });
  }
}
