/**
 * The optional upstream sources of SPEC.md. The event-processing service's GET /analytics and the Prometheus
 * instant queries of `monitoring.prometheus_queries` are published as events; the custom-metrics endpoint and the
 * API gateway are probed for reachability only. Each one's state shows in /health.
 */
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { StreamingMetrics } from '../../metrics/streaming.metrics';
import { LeadershipService } from '../../redis/leadership.service';
import type { EventInput } from '../event.schema';
import { IngestService } from '../ingest.service';
import { UpstreamPoller, redactUrl, withCredentials, type UpstreamState } from './upstream-poller';

async function getJson(target: string, signal: AbortSignal): Promise<unknown> {
  const { url, headers } = withCredentials(target);
  const response = await fetch(url, { signal, headers: { accept: 'application/json', ...headers } });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${redactUrl(url)}`);
  try {
    return await response.json();
  } catch {
    throw new Error(`response of ${redactUrl(url)} is not JSON`);
  }
}

async function probe(target: string, signal: AbortSignal): Promise<void> {
  const { url, headers } = withCredentials(target);
  const response = await fetch(url, { signal, headers });
  await response.body?.cancel();
  if (response.status >= 500) throw new Error(`HTTP ${response.status} from ${redactUrl(url)}`);
}

interface PrometheusVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] | [number, string] };
}

const join = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

@Injectable()
export class UpstreamService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UpstreamService.name);
  private readonly pollers: UpstreamPoller[] = [];

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly ingest: IngestService,
    private readonly metrics: StreamingMetrics,
    private readonly leadership: LeadershipService,
  ) {}

  onApplicationBootstrap(): void {
    const monitoring = this.config.monitoring;
    const add = (name: string, endpoint: string, poll: (signal: AbortSignal) => Promise<void>) => {
      if (!endpoint) return;
      const poller = new UpstreamPoller({
        name,
        endpoint,
        intervalMs: monitoring.poll_interval * 1000,
        timeoutMs: monitoring.poll_timeout * 1000,
        maxBackoffMs: monitoring.max_backoff * 1000,
        poll,
        onResult: (ok) => this.metrics.upstreamPolls.labels(name, ok ? 'success' : 'failure').inc(),
        onChange: (state, previous) => {
          if (state.status === 'down') {
            this.logger.error(`Upstream ${name} at ${state.endpoint} is down: ${state.last_error}; polling again with backoff`, {
              upstream: name,
              was: previous,
            });
          } else this.logger.log(`Upstream ${name} at ${state.endpoint} is up again`, { upstream: name });
        },
      });
      this.pollers.push(poller);
      poller.start();
      this.logger.log(`Polling ${name} at ${redactUrl(endpoint)}`);
    };
    const analytics = monitoring.real_time_event_processing_endpoint;
    add('real_time_event_processing', analytics, (signal) => this.pollAnalytics(analytics, signal));
    const prometheus = monitoring.metrics_server_endpoint;
    if (monitoring.prometheus_queries.length > 0) add('metrics_server', prometheus, (signal) => this.pollPrometheus(prometheus, signal));
    else add('metrics_server', prometheus, (signal) => probe(join(prometheus, '/-/ready'), signal));
    const custom = monitoring.custom_metrics_endpoint;
    add('custom_metrics', custom, (signal) => probe(join(custom, '/metrics'), signal));
    const gateway = monitoring.api_gateway_endpoint;
    add('api_gateway', gateway, (signal) => probe(join(gateway, '/health'), signal));
  }

  states(): UpstreamState[] {
    return this.pollers.map((poller) => poller.snapshot());
  }

  private async pollAnalytics(base: string, signal: AbortSignal): Promise<void> {
    const body = await getJson(join(base, '/analytics'), signal);
    // Every instance polls (its /health reports the upstream); only the leader publishes what it read.
    if (!this.leadership.isLeader) return;
    await this.ingest.accept(
      [{ channel: 'metrics_updates', type: 'upstream.analytics', key: 'analytics', data: body as never }],
      'upstream',
    );
  }

  private async pollPrometheus(base: string, signal: AbortSignal): Promise<void> {
    const events: EventInput[] = [];
    for (const { name, query, channel } of this.config.monitoring.prometheus_queries) {
      const url = `${join(base, '/api/v1/query')}?query=${encodeURIComponent(query)}`;
      const body = (await getJson(url, signal)) as PrometheusVector;
      if (body.status !== 'success' || !body.data) throw new Error(`Prometheus query ${name} failed: ${body.error ?? 'no data'}`);
      const { resultType, result } = body.data;
      const series =
        resultType === 'vector'
          ? (result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => ({
              labels: sample.metric,
              value: Number(sample.value[1]),
            }))
          : [{ labels: {}, value: Number((result as [number, string])[1]) }];
      events.push({
        channel,
        type: 'prometheus.query',
        key: name,
        data: { name, query, value: series.length === 1 ? (series[0]?.value ?? null) : null, series },
      });
    }
    if (this.leadership.isLeader) await this.ingest.accept(events, 'upstream');
  }

  onApplicationShutdown(): void {
    for (const poller of this.pollers) poller.stop();
  }
}
