/**
 * Local fan-out: one bus subscription per channel that has subscribers here, and a set of subscribers per channel.
 * Each message is encoded once (StreamMessage caches its bytes per transport) and offered to every subscriber.
 * A subscriber past its queue cap is closed only for its own connection's fault: it is held while the service is
 * overloaded (LoadMonitor) or while `overload_min_lagging` or more of its channel's subscribers are stalled with it,
 * and closed once the service keeps up again if it still does not drain.
 */
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { BUS, type Bus, type ReadResult, type TimeReadResult, type Unsubscribe } from '../../bus/bus.port';
import { formatPosition, type Position } from '@data-streaming/protocol';
import type { StreamMessage } from '../../bus/stream-message';
import { conflationOf, historySize } from '../../config/channels';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { LoadMonitor, type LaggingCount } from '../../metrics/load-monitor';
import { StreamingMetrics, TRANSPORTS, type Transport } from '../../metrics/streaming.metrics';
import { Burst } from './burst';
import { conflater } from './conflation';
import type { Sink } from './sink';
import { Subscriber, type DeliveryPolicy, type SubscriberHost } from './subscriber';

/** The fan-out of a channel with subscribers here: its one bus subscription, its subscribers, this turn's messages. */
class ChannelFanout {
  readonly subscribers = new Set<Subscriber>();
  constructor(readonly conflate: SubscriberHost['conflate']) {}
  unsubscribe: Unsubscribe | undefined;
  /** Messages received in this turn of the event loop, delivered together at its end (see Burst). */
  pending: StreamMessage[] = [];
  scheduled = false;
}

export interface AttachOptions {
  /** Replay what follows this position first. */
  since?: Position;
  /** Replay what was accepted at or after this time (ms since 1970) first; not with `since`. */
  from?: number;
  /** Overrides for this subscription (high-frequency streams). */
  policy?: Partial<DeliveryPolicy>;
  /** Called after the welcome and replay, before live messages flow. */
  beforeLive?: (subscriber: Subscriber) => void;
}

