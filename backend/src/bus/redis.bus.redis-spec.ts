/**
 * What instances sharing a real Redis (test/support/redis.ts) share besides history: the receipts of idempotent
 * publishes and the rule engine's state. Each RedisConnection stands for one instance.
 */
import { busOptions } from '../../test/support/factories';
import { redisRun } from '../../test/support/redis';
import { RedisRuleStates } from '../notifications/rules/rule-state.store';
import { IdempotencyConflictError } from './receipts';
import { RedisBus } from './redis.bus';

const redis = redisRun();
const buses: RedisBus[] = [];

async function bus(prefix: string): Promise<RedisBus> {
  const made = new RedisBus(await redis.connect(prefix), {
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
  beforeAll(() => redis.start());
  afterAll(async () => {
    for (const made of buses) made.close();
    await redis.finish();
  });

  it('publish a key once: another instance answers a retry with the same ids, and refuses the key for another request', async () => {
    const prefix = redis.freshPrefix();
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
    const prefix = redis.freshPrefix();
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
    const prefix = redis.freshPrefix();
    const [leader, successor] = [new RedisRuleStates(await redis.connect(prefix)), new RedisRuleStates(await redis.connect(prefix))];
    await leader.save('critical_alert', { state: 'firing', since: 1000, lastFiredAt: 1000, firedAt: new Date(1000).toISOString() });
    await redis.admin().command.hset(`${prefix}rules`, 'broken', '{"state":"exploded"}');
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
