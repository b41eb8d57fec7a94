/**
 * High-frequency streams: each conflates a source channel to the latest value per event key and publishes, once per
 * `update_rate`, what changed since the previous tick, on its own bus channel (history: `buffer_size` ticks). A new
 * subscriber gets a snapshot of every key first; one resuming by Last-Event-ID gets the ticks it missed.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { BUS, type Bus, type Unsubscribe } from '../../bus/bus.port';
import { formatPosition } from '@data-streaming/protocol';
import { PublisherService } from '../../bus/publisher.service';
import type { StreamMessage } from '../../bus/stream-message';
import { highFrequencyChannel } from '../../config/channels';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';

export interface ConflatedValue {
  type: string;
  timestamp: string;
  data: unknown;
}

class ConflatedStream {
  readonly latest = new Map<string, ConflatedValue>();
  readonly changed = new Set<string>();

  constructor(
    readonly name: string,
    readonly channel: string,
    private readonly maxKeys: number,
  ) {}

  accept(message: StreamMessage): void {
    const { event } = message;
    const key = event.key ?? event.type;
    this.latest.delete(key);
    this.latest.set(key, { type: event.type, timestamp: event.timestamp, data: event.data });
    this.changed.add(key);
    if (this.latest.size > this.maxKeys) {
      const oldest = this.latest.keys().next().value as string;
      this.latest.delete(oldest);
      this.changed.delete(oldest);
    }
  }

  takeChanges(): Record<string, ConflatedValue> | undefined {
    if (this.changed.size === 0) return undefined;
    const values: Record<string, ConflatedValue> = {};
    for (const key of this.changed) values[key] = this.latest.get(key) as ConflatedValue;
    this.changed.clear();
    return values;
  }
}

@Injectable()
export class HighFrequencyService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(HighFrequencyService.name);
  private readonly streams = new Map<string, ConflatedStream>();
  private readonly unsubscribes: Unsubscribe[] = [];
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly publisher: PublisherService,
  ) {}

  onModuleInit(): void {
    const settings = this.config.high_frequency_streams;
    if (!settings.enabled) return;
    for (const name of settings.streams) {
      const stream = new ConflatedStream(name, highFrequencyChannel(name), settings.max_keys);
      this.streams.set(name, stream);
      const source = settings.stream_sources[name] as string;
      this.unsubscribes.push(this.bus.subscribe(source, (message) => stream.accept(message)));
    }
    this.ticker = setInterval(() => void this.tick(), settings.update_rate * 1000);
    this.ticker.unref();
  }

  has(name: string): boolean {
    return this.streams.has(name);
  }

  /** Publishes each stream's changes since the last tick. */
  async tick(): Promise<void> {
    for (const stream of this.streams.values()) {
      const values = stream.takeChanges();
      if (!values) continue;
      try {
        await this.publisher.publish(stream.channel, [{ type: 'high_frequency.update', data: { values } }], 'high_frequency');
      } catch (error) {
        this.logger.warn(`High-frequency tick of ${stream.name} failed: ${(error as Error).message}`);
      }
    }
  }

  /** Every key's latest value, and the position it is current at. */
  snapshot(name: string): { id: string; values: Record<string, ConflatedValue> } {
    const stream = this.streams.get(name);
    if (!stream) throw new Error(`unknown high-frequency stream ${name}`);
    const state = this.bus.state(stream.channel);
    return { id: formatPosition(state.epoch, state.lastOffset), values: Object.fromEntries(stream.latest) };
  }

  onApplicationShutdown(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }
}
