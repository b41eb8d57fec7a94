import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { IngestModule } from '../ingest/ingest.module';
import { StreamsModule } from '../streams/streams.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { BusModule } from '../bus/bus.module';
import { MetricsModule } from '../metrics/metrics.module';

@Module({
  imports: [TerminusModule, IngestModule, StreamsModule, BusModule, MetricsModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
