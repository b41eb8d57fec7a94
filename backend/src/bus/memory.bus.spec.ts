import { busOptions } from '../../test/support/factories';
import { EpochChangedError, PositionAheadError } from './bus.port';
import { MemoryBus } from './memory.bus';
import type { StreamMessage } from './stream-message';

const inputs = (count: number) => Array.from({ length: count }, (_, index) => ({ type: 't', data: { index } }));

describe('MemoryBus', () => {
  it('numbers messages from 1 per channel and hands them to listeners in order', async () => {
    const bus = new MemoryBus(busOptions(10));
    const seen: StreamMessage[] = [];
    bus.subscribe('a', (message) => seen.push(message));
    await bus.publish('a', inputs(3));
    await bus.publish('b', inputs(1));
    expect(seen.map((message) => message.offset)).toEqual([1, 2, 3]);
    expect(seen[0]?.id).toBe(`${bus.epoch}:1`);
    expect(bus.state('b')).toMatchObject({ lastOffset: 1, depth: 1 });
  });

  it('reads exactly what follows a position, and flags what history no longer holds', async () => {
    const bus = new MemoryBus(busOptions(5));
    await bus.publish('a', inputs(8));
    expect(bus.state('a')).toMatchObject({ firstOffset: 4, lastOffset: 8, depth: 5, capacity: 5 });
    const recent = await bus.read('a', { epoch: bus.epoch, offset: 5 });
    expect(recent).toEqual({ messages: expect.any(Array), recovered: true });
    expect(recent.messages.map((message) => message.offset)).toEqual([6, 7, 8]);
    const edge = await bus.read('a', { epoch: bus.epoch, offset: 3 });
    expect(edge.recovered).toBe(true);
    expect(edge.messages.map((message) => message.offset)).toEqual([4, 5, 6, 7, 8]);
    const gap = await bus.read('a', { epoch: bus.epoch, offset: 1 });
    expect(gap).toMatchObject({ recovered: false, reason: 'history_exceeded' });
    expect(gap.messages.map((message) => message.offset)).toEqual([4, 5, 6, 7, 8]);
    expect((await bus.read('a', { epoch: bus.epoch, offset: 8 })).messages).toEqual([]);
    await expect(bus.read('a', { epoch: bus.epoch, offset: 9 })).rejects.toBeInstanceOf(PositionAheadError);
    expect(await bus.read('a', { epoch: 'other', offset: 3 })).toMatchObject({ recovered: false, reason: 'epoch_changed' });
  });

  it('encodes each message once, with the same bytes for every reader', async () => {
    const bus = new MemoryBus(busOptions(5));
    const [message] = await bus.publish('a', [{ type: 't', key: 'k', timestamp: '2026-01-01T00:00:00Z', data: { x: 'é' } }]);
    expect(JSON.parse(message?.payload ?? '')).toEqual({
      kind: 'event',
      id: message?.id,
      channel: 'a',
      type: 't',
      timestamp: '2026-01-01T00:00:00Z',
      key: 'k',
      data: { x: 'é' },
    });
    // One buffer per transport, made once: the frame (and the chunk), the bare bytes views into them.
    expect(message?.websocketFrame).toBe(message?.websocketFrame);
    expect(message?.websocketBytes.buffer).toBe(message?.websocketFrame.buffer);
    expect(message?.websocketBytes.toString()).toBe(message?.payload);
    expect(message?.sseChunk).toBe(message?.sseChunk);
    expect(message?.sseEventBytes.buffer).toBe(message?.sseChunk.buffer);
    // Once its listeners ran, a message kept in history holds its text only; asked again, it parses it afresh.
    const [kept] = (await bus.read('a', { epoch: bus.epoch, offset: 0 })).messages;
    expect(kept?.event).toEqual(JSON.parse(kept?.payload ?? ''));
    expect(kept?.event).not.toBe(kept?.event);
    expect(message?.sseEventBytes.toString()).toBe(`id: ${message?.id}\ndata: ${message?.payload}\n\n`);
  });
});

