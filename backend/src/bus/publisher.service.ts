/**
 * The one way onto the bus for producers in this process (HTTP ingest, the demo generator, upstream pollers,
 * high-frequency ticks): publishes, counts throughput per channel and source, and keeps the publish rate.
 */
import { Inject, Injectable } from '@nestjs/common';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { BUS, type Bus } from './bus.port';
import { RateMeter } from './rate-meter';
import type { PublishInput, StreamMessage } from './stream-message';

export type EventSource = 'http' | 'demo' | 'upstream' | 'high_frequency' | 'notification' | 'dashboard';

@Injectable()
export class PublisherService {
  private readonly rates = new Map<string, RateMeter>();

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    private readonly metrics: StreamingMetrics,
  ) {}

  async publish(channel: string, events: readonly PublishInput[], source: EventSource): Promise<StreamMessage[]> {
    const messages = await this.bus.publish(channel, events);
    this.metrics.published.labels(channel, source).inc(messages.length);
    let rate = this.rates.get(channel);
    if (!rate) {
      rate = new RateMeter();
      this.rates.set(channel, rate);
    }
    rate.mark(messages.length);
    return messages;
  }

  messagesPerSecond(channel: string): number {
    return this.rates.get(channel)?.perSecond() ?? 0;
  }
}
