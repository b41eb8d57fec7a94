import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { StreamingMetrics } from './streaming.metrics';

@Global()
@Module({ controllers: [MetricsController], providers: [StreamingMetrics], exports: [StreamingMetrics] })
export class MetricsModule {}
