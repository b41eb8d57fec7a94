/**
 * Counts open streaming connections per pool (a transport, or the dashboard viewers, which also hold a transport
 * slot), enforces each pool's limit, and feeds the gauges.
 */
import { Injectable, Logger } from '@nestjs/common';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics, type Transport } from '../metrics/streaming.metrics';

export type RefusalReason = 'max_connections' | 'unknown_channel' | 'bad_position' | 'shutting_down' | 'rate_limited';
export type Pool = Transport | 'dashboard';

/** A refusal of one transport and reason is logged at once, then at most this often, with the count in between. */
const REFUSAL_LOG_EVERY_MS = 10_000;
const LIMIT_KEYS: Readonly<Record<Pool, string>> = {
  websocket: 'websocket.max_connections, WEBSOCKET_MAX_CONNECTIONS',
  sse: 'sse.max_connections, SSE_MAX_CONNECTIONS',
  dashboard: 'live_dashboard.max_connections, LIVE_DASHBOARD_MAX_CONNECTIONS',
};

@Injectable()
export class ConnectionLimits {
  private readonly open: Record<Pool, number> = { websocket: 0, sse: 0, dashboard: 0 };
  private readonly limits: Record<Pool, number>;
  private readonly logger = new Logger(ConnectionLimits.name);
  /** Per transport and reason: refusals since the last line about them, and when that was. */
  private readonly refusals = new Map<string, { count: number; loggedAt: number }>();
  draining = false;

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly metrics: StreamingMetrics,
  ) {
    this.limits = {
      websocket: config.websocket.max_connections,
      sse: config.sse.max_connections,
      dashboard: config.live_dashboard.max_connections,
    };
  }

  /** Takes a connection slot; false when the pool is at its limit. */
  tryAcquire(pool: Pool): boolean {
    if (this.open[pool] >= this.limits[pool]) return false;
    this.open[pool]++;
    this.publishGauges();
    return true;
  }

  release(pool: Pool): void {
    this.open[pool] = Math.max(0, this.open[pool] - 1);
    this.publishGauges();
  }

  /**
   * Counts a refused connection, and logs it (component: the transport, or dashboard for a dashboard viewer): the
   * first of its kind at once, then at most every REFUSAL_LOG_EVERY_MS with the count in between, so a wave of
   * refusals is a few lines. `pool`: the pool whose limit refused it (max_connections).
   */
  refused(transport: Transport, reason: RefusalReason, pool: Pool = transport, now = Date.now()): void {
    this.metrics.refused.labels(transport, reason).inc();
    const key = `${transport}:${pool}:${reason}`;
    const seen = this.refusals.get(key) ?? { count: 0, loggedAt: -Infinity };
    seen.count++;
    this.refusals.set(key, seen);
    if (now - seen.loggedAt < REFUSAL_LOG_EVERY_MS) return;
    const viewer = pool === 'dashboard' ? ' (dashboard viewer)' : '';
    const limit = reason === 'max_connections' ? ` (${this.open[pool]} open, limit ${this.limits[pool]}: ${LIMIT_KEYS[pool]})` : '';
    const since = seen.loggedAt === -Infinity ? '' : ` (${seen.count} since the last report)`;
    this.logger.warn(`${transport} connection${viewer} refused: ${reason}${limit}${since}`, {
      component: pool === 'dashboard' ? 'dashboard' : transport,
      reason,
      refused: seen.count,
    });
    seen.count = 0;
    seen.loggedAt = now;
  }

  count(pool: Pool): number {
    return this.open[pool];
  }

  limit(pool: Pool): number {
    return this.limits[pool];
  }

  private publishGauges(): void {
    this.metrics.websocketConnections.set(this.open.websocket);
    this.metrics.sseConnections.set(this.open.sse);
    this.metrics.connections.set(this.open.websocket + this.open.sse);
  }
}
