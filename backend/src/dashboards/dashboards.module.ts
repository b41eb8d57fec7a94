import { Module } from '@nestjs/common';
import { StreamsModule } from '../streams/streams.module';
import { DashboardsController } from './dashboards.controller';
import { DashboardReadModel } from './dashboard-read-model';
import { DashboardScheduler } from './dashboard-scheduler';
import { DashboardStore } from './dashboard-store';
import { BusModule } from '../bus/bus.module';
import { MetricStoreModule } from '../metric-store/metric-store.module';
import { MetricsModule } from '../metrics/metrics.module';

@Module({
  imports: [StreamsModule, BusModule, MetricStoreModule, MetricsModule],
  controllers: [DashboardsController],
  providers: [DashboardStore, DashboardScheduler, DashboardReadModel],
  exports: [DashboardReadModel],
})
export class DashboardsModule {}
