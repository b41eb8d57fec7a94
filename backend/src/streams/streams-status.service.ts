/** The figures behind /streams/status and /websocket/status, gathered from the bus, fan-out and connections. */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BUS, type Bus } from '../bus/bus.port';
import { formatPosition } from '../bus/position';
import type { WireEvent } from '../bus/stream-message';
import { PublisherService } from '../bus/publisher.service';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { REDIS, type RedisConnection } from '../redis/redis.connection';
import { ClusterReporter, REPORT_INTERVAL_MS, type ClusterFigures, type InstanceFigures } from './cluster-status';
import { ConnectionRegistry } from './connection-registry';
import { FanoutService } from './fanout/fanout.service';
import { CLOSE_SLOW_CONSUMER } from './websocket/close-codes';

export interface ChannelStatus {
  subscribers: { websocket: number; sse: number; total: number };
  messages_per_second: number;
  last_offset: string;
  history_depth: number;
  history_capacity: number;
  /** Payload bytes of the history held (null where the bus does not count them: Redis). */
  history_bytes: number | null;
  sse_streams: string[];
  high_frequency_streams: string[];
}

@Injectable()
export class StreamsStatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly reporter: ClusterReporter | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly fanout: FanoutService,
    private readonly publisher: PublisherService,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: StreamingMetrics,
    @Inject(REDIS) redis: RedisConnection | null,
  ) {
    this.reporter = redis ? new ClusterReporter(redis, config.redis.instance_ttl * 1000) : undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.reporter) return;
    const report = (): void => void this.reporter?.report(this.figures()).catch(() => undefined);
    report();
    this.timer = setInterval(report, REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reporter?.withdraw().catch(() => undefined);
  }

  /** This instance's counts, as reported to the cluster. */
  private figures(): Omit<InstanceFigures, 'instance' | 'updated_at'> {
    const websocket = this.registry.count('websocket');
    const sse = this.registry.count('sse');
    const channels: InstanceFigures['channels'] = {};
    for (const channel of this.config.websocket.channels) {
      const counts = this.fanout.subscriberCounts(channel);
      channels[channel] = { ...counts, total: counts.websocket + counts.sse };
    }
    return { connections: { websocket, sse, total: websocket + sse }, channels };
  }

  /** Every instance's figures and the totals (Redis configured); `{ unavailable }` when Redis cannot be read. */
  private async cluster(): Promise<{ cluster?: ClusterFigures | { unavailable: string } }> {
    if (!this.reporter) return {};
    const figures = await this.reporter.read();
    return { cluster: figures ?? { unavailable: 'Redis cannot be read now; figures are this instance only' } };
  }

  async streams(): Promise<{
    timestamp: string;
    channels: Record<string, ChannelStatus>;
    connections: Record<string, number>;
    storage: Record<string, unknown>;
    cluster?: ClusterFigures | { unavailable: string };
  }> {
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
        history_bytes: state.bytes ?? null,
        sse_streams: sse.streams.filter((stream) => sse.stream_sources[stream] === channel),
        high_frequency_streams: highFrequency.streams.filter((stream) => highFrequency.stream_sources[stream] === channel),
      };
    }
    return {
      timestamp: new Date().toISOString(),
      channels,
      connections: this.figures().connections,
      storage: this.bus.storage(),
      ...(await this.cluster()),
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
      ...(await this.cluster()),
    };
  }
}
