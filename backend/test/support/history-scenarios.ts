/**
 * What every bus must do for a subscriber from a time: history.e2e-spec.ts runs these on the durable and the
 * in-memory bus, history.redis-spec.ts on Redis (published on one instance, read from another). Exactly the events
 * accepted since the time, then live ones, none missing or repeated, the join racing a publisher; `recovered: false`
 * with `from_reached` when history no longer reaches back. Acceptance times are the service's: the scenarios choose
 * a `from` between two batches published with a pause on each side of it, never wait 30 s.
 */
import type { HistoryPage } from '@data-streaming/protocol';
import { eventually, getJson, post, sleep, type RunningApp } from './app';
import { events } from './factories';
import { SseReader } from './sse-reader';
import { WsClient } from './ws-client';

export const iso = (ms: number): string => new Date(ms).toISOString();
export const idsOf = (items: readonly Record<string, unknown>[]): unknown[] => items.map((item) => item.id);

/** A time strictly after everything published before the call and before everything published after it. */
export async function pointInTime(): Promise<number> {
  await sleep(60);
  const at = Date.now();
  await sleep(60);
  return at;
}

/** Publishes `count` events on `channel` and returns their ids. */
export async function publishTo(service: RunningApp, count: number, channel = 'metrics_updates'): Promise<string[]> {
  const response = await post(service.http, '/events', events(count, { channel }));
  expect(response.status).toBe(202);
  return (response.body as { ids: string[] }).ids;
}

/** Follows next_cursor from the first page to the last; every page is checked against the protocol on the way. */
export async function allPages(service: RunningApp, channel: string, query: string): Promise<{ ids: unknown[]; pages: HistoryPage[] }> {
  const pages: HistoryPage[] = [];
  let cursor: string | null = null;
  do {
    const response = await getJson(
      service.http,
      `/streams/${channel}/history?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    expect(response.status).toBe(200);
    const page = response.body as HistoryPage;
    pages.push(page);
    cursor = page.next_cursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor !== null);
  return { ids: pages.flatMap((page) => idsOf(page.events)), pages };
}

/** `instances()`: where events are published and where they are read (the same service, or two on one Redis). */
export function subscribingFromATime(instances: () => { publisher: RunningApp; reader: RunningApp }, historySize: number): void {
  const publish = (count: number, channel?: string): Promise<string[]> => publishTo(instances().publisher, count, channel);

  it('WebSocket ?from= 30 s back gets exactly the events accepted since then, then live ones', async () => {
    const { reader } = instances();
    const thirtySecondsAgo = Date.now() - 30_000;
    const early = await publish(4);
    const between = await pointInTime();
    const later = await publish(3);

    const all = await WsClient.subscribe(`${reader.ws}/ws/metrics_updates?from=${iso(thirtySecondsAgo)}`);
    expect(await all.welcome()).toMatchObject({ resumed: true, recovered: true, replayed: 7, from_reached: iso(thirtySecondsAgo) });
    // The same in milliseconds since 1970: only the batch accepted after it.
    const recent = await WsClient.subscribe(`${reader.ws}/ws/metrics_updates?from=${between}`);
    expect(await recent.welcome()).toMatchObject({ resumed: true, recovered: true, replayed: 3, from_reached: iso(between) });

    const live = await publish(2);
    await all.waitForEvents(9);
    await recent.waitForEvents(5);
    await sleep(100);
    expect(idsOf(all.events)).toEqual([...early, ...later, ...live]);
    expect(idsOf(recent.events)).toEqual([...later, ...live]);
    all.close();
    recent.close();
  });

  it('joins history to the events published while it subscribes: none missing, none repeated (WebSocket and SSE)', async () => {
    const { reader } = instances();
    await publish(3, 'system_alerts');
    const from = await pointInTime();
    let posts = 0;
    // 43 events in all: history holds every one, so what a subscriber gets is the join's doing alone.
    const publishing = (async () => {
      const ids: string[] = [];
      for (let round = 0; round < 20; round++) {
        ids.push(...(await publish(2, 'system_alerts')));
        posts++;
      }
      return ids;
    })();
    // Subscribe while the publisher is under way: part of what it publishes is history, the rest arrives live. One
    // subscriber starts from this very moment: events accepted just before it must not slip in as live ones.
    await eventually(() => (posts >= 3 ? true : undefined), 5000, 'the first publishes');
    const now = Date.now();
    const [ws, sse, fromNow] = await Promise.all([
      WsClient.subscribe(`${reader.ws}/ws/system_alerts?from=${from}`),
      SseReader.open(`${reader.http}/sse/system_status?from=${from}`),
      WsClient.subscribe(`${reader.ws}/ws/system_alerts?from=${now}`),
    ]);
    const published = await publishing;
    expect((await ws.welcome()).replayed).toBeGreaterThanOrEqual(6);
    const { body: sinceNow } = await getJson(reader.http, `/streams/system_alerts/history?from=${now}&limit=1`);
    const tail = published.slice(published.indexOf(sinceNow.events[0].id));
    await ws.waitForEvents(published.length);
    await sse.waitForMessages(published.length);
    await fromNow.waitForEvents(tail.length);
    await sleep(100);
    expect(idsOf(ws.events)).toEqual(published);
    expect(idsOf(sse.messages)).toEqual(published);
    expect(idsOf(fromNow.events)).toEqual(tail);
    for (const client of [ws, fromNow]) client.close();
    sse.close();
  });

  it('says recovered: false, history_exceeded, and from_reached the oldest held event when history does not reach back', async () => {
    const { reader } = instances();
    const from = await pointInTime();
    const ids = await publish(historySize + 10, 'performance_data');
    const ws = await WsClient.subscribe(`${reader.ws}/ws/performance_data?from=${from}`);
    const welcome = await ws.welcome();
    expect(welcome).toMatchObject({ resumed: true, recovered: false, reason: 'history_exceeded', replayed: historySize });
    const { body: page } = await getJson(reader.http, `/streams/performance_data/history?from=${from}&limit=1`);
    expect(page).toMatchObject({ from_reached: false, oldest: { id: ids[10] }, events: [{ id: ids[10] }] });
    expect(welcome.from_reached).toBe(page.oldest.accepted_at);
    await ws.waitForEvents(historySize);
    expect(idsOf(ws.events)).toEqual(ids.slice(10));
    ws.close();
  });
}
