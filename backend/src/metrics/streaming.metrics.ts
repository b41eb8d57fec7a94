/**
 * The service's Prometheus metrics, in one registry per application instance. Per-delivery figures are plain numbers
 * on the hot path (`forTransport`), moved into their counters when Prometheus scrapes: a delivery costs an addition,
 * not a label lookup.
 */
import { Injectable } from '@nestjs/common';
import type { LatencyFigures } from '@data-streaming/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { RecentLatency } from './recent-latency';

export type Transport = 'websocket' | 'sse';

export const TRANSPORTS: readonly Transport[] = ['websocket', 'sse'];

/** Running totals of one transport, updated on the hot path. */
export interface DeliveryCounts {
  delivered: number;
  bytes: number;
  slowConsumers: number;
}

export interface TransportMetrics {
  latency: { observe(value: number): void };
  counts: DeliveryCounts;
}

const emptyCounts = (): Record<Transport, DeliveryCounts> => ({
  websocket: { delivered: 0, bytes: 0, slowConsumers: 0 },
  sse: { delivered: 0, bytes: 0, slowConsumers: 0 },
});

/** A `collect` hook that adds to the counter what the running totals gained since the last scrape. */
function syncFrom(totals: Record<Transport, DeliveryCounts>, field: keyof DeliveryCounts) {
  const synced = emptyCounts();
  return function collect(this: Counter<'transport'>): void {
    for (const transport of TRANSPORTS) {
      const delta = totals[transport][field] - synced[transport][field];
      if (delta > 0) this.labels(transport).inc(delta);
      synced[transport][field] = totals[transport][field];
    }
  };
}

@Injectable()
export class StreamingMetrics {
  readonly registry = new Registry();
  readonly counts = emptyCounts();

