/**
 * The one schema of the service configuration. Its defaults are the embedded defaults (the service runs without a
 * YAML file); config/data-streaming-api.yaml mirrors them. Units: intervals in seconds, flush_interval and
 * retry_timeout in milliseconds, sizes in bytes.
 */
import { DELIVERY_CHANNELS, PRIORITIES } from '@data-streaming/protocol';
import { z } from 'zod';
import { ConditionSyntaxError, metricsOf, parseCondition } from '../common/condition';
import { LOG_FORMATS, LOG_LEVELS } from '../common/service-logger';

export const DASHBOARD_TYPES = [
  'operational_overview',
  'business_intelligence',
  'performance_metrics',
  'system_health',
  'real_time_analytics',
] as const;
export const DURABILITY_MODES = ['memory', 'disk', 'fsync'] as const;

const name = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a lowercase name of letters, digits and _');
const positiveInt = z.number().int().min(1);
const seconds = z.number().positive().max(86_400);
const url = z.union([z.literal(''), z.url({ protocol: /^https?$/ })]);
const uniqueNames = (defaults: string[]) =>
  z
    .array(name)
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'names must be unique')
    .default(defaults);

const notificationRule = z.strictObject({
  name,
  condition: z.string().min(1),
  channel: z.enum([...DELIVERY_CHANNELS, 'all']),
  priority: z.enum(PRIORITIES),
  for: z.number().min(0).default(0),
  cooldown: z.number().min(0).default(60),
});

const metricSource = z.strictObject({
  metric: name,
  channel: name,
  type: z.string().min(1),
  /** Dot path into the event's data, e.g. `latency_ms.p95`. */
  field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a dot path such as latency_ms.p95'),
  /** What the event's key means for this metric (model, node, tenant): the label dashboards group by. */
  label: name.default('key'),
});

const cluster = (metric: string, field: string) => ({ metric, channel: 'metrics_updates', type: 'llm.metrics', field, label: 'key' });
const perModel = (metric: string, field: string) => ({
  metric,
  channel: 'metrics_updates',
  type: 'llm.model_metrics',
  field,
  label: 'model',
});
const perNode = (metric: string, field: string) => ({ metric, channel: 'performance_data', type: 'node.resources', field, label: 'node' });
const perTenant = (metric: string, field: string) => ({
  metric,
  channel: 'business_events',
  type: 'llm.request.completed',
  field,
  label: 'tenant',
});

const DEFAULT_METRIC_SOURCES = [
  cluster('error_rate', 'error_rate'),
  cluster('latency', 'latency'),
  cluster('throughput', 'throughput'),
  cluster('request_rate', 'request_rate'),
  cluster('tokens_per_second', 'tokens_per_second'),
  cluster('active_requests', 'active_requests'),
  perModel('model_request_rate', 'request_rate'),
  perModel('model_latency_p95', 'latency_ms.p95'),
  perModel('model_error_rate', 'error_rate'),
  perModel('model_queue_depth', 'queue_depth'),
  perNode('gpu_utilization', 'gpu_utilization'),
  perNode('gpu_temperature_c', 'gpu_temperature_c'),
  perNode('cpu_utilization', 'cpu_utilization'),
  perNode('power_watts', 'power_watts'),
  perTenant('request_tokens', 'completion_tokens'),
  perTenant('request_cost_usd', 'cost_usd'),
  perTenant('request_latency_ms', 'latency_ms'),
];

const prometheusQuery = z.strictObject({
  name,
  query: z.string().min(1),
  channel: name,
});

