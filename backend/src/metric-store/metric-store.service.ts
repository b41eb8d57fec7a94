/** Feeds the metric store from the bus, per `metric_store.sources`: one numeric field of one event type each. */
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BUS, type Bus, type Unsubscribe } from '../bus/bus.port';
import type { StreamMessage } from '../bus/stream-message';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { MetricStore } from './metric-store';

function readPath(data: unknown, path: readonly string[]): unknown {
  let node = data;
  for (const part of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

@Injectable()
export class MetricStoreService extends MetricStore implements OnModuleInit, OnApplicationShutdown {
  private readonly unsubscribes: Unsubscribe[] = [];

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
  ) {
    const settings = config.metric_store;
    super(
      {
        windowMs: settings.window * 1000,
        staleAfterMs: settings.stale_after * 1000,
        maxSeries: settings.max_series,
        maxSamplesPerSeries: settings.max_samples_per_series,
      },
      settings.sources.map((source) => source.metric),
    );
  }

  onModuleInit(): void {
    const byChannel = new Map<string, { metric: string; type: string; path: string[] }[]>();
    for (const source of this.config.metric_store.sources) {
      const list = byChannel.get(source.channel) ?? [];
      list.push({ metric: source.metric, type: source.type, path: source.field.split('.') });
      byChannel.set(source.channel, list);
    }
    for (const [channel, sources] of byChannel) {
      this.unsubscribes.push(
        this.bus.subscribe(channel, (message: StreamMessage) => {
          const { type, key, data } = message.event;
          for (const source of sources) {
            if (source.type !== type) continue;
            const value = readPath(data, source.path);
            if (typeof value === 'number') this.record(source.metric, key ?? '', value);
          }
        }),
      );
    }
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }
}
