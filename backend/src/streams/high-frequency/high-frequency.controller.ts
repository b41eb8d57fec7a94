/** GET /streams/high_frequency/{name}: a high-frequency stream as SSE, a snapshot of every key, then the changed ones. */
import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access } from '../../common/access';
import { ApiError } from '../../common/api-error';
import { highFrequencyChannel } from '../../config/channels';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { SseService } from '../sse/sse.service';
import { unknownChannel } from '../subscription-request';
import { HighFrequencyService } from './high-frequency.service';

@ApiTags('streams')
@Controller('streams/high_frequency')
export class HighFrequencyController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly highFrequency: HighFrequencyService,
    private readonly sse: SseService,
  ) {}

  @Get(':name')
  @Access('subscription')
  @ApiOperation({ summary: 'A high-frequency stream as SSE: a snapshot, then the changed keys every update_rate seconds' })
  @ApiParam({ name: 'name', example: 'system_metrics' })
  @ApiProduces('text/event-stream')
  async stream(@Param('name') name: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const settings = this.config.high_frequency_streams;
    if (!settings.enabled) throw ApiError.notFound('high_frequency_disabled', 'high-frequency streams are disabled');
    if (!this.highFrequency.has(name)) throw unknownChannel('high-frequency stream', name, settings.streams);
    const channel = highFrequencyChannel(name);
    const live = {
      channel,
      label: name,
      snapshot: () => {
        const { id, values } = this.highFrequency.snapshot(name);
        return { id, data: { values } };
      },
    };
    await this.sse.open(request, response, live, {
      names: [channel],
      compression: settings.compression_enabled,
      attach: { policy: { immediate: settings.priority === 'high' } },
    });
  }
}
