/** The figures behind /streams/status and /websocket/status, gathered from the bus, fan-out and connections. */
import { Inject, Injectable } from '@nestjs/common';
import { BUS, type Bus } from '../bus/bus.port';
import { formatPosition } from '../bus/position';
import type { WireEvent } from '../bus/stream-message';
import { PublisherService } from '../bus/publisher.service';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { ConnectionRegistry } from './connection-registry';
import { FanoutService } from './fanout/fanout.service';
import { CLOSE_SLOW_CONSUMER } from './websocket/close-codes';

export interface ChannelStatus {
  subscribers: { websocket: number; sse: number; total: number };
  messages_per_second: number;
  last_offset: string;
  history_depth: number;
  history_capacity: number;
  sse_streams: string[];
  high_frequency_streams: string[];
}

@Injectable()
export class StreamsStatusService {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly fanout: FanoutService,
    private readonly publisher: PublisherService,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: StreamingMetrics,
  ) {}

  streams(): { timestamp: string; channels: Record<string, ChannelStatus>; connections: Record<string, number> } {
    const channels: Record<string, ChannelStatus> = {};
    const { sse, high_frequency_streams: highFrequency } = this.config;
    for (const channel of this.config.websocket.channels) {
      const state = this.bus.state(channel);
      const counts = this.fanout.subscriberCounts(channel);
      channels[channel] = {
        subscribers: { ...counts, total: counts.websocket + counts.sse },
        messages_per_second: Math.round(this.publisher.messagesPerSecond(channel) * 100) / 100,
        last_offset: formatPosition(state.epoch, state.lastOffset),
        history_depth: state.depth,
        history_capacity: state.capacity,
        sse_streams: sse.streams.filter((stream) => sse.stream_sources[stream] === channel),
        high_frequency_streams: highFrequency.streams.filter((stream) => highFrequency.stream_sources[stream] === channel),
      };
    }
    const websocket = this.registry.count('websocket');
    const sseCount = this.registry.count('sse');
    return {
      timestamp: new Date().toISOString(),
      channels,
      connections: { websocket, sse: sseCount, total: websocket + sseCount },
    };
  }

  async recent(channel: string, limit: number): Promise<{ channel: string; events: WireEvent[] }> {
    const state = this.bus.state(channel);
    const { messages } = await this.bus.read(channel, { epoch: state.epoch, offset: Math.max(0, state.lastOffset - limit) });
    return { channel, events: messages.map((message) => message.event) };
  }

  async websocket(): Promise<Record<string, unknown>> {
    const settings = this.config.websocket;
    const dead = await this.metrics.deadPeers.get();
    return {
      enabled: settings.enabled,
      connections: this.registry.count('websocket'),
      max_connections: settings.max_connections,
      per_channel: Object.fromEntries(settings.channels.map((channel) => [channel, this.fanout.subscriberCounts(channel).websocket])),
      heartbeat_interval_seconds: settings.heartbeat_interval,
      message_size_limit_bytes: settings.message_size_limit,
      compression_enabled: settings.compression_enabled,
      max_queue_bytes: settings.max_queue_bytes,
      slow_consumer_close_code: CLOSE_SLOW_CONSUMER,
      slow_consumer_disconnects: this.metrics.counts.websocket.slowConsumers,
      dead_peers_terminated: dead.values[0]?.value ?? 0,
    };
  }
}
