/**
 * A believable LLM serving platform, in numbers: models with their own traffic and latency, GPU nodes, tenants, and
 * incidents that push latency and error rates up for a while. Deterministic for a given seed; no I/O.
 */
import type { EventInput } from '../event.schema';

type Channel = 'metrics_updates' | 'system_alerts' | 'business_events' | 'performance_data';
export type SimulatedEvent = EventInput & { channel: Channel };

/** mulberry32: small, fast, seedable. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Model {
  name: string;
  baseRps: number;
  baseLatencyMs: number;
  tokensPerRequest: number;
  pricePer1kTokens: number;
}

const MODELS: Model[] = [
  { name: 'llama-3.1-70b-instruct', baseRps: 120, baseLatencyMs: 850, tokensPerRequest: 420, pricePer1kTokens: 0.0009 },
  { name: 'llama-3.1-8b-instruct', baseRps: 340, baseLatencyMs: 180, tokensPerRequest: 260, pricePer1kTokens: 0.0002 },
  { name: 'mistral-large-2', baseRps: 60, baseLatencyMs: 990, tokensPerRequest: 510, pricePer1kTokens: 0.002 },
  { name: 'qwen2.5-32b-instruct', baseRps: 90, baseLatencyMs: 520, tokensPerRequest: 380, pricePer1kTokens: 0.0006 },
  { name: 'bge-m3-embeddings', baseRps: 210, baseLatencyMs: 35, tokensPerRequest: 190, pricePer1kTokens: 0.00002 },
];
const NODES = ['gpu-node-01', 'gpu-node-02', 'gpu-node-03', 'gpu-node-04'];
const TENANTS = ['acme-corp', 'globex', 'initech', 'umbrella', 'hooli', 'stark-industries', 'wayne-enterprises'];
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const COMPONENTS = ['api-gateway', 'request-router', 'kv-cache', 'vector-store', 'model-runner', 'tokenizer-service'];

interface Incident {
  /** A model, or '*' for a cluster-wide incident (e.g. the gateway overloaded): every model is hit. */
  model: string;
  endsAt: number;
  latencyFactor: number;
  errorRate: number;
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export class LlmPlatformSimulator {
  private readonly next: () => number;
  private second = 0;
  private incident: Incident | undefined;
  private requestCounter = 0;
  private readonly componentStatus = new Map(COMPONENTS.map((component) => [component, 'healthy']));

  constructor(seed = Date.now()) {
    this.next = random(seed);
  }

  private jitter(spread: number): number {
    return 1 + (this.next() * 2 - 1) * spread;
  }

  /** Everything that happens in one second of platform time at `now`. */
  tick(now: Date, businessRate = 1): SimulatedEvent[] {
    this.second++;
    const timestamp = now.toISOString();
    const events: SimulatedEvent[] = [];
    // A slow swell of traffic (period 10 minutes) over the day's base.
    const load = 1 + 0.35 * Math.sin((this.second / 600) * 2 * Math.PI);
    this.updateIncident(now, events, timestamp);

    let clusterRps = 0;
    let clusterErrors = 0;
    let clusterTokens = 0;
    let weightedLatency = 0;
    let worstP99 = 0;
    for (const model of MODELS) {
      const hit = this.impact(model.name);
      const rps = model.baseRps * load * this.jitter(0.08);
      const p50 = model.baseLatencyMs * (hit ? hit.latencyFactor : 1) * this.jitter(0.05) * (0.9 + 0.2 * load);
      const errorRate = hit ? hit.errorRate * this.jitter(0.1) : 0.002 + this.next() * 0.006;
      const tokensPerSecond = rps * model.tokensPerRequest * this.jitter(0.05);
      const queueDepth = Math.max(0, Math.round((load - 0.9) * 40 * this.jitter(0.3) + (hit ? 60 : 0)));
      clusterRps += rps;
      clusterErrors += rps * errorRate;
      clusterTokens += tokensPerSecond;
      weightedLatency += rps * p50 * 1.6;
      worstP99 = Math.max(worstP99, p50 * 2.8);
      events.push({
        channel: 'metrics_updates',
        type: 'llm.model_metrics',
        key: model.name,
        timestamp,
        data: {
          model: model.name,
          request_rate: round(rps),
          latency_ms: { p50: round(p50, 1), p95: round(p50 * 1.6, 1), p99: round(p50 * 2.8, 1) },
          error_rate: round(errorRate, 4),
          tokens_per_second: round(tokensPerSecond, 0),
          queue_depth: queueDepth,
        },
      });
    }
    const errorRate = clusterErrors / clusterRps;
    events.unshift({
      channel: 'metrics_updates',
      type: 'llm.metrics',
      key: 'cluster',
      timestamp,
      data: {
        request_rate: round(clusterRps),
        throughput: round(clusterRps),
        latency: round(weightedLatency / clusterRps, 1),
        latency_ms: { p95: round(weightedLatency / clusterRps, 1), p99: round(worstP99, 1) },
        error_rate: round(errorRate, 4),
        tokens_per_second: round(clusterTokens, 0),
        active_requests: Math.round(clusterRps * 0.6 * this.jitter(0.1)),
        models_serving: MODELS.length,
      },
    });

    for (const [index, node] of NODES.entries()) {
      const gpu = Math.min(99, 55 * load * this.jitter(0.1) + index * 3 + (this.incident ? 12 : 0));
      events.push({
        channel: 'performance_data',
        type: 'node.resources',
        key: node,
        timestamp,
        data: {
          node,
          gpu_count: 8,
          gpu_utilization: round(gpu, 1),
          gpu_memory_used_gb: round(8 * 80 * (0.55 + gpu / 400), 1),
          gpu_memory_total_gb: 640,
          gpu_temperature_c: round(48 + gpu * 0.32 * this.jitter(0.03), 1),
          cpu_utilization: round(Math.min(99, 22 * load * this.jitter(0.15)), 1),
          memory_used_gb: round(310 * this.jitter(0.04), 1),
          memory_total_gb: 1024,
          power_watts: Math.round(8 * (90 + gpu * 5.5) * this.jitter(0.02)),
        },
      });
    }

    const completions = Math.max(1, Math.round(6 * load * businessRate * this.jitter(0.4)));
    for (let count = 0; count < completions; count++) events.push(this.completion(timestamp));
    if (this.next() < 0.02 * businessRate) {
      const tenant = TENANTS[Math.floor(this.next() * TENANTS.length)] as string;
      events.push({
        channel: 'business_events',
        type: 'tenant.quota_warning',
        key: tenant,
        timestamp,
        data: { tenant, quota: 'monthly_tokens', used_ratio: round(0.8 + this.next() * 0.19, 3) },
      });
    }

    // Every component's status on the first tick, so a new system_status viewer is never blank; then one per 5 s.
    const reporting =
      this.second === 1 ? COMPONENTS : this.second % 5 === 0 ? [COMPONENTS[(this.second / 5) % COMPONENTS.length] as string] : [];
    for (const component of reporting) {
      events.push({
        channel: 'system_alerts',
        type: 'component.status',
        key: component,
        timestamp,
        data: {
          component,
          status: this.componentStatus.get(component) ?? 'healthy',
          uptime_seconds: 86_400 * 3 + this.second,
          instances: 3,
        },
      });
    }
    return events;
  }

  /** The incident that hits `model` now, if any. */
  private impact(model: string): Incident | undefined {
    return this.incident && (this.incident.model === model || this.incident.model === '*') ? this.incident : undefined;
  }

  private completion(timestamp: string): SimulatedEvent {
    const model = MODELS[Math.floor(this.next() * MODELS.length)] as Model;
    const tenant = TENANTS[Math.floor(this.next() * TENANTS.length)] as string;
    const hit = this.impact(model.name);
    const promptTokens = Math.round(model.tokensPerRequest * 0.6 * this.jitter(0.7));
    const completionTokens = Math.round(model.tokensPerRequest * 0.4 * this.jitter(0.8));
    const failed = this.next() < (hit ? hit.errorRate : 0.005);
    this.requestCounter++;
    return {
      channel: 'business_events',
      type: 'llm.request.completed',
      key: tenant,
      timestamp,
      data: {
        request_id: `req-${this.second.toString(36)}-${this.requestCounter.toString(36)}`,
        tenant,
        model: model.name,
        region: REGIONS[Math.floor(this.next() * REGIONS.length)] as string,
        status: failed ? 'error' : 'ok',
        error: failed ? (hit ? 'upstream_timeout' : 'invalid_request') : null,
        prompt_tokens: promptTokens,
        completion_tokens: failed ? 0 : completionTokens,
        latency_ms: Math.round(model.baseLatencyMs * (hit ? hit.latencyFactor : 1) * this.jitter(0.5)),
        cost_usd: round(((promptTokens + completionTokens) / 1000) * model.pricePer1kTokens, 6),
      },
    };
  }

  private updateIncident(now: Date, events: SimulatedEvent[], timestamp: string): void {
    if (this.incident && now.getTime() >= this.incident.endsAt) {
      const { model } = this.incident;
      this.incident = undefined;
      this.componentStatus.set('model-runner', 'healthy');
      events.push({
        channel: 'system_alerts',
        type: 'alert.resolved',
        key: `incident:${model}`,
        timestamp,
        data: { alert: 'ModelDegraded', severity: 'warning', model, message: `${model} is back to normal latency and error rate` },
      });
    } else if (!this.incident && this.next() < 1 / 180) {
      // One incident in four is cluster-wide: it pushes the cluster's error rate and latency past the SPEC rules.
      const clusterWide = this.next() < 0.25;
      const model = clusterWide ? { name: '*' } : (MODELS[Math.floor(this.next() * MODELS.length)] as Model);
      const severe = clusterWide || this.next() < 0.4;
      this.incident = {
        model: model.name,
        endsAt: now.getTime() + (30 + this.next() * 60) * 1000,
        latencyFactor: severe ? 4 : 2,
        errorRate: severe ? 0.22 + this.next() * 0.1 : 0.04 + this.next() * 0.05,
      };
      this.componentStatus.set('model-runner', 'degraded');
      events.push({
        channel: 'system_alerts',
        type: 'alert.firing',
        key: `incident:${model.name}`,
        timestamp,
        data: {
          alert: 'ModelDegraded',
          severity: severe ? 'critical' : 'warning',
          model: model.name,
          message: `${model.name === '*' ? 'all models' : model.name}: latency x${this.incident.latencyFactor}, error rate ${round(this.incident.errorRate * 100, 1)}%`,
        },
      });
    }
  }
}
