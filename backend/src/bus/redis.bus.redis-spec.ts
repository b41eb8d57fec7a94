/**
 * What instances sharing a real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379) share besides history: the
 * receipts of idempotent publishes and the rule engine's state. Each RedisConnection stands for one instance. Run by
 * `npm run test:redis`; every key lives under a prefix unique to the run, deleted at the end.
 */
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { busOptions } from '../../test/support/factories';
import { loadConfig } from '../config/config.loader';
import { RedisRuleStates } from '../notifications/rules/rule-state.store';
import { RedisConnection } from '../redis/redis.connection';
import { IdempotencyConflictError } from './receipts';
import { RedisBus } from './redis.bus';

const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const runPrefix = `dsa-test-${randomBytes(4).toString('hex')}:`;
const connections: RedisConnection[] = [];
const buses: RedisBus[] = [];
let prefixes = 0;

async function connect(prefix: string): Promise<RedisConnection> {
  const connection = new RedisConnection(url, loadConfig({ env: {}, overrides: { redis: { url, key_prefix: prefix } } }).redis);
  connections.push(connection);
  await connection.start();
  return connection;
}

async function bus(prefix: string): Promise<RedisBus> {
  const made = new RedisBus(await connect(prefix), {
    ...busOptions(100),
    channels: ['a', 'b'],
    isLocal: () => false,
    maxPending: 100,
    onDropped: () => undefined,
    onModeChange: () => undefined,
  });
  await made.start();
  buses.push(made);
  return made;
}

const inputs = (count: number) => Array.from({ length: count }, (_, index) => ({ type: 't', data: { index } }));

describe('instances sharing Redis', () => {
  let admin: RedisConnection;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    admin = await connect(runPrefix);
    if (!admin.available) throw new Error(`Redis at ${admin.target} is not reachable (${admin.lastError ?? 'no answer'})`);
  });

  afterAll(async () => {
    for (const made of buses) made.close();
    if (admin.available) {
      const keys = await admin.command.keys(`${runPrefix}*`);
      if (keys.length > 0) await admin.command.del(...keys);
    }
    await Promise.all(connections.map((connection) => connection.close()));
  });

  it('publish a key once: another instance answers a retry with the same ids, and refuses the key for another request', async () => {
    const prefix = `${runPrefix}${++prefixes}:`;
    const [one, two] = [await bus(prefix), await bus(prefix)];
    const key = { key: 'key:1\u001forder-7', fingerprint: 'f' };
    const first = await one.publishRequest(
      [
        { channel: 'a', events: inputs(2) },
        { channel: 'b', events: inputs(1) },
      ],
      key,
    );
    expect(first.replayed).toBe(false);
    expect(first.ids.map((ids) => ids.length)).toEqual([2, 1]);
    const retry = await two.publishRequest([{ channel: 'a', events: inputs(2) }], key);
    expect(retry).toEqual({ ids: first.ids, replayed: true });
    await expect(two.publishRequest([{ channel: 'a', events: inputs(5) }], { ...key, fingerprint: 'other' })).rejects.toEqual(
      new IdempotencyConflictError('mismatch'),
    );
    expect(two.state('a').lastOffset).toBe(2);
  });

  it('let one instance publish a key that two receive at the same time; the other is told it is in progress or replays it', async () => {
    const prefix = `${runPrefix}${++prefixes}:`;
    const [one, two] = [await bus(prefix), await bus(prefix)];
    const key = { key: 'key:1\u001fat-once', fingerprint: 'f' };
    const outcomes = await Promise.allSettled(
      [one, two, one, two].map((instance) => instance.publishRequest([{ channel: 'a', events: inputs(1) }], key)),
    );
    const published = outcomes.filter((outcome) => outcome.status === 'fulfilled' && !outcome.value.replayed);
    expect(published).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toEqual(new IdempotencyConflictError('in_progress'));
    }
    expect(one.state('a').lastOffset).toBe(1);
  });

  it('share the rule state: what one instance saved, another reads; an unreadable entry is reported and skipped', async () => {
    const prefix = `${runPrefix}${++prefixes}:`;
    const [leader, successor] = [new RedisRuleStates(await connect(prefix)), new RedisRuleStates(await connect(prefix))];
    await leader.save('critical_alert', { state: 'firing', since: 1000, lastFiredAt: 1000, firedAt: new Date(1000).toISOString() });
    await admin.command.hset(`${prefix}rules`, 'broken', '{"state":"exploded"}');
    const { states, skipped } = await successor.load();
    expect(states.get('critical_alert')).toEqual({
      state: 'firing',
      since: 1000,
      lastFiredAt: 1000,
      firedAt: new Date(1000).toISOString(),
    });
    expect(skipped).toEqual(['broken']);
  });
});
