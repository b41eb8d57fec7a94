/**
 * Subscriptions from a point in time and GET /streams/{channel}/history on the Redis bus: two service instances share
 * one real Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379) under a key prefix of this run; events are published
 * on one and read from a time on the other. The same scenarios as history.e2e-spec.ts: exactly the events accepted
 * since the time, then live ones, none missing or repeated; `recovered: false` with `from_reached` when the stream
 * was trimmed past it (support/history-scenarios.ts); pages that yield every event once in both orders. Acceptance
 * times are the service's (the stream entries' `w`).
 */
import { getJson, startApp, type RunningApp } from './support/app';
import { allPages, iso, pointInTime, publishTo, subscribingFromATime } from './support/history-scenarios';
import { redisRun } from './support/redis';

const url = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const redis = redisRun();

describe('subscribing from a time and paging history, on the Redis bus', () => {
  /** `publisher` takes the events, `reader` serves the subscriptions and pages: history is Redis's, not a process's. */
  let publisher: RunningApp;
  let reader: RunningApp;

  beforeAll(async () => {
    await redis.start();
    const shared = { service: { history_size: 60 }, redis: { url, key_prefix: redis.freshPrefix() } };
    [publisher, reader] = await Promise.all([startApp(shared), startApp(shared)]);
  });
  afterAll(async () => {
    await Promise.all([publisher.close(), reader.close()]);
    await redis.finish();
  });

  const publish = (count: number, channel?: string): Promise<string[]> => publishTo(publisher, count, channel);

  subscribingFromATime(() => ({ publisher, reader }), 60);

  it('pages through a time range oldest first and newest first, every event exactly once', async () => {
    const early = await publish(6, 'business_events');
    const from = await pointInTime();
    const inside = await publish(7, 'business_events');
    const to = await pointInTime();
    await publish(2, 'business_events');

    for (const order of ['asc', 'desc'] as const) {
      const { ids, pages } = await allPages(reader, 'business_events', `from=${iso(from)}&to=${to}&limit=3&order=${order}`);
      expect(pages.map((page) => page.events.length)).toEqual([3, 3, 1]);
      expect(ids).toEqual(order === 'asc' ? inside : [...inside].reverse());
      expect(pages[0]).toMatchObject({ order, from: iso(from), to: iso(to), from_reached: true, oldest: { id: early[0] } });
    }

    // A cursor beyond the newest event, or of another lifetime of the stream, is refused.
    const { body: page } = await getJson(reader.http, '/streams/business_events/history?limit=1');
    const cursor = (after: string) =>
      Buffer.from(JSON.stringify({ after, order: 'asc', from: null, to: Date.now() })).toString('base64url');
    for (const after of [`${page.epoch}:999`, 'zzzz0000:1']) {
      const response = await getJson(reader.http, `/streams/business_events/history?cursor=${cursor(after)}`);
      expect(response).toMatchObject({ status: 400, body: { error: 'bad_request', message: expect.stringMatching(/^cursor\b/) } });
    }
  });
});
