import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { IngestModule } from '../ingest/ingest.module';
import { StreamsModule } from '../streams/streams.module';
import { HealthController } from './health.controller';

@Module({ imports: [TerminusModule, IngestModule, StreamsModule], controllers: [HealthController] })
export class HealthModule {}
