/**
 * The service's link to Redis (when DATA_STREAMING_REDIS_URL is set): one command connection, subscriber
 * connections on demand, the key prefix, this instance's id, and whether Redis is reachable right now.
 *
 * Commands never queue while Redis is down (`enableOfflineQueue: false`): they fail at once, so callers can fall
 * back (the bus keeps publishes locally) instead of hanging. ioredis reconnects by itself, with exponential backoff
 * and jitter up to `redis.max_backoff`.
 */
import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { redactText, redactUrl } from '../common/redact';
import type { AppConfig } from '../config/config.schema';

export const REDIS = Symbol('REDIS');

export type RedisEvent = 'up' | 'down';

export class RedisConnection extends EventEmitter<Record<RedisEvent, []>> {
  private readonly logger = new Logger('Redis');
  readonly prefix: string;
  readonly instanceId: string;
  readonly command: Redis;
  private readonly subscribers: Redis[] = [];
  private readonly options: RedisOptions;
  private up = false;
  lastError: string | undefined;
  downSince: number | undefined = Date.now();

  constructor(
    private readonly url: string,
    settings: AppConfig['redis'],
  ) {
    super();
    this.prefix = settings.key_prefix;
    // Base-36 so it can also serve as an epoch fragment; unique per process even on one host.
    this.instanceId = `${
      hostname()
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 16) || 'host'
    }-${process.pid}-${randomBytes(2).toString('hex')}`;
    const maxBackoffMs = settings.max_backoff * 1000;
    this.options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.command_timeout * 1000,
      connectTimeout: settings.command_timeout * 1000,
      retryStrategy: (attempt) => Math.round(Math.min(maxBackoffMs, 100 * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() * 0.5)),
      reconnectOnError: () => false,
      // Shutting down while Redis is unreachable must not wait for ioredis' default 2 s.
      disconnectTimeout: 200,
    };
    this.command = this.connection('commands');
  }

  /** The URL without credentials, for logs and status. */
  get target(): string {
    return redactUrl(this.url);
  }

  get available(): boolean {
    return this.up;
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** A dedicated connection for SUBSCRIBE/PSUBSCRIBE (a subscribed connection can run no other command). */
  subscriber(): Redis {
    // Unlike commands, a subscription may wait for the connection: ioredis sends it (again) whenever it connects.
    const connection = this.connection('subscriber', { lazyConnect: false, enableOfflineQueue: true });
    this.subscribers.push(connection);
    return connection;
  }

  /** Connects; resolves once connected or after the first failure (the service then starts degraded). */
  async start(): Promise<void> {
    try {
      await this.command.connect();
    } catch (error) {
      this.logger.warn(`Redis at ${this.target} is not reachable (${this.describe(error)}); starting degraded, retrying`);
    }
  }

  async close(): Promise<void> {
    for (const connection of [this.command, ...this.subscribers]) {
      connection.removeAllListeners('error');
      connection.on('error', () => undefined);
      connection.disconnect(false);
    }
    this.removeAllListeners();
    await Promise.resolve();
  }

  describe(error: unknown): string {
    return redactText(error instanceof Error ? error.message : String(error)).slice(0, 200);
  }

  private connection(role: 'commands' | 'subscriber', overrides: RedisOptions = {}): Redis {
    const connection = new Redis(this.url, { ...this.options, ...overrides, connectionName: `${this.prefix}${role}:${this.instanceId}` });
    connection.on('error', (error: unknown) => {
      this.lastError = this.describe(error);
    });
    if (role === 'commands') {
      connection.on('ready', () => this.setUp(true));
      connection.on('close', () => this.setUp(false));
    }
    return connection;
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (up) {
      const outage = this.downSince === undefined ? 0 : Date.now() - this.downSince;
      this.downSince = undefined;
      this.logger.log(`Connected to Redis at ${this.target}${outage > 0 ? ` (after ${outage} ms without it)` : ''}`);
      this.emit('up');
    } else {
      this.downSince = Date.now();
      this.logger.warn(`Lost Redis at ${this.target}${this.lastError ? `: ${this.lastError}` : ''}; serving local clients, retrying`);
      this.emit('down');
    }
  }
}
