/**
 * The service's status bodies: GET /health, /streams/status, /websocket/status, and the cluster figures instances
 * share through Redis.
 */
import { z } from 'zod';
import { channelName, eventId, isoTime, wireEventSchema } from './events.js';

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** One check of GET /health: its state and what it measured (terminus's indicator result). */
export const healthCheckSchema = z.looseObject({ status: z.enum(['up', 'down', 'degraded']) });

/** GET /health: 200 healthy or degraded (with reasons), 503 unhealthy. */
export const healthSchema = z.strictObject({
  status: z.enum(HEALTH_STATUSES),
  service: z.string(),
  version: z.string(),
  timestamp: isoTime,
  uptime_seconds: z.number().int().min(0),
  /** What is not up, and why. */
  reasons: z.array(z.string()).optional(),
  /** Every check by name: service, bus, memory, load, upstream_<name>. */
  checks: z.record(z.string(), healthCheckSchema),
});
export type Health = z.infer<typeof healthSchema>;

export const transportCountsSchema = z.strictObject({
  websocket: z.number().int().min(0),
  sse: z.number().int().min(0),
  total: z.number().int().min(0),
});

/** What one instance reports to the others (Redis hash `instances`), and what status bodies show of it. */
export const instanceFiguresSchema = z.strictObject({
  instance: z.string(),
  updated_at: isoTime,
  connections: transportCountsSchema,
  /** Per channel: subscribers by transport. */
  channels: z.record(z.string(), transportCountsSchema),
});
export type InstanceFigures = z.infer<typeof instanceFiguresSchema>;

export const clusterFiguresSchema = z.union([
  z.strictObject({
    instances: z.array(instanceFiguresSchema),
    totals: z.strictObject({
      connections: transportCountsSchema,
      channels: z.record(z.string(), transportCountsSchema),
      instances: z.number().int().min(0),
    }),
  }),
  z.strictObject({ unavailable: z.string() }),
]);
export type ClusterFigures = z.infer<typeof clusterFiguresSchema>;

export const channelStatusSchema = z.strictObject({
  subscribers: transportCountsSchema,
  messages_per_second: z.number().min(0),
  /** The newest id of the channel. */
  last_offset: eventId,
  history_depth: z.number().int().min(0),
  history_capacity: z.number().int().min(0),
  /** Payload bytes of the history held (null where the bus does not count them: Redis). */
  history_bytes: z.number().int().min(0).nullable(),
  sse_streams: z.array(channelName),
  high_frequency_streams: z.array(channelName),
});
export type ChannelStatus = z.infer<typeof channelStatusSchema>;

/** Where history is kept (storage.durability, or redis) and what it takes. */
export const historyStorageSchema = z.looseObject({ durability: z.enum(['memory', 'disk', 'fsync', 'redis']) });
export type HistoryStorage = z.infer<typeof historyStorageSchema>;

/** Streaming latency (accepted to written to the socket) of one transport over the recent window. */
export const latencyFiguresSchema = z.strictObject({
  samples: z.number().int().min(0),
  p50_ms: z.number().min(0).nullable(),
  p99_ms: z.number().min(0).nullable(),
  max_ms: z.number().min(0).nullable(),
});
export type LatencyFigures = z.infer<typeof latencyFiguresSchema>;

/** GET /streams/status. */
export const streamsStatusSchema = z.strictObject({
  timestamp: isoTime,
  channels: z.record(z.string(), channelStatusSchema),
  connections: transportCountsSchema,
  /** This instance's connection limits (websocket.max_connections, sse.max_connections). */
  connection_limits: z.strictObject({ websocket: z.number().int().min(0), sse: z.number().int().min(0) }),
  /** This instance's streaming latency over the last `window_seconds` (performance_optimization.latency_window). */
  latency: z.strictObject({ window_seconds: z.number().positive(), websocket: latencyFiguresSchema, sse: latencyFiguresSchema }),
  storage: historyStorageSchema,
  cluster: clusterFiguresSchema.optional(),
});
export type StreamsStatus = z.infer<typeof streamsStatusSchema>;

/** GET /websocket/status. */
export const websocketStatusSchema = z.strictObject({
  enabled: z.boolean(),
  connections: z.number().int().min(0),
  max_connections: z.number().int().min(0),
  per_channel: z.record(z.string(), z.number().int().min(0)),
  heartbeat_interval_seconds: z.number().positive(),
  message_size_limit_bytes: z.number().int(),
  compression_enabled: z.boolean(),
  max_queue_bytes: z.number().int(),
  slow_consumer_close_code: z.number().int(),
  slow_consumer_disconnects: z.number().int().min(0),
  dead_peers_terminated: z.number().int().min(0),
  cluster: clusterFiguresSchema.optional(),
});
export type WebsocketStatus = z.infer<typeof websocketStatusSchema>;

/** GET /streams/{channel}/recent: the newest events of a channel, oldest first. */
export const recentEventsSchema = z.strictObject({ channel: channelName, events: z.array(wireEventSchema) });
export type RecentEvents = z.infer<typeof recentEventsSchema>;
