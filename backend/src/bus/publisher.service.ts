/**
 * The one way onto the bus for producers in this process (HTTP ingest, the demo generator, upstream pollers,
 * high-frequency ticks): publishes, counts throughput per channel and source, and keeps the publish rate.
 */
import { Inject, Injectable } from '@nestjs/common';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { BUS, type Bus } from './bus.port';
import { RateMeter } from './rate-meter';
import type { Idempotency, PublishGroup, PublishReceipt } from './receipts';
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
    this.count(channel, source, messages.length);
    return messages;
  }

  /** One request's groups, together, idempotently under a key when given (Bus.publishRequest). */
  async publishRequest(groups: readonly PublishGroup[], source: EventSource, idempotency?: Idempotency): Promise<PublishReceipt> {
    const receipt = await this.bus.publishRequest(groups, idempotency);
    if (receipt.replayed) this.metrics.publishReplays.inc();
    else groups.forEach((group, index) => this.count(group.channel, source, receipt.ids[index]?.length ?? 0));
    return receipt;
  }

  private count(channel: string, source: EventSource, messages: number): void {
    this.metrics.published.labels(channel, source).inc(messages);
    let rate = this.rates.get(channel);
    if (!rate) {
      rate = new RateMeter();
      this.rates.set(channel, rate);
    }
    rate.mark(messages);
  }

  messagesPerSecond(channel: string): number {
    return this.rates.get(channel)?.perSecond() ?? 0;
  }
}
