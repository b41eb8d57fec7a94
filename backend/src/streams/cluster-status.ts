/**
 * Cluster-wide figures when instances share Redis: every instance writes its own connection and subscriber counts
 * to one Redis hash every two seconds; status endpoints read the hash, drop instances silent for longer than
 * `redis.instance_ttl`, and add the totals. Without Redis there is no cluster section.
 */
import { instanceFiguresSchema, type ClusterFigures as ProtocolClusterFigures, type InstanceFigures } from '@data-streaming/protocol';
import type { RedisConnection } from '../redis/redis.connection';

export type { InstanceFigures };

/** The cluster section of the status bodies when Redis could be read. */
export type ClusterFigures = Exclude<ProtocolClusterFigures, { unavailable: string }>;

export const REPORT_INTERVAL_MS = 2000;

export class ClusterReporter {
  private readonly key: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlMs: number,
  ) {
    this.key = redis.key('instances');
  }

  async report(figures: Omit<InstanceFigures, 'instance' | 'updated_at'>): Promise<void> {
    const entry: InstanceFigures = { instance: this.redis.instanceId, updated_at: new Date().toISOString(), ...figures };
    await this.redis.command.hset(this.key, this.redis.instanceId, JSON.stringify(entry));
  }

  async withdraw(): Promise<void> {
    await this.redis.command.hdel(this.key, this.redis.instanceId);
  }

  /** Every live instance's last report and the sums; undefined when Redis cannot be read now. */
  async read(): Promise<ClusterFigures | undefined> {
    let raw: Record<string, string>;
    try {
      raw = await this.redis.command.hgetall(this.key);
    } catch {
      return undefined;
    }
    const cutoff = Date.now() - this.ttlMs;
    const instances: InstanceFigures[] = [];
    const stale: string[] = [];
    for (const [id, text] of Object.entries(raw)) {
      // Another instance's report, read through the protocol's schema: one that does not match is dropped like a stale one.
      const entry = instanceFiguresSchema.safeParse(parseJson(text));
      if (!entry.success || Date.parse(entry.data.updated_at) < cutoff) stale.push(id);
      else instances.push(entry.data);
    }
    if (stale.length > 0) await this.redis.command.hdel(this.key, ...stale).catch(() => undefined);
    instances.sort((a, b) => a.instance.localeCompare(b.instance));
    const zero = () => ({ websocket: 0, sse: 0, total: 0 });
    const totals: ClusterFigures['totals'] = { instances: instances.length, connections: zero(), channels: {} };
    for (const entry of instances) {
      add(totals.connections, entry.connections);
      for (const [channel, counts] of Object.entries(entry.channels)) add((totals.channels[channel] ??= zero()), counts);
    }
    return { instances, totals };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function add(into: { websocket: number; sse: number; total: number }, from: { websocket: number; sse: number; total: number }): void {
  into.websocket += from.websocket;
  into.sse += from.sse;
  into.total += from.total;
}