@Injectable()
export class FanoutService implements OnApplicationShutdown {
  private readonly logger = new Logger(FanoutService.name);
  private readonly byChannel = new Map<string, ChannelFanout>();
  private readonly latency: Record<Transport, { observe(value: number): void }>;
  private readonly basePolicy: Omit<DeliveryPolicy, 'maxQueueBytes' | 'maxQueueMessages'>;

  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @InjectConfig() private readonly config: AppConfig,
    private readonly metrics: StreamingMetrics,
    private readonly load: LoadMonitor,
  ) {
    load.watch(
      () => this.laggingCount(),
      () => this.closeStalled(),
    );
    this.latency = { websocket: metrics.forTransport('websocket').latency, sse: metrics.forTransport('sse').latency };
    const optimization = config.performance_optimization;
    const batching = optimization.enabled && optimization.optimization_strategies.includes('message_batching');
    this.basePolicy = {
      batchSize: batching ? optimization.batch_size : 1,
      batchBytes: batching ? optimization.buffer_size : 0,
      flushInterval: optimization.flush_interval,
      immediate: false,
    };
  }

  private fanoutOf(channel: string): ChannelFanout {
    let fanout = this.byChannel.get(channel);
    if (!fanout) {
      const kind = conflationOf(channel);
      fanout = new ChannelFanout(kind ? conflater(kind) : undefined);
      this.byChannel.set(channel, fanout);
    }
    return fanout;
  }

  /**
   * Subscribes a connection to a channel, replaying from `since` or `from` first when given. The subscriber is
   * registered (holding live messages) before history is read; live messages the replay already covers are dropped
   * when it goes live, so the join has no gap and no duplicate.
   */
  async attach(channel: string, sink: Sink, options: AttachOptions = {}): Promise<Subscriber> {
    const maxQueueBytes = sink.transport === 'websocket' ? this.config.websocket.max_queue_bytes : this.config.sse.max_queue_bytes;
    const policy: DeliveryPolicy = {
      ...this.basePolicy,
      maxQueueBytes,
      maxQueueMessages: historySize(this.config, channel),
      ...options.policy,
    };
    const fanout = this.fanoutOf(channel);
    const host: SubscriberHost = {
      closedSlow: (slow) => {
        this.logger.warn(
          `Closing slow ${slow.transport} subscriber of ${channel}: past ${maxQueueBytes} unsent bytes, its connection took nothing while the service kept up, or its backlog passed the history`,
          { component: slow.transport, channel, connection: slow.connection },
        );
        this.detach(slow);
      },
      ...(fanout.conflate ? { conflate: fanout.conflate } : {}),
    };
    const subscriber = new Subscriber(channel, sink, policy, this.metrics.forTransport(sink.transport), host);
    fanout.subscribers.add(subscriber);
    fanout.unsubscribe ??= this.bus.subscribe(channel, (message) => this.enqueue(fanout, message));

    let result: ReadResult | undefined;
    let timed: TimeReadResult | undefined;
    try {
      if (options.since) result = await this.bus.read(channel, options.since);
      else if (options.from !== undefined) result = timed = await this.bus.readFrom(channel, options.from);
    } catch (error) {
      this.detach(subscriber);
      throw error;
    }
    const replay = result?.messages ?? [];
    const state = this.bus.state(channel);
    subscriber.control({
      kind: 'welcome',
      channel,
      epoch: state.epoch,
      last_id: formatPosition(state.epoch, state.lastOffset),
      resumed: result !== undefined,
      recovered: result?.recovered ?? true,
      ...(result?.reason === undefined ? {} : { reason: result.reason }),
      replayed: replay.length,
      ...(timed ? { from_reached: new Date(timed.reached).toISOString() } : {}),
    });
    options.beforeLive?.(subscriber);
    // Live messages up to the position the replay covers are history, not news: after `since`, the replay's last; from
    // a time, the newest the read saw (the replay may end before it); live, the welcome's position (nothing was
    // awaited since it was read).
    subscriber.goLive(replay, result === undefined ? { epoch: state.epoch, offset: state.lastOffset } : timed?.through);
    return subscriber;
  }

  detach(subscriber: Subscriber): void {
    subscriber.close();
    const fanout = this.byChannel.get(subscriber.channel);
    if (!fanout) return;
    fanout.subscribers.delete(subscriber);
    if (fanout.subscribers.size === 0 && fanout.unsubscribe) {
      fanout.unsubscribe();
      fanout.unsubscribe = undefined;
    }
  }

  private laggingCount(): LaggingCount {
    let lagging = 0;
    let subscribers = 0;
    for (const fanout of this.byChannel.values()) {
      subscribers += fanout.subscribers.size;
      for (const subscriber of fanout.subscribers) if (subscriber.lagging) lagging++;
    }
    return { lagging, subscribers };
  }

  /**
   * After each load check: once the service keeps up, a subscriber still past its cap whose connection has taken
   * nothing for `overload_stall_checks` checks in a row is behind by its own fault, and is closed as a slow consumer.
   */
  private closeStalled(): void {
    const overloaded = this.load.overloaded;
    const limit = this.config.performance_optimization.overload_stall_checks;
    const { overload_min_lagging: many } = this.config.performance_optimization;
    for (const fanout of this.byChannel.values()) {
      const stalled = [...fanout.subscribers].filter((subscriber) => subscriber.checkProgress() >= limit && subscriber.overCap);
      // Many connections stalled at once is not each one's own fault (their network or their machine): hold them.
      if (!overloaded && stalled.length < many) for (const subscriber of stalled) subscriber.slow();
    }
  }

  private enqueue(fanout: ChannelFanout, message: StreamMessage): void {
    fanout.pending.push(message);
    if (fanout.scheduled) return;
    fanout.scheduled = true;
    setImmediate(this.broadcast, fanout);
  }

  private readonly broadcast = (fanout: ChannelFanout): void => {
    fanout.scheduled = false;
    const messages = fanout.pending;
    fanout.pending = [];
    if (messages.length === 0) return;
    const burst = messages.length === 1 ? undefined : new Burst(messages);
    const first = messages[0] as StreamMessage;
    let wroteWebsocket = false;
    let wroteSse = false;
    for (const subscriber of fanout.subscribers) {
      if (burst ? subscriber.deliverBurst(burst) : subscriber.deliver(first)) {
        if (subscriber.transport === 'websocket') wroteWebsocket = true;
        else wroteSse = true;
      }
    }
    // Written synchronously in one loop: the time now is the latency of the last subscriber served, from the
    // burst's oldest message.
    if (wroteWebsocket || wroteSse) {
      const seconds = (performance.now() - first.acceptedAt) / 1000;
      if (wroteWebsocket) this.latency.websocket.observe(seconds);
      if (wroteSse) this.latency.sse.observe(seconds);
    }
  };

  /** Per channel: subscribers here, by transport. */
  subscriberCounts(channel: string): Record<Transport, number> {
    const fanout = this.byChannel.get(channel);
    const subscribers = Object.fromEntries(TRANSPORTS.map((transport) => [transport, 0])) as Record<Transport, number>;
    for (const subscriber of fanout?.subscribers ?? []) subscribers[subscriber.transport]++;
    return subscribers;
  }

  onApplicationShutdown(): void {
    for (const fanout of this.byChannel.values()) {
      fanout.unsubscribe?.();
      fanout.pending = [];
    }
    this.byChannel.clear();
  }
}
