/**
 * RedisOutbox against a real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379), each RedisConnection
 * standing for one service instance. Fails when Redis is unreachable, so it is run by `npm run test:redis`, not by
 * `npm test`. Every key lives under a prefix unique to the run, deleted at the end.
 */
import { createServer } from 'node:net';
import { notificationId as idOf, storedNotification as notification } from '../../../test/support/factories';
import { outboxContract } from '../../../test/support/outbox-contract';
import { redisRun } from '../../../test/support/redis';
import type { RedisConnection } from '../../redis/redis.connection';
import { RedisOutbox } from './redis.outbox';

const redis = redisRun();
const { connect, freshPrefix } = redis;

async function instance(prefix: string): Promise<{ connection: RedisConnection; outbox: RedisOutbox }> {
  const connection = await connect(prefix);
  return { connection, outbox: new RedisOutbox(connection, 7) };
}

async function instances(): Promise<readonly [RedisOutbox, RedisOutbox]> {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([instance(prefix), instance(prefix)]);
  return [a.outbox, b.outbox];
}

describe('RedisOutbox', () => {
  beforeAll(() => redis.start());
  afterAll(() => redis.finish());

  outboxContract(instances);

  it('stores a notification once when instances accept the same idempotency key at the same time', async () => {
    const [a, b] = await instances();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? a : b).insert({ ...notification('same'), id: idOf(`same${index}`) }, [{ channel: 'websocket' }], 1000),
      ),
    );
    const created = outcomes.filter((outcome) => outcome.created);
    expect(created).toHaveLength(1);
    expect(new Set(outcomes.map((outcome) => outcome.id))).toEqual(new Set([created[0]?.id]));
    expect(await b.counts()).toEqual([{ channel: 'websocket', state: 'pending', count: 1 }]);
    expect((await a.claimDue(100, 1000, 1000)).map((claim) => claim.notification.id)).toEqual([created[0]?.id]);
  });

  it('hands each due delivery to one instance when instances claim at the same time', async () => {
    const [a, b] = await instances();
    for (let index = 0; index < 30; index++)
      await a.insert(notification(`n${index}`), [{ channel: 'websocket' }, { channel: 'email' }], 1000);
    const claims: string[] = [];
    for (;;) {
      const batches = await Promise.all([a.claimDue(7, 60_000, 2000), b.claimDue(7, 60_000, 2000), a.claimDue(7, 60_000, 2000)]);
      const batch = batches.flat();
      if (batch.length === 0) break;
      claims.push(...batch.map((claim) => `${claim.notification.id}/${claim.channel}/${claim.attempts}`));
    }
    expect(claims).toHaveLength(60);
    expect(new Set(claims).size).toBe(60);
    expect(claims.every((claim) => claim.endsWith('/1'))).toBe(true);
  });

  it('gives the deliveries claimed by an instance that died to another once the lease runs out', async () => {
    const prefix = freshPrefix();
    const dying = await instance(prefix);
    const { outbox: survivor } = await instance(prefix);
    await dying.outbox.insert(notification('a', 'critical'), [{ channel: 'slack' }], 1000);
    expect(await dying.outbox.claimDue(10, 5000, 2000)).toHaveLength(1);
    await dying.connection.close();
    // A survivor starting meanwhile must not take it early: other instances' leases are live.
    expect(await survivor.releaseLeases()).toBe(0);
    expect(await survivor.claimDue(10, 5000, 6999)).toEqual([]);
    expect(await survivor.nextDueAt()).toBe(7000);
    const taken = await survivor.claimDue(10, 5000, 7000);
    expect(taken.map((claim) => [claim.notification.id, claim.channel, claim.attempts])).toEqual([[idOf('a'), 'slack', 2]]);
    await survivor.markDelivered(idOf('a'), 'slack', 7100);
    expect(await survivor.counts()).toEqual([{ channel: 'slack', state: 'delivered', count: 1 }]);
    expect(await survivor.nextDueAt()).toBeUndefined();
  });

  it('purges in batches, past the pending notifications it keeps', async () => {
    const [a, b] = await instances();
    const total = 1200;
    await Promise.all(
      Array.from({ length: total }, (_, index) => a.insert(notification(`p${index}`), [{ channel: 'websocket' }], 1000 + index)),
    );
    const finished = Array.from({ length: total }, (_, index) => index).filter((index) => index % 3 !== 0);
    await Promise.all(finished.map((index) => b.markDelivered(idOf(`p${index}`), 'websocket', 5000)));
    expect(await b.purgeFinished(10_000)).toBe(800);
    expect(await a.counts()).toEqual([{ channel: 'websocket', state: 'pending', count: 400 }]);
    expect(await a.find(idOf('p0'))).toBeDefined();
    expect(await a.find(idOf('p1'))).toBeUndefined();
  });

  it('remembers an idempotency key for `retention` days', async () => {
    const prefix = freshPrefix();
    const { connection, outbox } = await instance(prefix);
    await outbox.insert(notification('k'), [{ channel: 'websocket' }], 1000);
    const ttl = await connection.command.ttl(connection.key('outbox', 'key', 'k'));
    expect(ttl).toBeGreaterThan(7 * 86_400 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 86_400);
  });

  it('rejects at once, instead of waiting, while Redis is unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const outbox = new RedisOutbox(await connect(freshPrefix(), `redis://127.0.0.1:${port}`), 7);
    const started = Date.now();
    await expect(outbox.insert(notification('down'), [{ channel: 'websocket' }])).rejects.toThrow();
    await expect(outbox.claimDue(10, 1000)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(500);
  });
});
