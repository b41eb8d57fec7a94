/** High-frequency streams: a snapshot first, then the latest value per key once per tick, and resume by tick. */
import { post, sleep, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { SseReader } from './support/sse-reader';

describe('GET /streams/high_frequency/{name}', () => {
  let service: RunningApp;

  beforeAll(async () => {
    service = await startApp({ high_frequency_streams: { update_rate: 0.3 } });
  });
  afterAll(() => service.close());

  it('starts with a snapshot and then sends only the latest value of each key per tick', async () => {
    await post(
      service.http,
      '/events',
      event({ channel: 'performance_data', type: 'node.resources', key: 'gpu-node-01', data: { gpu: 10 } }),
    );
    await sleep(400);
    const sse = await SseReader.open(`${service.http}/streams/high_frequency/system_metrics`);
    const snapshot = await sse.waitFor((item) => item.event === 'snapshot');
    expect(snapshot.json.data.values['gpu-node-01'].data).toEqual({ gpu: 10 });
    expect(snapshot.id).toMatch(/^[0-9a-z]+:\d+$/);

    // 30 updates of two keys inside one tick: one update frame with the last value of each.
    const burst = Array.from({ length: 30 }, (_, index) =>
      event({ channel: 'performance_data', type: 'node.resources', key: index % 2 ? 'gpu-node-02' : 'gpu-node-01', data: { gpu: index } }),
    );
    await post(service.http, '/events', burst);
    const [update] = await sse.waitForMessages(1, 2000);
    expect(update.type).toBe('high_frequency.update');
    expect(update.data.values['gpu-node-01'].data).toEqual({ gpu: 28 });
    expect(update.data.values['gpu-node-02'].data).toEqual({ gpu: 29 });
    await sleep(700);
    expect(sse.messages).toHaveLength(1);
    sse.close();
  });

  it('replays the ticks missed since Last-Event-ID instead of a snapshot', async () => {
    const first = await SseReader.open(`${service.http}/streams/high_frequency/performance_data`);
    await post(service.http, '/events', event({ channel: 'performance_data', key: 'n1', data: { v: 1 } }));
    const [seen] = await first.waitForMessages(1, 2000);
    first.close();
    await post(service.http, '/events', event({ channel: 'performance_data', key: 'n1', data: { v: 2 } }));
    await sleep(400);
    await post(service.http, '/events', event({ channel: 'performance_data', key: 'n1', data: { v: 3 } }));
    await sleep(400);

    const resumed = await SseReader.open(`${service.http}/streams/high_frequency/performance_data`, { 'last-event-id': seen.id });
    const replayed = await resumed.waitForMessages(2, 2000);
    expect(resumed.events.some((item) => item.event === 'snapshot')).toBe(false);
    expect(replayed.map((item) => item.data.values.n1.data)).toEqual([{ v: 2 }, { v: 3 }]);
    resumed.close();
  });
});
