import { Access } from '../common/access';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { StreamingMetrics } from './streaming.metrics';

@ApiTags('metrics')
@Access('public')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: StreamingMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus exposition of the service metrics' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
