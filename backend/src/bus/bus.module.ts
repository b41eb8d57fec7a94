import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { historySize } from '../config/channels';
import type { AppConfig } from '../config/config.schema';
import { BUS } from './bus.port';
import { MemoryBus } from './memory.bus';
import { PublisherService } from './publisher.service';

@Global()
@Module({
  providers: [
    {
      provide: BUS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new MemoryBus({ historySize: (channel) => historySize(config, channel) }),
    },
    PublisherService,
  ],
  exports: [BUS, PublisherService],
})
export class BusModule {}
