/**
 * Counts open streaming connections per pool (a transport, or the dashboard viewers, which also hold a transport
 * slot), enforces each pool's limit, and feeds the gauges.
 */
import { Injectable } from '@nestjs/common';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics, type Transport } from '../metrics/streaming.metrics';

export type RefusalReason = 'max_connections' | 'unknown_channel' | 'bad_position' | 'shutting_down' | 'rate_limited';
export type Pool = Transport | 'dashboard';

@Injectable()
export class ConnectionRegistry {
  private readonly open: Record<Pool, number> = { websocket: 0, sse: 0, dashboard: 0 };
  private readonly limits: Record<Pool, number>;
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

  refused(transport: Transport, reason: RefusalReason): void {
    this.metrics.refused.labels(transport, reason).inc();
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
