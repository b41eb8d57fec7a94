import { Module } from '@nestjs/common';
import { DemoGeneratorService } from './demo/demo-generator.service';
import { EventsController } from './events.controller';
import { IngestService } from './ingest.service';
import { PublishFastPath } from './publish-fast-path';
import { UpstreamService } from './upstream/upstream.service';
import { AuthModule } from '../auth/auth.module';
import { BusModule } from '../bus/bus.module';
import { MetricsModule } from '../metrics/metrics.module';
import { RedisModule } from '../redis/redis.module';

@Module({
  imports: [AuthModule, BusModule, MetricsModule, RedisModule],
  controllers: [EventsController],
  providers: [IngestService, PublishFastPath, DemoGeneratorService, UpstreamService],
  exports: [IngestService, PublishFastPath, UpstreamService],
})
export class IngestModule {}
