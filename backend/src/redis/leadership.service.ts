/**
 * Which instance runs the cluster's singletons: the demo generator, the upstream pollers and the notification rule
 * engine must run once per cluster, not once per instance, or every event and notification they make would be
 * multiplied. With Redis, the leader holds a lease key (SET NX PX) that it renews at a third of its lifetime; when
 * the leader dies or loses Redis, the lease expires and another instance takes it over. Without Redis this
 * process is the only instance and always leads.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS, type RedisConnection } from './redis.connection';

const LEASE_MS = 6000;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

@Injectable()
export class LeadershipService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LeadershipService.name);
  private leading: boolean;
  private leaseUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(REDIS) private readonly redis: RedisConnection | null) {
    this.leading = redis === null;
  }

  /** True while this instance runs the cluster's singletons. */
  get isLeader(): boolean {
    // A lease not renewed in time is given up locally before Redis expires it, so two leaders never overlap.
    if (this.redis && this.leading && Date.now() > this.leaseUntil) this.setLeading(false);
    return this.leading;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis) return;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), LEASE_MS / 3);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.redis || !this.leading) return;
    this.leading = false;
    await this.redis.command.eval(RELEASE, 1, this.key, this.redis.instanceId).catch(() => undefined);
  }

  private get key(): string {
    return (this.redis as RedisConnection).key('leader');
  }

  private async tick(): Promise<void> {
    const redis = this.redis as RedisConnection;
    const started = Date.now();
    try {
      const held = this.leading
        ? (await redis.command.eval(RENEW, 1, this.key, redis.instanceId, LEASE_MS)) === 1
        : (await redis.command.set(this.key, redis.instanceId, 'PX', LEASE_MS, 'NX')) === 'OK';
      if (held) this.leaseUntil = started + LEASE_MS - 1000;
      this.setLeading(held);
    } catch {
      // Redis is down: keep leading only until the lease would have run out.
      if (this.leading && Date.now() > this.leaseUntil) this.setLeading(false);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.logger.log(leading ? 'This instance now runs the cluster singletons (demo, upstream polls, rules)' : 'No longer the leader');
  }
}
