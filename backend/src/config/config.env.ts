/**
 * Environment variables that override configuration keys. The names follow SPEC.md: a prefix per section plus the
 * key in upper case, with a few fixed exceptions. Scalars and string lists (comma-separated) are overridable.
 */
import type { AppConfig } from './config.schema';

const SECTION_PREFIX: Record<string, string> = {
  live_dashboard: 'LIVE_DASHBOARD_',
  real_time_notifications: 'REAL_TIME_NOTIFICATIONS_',
  websocket: 'WEBSOCKET_',
  sse: 'SSE_',
  dashboard_refresh: 'DASHBOARD_REFRESH_',
  performance_optimization: 'STREAMING_',
  high_frequency_streams: 'HIGH_FREQUENCY_STREAMS_',
  metric_store: 'METRIC_STORE_',
  monitoring: '',
  redis: 'DATA_STREAMING_REDIS_',
  rate_limits: 'RATE_LIMIT_',
};

const FIXED_NAMES: Record<string, string> = {
  'service.name': '',
  'service.port': 'DATA_STREAMING_API_PORT',
  'service.host': 'DATA_STREAMING_API_HOST',
  'service.workers': 'DATA_STREAMING_API_WORKERS',
  'service.request_timeout': 'DATA_STREAMING_TIMEOUT',
  'service.headers_timeout': 'DATA_STREAMING_HEADERS_TIMEOUT',
  'service.shutdown_timeout': 'DATA_STREAMING_SHUTDOWN_TIMEOUT',
  'service.max_body_bytes': 'DATA_STREAMING_MAX_BODY_BYTES',
  'service.max_batch_events': 'DATA_STREAMING_MAX_BATCH_EVENTS',
  'service.max_json_depth': 'DATA_STREAMING_MAX_JSON_DEPTH',
  'service.history_size': 'DATA_STREAMING_HISTORY_SIZE',
  'service.history_max_age': 'DATA_STREAMING_HISTORY_MAX_AGE',
  'service.history_max_bytes': 'DATA_STREAMING_HISTORY_MAX_BYTES',
  'service.keep_alive_timeout': 'DATA_STREAMING_KEEP_ALIVE_TIMEOUT',
  'service.idempotency_window': 'DATA_STREAMING_IDEMPOTENCY_WINDOW',
  'service.idempotency_max_keys': 'DATA_STREAMING_IDEMPOTENCY_MAX_KEYS',
  'performance_optimization.enabled': 'STREAMING_PERFORMANCE_OPTIMIZATION_ENABLED',
  'performance.memory_limit_gb': 'DATA_STREAMING_API_MEMORY_GB',
  'performance.cpu_cores': 'DATA_STREAMING_API_CPU_CORES',
  'performance.log_level': 'DATA_STREAMING_LOG_LEVEL',
  'performance.log_format': 'DATA_STREAMING_LOG_FORMAT',
  'performance.heap_compaction': 'DATA_STREAMING_HEAP_COMPACTION',
  'demo.enabled': 'DATA_STREAMING_DEMO_ENABLED',
  'console.enabled': 'DATA_STREAMING_CONSOLE_ENABLED',
  'demo.rate_multiplier': 'DATA_STREAMING_DEMO_RATE_MULTIPLIER',
  'monitoring.poll_interval': 'MONITORING_POLL_INTERVAL',
  'monitoring.poll_timeout': 'MONITORING_POLL_TIMEOUT',
  'monitoring.max_backoff': 'MONITORING_MAX_BACKOFF',
  'monitoring.prometheus_queries': '',
  'real_time_notifications.smtp_url': 'NOTIFICATIONS_SMTP_URL',
  'real_time_notifications.email_from': 'NOTIFICATIONS_EMAIL_FROM',
  'real_time_notifications.email_to': 'NOTIFICATIONS_EMAIL_TO',
  'real_time_notifications.slack_webhook_url': 'NOTIFICATIONS_SLACK_WEBHOOK_URL',
  'real_time_notifications.sse_stream': 'NOTIFICATIONS_SSE_STREAM',
  'live_dashboard.definitions_dir': 'LIVE_DASHBOARD_DEFINITIONS_DIR',
  'auth.api_keys': 'DATA_STREAMING_API_KEYS',
  'auth.token_secret': 'DATA_STREAMING_TOKEN_SECRET',
  'auth.token_ttl': 'DATA_STREAMING_TOKEN_TTL',
  'auth.token_max_ttl': 'DATA_STREAMING_TOKEN_MAX_TTL',
  'auth.public_channels': 'DATA_STREAMING_PUBLIC_CHANNELS',
  'auth.allowed_origins': 'DATA_STREAMING_ALLOWED_ORIGINS',
  'redis.url': 'DATA_STREAMING_REDIS_URL',
  'storage.data_dir': 'DATA_STREAMING_DATA_DIR',
  'storage.durability': 'DATA_STREAMING_DURABILITY',
  'storage.sqlite_cache_kb': 'DATA_STREAMING_SQLITE_CACHE_KB',
};

export type EnvKind = 'number' | 'boolean' | 'string' | 'list';

export interface EnvBinding {
  variable: string;
  path: [string, string];
  kind: EnvKind;
}

function kindOf(value: unknown): EnvKind | undefined {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return 'list';
  return undefined;
}

/** Every overridable key with its variable, derived from the embedded defaults so that it cannot drift. */
export function envBindings(defaults: AppConfig): EnvBinding[] {
  const bindings: EnvBinding[] = [];
  for (const [section, values] of Object.entries(defaults)) {
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      const kind = kindOf(value);
      if (kind === undefined) continue;
      const fixed = FIXED_NAMES[`${section}.${key}`];
      const prefix = SECTION_PREFIX[section];
      const variable = fixed ?? (prefix === undefined ? undefined : `${prefix}${key.toUpperCase()}`);
      if (variable) bindings.push({ variable, path: [section, key], kind });
    }
  }
  return bindings;
}

/** Parses one variable's text; returns an error message instead of throwing. */
export function parseEnvValue(kind: EnvKind, raw: string): { value: unknown } | { error: string } {
  const text = raw.trim();
  switch (kind) {
    case 'number': {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text)) return { error: 'expected a number' };
      return { value: Number(text) };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(lower)) return { value: false };
      return { error: 'expected true or false' };
    }
    case 'string':
      return { value: text };
    case 'list':
      return {
        value: text
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      };
  }
}
