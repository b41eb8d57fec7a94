/**
 * The service's log: Nest's own ConsoleLogger, in JSON (one object per line, for journald and log shippers) unless
 * standard output is a terminal (`performance.log_format`). Each line has `time`, `level` (DEBUG, INFO, WARN, ERROR,
 * FATAL: what `grep ERROR` finds), `component` (the part of the service: websocket, sse, dashboard, notification,
 * ingest, upstream, bus, auth, http, ...), the logger's `context`, the `message`, and the fields a call passes
 * (`{ channel, connection }`; a `component` field overrides the context's, e.g. a fan-out line about a WebSocket
 * subscriber). Values under secret-looking keys are masked; messages never carry keys, tokens or credentials.
 */
import { ConsoleLogger, type LogLevel } from '@nestjs/common';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;

/** `performance.log_level` and `performance.log_format`. */
export interface LogSettings {
  log_level: (typeof LOG_LEVELS)[number];
  log_format: (typeof LOG_FORMATS)[number];
}

/** The component of each logger context (a class name, or a name given to `new Logger`). */
const COMPONENTS: Readonly<Record<string, string>> = {
  WebSocketUpgradeHandler: 'websocket',
  SseService: 'sse',
  HighFrequencyService: 'sse',
  FanoutService: 'stream',
  ConnectionLimits: 'stream',
  DashboardScheduler: 'dashboard',
  DashboardReadModel: 'dashboard',
  MetricStoreService: 'metrics',
  LoadMonitor: 'metrics',
  NotificationsService: 'notification',
  DispatcherService: 'notification',
  RuleEngineService: 'notification',
  Outbox: 'notification',
  DemoGeneratorService: 'ingest',
  UpstreamService: 'upstream',
  DurableBus: 'bus',
  RedisBus: 'bus',
  Redis: 'redis',
  LeadershipService: 'redis',
  TokenService: 'auth',
  ErrorFilter: 'http',
  Bootstrap: 'service',
  // Nest's own start-up lines.
  NestFactory: 'service',
  NestApplication: 'service',
  InstanceLoader: 'service',
  RoutesResolver: 'http',
  RouterExplorer: 'http',
};

const LEVELS: Readonly<Record<LogLevel, string>> = {
  verbose: 'DEBUG',
  debug: 'DEBUG',
  log: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'FATAL',
};

/** Nest's levels enabled by `performance.log_level`. */
export const NEST_LEVELS: Readonly<Record<LogSettings['log_level'], LogLevel[]>> = {
  DEBUG: ['fatal', 'error', 'warn', 'log', 'debug'],
  INFO: ['fatal', 'error', 'warn', 'log'],
  WARN: ['fatal', 'error', 'warn'],
  ERROR: ['fatal', 'error'],
};

/** Keys whose values are never written, wherever they appear in a line's fields. */
const SECRET_KEYS = ['authorization', 'api_key', 'apiKey', 'token', 'password', 'secret', 'smtp_url', 'webhook_url'];

export const componentOf = (context: string | undefined): string => (context && COMPONENTS[context]) || 'service';

class ServiceLogger extends ConsoleLogger {
  /** Nest's JSON record ({level, pid, timestamp, message, context, params, stack, error}) in the service's shape. */
  protected override stringifyJsonLogObject(record: Record<string, unknown>): string {
    const { level, timestamp, context, message, pid, params, stack, error } = record;
    const { component, ...fields } = (params ?? {}) as Record<string, unknown>;
    const line: Record<string, unknown> = {
      time: new Date(typeof timestamp === 'number' ? timestamp : Date.now()).toISOString(),
      level: (LEVELS as Partial<Record<string, string>>)[String(level)] ?? String(level).toUpperCase(),
      component: typeof component === 'string' ? component : componentOf(context as string | undefined),
      ...(context ? { context } : {}),
      message,
      pid,
    };
    for (const [key, value] of Object.entries(fields)) if (!(key in line)) line[key] = value;
    if (stack) line.stack = stack;
    if (error) line.error = error;
    return super.stringifyJsonLogObject(line);
  }
}

/** JSON unless `format` is text, or auto with a terminal on standard output. */
export function createServiceLogger(performance: LogSettings): ConsoleLogger {
  const json = performance.log_format === 'json' || (performance.log_format === 'auto' && !process.stdout.isTTY);
  return new ServiceLogger({
    json,
    logLevels: NEST_LEVELS[performance.log_level],
    redact: { paths: SECRET_KEYS, censor: '[redacted]' },
  });
}
