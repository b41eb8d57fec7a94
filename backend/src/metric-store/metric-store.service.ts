/**
 * Feeds the metric store from the bus, per `metric_store.sources`: one numeric field of one event type each. At start
 * the store is first rebuilt from the channels' retained history (the durable bus keeps it across restarts), so
 * windowed panels and rules continue where they were; how far back that reaches is recorded per metric (coverage),
 * so a window that history cannot fill is shown as partial.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
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

interface Source {
  metric: string;
  type: string;
  path: string[];
}

@Injectable()
export class MetricStoreService extends MetricStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MetricStoreService.name);
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

  async onModuleInit(): Promise<void> {
    const byChannel = new Map<string, Source[]>();
    for (const source of this.config.metric_store.sources) {
      const list = byChannel.get(source.channel) ?? [];
      list.push({ metric: source.metric, type: source.type, path: source.field.split('.') });
      byChannel.set(source.channel, list);
    }
    let replayed = 0;
    for (const [channel, sources] of byChannel) replayed += await this.follow(channel, sources);
    if (replayed > 0) this.logger.log(`Metric store rebuilt from ${replayed} events of the retained history`);
  }

  /**
   * Subscribes to a channel, then feeds the store what history holds within the window, then what arrived meanwhile
   * (offsets after the last replayed one). Returns how many history events were replayed.
   */
  private async follow(channel: string, sources: readonly Source[]): Promise<number> {
    let held: StreamMessage[] | undefined = [];
    this.unsubscribes.push(
      this.bus.subscribe(channel, (message: StreamMessage) => {
        if (held) held.push(message);
        else this.feed(sources, message);
      }),
    );
    const state = this.bus.state(channel);
    const now = Date.now();
    let replayed = 0;
    let last = 0;
    try {
      const history = await this.bus.read(channel, { epoch: state.epoch, offset: 0 });
      const horizon = now - this.config.metric_store.window * 1000;
      for (const message of history.messages) {
        last = message.offset;
        if (message.at < horizon) continue;
        this.feed(sources, message);
        replayed++;
      }
      const oldest = history.messages[0]?.at;
      // Complete since the channel's epoch began when history reaches back to it; else since its oldest message.
      const since = history.recovered ? (state.since ?? oldest ?? now) : (oldest ?? now);
      for (const source of sources) this.cover(source.metric, Math.min(since, now));
    } catch (error) {
      this.logger.warn(`Metric store not rebuilt from the history of ${channel}: ${(error as Error).message}`);
    }
    const waiting = held;
    held = undefined;
    for (const message of waiting) if (message.epoch !== state.epoch || message.offset > last) this.feed(sources, message);
    return replayed;
  }

  private feed(sources: readonly Source[], message: StreamMessage): void {
    const { type, key, data } = message.event;
    for (const source of sources) {
      if (source.type !== type) continue;
      const value = readPath(data, source.path);
      if (typeof value === 'number') this.record(source.metric, key ?? '', value, message.at);
    }
  }

  onApplicationShutdown(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }
}
