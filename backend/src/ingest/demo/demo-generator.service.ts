/**
 * The built-in source of live data: once a second, one second of simulated LLM-platform activity goes onto every
 * channel through the same ingest path as published events. On by default; DATA_STREAMING_DEMO_ENABLED=false stops it.
 * With several instances on Redis, only the leader generates (one demo for the cluster, not one per instance).
 */
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { LeadershipService } from '../../redis/leadership.service';
import { IngestService } from '../ingest.service';
import { LlmPlatformSimulator } from './llm-platform.simulator';

@Injectable()
export class DemoGeneratorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DemoGeneratorService.name);
  private readonly simulator = new LlmPlatformSimulator();
  private timer: NodeJS.Timeout | undefined;
  /** Whether the last tick failed: a failure is logged when it starts and when it ends, not every second. */
  private failing = false;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly leadership: LeadershipService,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.config.demo.enabled) return;
    const channels = new Set(this.config.websocket.channels);
    this.timer = setInterval(() => {
      if (!this.leadership.isLeader) return;
      const events = this.simulator.tick(new Date(), this.config.demo.rate_multiplier).filter((event) => channels.has(event.channel));
      this.ingest.accept(events, 'demo').then(
        () => {
          if (this.failing) this.logger.log('Demo events published again');
          this.failing = false;
        },
        (error: unknown) => {
          if (!this.failing) this.logger.warn(`Demo events not published (${(error as Error).message}); retrying every second`);
          this.failing = true;
        },
      );
    }, 1000);
    this.timer.unref();
    this.logger.log('Demo generator on: simulated LLM-platform events on every channel');
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
