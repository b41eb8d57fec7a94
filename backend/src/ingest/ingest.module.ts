import { Module } from '@nestjs/common';
import { DemoGeneratorService } from './demo/demo-generator.service';
import { EventsController } from './events.controller';
import { IngestService } from './ingest.service';
import { PublishFastPath } from './publish-fast-path';
import { UpstreamService } from './upstream/upstream.service';

@Module({
  controllers: [EventsController],
  providers: [IngestService, PublishFastPath, DemoGeneratorService, UpstreamService],
  exports: [IngestService, PublishFastPath, UpstreamService],
})
export class IngestModule {}