describe('MemoryBus by acceptance time', () => {
  const t0 = 1_800_000_000_000;
  afterEach(() => jest.restoreAllMocks());

  /** Three batches of 3, accepted at t0, t0 + 100 and t0 + 200, in a history of 7: 1 and 2 have left it. */
  async function batches(): Promise<MemoryBus> {
    const bus = new MemoryBus(busOptions(7));
    const clock = jest.spyOn(Date, 'now');
    for (const at of [t0, t0 + 100, t0 + 200]) {
      clock.mockReturnValue(at);
      await bus.publish('a', inputs(3));
    }
    clock.mockReturnValue(t0 + 300);
    return bus;
  }
  const offsets = (messages: readonly StreamMessage[]) => messages.map((message) => message.offset);

  it('reads what was accepted since a time, and says how far back that is complete', async () => {
    const bus = await batches();
    const since = await bus.readFrom('a', t0 + 100);
    expect(since).toMatchObject({ recovered: true, reached: t0 + 100, through: { epoch: bus.epoch, offset: 9 } });
    expect(offsets(since.messages)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(offsets((await bus.readFrom('a', t0 + 1)).messages)).toEqual([4, 5, 6, 7, 8, 9]);
    // 1 and 2, accepted at t0, left the history: from t0 it is complete only from its oldest message (3, at t0) on.
    const gap = await bus.readFrom('a', t0);
    expect(gap).toMatchObject({ recovered: false, reason: 'history_exceeded', reached: t0 });
    expect(offsets(gap.messages)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(await bus.readFrom('a', t0 + 201)).toEqual({
      messages: [],
      recovered: true,
      reached: t0 + 201,
      through: { epoch: bus.epoch, offset: 9 },
    });
  });

  it('pages through a time range oldest and newest first, every message once', async () => {
    const bus = await batches();
    const all = async (order: 'asc' | 'desc', from?: number) => {
      const pages: number[][] = [];
      let after: StreamMessage | undefined;
      for (;;) {
        const page = await bus.history('a', {
          ...(from === undefined ? {} : { from }),
          to: t0 + 200,
          limit: 2,
          order,
          ...(after ? { after } : {}),
        });
        pages.push(offsets(page.messages));
        after = page.messages[page.messages.length - 1];
        if (!page.more) return { pages, page };
      }
    };
    expect((await all('asc', t0 + 100)).pages).toEqual([
      [4, 5],
      [6, 7],
      [8, 9],
    ]);
    expect((await all('desc', t0 + 100)).pages).toEqual([
      [9, 8],
      [7, 6],
      [5, 4],
    ]);
    const whole = await all('asc');
    expect(whole.pages).toEqual([[3, 4], [5, 6], [7, 8], [9]]);
    expect(whole.page).toMatchObject({ epoch: bus.epoch, complete: true, oldest: { id: `${bus.epoch}:3`, at: t0 } });
    const upTo = await bus.history('a', { from: t0, to: t0 + 150, limit: 10, order: 'desc' });
    expect(upTo).toMatchObject({ more: false, complete: false });
    expect(offsets(upTo.messages)).toEqual([6, 5, 4, 3]);
    expect(offsets((await bus.history('a', { from: t0 + 250, to: t0 + 300, limit: 10, order: 'asc' })).messages)).toEqual([]);
  });

  it('refuses a position from another epoch or beyond the newest message', async () => {
    const bus = await batches();
    const query = { to: t0 + 300, limit: 5, order: 'asc' as const };
    await expect(bus.history('a', { ...query, after: { epoch: 'other', offset: 4 } })).rejects.toBeInstanceOf(EpochChangedError);
    await expect(bus.history('a', { ...query, after: { epoch: bus.epoch, offset: 10 } })).rejects.toBeInstanceOf(PositionAheadError);
  });
});
