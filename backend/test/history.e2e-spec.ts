/**
 * Subscriptions from a point in time (`?from=` on WebSocket and SSE) and GET /streams/{channel}/history, on the
 * durable (SQLite) and the in-memory bus: exactly the events accepted since the time, joined to live ones with no gap
 * and no duplicate; `recovered: false` with `from_reached` when history no longer reaches back; pages that yield every
 * event once in both orders; a 400 naming the problem for every bad value. The scenarios every bus shares are in
 * support/history-scenarios.ts.
 */
import { eventually, getJson, post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { allPages, idsOf, iso, pointInTime, publishTo, subscribingFromATime } from './support/history-scenarios';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

describe.each([
  ['the durable bus', 'disk'],
  ['the in-memory bus', 'memory'],
] as const)('subscribing from a time, on %s', (_name, durability) => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ service: { history_size: 50 }, storage: { durability }, high_frequency_streams: { update_rate: 0.3 } });
  });
  afterAll(() => service.close());

  const publish = (count: number, channel?: string): Promise<string[]> => publishTo(service, count, channel);

  subscribingFromATime(() => ({ publisher: service, reader: service }), 50);

  it('SSE ?from= replays from the time; a reconnect with Last-Event-ID resumes from the id instead', async () => {
    await publish(2, 'business_events');
    const from = await pointInTime();
    const after = await publish(3, 'business_events');
    const url = `${service.http}/sse/business_analytics?from=${encodeURIComponent(iso(from).replace('Z', '+00:00'))}`;
    const sse = await SseReader.open(url);
    const welcome = await sse.waitFor((item) => item.event === 'welcome');
    expect(welcome.json).toMatchObject({ resumed: true, recovered: true, replayed: 3, from_reached: iso(from) });
    const live = await publish(1, 'business_events');
    await sse.waitForMessages(4);
    expect(idsOf(sse.messages)).toEqual([...after, ...live]);
    sse.close();

    // As a browser's EventSource reconnects: the same URL, and the last id it got.
    const resumed = await SseReader.open(url, { 'last-event-id': after[0] as string });
    const again = await resumed.waitFor((item) => item.event === 'welcome');
    expect(again.json).toMatchObject({ resumed: true, recovered: true, replayed: 3 });
    expect(again.json.from_reached).toBeUndefined();
    await resumed.waitForMessages(3);
    expect(idsOf(resumed.messages)).toEqual([...after.slice(1), ...live]);
    resumed.close();
  });

  it('gives a subscriber from a time the history of high-frequency and dashboard streams instead of a snapshot', async () => {
    const from = Date.now();
    await post(
      service.http,
      '/events',
      event({ channel: 'performance_data', type: 'node.resources', key: 'gpu-node-07', data: { gpu: 7 } }),
    );
    await sleep(400);
    const ticks = await SseReader.open(`${service.http}/streams/high_frequency/system_metrics?from=${from}`);
    const welcome = await ticks.waitFor((item) => item.event === 'welcome');
    expect(welcome.json).toMatchObject({ resumed: true, from_reached: iso(from) });
    expect(welcome.json.replayed).toBeGreaterThanOrEqual(1);
    const tick = await eventually(() => ticks.messages.find((item) => item.data.values['gpu-node-07'] !== undefined), 2000, 'the tick');
    expect(tick.data.values['gpu-node-07'].data).toEqual({ gpu: 7 });

    const dashboard = await SseReader.open(`${service.http}/dashboards/operational_overview/stream?from=${from}`);
    const viewer = await WsClient.subscribe(`${service.ws}/ws/dashboards/operational_overview?from=${from}`);
    const fresh = await WsClient.subscribe(`${service.ws}/ws/dashboards/operational_overview`);
    expect((await dashboard.waitFor((item) => item.event === 'welcome')).json).toMatchObject({ resumed: true, from_reached: iso(from) });
    expect(await viewer.welcome()).toMatchObject({ resumed: true, from_reached: iso(from) });
    await eventually(() => fresh.frames.find((frame) => frame.kind === 'snapshot'), 2000, 'the fresh viewer snapshot');
    await sleep(200);
    expect(ticks.events.some((item) => item.event === 'snapshot')).toBe(false);
    expect(dashboard.events.some((item) => item.event === 'snapshot')).toBe(false);
    expect(viewer.frames.some((frame) => frame.kind === 'snapshot')).toBe(false);
    for (const stream of [ticks, dashboard]) stream.close();
    for (const client of [viewer, fresh]) client.close();
  });
});

