/**
 * Panels as Grafana drives them, against the real backend: Grafana unsubscribes and calls query() again on every
 * refresh, time range change and edit, so a re-query must continue the rows it had; a panel opens with its range
 * from the service's history; template variables are replaced; the service's refusal is the panel's error; each
 * frame says how fresh its data is.
 */
import { DataQueryRequest, DataQueryResponse, LoadingState, dateTime, type TimeRange } from '@grafana/data';
import { DataSource } from './datasource';
import { Backend, eventually, sleep, startBackend } from './test-support/backend';
import { tracked } from './test-support/data-sources';
import { useVariables } from './test-support/template-srv';
import { DataStreamingQuery } from './types';

/** Data sources made by a test: their streams are closed after it (a stream outlives its last panel a while). */
const dataSources = tracked();
const dataSource = dataSources.make;

/** `from` to now, as a dashboard's `now-5m` to `now`; `to` given: a range of the past. */
function range(from: number, to?: number): TimeRange {
  return to === undefined
    ? { from: dateTime(from), to: dateTime(Date.now()), raw: { from: 'now-5m', to: 'now' } }
    : { from: dateTime(from), to: dateTime(to), raw: { from: dateTime(from), to: dateTime(to) } };
}

/** One panel's query, as Grafana runs it: every response kept; `rows()` the newest frame's values of `field`. */
function panel(ds: DataSource, targets: DataStreamingQuery[], timeRange: TimeRange, maxDataPoints = 1000) {
  const responses: DataQueryResponse[] = [];
  const subscription = ds
    .query({
      targets,
      range: timeRange,
      maxDataPoints,
      requestId: 'panel',
      app: 'dashboard',
      scopedVars: {},
    } as unknown as DataQueryRequest<DataStreamingQuery>)
    .subscribe((response) => responses.push(response));
  const rows = (field = 'sequence', response = responses.at(-1)) => {
    const values = response?.data[0]?.fields.find((candidate: { name: string }) => candidate.name === field)?.values;
    return values ? (Array.from(values) as number[]) : [];
  };
  return { responses, subscription, rows };
}

const tick = (sequence: number, channel: string, data: object = {}) => ({
  channel,
  type: 'bench.tick',
  data: { sequence, ...data },
});
const ticks = (from: number, to: number, channel: string) =>
  Array.from({ length: to - from }, (_, index) => tick(from + index, channel));
const range0 = (count: number, start = 0) => Array.from({ length: count }, (_, index) => start + index);

