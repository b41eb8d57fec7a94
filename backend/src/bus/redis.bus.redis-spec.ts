/**
 * What instances sharing a real Redis (test/support/redis.ts) share: history by time, the receipts of idempotent
 * publishes and the rule engine's state. Each RedisConnection stands for one instance.
 */
import { Redis } from 'ioredis';
import { busOptions } from '../../test/support/factories';
import { redisRun } from '../../test/support/redis';
import { RedisRuleStates } from '../notifications/rules/rule-state.store';
import { EpochChangedError, PositionAheadError } from './bus.port';
import { IdempotencyConflictError } from './receipts';
import { RedisBus } from './redis.bus';
import type { StreamMessage } from './stream-message';

const redis = redisRun();
const buses: RedisBus[] = [];

async function bus(prefix: string, capacity = 100): Promise<RedisBus> {
  const made = new RedisBus(await redis.connect(prefix), {
    ...busOptions(capacity),
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
const offsets = (messages: readonly StreamMessage[]) => messages.map((message) => message.offset);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` batches of `size`, each accepted at least 5 ms after the one before (so each starts at a time of its own). */
async function batches(publisher: RedisBus, count: number, size: number): Promise<StreamMessage[][]> {
  const published: StreamMessage[][] = [];
  for (let batch = 0; batch < count; batch++) {
    if (batch > 0) await pause(5);
    published.push(await publisher.publish('a', inputs(size)));
  }
  return published;
}

describe('instances sharing Redis', () => {
  beforeAll(() => redis.start());
  afterAll(async () => {
    for (const made of buses) made.close();
    await redis.finish();
  });

  it('read by acceptance time what any instance published: a binary search in Redis finds where each batch starts', async () => {
    const prefix = redis.freshPrefix();
    const [one, two] = [await bus(prefix, 1000), await bus(prefix, 1000)];
    const published = await batches(one, 8, 25);
    const epoch = published[0]?.[0]?.epoch;
    for (const [index, batch] of published.entries()) {
      const from = batch[0]?.at as number;
      const read = await two.readFrom('a', from);
      expect(read).toMatchObject({ recovered: true, reached: from, through: { epoch, offset: 200 } });
      expect(offsets(read.messages)).toEqual(
        published
          .slice(index)
          .flat()
          .map((message) => message.offset),
      );
      expect(read.messages.map((message) => message.at)).toEqual(
        published
          .slice(index)
          .flat()
          .map((message) => message.at),
      );
    }
    expect(await two.readFrom('a', Date.now())).toMatchObject({ messages: [], recovered: true, through: { epoch, offset: 200 } });
  });

  it('say how far back history reaches when Redis trimmed the stream', async () => {
    const prefix = redis.freshPrefix();
    const small = await bus(prefix, 4);
    const [first, second] = await batches(small, 2, 3);
    const from = first?.[0]?.at as number;
    // The stream keeps 3..6: 1 and 2 are gone, so history reaches back to 3's acceptance only.
    const read = await small.readFrom('a', from);
    expect(read).toMatchObject({ recovered: false, reason: 'history_exceeded', reached: first?.[2]?.at });
    expect(offsets(read.messages)).toEqual([3, 4, 5, 6]);
    expect(await small.readFrom('a', second?.[0]?.at as number)).toMatchObject({ recovered: true, reached: second?.[0]?.at });
    const page = await small.history('a', { from, to: Date.now(), limit: 10, order: 'asc' });
    expect(page).toMatchObject({ complete: false, more: false, oldest: { id: first?.[2]?.id, at: first?.[2]?.at } });
  });

  it('page through history by time in both orders, every message once, one round trip a page', async () => {
    const prefix = redis.freshPrefix();
    const [one, two] = [await bus(prefix, 1000), await bus(prefix, 1000)];
    const published = await batches(one, 4, 5);
    const from = published[1]?.[0]?.at as number;
    const to = published[2]?.[4]?.at as number;
    const expected = published
      .slice(1, 3)
      .flat()
      .map((message) => message.offset);
    for (const order of ['asc', 'desc'] as const) {
      const seen: number[] = [];
      let after: StreamMessage | undefined;
      let pages = 0;
      for (;;) {
        const commands = jest.spyOn(Redis.prototype, 'sendCommand');
        const page = await two.history('a', { from, to, limit: 3, order, ...(after ? { after } : {}) });
        expect(commands.mock.calls.map(([command]) => command.name)).toEqual(['eval']);
        commands.mockRestore();
        expect(page.complete).toBe(true);
        seen.push(...offsets(page.messages));
        after = page.messages[page.messages.length - 1];
        pages++;
        if (!page.more) break;
      }
      expect(seen).toEqual(order === 'asc' ? expected : [...expected].reverse());
      expect(pages).toBe(4);
    }
    const everything = await two.history('a', { to: Date.now(), limit: 1000, order: 'asc' });
    expect(offsets(everything.messages)).toEqual(published.flat().map((message) => message.offset));
    const query = { to: Date.now(), limit: 5, order: 'asc' as const };
    await expect(two.history('a', { ...query, after: { epoch: 'other', offset: 3 } })).rejects.toBeInstanceOf(EpochChangedError);
    await expect(two.history('a', { ...query, after: { epoch: everything.epoch, offset: 21 } })).rejects.toBeInstanceOf(PositionAheadError);
    expect(await two.history('b', query)).toMatchObject({ messages: [], more: false, complete: true });
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
