import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { busOptions, tempDir } from '../../test/support/factories';
import { DurableBus } from './durable.bus';
import { newEpoch } from './memory.bus';
import { SqliteHistory } from './sqlite-history';
import type { StreamMessage } from './stream-message';

const inputs = (count: number, from = 0) => Array.from({ length: count }, (_, index) => ({ type: 't', data: { index: from + index } }));

/** A durable bus on `path`; a second one on the same path is the service after a restart (or a kill -9: see close). */
function open(path: string, capacity = 100) {
  const store = new SqliteHistory(path, 'NORMAL', 2048, newEpoch);
  return new DurableBus(store, { ...busOptions(capacity), durability: 'disk', isLocal: (channel) => channel.startsWith('derived.') });
}

describe('DurableBus', () => {
  let path: string;
  const opened: DurableBus[] = [];
  const bus = (capacity?: number): DurableBus => {
    const made = open(path, capacity);
    opened.push(made);
    return made;
  };
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    path = join(tempDir(), 'history.sqlite');
  });
  afterEach(() => {
    for (const made of opened.splice(0)) made.close();
  });

  it('continues the same epoch and offsets after a restart, with every acknowledged message to resume from', async () => {
    const first = bus();
    const seen: StreamMessage[] = [];
    first.subscribe('a', (message) => seen.push(message));
    await first.publish('a', inputs(3));
    const { ids } = await first.publishRequest([
      { channel: 'a', events: inputs(2, 3) },
      { channel: 'b', events: inputs(1) },
    ]);
    expect(ids).toEqual([[`${first.epoch}:4`, `${first.epoch}:5`], [`${first.epoch}:1`]]);
    expect(seen.map((message) => message.offset)).toEqual([1, 2, 3, 4, 5]);
    const since = first.state('a').since;

    // No close: the process is gone as after kill -9; the next one opens the same file.
    const second = bus();
    expect(second.epoch).toBe(first.epoch);
    expect(second.state('a')).toMatchObject({ lastOffset: 5, firstOffset: 1, depth: 5, since });
    const resumed = await second.read('a', { epoch: first.epoch, offset: 2 });
    expect(resumed.recovered).toBe(true);
    expect(resumed.messages.map((message) => [message.id, (message.event.data as { index: number }).index])).toEqual([
      [`${first.epoch}:3`, 2],
      [`${first.epoch}:4`, 3],
      [`${first.epoch}:5`, 4],
    ]);
    const [next] = await second.publish('a', inputs(1));
    expect(next?.id).toBe(`${first.epoch}:6`);
  });

  it('writes one turn of publishes in one transaction, and hands them to listeners only once written', async () => {
    const durable = bus();
    const store = (durable as unknown as { store: SqliteHistory }).store;
    const writes = jest.spyOn(store, 'write');
    const seen: number[] = [];
    durable.subscribe('a', (message) => seen.push(message.offset));
    const publishes = Array.from({ length: 50 }, (_, index) => durable.publish('a', inputs(1, index)));
    expect(seen).toEqual([]);
    expect(durable.state('a').lastOffset).toBe(0);
    await Promise.all(publishes);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    await durable.publish('a', inputs(1));
    expect(writes).toHaveBeenCalledTimes(2);
  });

  it('answers a repeated idempotency key with the first ids, also after a restart', async () => {
    const first = bus();
    const key = { key: 'key:1\u001fretry-me', fingerprint: 'f1' };
    const original = await first.publishRequest([{ channel: 'a', events: inputs(2) }], key);
    expect(original.replayed).toBe(false);
    expect(await first.publishRequest([{ channel: 'a', events: inputs(2) }], key)).toEqual({ ids: original.ids, replayed: true });
    const second = bus();
    expect(await second.publishRequest([{ channel: 'a', events: inputs(2) }], key)).toEqual({ ids: original.ids, replayed: true });
    await expect(second.publishRequest([{ channel: 'a', events: inputs(3) }], { ...key, fingerprint: 'f2' })).rejects.toMatchObject({
      reason: 'mismatch',
    });
    expect(second.state('a').lastOffset).toBe(2);
  });

  it('keeps on disk what it keeps in memory: the newest `capacity` messages', async () => {
    const first = bus(5);
    for (let round = 0; round < 4; round++) await first.publish('a', inputs(5, round * 5));
    first.sweep();
    const rows = new Database(path, { readonly: true });
    expect(rows.prepare("SELECT COUNT(*) AS n FROM messages WHERE channel = 'a'").get()).toEqual({ n: 5 });
    rows.close();
    const second = bus(5);
    expect(second.state('a')).toMatchObject({ lastOffset: 20, firstOffset: 16, depth: 5 });
    const gap = await second.read('a', { epoch: second.epoch, offset: 10 });
    expect(gap).toMatchObject({ recovered: false, reason: 'history_exceeded' });
  });

  it('reads by acceptance time what it read back after a restart, and knows what did not come back', async () => {
    const t0 = 1_800_000_000_000;
    const clock = jest.spyOn(Date, 'now');
    try {
      const first = bus();
      for (const at of [t0, t0 + 100]) {
        clock.mockReturnValue(at);
        await first.publish('a', inputs(3));
      }
      // A history of 4 after the restart: offsets 3..6 come back, 1 and 2 (accepted at t0) do not.
      const second = bus(4);
      const since = await second.readFrom('a', t0 + 100);
      expect(since).toMatchObject({ recovered: true, reached: t0 + 100, through: { epoch: first.epoch, offset: 6 } });
      expect(since.messages.map((message) => message.offset)).toEqual([4, 5, 6]);
      expect(await second.readFrom('a', t0)).toMatchObject({ recovered: false, reason: 'history_exceeded', reached: t0 });
      const page = await second.history('a', { from: t0 + 1, to: t0 + 100, limit: 2, order: 'desc' });
      expect(page).toMatchObject({ more: true, complete: true, oldest: { id: `${first.epoch}:3`, at: t0 } });
      expect(page.messages.map((message) => message.offset)).toEqual([6, 5]);
    } finally {
      clock.mockRestore();
    }
  });

  it('keeps derived channels in memory only: after a restart they start a new epoch', async () => {
    const first = bus();
    await first.publish('derived.x', inputs(3));
    const second = bus();
    expect(second.state('derived.x')).toMatchObject({ lastOffset: 0 });
    expect(second.state('derived.x').epoch).not.toBe(first.state('derived.x').epoch);
  });

  it('writes what is waiting for its commit when closed', async () => {
    const first = open(path);
    const pending = first.publish('a', inputs(4));
    first.close();
    await expect(pending).resolves.toHaveLength(4);
    expect(bus().state('a').lastOffset).toBe(4);
  });
});
