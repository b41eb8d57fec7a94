import { Module } from '@nestjs/common';
import { MetricStoreService } from './metric-store.service';
import { BusModule } from '../bus/bus.module';

@Module({ imports: [BusModule], providers: [MetricStoreService], exports: [MetricStoreService] })
export class MetricStoreModule {}
