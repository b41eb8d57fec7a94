import { Module } from '@nestjs/common';
import { DemoGeneratorService } from './demo/demo-generator.service';
import { EventsController } from './events.controller';
import { IngestService } from './ingest.service';
import { UpstreamService } from './upstream/upstream.service';

@Module({
  controllers: [EventsController],
  providers: [IngestService, DemoGeneratorService, UpstreamService],
  exports: [IngestService, UpstreamService],
})
export class IngestModule {}