  readonly latency = new Histogram({
    name: 'data_streaming_latency_seconds',
    help: 'Time from accepting an event to writing it to a subscriber socket',
    labelNames: ['transport'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'streaming_connections_total',
    help: 'Open streaming connections (WebSocket and SSE)',
    registers: [this.registry],
  });
  readonly websocketConnections = new Gauge({
    name: 'websocket_connections_total',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly sseConnections = new Gauge({
    name: 'sse_connections_total',
    help: 'Open Server-Sent Events connections',
    registers: [this.registry],
  });
  readonly published = new Counter({
    name: 'streaming_messages_published_total',
    help: 'Messages accepted onto a channel (throughput in)',
    labelNames: ['channel', 'source'] as const,
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'streaming_messages_delivered_total',
    help: 'Messages written to subscribers (throughput out)',
    labelNames: ['transport'] as const,
    registers: [this.registry],
    collect: syncFrom(this.counts, 'delivered'),
  });
  readonly bytesSent = new Counter({
    name: 'streaming_bytes_sent_total',
    help: 'Payload bytes written to subscribers before transport compression',
    labelNames: ['transport'] as const,
    registers: [this.registry],
    collect: syncFrom(this.counts, 'bytes'),
  });
  readonly slowConsumers = new Counter({
    name: 'streaming_slow_consumer_disconnects_total',
    help: 'Subscribers closed because their unsent bytes passed the queue cap',
    labelNames: ['transport'] as const,
    registers: [this.registry],
    collect: syncFrom(this.counts, 'slowConsumers'),
  });
  readonly refused = new Counter({
    name: 'streaming_connections_refused_total',
    help: 'Streaming connections refused, by reason',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });
  readonly deadPeers = new Counter({
    name: 'websocket_dead_peers_terminated_total',
    help: 'WebSocket connections terminated for missing a heartbeat',
    registers: [this.registry],
  });
  readonly ingestRejected = new Counter({
    name: 'streaming_events_rejected_total',
    help: 'Events refused at ingest, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly publishReplays = new Counter({
    name: 'streaming_publish_replays_total',
    help: 'POST /events requests answered from an earlier publish with the same Idempotency-Key (nothing appended)',
    registers: [this.registry],
  });
  readonly historyWriteFailures = new Counter({
    name: 'streaming_history_write_failures_total',
    help: 'Group commits of channel history that failed (their publishes were refused with 503)',
    registers: [this.registry],
  });
  readonly accessRefused = new Counter({
    name: 'access_refused_total',
    help: 'Requests and connections refused by access control, by reason (unauthorized, forbidden, rate_limited, origin)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly busForwardDropped = new Counter({
    name: 'bus_forward_dropped_total',
    help: 'Publishes made while Redis was unreachable that were dropped before they could be forwarded (redis.max_pending)',
    registers: [this.registry],
  });
  readonly busMode = new Gauge({
    name: 'bus_redis_connected',
    help: '1 while the bus shares positions through Redis, 0 while it serves local positions (Redis unreachable)',
    registers: [this.registry],
  });
  readonly upstreamPolls = new Counter({
    name: 'upstream_polls_total',
    help: 'Polls of upstream sources, by result',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  readonly notificationDeliveries = new Counter({
    name: 'notification_delivery_total',
    help: 'Notification delivery attempts by channel and outcome (delivered, retry, failed)',
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });
  readonly notificationLatency = new Histogram({
    name: 'notification_delivery_latency_seconds',
    help: 'Time from accepting a notification to its delivery, per channel',
    labelNames: ['channel'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly notificationOutbox = new Gauge({
    name: 'notification_outbox_depth',
    help: 'Notification deliveries in the outbox, by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly notificationsAccepted = new Counter({
    name: 'notifications_accepted_total',
    help: 'Notifications accepted into the outbox, by source and priority',
    labelNames: ['source', 'priority'] as const,
    registers: [this.registry],
  });

  readonly overloaded = new Gauge({
    name: 'streaming_overloaded',
    help: '1 while the service is behind its load (publishers are refused with 503, lagging subscribers held)',
    registers: [this.registry],
  });
  readonly lagging = new Gauge({
    name: 'streaming_lagging_subscribers',
    help: 'Subscribers with messages waiting for their connection to drain',
    registers: [this.registry],
  });
  readonly eventLoopDelay = new Gauge({
    name: 'streaming_event_loop_delay_seconds',
    help: 'Mean event-loop delay over the last load check',
    registers: [this.registry],
  });

  /** Each transport's latency over the last `latency_window` seconds, for the status API. */
  private readonly recent: Record<Transport, RecentLatency>;
  private readonly observers: Record<Transport, TransportMetrics['latency']>;

  constructor(@InjectConfig() config: AppConfig) {
    collectDefaultMetrics({ register: this.registry });
    const { latency_samples: samples, latency_window: window } = config.performance_optimization;
    this.recent = { websocket: new RecentLatency(samples, window * 1000), sse: new RecentLatency(samples, window * 1000) };
    this.observers = { websocket: this.observer('websocket'), sse: this.observer('sse') };
    for (const transport of TRANSPORTS) {
      this.latency.labels(transport);
      this.delivered.labels(transport);
      this.bytesSent.labels(transport);
      this.slowConsumers.labels(transport);
    }
  }

  forTransport(transport: Transport): TransportMetrics {
    return { latency: this.observers[transport], counts: this.counts[transport] };
  }

  /** The latency of the last `latency_window` seconds per transport. */
  recentLatency(): { window_seconds: number } & Record<Transport, LatencyFigures> {
    return {
      window_seconds: this.recent.websocket.windowMs / 1000,
      websocket: this.recent.websocket.figures(),
      sse: this.recent.sse.figures(),
    };
  }

  private observer(transport: Transport): TransportMetrics['latency'] {
    const histogram = this.latency.labels(transport);
    const recent = this.recent[transport];
    return {
      observe: (seconds) => {
        histogram.observe(seconds);
        recent.observe(seconds);
      },
    };
  }
}
