import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { BusModule } from './bus/bus.module';
import { ErrorFilter } from './http/error.filter';
import { TimeoutInterceptor } from './http/timeout.interceptor';
import { ConfigModule } from './config/config.module';
import type { AppConfig } from './config/config.schema';
import { DashboardsModule } from './dashboards/dashboards.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { MetricStoreModule } from './metric-store/metric-store.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { RedisModule } from './redis/redis.module';
import { StreamsModule } from './streams/streams.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        MetricsModule,
        BusModule,
        MetricStoreModule,
        StreamsModule,
        IngestModule,
        NotificationsModule,
        DashboardsModule,
        HealthModule,
        AuthModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: TimeoutInterceptor },
      ],
    };
  }
}
