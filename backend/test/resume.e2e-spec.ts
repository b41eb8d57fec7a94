/** Resume by offset (WebSocket `since`) and by Last-Event-ID (SSE): exactly the missed messages, or an explicit gap. */
import { getJson, post, sleep, startApp, type RunningApp } from './support/app';
import { events } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

const offsetOf = (id: string): number => Number(id.split(':')[1]);

describe('resume', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ service: { history_size: 50 } });
  });
  afterAll(() => service.close());

  async function publish(count: number, channel = 'metrics_updates'): Promise<string[]> {
    const response = await post(service.http, '/events', events(count, { channel }));
    expect(response.status).toBe(202);
    return (response.body as { ids: string[] }).ids;
  }

  it('WebSocket ?since= replays exactly the messages after the position, then goes live', async () => {
    const first = await WsClient.subscribe(`${service.ws}/ws/metrics_updates`);
    const seen = await publish(5);
    await first.waitForEvents(5);
    first.close();
    const missed = await publish(7);

    const resumed = await WsClient.subscribe(`${service.ws}/ws/metrics_updates?since=${seen[4]}`);
    const welcome = await resumed.welcome();
    expect(welcome).toMatchObject({ resumed: true, recovered: true, replayed: 7 });
    const live = await publish(2);
    const received = await resumed.waitForEvents(9);
    await sleep(100);
    expect(resumed.events.map((item) => item.id)).toEqual([...missed, ...live]);
    expect(received).toHaveLength(9);
    resumed.close();
  });

  it('SSE Last-Event-ID replays exactly the missed messages', async () => {
    const ids = await publish(4, 'business_events');
    const missed = await publish(6, 'business_events');
    const sse = await SseReader.open(`${service.http}/sse/business_analytics`, { 'last-event-id': ids[3] as string });
    const welcome = await sse.waitFor((item) => item.event === 'welcome');
    expect(welcome.json).toMatchObject({ resumed: true, recovered: true, replayed: 6 });
    const received = await sse.waitForMessages(6);
    await sleep(100);
    expect(sse.messages.map((item) => item.id)).toEqual(missed);
    expect(received.map((item) => item.id)).toEqual(sse.events.filter((item) => item.event === 'message').map((item) => item.id));
    sse.close();
  });

  it('says recovered: false when the gap is older than history, and replays what is held', async () => {
    const old = await publish(1, 'performance_data');
    await publish(60, 'performance_data');
    const ws = await WsClient.subscribe(`${service.ws}/ws/performance_data?since=${old[0]}`);
    const welcome = await ws.welcome();
    expect(welcome).toMatchObject({ resumed: true, recovered: false, reason: 'history_exceeded', replayed: 50 });
    const replayed = await ws.waitForEvents(50);
    const status = await getJson(service.http, '/streams/status');
    const last = offsetOf(status.body.channels.performance_data.last_offset);
    expect(offsetOf(replayed[0]?.id)).toBe(last - 49);
    expect(offsetOf(replayed[49]?.id)).toBe(last);
    ws.close();
  });

  it('says recovered: false with epoch_changed for a position from an earlier lifetime', async () => {
    const ids = await publish(3, 'system_alerts');
    const sse = await SseReader.open(`${service.http}/sse/system_status`, { 'last-event-id': 'zzzz0000:12' });
    const welcome = await sse.waitFor((item) => item.event === 'welcome');
    expect(welcome.json).toMatchObject({ recovered: false, reason: 'epoch_changed' });
    const replayed = await sse.waitForMessages(3);
    expect(replayed.map((item) => item.id).slice(-3)).toEqual(ids);
    sse.close();
  });

  it('refuses a malformed or future position with 400 naming the problem', async () => {
    await expect(WsClient.connect(`${service.ws}/ws/metrics_updates?since=banana`)).rejects.toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: expect.stringContaining('since') },
    });
    const status = await getJson(service.http, '/streams/status');
    const [epoch, offset] = String(status.body.channels.metrics_updates.last_offset).split(':');
    await expect(WsClient.connect(`${service.ws}/ws/metrics_updates?since=${epoch}:${Number(offset) + 100}`)).rejects.toMatchObject({
      status: 400,
      body: { error: 'position_ahead' },
    });
    const sse = await SseReader.open(`${service.http}/sse/real_time_metrics`, { 'last-event-id': '../../etc/passwd' });
    expect(sse.status).toBe(400);
    sse.close();
  });
});
