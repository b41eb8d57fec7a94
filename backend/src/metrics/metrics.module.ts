import { Module } from '@nestjs/common';
import { LoadMonitor } from './load-monitor';
import { MetricsController } from './metrics.controller';
import { StreamingMetrics } from './streaming.metrics';

@Module({ controllers: [MetricsController], providers: [StreamingMetrics, LoadMonitor], exports: [StreamingMetrics, LoadMonitor] })
export class MetricsModule {}