describe('GET /streams/{channel}/history', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ service: { history_size: 20 } });
  });
  afterAll(() => service.close());

  const publish = (count: number, channel?: string): Promise<string[]> => publishTo(service, count, channel);

  it('pages through a time range oldest first and newest first, every event exactly once', async () => {
    const early = await publish(6);
    const from = await pointInTime();
    const inside = await publish(7);
    const to = await pointInTime();
    await publish(2);

    const range = `from=${iso(from)}&to=${to}&limit=3`;
    const oldestFirst = await allPages(service, 'metrics_updates', range);
    expect(oldestFirst.ids).toEqual(inside);
    expect(oldestFirst.pages.map((page) => page.events.length)).toEqual([3, 3, 1]);
    expect(oldestFirst.pages[0]).toMatchObject({
      channel: 'metrics_updates',
      order: 'asc',
      from: iso(from),
      to: iso(to),
      from_reached: true,
      oldest: { id: early[0] },
    });
    const newestFirst = await allPages(service, 'metrics_updates', `${range}&order=desc`);
    expect(newestFirst.ids).toEqual([...inside].reverse());

    // A cursor carries its range: the next page needs nothing else, and `to` defaults to the time of the first page.
    const { body: first } = await getJson(service.http, '/streams/metrics_updates/history?limit=10');
    await sleep(5);
    await publish(1);
    const { body: second } = await getJson(service.http, `/streams/metrics_updates/history?cursor=${first.next_cursor}`);
    expect([...idsOf(first.events), ...idsOf(second.events)]).toHaveLength(15);
    expect(second).toMatchObject({ to: first.to, from: null, next_cursor: null });
  });

  it('says from_reached: false when history no longer reaches back to from, and starts at the oldest it holds', async () => {
    const from = await pointInTime();
    const ids = await publish(25, 'system_alerts');
    const { ids: paged, pages } = await allPages(service, 'system_alerts', `from=${from}&limit=7`);
    expect(paged).toEqual(ids.slice(5));
    expect(pages[0]).toMatchObject({ from_reached: false, oldest: { id: ids[5] } });
    const oldest = pages[0]?.oldest?.accepted_at ?? '';
    const { body: later } = await getJson(service.http, `/streams/system_alerts/history?from=${Date.parse(oldest) + 1}`);
    expect(later.from_reached).toBe(true);
  });

  it('refuses every bad value with 400 naming it, and an unknown channel with 404', async () => {
    const [id] = await publish(2, 'business_events');
    const now = Date.now();
    const { body: asc } = await getJson(service.http, '/streams/business_events/history?limit=1&from=0');
    const forged = Buffer.from(JSON.stringify({ after: 'zzzz0000:1', order: 'asc', from: null, to: now })).toString('base64url');
    const bad: [string, string, string][] = [
      ['from=banana', 'bad_request', 'from'],
      ['to=yesterday', 'bad_request', 'to'],
      [`from=${now + 60_000}`, 'time_ahead', 'from'],
      [`from=${now - 1000}&to=${now - 2000}`, 'bad_request', 'to'],
      ['limit=0', 'bad_request', 'limit'],
      ['limit=1001', 'bad_request', 'limit'],
      ['limit=ten', 'bad_request', 'limit'],
      ['limit=2.5', 'bad_request', 'limit'],
      ['order=sideways', 'bad_request', 'order'],
      ['from=1&from=2', 'bad_request', 'from'],
      ['cursor=not-a-cursor', 'bad_request', 'cursor'],
      [`cursor=${asc.next_cursor}&order=desc`, 'bad_request', 'cursor'],
      [`cursor=${forged}`, 'bad_request', 'cursor'],
    ];
    expect(asc.events[0].id).toBe(id);
    for (const [query, error, named] of bad) {
      const response = await getJson(service.http, `/streams/business_events/history?${query}`);
      expect({ query, status: response.status, error: response.body.error }).toEqual({ query, status: 400, error });
      expect(response.body.message).toMatch(new RegExp(`^${named}\\b`));
    }
    const unknown = await getJson(service.http, '/streams/nope/history');
    expect(unknown).toMatchObject({ status: 404, body: { error: 'unknown_channel' } });
  });

  it('refuses a bad from on WebSocket and SSE subscriptions with 400 naming it', async () => {
    const future = Date.now() + 60_000;
    const refusals: [string, string, string][] = [
      ['/ws/metrics_updates?from=banana', 'bad_request', 'from'],
      [`/ws/metrics_updates?from=${future}`, 'time_ahead', 'from'],
      [`/ws/metrics_updates?since=abc:1&from=${Date.now()}`, 'bad_request', 'since and from'],
      ['/ws/dashboards/operational_overview?from=13:00', 'bad_request', 'from'],
    ];
    for (const [path, error, named] of refusals) {
      await expect(WsClient.connect(`${service.ws}${path}`)).rejects.toMatchObject({
        status: 400,
        body: { error, message: expect.stringMatching(new RegExp(`^${named}\\b`)) },
      });
    }
    for (const path of [
      '/sse/real_time_metrics?from=banana',
      `/sse/system_status?from=${future}`,
      '/dashboards/system_health/stream?from=x',
    ]) {
      const sse = await SseReader.open(`${service.http}${path}`);
      expect(sse.status).toBe(400);
      sse.close();
    }
  });
});
