/**
 * The figures behind /streams/status and /websocket/status, gathered from the bus, fan-out and connections, and the
 * history read back by /streams/{channel}/recent and /history.
 */
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  BUS,
  EpochChangedError,
  HistoryReadError,
  PositionAheadError,
  type Bus,
  type HistoryQuery,
  type HistoryResult,
} from '../bus/bus.port';
import { ApiError } from '../common/api-error';
import {
  CLOSE,
  formatPosition,
  type ChannelStatus,
  type StreamsStatus,
  type WebsocketStatus,
  type RecentEvents,
  type HistoryPage,
} from '@data-streaming/protocol';
import { PublisherService } from '../bus/publisher.service';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics } from '../metrics/streaming.metrics';
import { REDIS, type RedisConnection } from '../redis/redis.connection';
import { ClusterReporter, REPORT_INTERVAL_MS, type ClusterFigures, type InstanceFigures } from './cluster-status';
import { ConnectionLimits } from './connection-limits';
import { FanoutService } from './fanout/fanout.service';
import { historyCursor, historyRequest, unknownChannel } from './subscription-request';

/** Retry-After of a history page while the shared history cannot be read (Redis reconnecting). */
const HISTORY_RETRY_AFTER_SECONDS = 5;

@Injectable()
export class StreamsStatusService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly reporter: ClusterReporter | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly fanout: FanoutService,
    private readonly publisher: PublisherService,
    private readonly connections: ConnectionLimits,
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
    const websocket = this.connections.count('websocket');
    const sse = this.connections.count('sse');
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

  async streams(): Promise<StreamsStatus> {
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
      connection_limits: { websocket: this.config.websocket.max_connections, sse: sse.max_connections },
      latency: this.metrics.recentLatency(),
      storage: this.bus.storage(),
      ...(await this.cluster()),
    };
  }

  /** 404 unknown_channel unless `channel` is one of the WebSocket channels (history and recent events are theirs). */
  private knownChannel(channel: string): void {
    if (!this.config.websocket.channels.includes(channel)) throw unknownChannel('channel', channel, this.config.websocket.channels);
  }

  /** The newest `limit` (text of a whole number from 1 to 100) events of a WebSocket channel, oldest first. */
  async recent(channel: string, limit: string): Promise<RecentEvents> {
    this.knownChannel(channel);
    const count = Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 100) throw ApiError.badRequest('limit: expected a whole number from 1 to 100');
    const state = this.bus.state(channel);
    const { messages } = await this.bus.read(channel, { epoch: state.epoch, offset: Math.max(0, state.lastOffset - count) });
    return { channel, events: messages.map((message) => message.event) };
  }

  /**
   * A page of a WebSocket channel's history from the request's query (from, to, limit, order, cursor); a cursor that
   * no longer fits the history is a bad request, unreadable history a 503.
   */
  async history(channel: string, query: Record<string, unknown>): Promise<HistoryPage> {
    this.knownChannel(channel);
    const asked: HistoryQuery = historyRequest(query);
    let result: HistoryResult;
    try {
      result = await this.bus.history(channel, asked);
    } catch (error) {
      if (error instanceof EpochChangedError) {
        throw ApiError.badRequest(
          `cursor: from an earlier lifetime of ${channel}'s history (epoch ${error.requested.epoch}, now ${error.epoch}); start again without it`,
        );
      }
      if (error instanceof PositionAheadError) throw ApiError.badRequest(`cursor: ${error.message}`);
      if (error instanceof HistoryReadError) throw ApiError.unavailable('history_unavailable', error.message, HISTORY_RETRY_AFTER_SECONDS);
      throw error;
    }
    const last = result.messages[result.messages.length - 1];
    return {
      channel,
      epoch: result.epoch,
      order: asked.order,
      from: asked.from === undefined ? null : new Date(asked.from).toISOString(),
      to: new Date(asked.to).toISOString(),
      from_reached: result.complete,
      oldest: result.oldest ? { id: result.oldest.id, accepted_at: new Date(result.oldest.at).toISOString() } : null,
      events: result.messages.map((message) => message.event),
      next_cursor: result.more && last ? historyCursor(asked, last) : null,
    };
  }

  async websocket(): Promise<WebsocketStatus> {
    const settings = this.config.websocket;
    const dead = await this.metrics.deadPeers.get();
    return {
      enabled: settings.enabled,
      connections: this.connections.count('websocket'),
      max_connections: settings.max_connections,
      per_channel: Object.fromEntries(settings.channels.map((channel) => [channel, this.fanout.subscriberCounts(channel).websocket])),
      heartbeat_interval_seconds: settings.heartbeat_interval,
      message_size_limit_bytes: settings.message_size_limit,
      compression_enabled: settings.compression_enabled,
      max_queue_bytes: settings.max_queue_bytes,
      slow_consumer_close_code: CLOSE.SLOW_CONSUMER,
      slow_consumer_disconnects: this.metrics.counts.websocket.slowConsumers,
      dead_peers_terminated: dead.values[0]?.value ?? 0,
      ...(await this.cluster()),
    };
  }
}