export const configSchema = z
  .strictObject({
    service: z
      .strictObject({
        name: z.literal('data-streaming-api').default('data-streaming-api'),
        port: z.number().int().min(0).max(65_535).default(9102),
        host: z.string().min(1).default('0.0.0.0'),
        workers: positiveInt.max(64).default(2),
        request_timeout: seconds.default(30),
        /** Time a new connection has to send its request headers (slow-header clients are cut off). */
        headers_timeout: seconds.max(300).default(10),
        shutdown_timeout: seconds.max(300).default(5),
        max_body_bytes: positiveInt.default(1_048_576),
        max_batch_events: positiveInt.default(1000),
        /** Deepest nesting of arrays and objects accepted in a published body. */
        max_json_depth: positiveInt.max(1000).default(32),
        history_size: positiveInt.max(10_000_000).default(10_000),
        /** History retention by age (seconds) and by size (bytes per channel), besides `history_size` messages. */
        history_max_age: z
          .number()
          .positive()
          .max(366 * 86_400)
          .default(86_400),
        history_max_bytes: positiveInt.default(67_108_864),
        /**
         * How long an idle keep-alive connection stays open (seconds). Longer than the clients' own idle timeouts
         * (Node's agent 5 s, undici 4 s, browsers about 60 s), so the client closes first and never sends a request
         * into a connection the server is closing.
         */
        keep_alive_timeout: seconds.max(3600).default(65),
        /** POST /events with an Idempotency-Key: how long (seconds) and how many keys a publish is remembered. */
        idempotency_window: seconds.default(300),
        idempotency_max_keys: positiveInt.max(10_000_000).default(100_000),
      })
      .prefault({}),
    live_dashboard: z
      .strictObject({
        enabled: z.boolean().default(true),
        update_interval: seconds.default(5),
        max_connections: positiveInt.default(100),
        compression_enabled: z.boolean().default(true),
        caching_enabled: z.boolean().default(true),
        dashboards: z.array(z.enum(DASHBOARD_TYPES)).default([...DASHBOARD_TYPES]),
        /** Folder of the definition files; empty: config/dashboards of this installation. */
        definitions_dir: z.string().default(''),
        /**
         * Updates kept per dashboard to bridge a subscriber's reconnect (deltas: a longer gap gets a fresh snapshot).
         * At one update per `update_interval`, 256 is about 21 minutes.
         */
        history_size: positiveInt.max(100_000).default(256),
      })
      .prefault({}),
    real_time_notifications: z
      .strictObject({
        enabled: z.boolean().default(true),
        critical_enabled: z.boolean().default(true),
        warning_enabled: z.boolean().default(true),
        info_enabled: z.boolean().default(true),
        delivery_timeout: seconds.default(10),
        evaluation_interval: seconds.default(1),
        max_attempts: positiveInt.max(1000).default(15),
        delivery_concurrency: positiveInt.max(1000).default(16),
        retention: z.number().positive().max(3650).default(7),
        retry_base_delay: seconds.default(1),
        retry_max_delay: seconds.default(300),
        sse_stream: name.default('notifications'),
        smtp_url: z.union([z.literal(''), z.url({ protocol: /^smtps?$/ })]).default(''),
        email_from: z.union([z.literal(''), z.email()]).default(''),
        email_to: z.array(z.email()).default([]),
        slack_webhook_url: url.default(''),
        notification_channels: z.array(z.enum(DELIVERY_CHANNELS)).default([...DELIVERY_CHANNELS]),
        notification_rules: z.array(notificationRule).default([
          { name: 'critical_alert', condition: 'error_rate > 0.2', channel: 'all', priority: 'critical', for: 0, cooldown: 60 },
          { name: 'performance_warning', condition: 'latency > 2000', channel: 'websocket', priority: 'warning', for: 0, cooldown: 60 },
          { name: 'system_info', condition: 'throughput > 1000', channel: 'sse', priority: 'info', for: 0, cooldown: 60 },
        ]),
      })
      .prefault({}),
    websocket: z
      .strictObject({
        enabled: z.boolean().default(true),
        max_connections: positiveInt.default(200),
        heartbeat_interval: seconds.default(30),
        message_size_limit: positiveInt.default(1_048_576),
        /** Pings (protocol or {"kind":"ping"}) a client may send per second before it is closed as a flood (1008). */
        max_client_pings_per_second: positiveInt.max(10_000).default(10),
        compression_enabled: z.boolean().default(true),
        /**
         * Unsent bytes past which a subscriber is held (nothing more pushed into its connection until it drains); it is
         * closed as a slow consumer when its connection then takes nothing for `overload_stall_checks` checks.
         */
        max_queue_bytes: positiveInt.default(4_194_304),
        channels: uniqueNames(['metrics_updates', 'system_alerts', 'business_events', 'performance_data']),
      })
      .prefault({}),
    sse: z
      .strictObject({
        enabled: z.boolean().default(true),
        max_connections: positiveInt.default(100),
        retry_timeout: positiveInt.default(5000),
        keep_alive_interval: seconds.default(30),
        compression_enabled: z.boolean().default(true),
        /** As websocket.max_queue_bytes, for an SSE response. */
        max_queue_bytes: positiveInt.default(4_194_304),
        streams: uniqueNames(['real_time_metrics', 'system_status', 'business_analytics', 'operational_data']),
        stream_sources: z.record(name, name).default({
          real_time_metrics: 'metrics_updates',
          system_status: 'system_alerts',
          business_analytics: 'business_events',
          operational_data: 'performance_data',
        }),
      })
      .prefault({}),
    dashboard_refresh: z
      .strictObject({
        enabled: z.boolean().default(true),
        interval: seconds.default(5),
        mode: z.enum(['incremental', 'full']).default('incremental'),
        batch_size: positiveInt.default(50),
        priority_queue: z.boolean().default(true),
        refresh_strategies: z
          .strictObject({
            full_refresh: z.boolean().default(false),
            incremental_update: z.boolean().default(true),
            delta_sync: z.boolean().default(true),
            smart_refresh: z.boolean().default(true),
          })
          .prefault({}),
      })
      .prefault({}),
    performance_optimization: z
      .strictObject({
        enabled: z.boolean().default(true),
        buffer_size: positiveInt.default(8192),
        flush_interval: positiveInt.max(60_000).default(100),
        batch_size: positiveInt.max(10_000).default(10),
        compression_enabled: z.boolean().default(true),
        /** WebSocket messages and SSE events smaller than this many bytes go uncompressed where compression is on. */
        compression_threshold: positiveInt.max(16_777_216).default(1024),
        /** zlib level of that compression, 1 (fastest) to 9; each message is compressed once for all subscribers. */
        compression_level: z.number().int().min(1).max(9).default(1),
        /**
         * Overload: the service counts as behind its load while the mean event-loop delay over a check passes
         * `overload_event_loop_delay` (ms), or while at least `overload_min_lagging` subscribers, and at least
         * `overload_lagging_share` of all, have messages waiting. Then POST /events answers 503 with Retry-After
         * `overload_retry_after` (seconds), and subscribers past their queue cap are held instead of closed.
         */
        overload_check_interval: positiveInt.min(50).max(60_000).default(500),
        overload_event_loop_delay: positiveInt.max(60_000).default(100),
        overload_lagging_share: z.number().gt(0).max(1).default(0.5),
        overload_min_lagging: positiveInt.default(10),
        overload_retry_after: positiveInt.max(3600).default(1),
        /**
         * A subscriber past its cap is closed once the network has taken none of its bytes for this many checks in a
         * row while the service keeps up (30 × 500 ms: fifteen seconds of a connection that takes nothing; five were
         * too few for a client process that inflates 200 sockets' frames through one zlib queue).
         */
        overload_stall_checks: positiveInt.max(1000).default(30),
        /** The streaming latency shown by /streams/status: the last `latency_samples` deliveries of the last `latency_window` s. */
        latency_window: positiveInt.max(3600).default(60),
        latency_samples: positiveInt.min(16).max(1_000_000).default(4096),
        optimization_strategies: z
          .array(z.enum(['data_compression', 'connection_pooling', 'message_batching', 'priority_queuing']))
          .default(['data_compression', 'connection_pooling', 'message_batching', 'priority_queuing']),
      })
      .prefault({}),
    metric_store: z
      .strictObject({
        window: seconds.default(900),
        stale_after: seconds.default(60),
        max_series: positiveInt.default(10_000),
        max_samples_per_series: positiveInt.default(3600),
        sources: z.array(metricSource).default(DEFAULT_METRIC_SOURCES),
      })
      .prefault({}),
    high_frequency_streams: z
      .strictObject({
        enabled: z.boolean().default(true),
        update_rate: seconds.default(1),
        buffer_size: positiveInt.default(4096),
        compression_enabled: z.boolean().default(true),
        priority: z.enum(['high', 'normal']).default('high'),
        max_keys: positiveInt.default(1000),
        streams: uniqueNames(['system_metrics', 'performance_data', 'real_time_analytics', 'operational_events']),
        stream_sources: z.record(name, name).default({
          system_metrics: 'performance_data',
          performance_data: 'performance_data',
          real_time_analytics: 'metrics_updates',
          operational_events: 'system_alerts',
        }),
      })
      .prefault({}),
    performance: z
      .strictObject({
        memory_limit_gb: z.number().positive().max(4096).default(2),
        cpu_cores: positiveInt.max(1024).default(4),
        log_level: z.enum(LOG_LEVELS).default('INFO'),
        /**
         * `json`: one JSON object per line (journald, log shippers); `text`: Nest's readable lines; `auto`: text when
         * standard output is a terminal, JSON otherwise.
         */
        log_format: z.enum(LOG_FORMATS).default('auto'),
        /**
         * V8 compacts its old space on every full collection (`--compact-on-every-full-gc`, set at start). Under a
         * steady load the service keeps messages and publish receipts for minutes, which die in the old space and
         * leave it fragmented; V8's own choice of pages to compact lets the reservation creep up for about ten minutes
         * (+8-10 MB of RSS in the soak). Compacting every time holds it level (docs/BENCHMARKS-SOAK.md).
         */
        heap_compaction: z.boolean().default(true),
      })
      .prefault({}),
    console: z
      .strictObject({
        /** The browser console at `/` (deep links under `/console/`): the dashboards, streams and health, live. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    demo: z
      .strictObject({
        enabled: z.boolean().default(true),
        rate_multiplier: z.number().positive().max(1000).default(1),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        real_time_event_processing_endpoint: url.default(''),
        metrics_server_endpoint: url.default(''),
        custom_metrics_endpoint: url.default(''),
        api_gateway_endpoint: url.default(''),
        poll_interval: seconds.default(5),
        poll_timeout: seconds.default(3),
        max_backoff: seconds.default(60),
        // Polled only when metrics_server_endpoint is set.
        prometheus_queries: z.array(prometheusQuery).default([
          { name: 'request_rate', query: 'sum(rate(llm_requests_total[1m]))', channel: 'metrics_updates' },
          {
            name: 'error_rate',
            query: 'sum(rate(llm_request_errors_total[1m])) / sum(rate(llm_requests_total[1m]))',
            channel: 'metrics_updates',
          },
        ]),
      })
      .prefault({}),
    auth: z
      .strictObject({
        /**
         * `<key>` (every scope) or `<key>:<scope>+<scope>` with scopes publish, read, admin. Keys have at least 16
         * characters and no colon.
         */
        api_keys: z
          .array(
            z
              .string()
              .regex(
                /^[^:\s]{16,}(:(publish|read|admin)(\+(publish|read|admin))*)?$/,
                'expected <key> or <key>:<scopes>: a key of at least 16 characters without ":" or spaces, scopes publish, read, admin joined by +',
              ),
          )
          .default([]),
        /** HMAC-SHA256 secret of subscriber tokens; empty: a random one per process (tokens then work on that process only). */
        token_secret: z
          .string()
          .refine((text) => text === '' || text.length >= 32, 'at least 32 characters')
          .default(''),
        /** Lifetime of a subscriber token when the request names none, and the longest allowed (seconds). */
        token_ttl: seconds.default(900),
        token_max_ttl: seconds.default(86_400),
        /** Channels and streams anyone may subscribe to without credentials when keys are configured. */
        public_channels: z.array(z.string().min(1)).default([]),
        /** Browser origins allowed to connect and to read over CORS; `*` allows any. Same-origin is always allowed. */
        allowed_origins: z
          .array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'an origin such as https://grafana.example.com, or *'))
          .default([]),
      })
      .prefault({}),
    rate_limits: z
      .strictObject({
        enabled: z.boolean().default(true),
        /**
         * Requests per second on publishing endpoints (token buckets), per credential, or per client address for
         * anonymous clients. Above the platform's own rates (its `throughput > 1000` rule is events per second).
         */
        publish_per_second: z.number().positive().default(5000),
        publish_burst: positiveInt.default(10_000),
        /**
         * New WebSocket and SSE connections per second, per credential, or per client address for anonymous clients.
         * Only admitted connections take from it. The burst lets every connection the limits allow come back at once
         * after a restart (websocket 200 + sse 100 + dashboards 100 by default).
         */
        connections_per_second: z.number().positive().default(100),
        connections_burst: positiveInt.default(500),
        /** Buckets kept at most (the least recently used go first), so many addresses cannot grow memory. */
        max_tracked: positiveInt.max(10_000_000).default(100_000),
        /** Behind a proxy (nginx): take the client address from the first X-Forwarded-For entry. */
        trust_forwarded_for: z.boolean().default(false),
      })
      .prefault({}),
    redis: z
      .strictObject({
        url: z.string().default(''),
        /** Prepended to every key and pub/sub channel, so several deployments (or test runs) can share one Redis. */
        key_prefix: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- only, at most 64')
          .default('dsa:'),
        /** Publishes kept in memory while Redis is unreachable, forwarded when it returns; older ones are dropped past this. */
        max_pending: positiveInt.max(10_000_000).default(10_000),
        /** Longest wait between reconnection attempts. */
        max_backoff: seconds.max(300).default(10),
        /** How long one command may take before the connection counts as down. */
        command_timeout: seconds.max(60).default(2),
        /** Seconds after which an instance that stopped reporting is no longer listed in cluster status. */
        instance_ttl: seconds.max(3600).default(15),
      })
      .prefault({}),
    storage: z
      .strictObject({
        data_dir: z.string().min(1).default('./data'),
        /**
         * Where channel history lives: `memory` (lost with the process), `disk` (SQLite under data_dir, written before
         * a publish is acknowledged: survives a crash of the process) or `fsync` (also synced to the device at every
         * commit: survives a power loss). Redis mode keeps history in Redis whatever this says.
         */
        durability: z.enum(DURABILITY_MODES).default('disk'),
        /**
         * SQLite's page cache per database file, in KiB (history, outbox, rule state). better-sqlite3's build sets
         * 16 MiB, which fills over hours as rows are appended and swept; the writes touch only both ends of each
         * table, so a small cache costs nothing and keeps memory flat.
         */
        sqlite_cache_kb: positiveInt.min(256).max(1_048_576).default(2048),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.redis.url !== '' && config.auth.api_keys.length > 0 && config.auth.token_secret === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'token_secret'],
        message: 'required when instances share Redis and API keys are configured: subscriber tokens must verify on every instance',
      });
    }
    const channels = new Set(config.websocket.channels);
    const checkSources = (section: 'sse' | 'high_frequency_streams') => {
      const { streams, stream_sources: sources } = config[section];
      for (const stream of streams) {
        const source = sources[stream];
        if (source === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [section, 'stream_sources', stream],
            message: `stream "${stream}" needs a source channel, one of: ${[...channels].join(', ')}`,
          });
        } else if (!channels.has(source)) {
          ctx.addIssue({
            code: 'custom',
            path: [section, 'stream_sources', stream],
            message: `unknown channel "${source}", expected one of: ${[...channels].join(', ')}`,
          });
        }
      }
    };
    checkSources('sse');
    checkSources('high_frequency_streams');
    config.metric_store.sources.forEach((source, index) => {
      if (!channels.has(source.channel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['metric_store', 'sources', index, 'channel'],
          message: `unknown channel "${source.channel}", expected one of: ${[...channels].join(', ')}`,
        });
      }
    });
    const notifications = config.real_time_notifications;
    const metrics = new Set(config.metric_store.sources.map((source) => source.metric));
    notifications.notification_rules.forEach((rule, index) => {
      const path = ['real_time_notifications', 'notification_rules', index, 'condition'];
      try {
        for (const metric of metricsOf(parseCondition(rule.condition))) {
          if (!metrics.has(metric.name)) {
            ctx.addIssue({
              code: 'custom',
              path,
              message: `rule "${rule.name}": unknown metric "${metric.name}" at position ${metric.position + 1}; known metrics: ${[...metrics].join(', ')}`,
            });
          }
        }
      } catch (error) {
        if (!(error instanceof ConditionSyntaxError)) throw error;
        ctx.addIssue({ code: 'custom', path, message: `rule "${rule.name}": ${error.message}` });
      }
    });
    const ruleNames = notifications.notification_rules.map((rule) => rule.name);
    if (new Set(ruleNames).size !== ruleNames.length) {
      ctx.addIssue({ code: 'custom', path: ['real_time_notifications', 'notification_rules'], message: 'rule names must be unique' });
    }
    if (channels.has(notifications.sse_stream) || config.sse.streams.includes(notifications.sse_stream)) {
      ctx.addIssue({
        code: 'custom',
        path: ['real_time_notifications', 'sse_stream'],
        message: 'must be a name of its own, not a WebSocket channel or an SSE stream',
      });
    }
    config.monitoring.prometheus_queries.forEach((query, index) => {
      if (!channels.has(query.channel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['monitoring', 'prometheus_queries', index, 'channel'],
          message: `unknown channel "${query.channel}", expected one of: ${[...channels].join(', ')}`,
        });
      }
    });
    // One accepted request is published in one burst: a subscriber's queue must hold it, or every subscriber of
    // the channel would be closed as slow by a single large request.
    for (const section of ['websocket', 'sse'] as const) {
      if (config[section].max_queue_bytes < config.service.max_body_bytes) {
        ctx.addIssue({
          code: 'custom',
          path: [section, 'max_queue_bytes'],
          message: `must be at least service.max_body_bytes (${config.service.max_body_bytes})`,
        });
      }
    }
    if (config.service.history_max_bytes < config.service.max_body_bytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['service', 'history_max_bytes'],
        message: `must be at least service.max_body_bytes (${config.service.max_body_bytes}): history must hold the largest event`,
      });
    }
    const collisions = config.sse.streams.filter((stream) => channels.has(stream));
    if (collisions.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['sse', 'streams'],
        message: `SSE stream names must differ from WebSocket channel names (${collisions.join(', ')})`,
      });
    }
  });

export type AppConfig = z.infer<typeof configSchema>;
