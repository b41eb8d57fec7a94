/**
 * The service's health: terminus indicators (the service draining, the bus, memory against its budget, load, each
 * upstream) combined into SPEC's body. `healthy` when all is well; `degraded` when an optional upstream is down,
 * memory is past its budget or the service is overloaded; `unhealthy` when the service cannot stream.
 */
import type { Health } from '@data-streaming/protocol';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { BUS, type Bus } from '../bus/bus.port';
import { SERVICE_VERSION } from '../common/version';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { UpstreamService } from '../ingest/upstream/upstream.service';
import { LoadMonitor } from '../metrics/load-monitor';
import { ConnectionLimits } from '../streams/connection-limits';

const STATUS = { ok: 'healthy', degraded: 'degraded', error: 'unhealthy', shutting_down: 'unhealthy' } as const;

@Injectable()
export class HealthService {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @Inject(BUS) private readonly bus: Bus,
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly upstreams: UpstreamService,
    private readonly connections: ConnectionLimits,
    private readonly load: LoadMonitor,
  ) {}

  /** The checks, combined into SPEC's body. */
  async report(): Promise<Health> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([
        () => (this.connections.draining ? this.indicator.check('service').down('shutting down') : this.indicator.check('service').up()),
        () => this.busHealth(),
        () => this.memory(),
        () => this.loadHealth(),
        ...this.upstreams.states().map((state) => () => {
          const session = this.indicator.check(`upstream_${state.name}`);
          const { status, ...details } = state;
          return status === 'down' ? session.degraded({ ...details, state: status }) : session.up({ ...details, state: status });
        }),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    const status = STATUS[result.status];
    const reasons = Object.entries(result.details)
      .filter(([, detail]) => detail.status !== 'up')
      .map(([name, detail]) => {
        const why = (detail as { message?: unknown; last_error?: unknown }).message ?? (detail as { last_error?: unknown }).last_error;
        return `${name} is ${detail.status}${typeof why === 'string' ? `: ${why}` : ''}`;
      });
    return {
      status,
      service: this.config.service.name,
      version: SERVICE_VERSION,
      timestamp: new Date().toISOString(),
      uptime_seconds: Math.round(process.uptime()),
      ...(reasons.length > 0 ? { reasons } : {}),
      checks: result.details,
    };
  }

  /** Down when the bus cannot answer; degraded when it serves but says why not fully (Redis unreachable). */
  private async busHealth(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('bus');
    let timer: NodeJS.Timeout | undefined;
    try {
      const details = await Promise.race([
        this.bus.check(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 2000 ms')), 2000))),
      ]);
      const degraded = (details as { degraded?: unknown }).degraded;
      return typeof degraded === 'string' ? session.degraded({ ...details, message: degraded }) : session.up(details);
    } catch (error) {
      return session.down({ message: (error as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Degraded while the service is behind its load (publishers get 503 meanwhile): `overloaded`, with the figures. */
  private loadHealth(): HealthIndicatorResult {
    const { overloaded, reasons, ...figures } = this.load.status();
    const session = this.indicator.check('load');
    return overloaded
      ? session.degraded({
          ...figures,
          state: 'overloaded',
          message: `overloaded (${reasons.join(', ')}): publishers are asked to retry later`,
        })
      : session.up({ ...figures, state: 'ok' });
  }

  private memory(): HealthIndicatorResult {
    const rss = process.memoryUsage.rss();
    const budget = this.config.performance.memory_limit_gb * 1024 ** 3;
    const details = { rss_bytes: rss, budget_bytes: budget };
    const session = this.indicator.check('memory');
    return rss > budget
      ? session.degraded({ ...details, message: `RSS ${rss} bytes is over the ${budget}-byte budget` })
      : session.up(details);
  }
}
