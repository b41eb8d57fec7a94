import { Global, Module } from '@nestjs/common';
import { MetricStoreService } from './metric-store.service';

@Global()
@Module({ providers: [MetricStoreService], exports: [MetricStoreService] })
export class MetricStoreModule {}