describe('panels as Grafana drives them', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend();
  });
  afterEach(() => {
    dataSources.closeAll();
    useVariables([]);
  });
  afterAll(() => backend.stop());

  it('opens with the time range from history, joined to live events with no gap and no duplicate', async () => {
    const ds = dataSource(backend.url);
    await backend.publish(ticks(0, 30, 'metrics_updates'));
    await sleep(50);
    const start = Date.now();
    await sleep(50);
    await backend.publish(ticks(30, 50, 'metrics_updates'));
    const view = panel(ds, [{ refId: 'A', channel: 'metrics_updates', eventType: 'bench.tick' }], range(start));
    await eventually(() => (view.rows().length === 20 ? true : undefined), 5000, 'the 20 events of the range');
    expect(view.rows()).toEqual(range0(20, 30));
    // The first frame holds the whole range: the panel does not draw history as it arrives.
    expect(view.rows('sequence', view.responses[0])).toEqual(range0(20, 30));
    await backend.publish(ticks(50, 60, 'metrics_updates'));
    await eventually(() => (view.rows().length === 30 ? true : undefined), 5000, 'the live events');
    expect(view.rows()).toEqual(range0(30, 30));
    view.subscription.unsubscribe();
  });

  it('keeps its rows across refreshes, a wider range and an edit that keeps the stream', async () => {
    const ds = dataSource(backend.url);
    const target: DataStreamingQuery = { refId: 'A', channel: 'business_events', eventType: 'bench.tick' };
    await backend.publish(ticks(0, 40, 'business_events'));
    await sleep(50);
    const start = Date.now();
    await sleep(50);
    await backend.publish(ticks(40, 100, 'business_events'));
    const first = panel(ds, [target], range(start));
    await eventually(() => (first.rows().length === 60 ? true : undefined), 5000, '60 rows');
    first.subscription.unsubscribe();

    // A refresh: the same query again, at once. Its first response has every row, and it goes on from there.
    const refreshed = panel(ds, [target], range(start + 100));
    expect(refreshed.rows(undefined, refreshed.responses[0])).toEqual(range0(60, 40));
    await backend.publish(ticks(100, 110, 'business_events'));
    await eventually(() => (refreshed.rows().length === 70 ? true : undefined), 5000, '70 rows');
    refreshed.subscription.unsubscribe();

    // The range grows back before the first 40 events: they are put in front, from history.
    const wider = panel(ds, [target], range(start - 10_000));
    expect(wider.rows(undefined, wider.responses[0])).toHaveLength(70);
    await eventually(() => (wider.rows().length === 110 ? true : undefined), 5000, 'the older 40 rows in front');
    expect(wider.rows()).toEqual(range0(110));
    wider.subscription.unsubscribe();

    // An edit that keeps the stream (its alias, its display) but not its rows' shape is a new stream, opened from
    // history: nothing blank for long, nothing lost.
    const edited = panel(ds, [{ ...target, alias: 'n' }], range(start - 10_000));
    await eventually(() => (edited.rows('n').length === 110 ? true : undefined), 5000, 'the edited panel from history');
    edited.subscription.unsubscribe();
    expect(ds.live.connections).toBeGreaterThan(0); // kept for keepStreamsSeconds
  });

  it('comes back to a dashboard after its streams were closed with its rows, from history', async () => {
    const ds = dataSource(backend.url, { keepStreamsSeconds: 5 });
    const target: DataStreamingQuery = { refId: 'A', channel: 'performance_data', eventType: 'bench.tick' };
    const start = Date.now();
    await sleep(20);
    await backend.publish(ticks(0, 25, 'performance_data'));
    const before = panel(ds, [target], range(start));
    await eventually(() => (before.rows().length === 25 ? true : undefined));
    before.subscription.unsubscribe();
    await eventually(() => (ds.streams.size === 0 ? true : undefined), 8000, 'the stream to close');
    const after = panel(ds, [target], range(start));
    await eventually(() => (after.rows().length === 25 ? true : undefined), 5000, 'the rows again');
    expect(after.rows()).toEqual(range0(25));
    after.subscription.unsubscribe();
  });

  it('answers a range of the past from history, once, with the newest rows up to max data points', async () => {
    const ds = dataSource(backend.url);
    const start = Date.now();
    await sleep(20);
    await backend.publish(ticks(0, 300, 'system_alerts'));
    await sleep(20);
    const end = Date.now();
    await sleep(20);
    await backend.publish(ticks(300, 310, 'system_alerts'));
    const view = panel(ds, [{ refId: 'A', channel: 'system_alerts', eventType: 'bench.tick' }], range(start, end), 100);
    await eventually(() => (view.responses.length > 0 ? true : undefined));
    const [response] = view.responses;
    expect(response.state).toBe(LoadingState.Done);
    expect(view.rows()).toEqual(range0(100, 200));
    expect(ds.live.connections).toBe(0);
  });

  it('replaces template variables: a channel, fields, a multi-value filter, and in variable queries', async () => {
    const ds = dataSource(backend.url);
    useVariables([
      { name: 'channel', current: 'metrics_updates' },
      { name: 'field', current: 'tokens' },
      { name: 'model', current: ['m1', 'm3'], options: ['m1', 'm2', 'm3'] },
      { name: 'tenant', current: '$__all', allValue: '*' },
    ]);
    const start = Date.now();
    await sleep(20);
    await backend.publish(
      [1, 2, 3, 1, 2, 3].map((model, index) => ({
        channel: 'metrics_updates',
        type: 'llm.usage',
        data: { model: `m${model}`, tenant: `t${index}`, tokens: 100 + index },
      }))
    );
    const view = panel(
      ds,
      [
        {
          refId: 'A',
          channel: '$channel',
          eventType: 'llm.usage',
          fields: ['$field'],
          filters: [
            { field: 'model', value: '$model' },
            { field: 'tenant', value: '$tenant' },
          ],
        },
      ],
      range(start)
    );
    await eventually(() => (view.rows('tokens').length === 4 ? true : undefined), 5000, 'the 4 events of m1 and m3');
    expect(view.rows('tokens')).toEqual([100, 102, 103, 105]);
    expect(view.responses.at(-1)?.data[0].fields.map((field: { name: string }) => field.name)).toEqual([
      'time',
      'tokens',
    ]);
    expect((await ds.metricFindQuery('values($channel, model)')).map((item) => item.text)).toEqual(
      expect.arrayContaining(['m1', 'm2', 'm3'])
    );
    expect((await ds.metricFindQuery('fields($channel)')).map((item) => item.text)).toEqual(
      expect.arrayContaining(['model', 'tenant', 'tokens'])
    );
    view.subscription.unsubscribe();
  });

  it("shows the service's refusal as the panel's error: an unknown channel, an unset variable", async () => {
    const ds = dataSource(backend.url);
    for (const channel of ['no_such_channel', '$undefined_variable']) {
      const view = panel(ds, [{ refId: 'A', channel }], range(Date.now()));
      const failed = await eventually(
        () => view.responses.find((response) => response.state === LoadingState.Error),
        5000,
        `the error of ${channel}`
      );
      expect(failed.errors?.[0]?.message).toMatch(
        new RegExp(`^${channel.replace('$', '\\$')}: .*(unknown|not found)`, 'i')
      );
      view.subscription.unsubscribe();
    }
  });

  it('says how fresh its data is, and warns once the newest event is older than the panel allows', async () => {
    const ds = dataSource(backend.url);
    const start = Date.now();
    await backend.publish(ticks(0, 1, 'business_events'));
    const view = panel(
      ds,
      [{ refId: 'A', channel: 'business_events', eventType: 'bench.tick', staleAfterSeconds: 2 }],
      range(start - 1000)
    );
    const notices = (response = view.responses.at(-1)) => response?.data[0]?.meta?.notices ?? [];
    await eventually(() => (view.rows().length === 1 ? true : undefined));
    await backend.publish(ticks(1, 2, 'business_events'));
    const fresh = await eventually(
      () => notices().find((notice: { text: string }) => /event to panel \d+ ms/.test(notice.text)),
      5000,
      'the freshness notice with the latency'
    );
    expect(fresh).toMatchObject({ severity: 'info', text: expect.stringMatching(/^Newest data \d+ (ms|s) old/) });
    expect(view.responses.at(-1)?.data[0].meta.custom).toMatchObject({
      newestAt: expect.any(Number),
      latencyMs: expect.any(Number),
    });
    // Nothing more arrives: within the next freshness update the panel says it is stale, without a refresh.
    const stale = await eventually(
      () => notices().find((notice: { severity: string }) => notice.severity === 'warning'),
      9000,
      'the stale warning'
    );
    expect(stale.text).toMatch(/^Stale: nothing new from business_events for \d+ s/);
    view.subscription.unsubscribe();
  });
});

describe('a panel whose range reaches further back than history', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({ env: { DATA_STREAMING_HISTORY_SIZE: '50' } });
  });
  afterAll(() => backend.stop());

  it('shows what history holds and says where it begins', async () => {
    const ds = dataSource(backend.url);
    const start = Date.now();
    await sleep(20);
    await backend.publish(ticks(0, 120, 'metrics_updates'));
    const view = panel(ds, [{ refId: 'A', channel: 'metrics_updates' }], range(start));
    await eventually(() => (view.rows().length === 50 ? true : undefined), 5000, 'the 50 events history holds');
    expect(view.rows()).toEqual(range0(50, 70));
    const reach = await eventually(
      () =>
        (view.responses.at(-1)?.data[0].meta.notices ?? []).find((notice: { text: string }) =>
          notice.text.startsWith('History of')
        ),
      5000,
      'the notice of where history begins'
    );
    expect(reach).toEqual({
      severity: 'info',
      text: expect.stringMatching(
        /^History of metrics_updates reaches back to \S+ only, after the start of the time range/
      ),
    });
    view.subscription.unsubscribe();
    ds.streams.closeAll();
  });
});
