/** Counts open streaming connections per transport, enforces each transport's limit, and feeds the gauges. */
import { Injectable } from '@nestjs/common';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { StreamingMetrics, type Transport } from '../metrics/streaming.metrics';

export type RefusalReason = 'max_connections' | 'unknown_channel' | 'bad_position' | 'disabled' | 'shutting_down';

@Injectable()
export class ConnectionRegistry {
  private readonly open: Record<Transport, number> = { websocket: 0, sse: 0 };
  private readonly limits: Record<Transport, number>;
  draining = false;

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly metrics: StreamingMetrics,
  ) {
    this.limits = { websocket: config.websocket.max_connections, sse: config.sse.max_connections };
  }

  /** Takes a connection slot; false when the transport is at its limit. */
  tryAcquire(transport: Transport): boolean {
    if (this.open[transport] >= this.limits[transport]) return false;
    this.open[transport]++;
    this.publishGauges();
    return true;
  }

  release(transport: Transport): void {
    this.open[transport] = Math.max(0, this.open[transport] - 1);
    this.publishGauges();
  }

  refused(transport: Transport, reason: RefusalReason): void {
    this.metrics.refused.labels(transport, reason).inc();
  }

  count(transport: Transport): number {
    return this.open[transport];
  }

  limit(transport: Transport): number {
    return this.limits[transport];
  }

  private publishGauges(): void {
    this.metrics.websocketConnections.set(this.open.websocket);
    this.metrics.sseConnections.set(this.open.sse);
    this.metrics.connections.set(this.open.websocket + this.open.sse);
  }
}
