import { busOptions } from '../../../test/support/factories';
import { MemoryBus } from '../../bus/memory.bus';
import type { StreamMessage } from '../../bus/stream-message';
import { Burst } from './burst';
import { conflater } from './conflation';
import type { ControlMessage, Sink } from './sink';
import { Subscriber, type DeliveryPolicy, type SubscriberHost } from './subscriber';

/** A connection whose buffer the test fills and drains, like a socket the kernel has not emptied yet. */
class ManualSink implements Sink {
  readonly transport = 'websocket' as const;
  readonly connection = 'ws-test';
  readonly busyAbove = 1000;
  readonly writes: StreamMessage[][] = [];
  readonly controls: ControlMessage[] = [];
  private readonly drainListeners = new Set<() => void>();
  buffered = 0;
  /** Bytes each write adds to the buffer, as a socket whose peer reads slowly. */
  growth = 0;
  closedSlow = false;

  bufferedBytes(): number {
    return this.buffered;
  }
  /** Bytes the peer has read, moved by the test. */
  sent = 0;
  sentBytes(): number {
    return this.sent;
  }
  onceDrained(listener: () => void): void {
    this.drainListeners.add(listener);
  }
  offDrained(listener: () => void): void {
    this.drainListeners.delete(listener);
  }
  writeOne(message: StreamMessage): number {
    return this.writeBatch([message]);
  }
  writeBurst(burst: Burst): number {
    return this.writeBatch(burst.messages);
  }
  writeBatch(messages: readonly StreamMessage[]): number {
    this.writes.push([...messages]);
    this.buffered += this.growth;
    return messages.reduce((sum, message) => sum + message.byteLength, 0);
  }
  writeControl(message: ControlMessage): void {
    this.controls.push(message);
  }
  closeSlow(): void {
    this.closedSlow = true;
  }
  drain(): void {
    this.buffered = 0;
    const listeners = [...this.drainListeners];
    this.drainListeners.clear();
    listeners.forEach((listener) => listener());
  }
}

const metrics = { latency: { observe: () => undefined }, counts: { delivered: 0, bytes: 0, slowConsumers: 0 } };

async function messages(count: number, size = 10): Promise<StreamMessage[]> {
  const bus = new MemoryBus(busOptions(1000));
  return bus.publish(
    'c',
    Array.from({ length: count }, (_, index) => ({ type: 't', data: { index, pad: 'p'.repeat(size) } })),
  );
}

/** A subscriber on a manual sink; `live: false` leaves it before goLive, holding live messages. */
function subscriber(
  sink: ManualSink,
  policy: Partial<DeliveryPolicy> = {},
  onSlow = jest.fn(),
  live = true,
  host: Partial<SubscriberHost> = {},
): Subscriber {
  const result = new Subscriber(
    'c',
    sink,
    {
      maxQueueBytes: 1_000_000,
      maxQueueMessages: 10_000,
      batchSize: 3,
      batchBytes: 1_000_000,
      flushInterval: 10_000,
      immediate: false,
      ...policy,
    },
    metrics,
    { closedSlow: onSlow, ...(host.conflate ? { conflate: host.conflate } : {}) },
  );
  if (live) result.goLive([]);
  return result;
}

describe('Subscriber', () => {
  it('writes at once while the connection keeps up, queues while it is busy, then flushes batches of batch_size on drain', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink);
    const list = await messages(8);
    expect(sub.deliver(list[0] as StreamMessage)).toBe(true);
    sink.buffered = 2000;
    for (const message of list.slice(1)) expect(sub.deliver(message)).toBe(false);
    expect(sink.writes.map((write) => write.length)).toEqual([1]);
    sink.drain();
    expect(sink.writes.map((write) => write.map((message) => message.offset))).toEqual([[1], [2, 3, 4], [5, 6, 7], [8]]);
    expect(sub.deliver((await messages(9))[8] as StreamMessage)).toBe(true);
  });

  it('limits a batch by bytes as well as by count', async () => {
    const sink = new ManualSink();
    const list = await messages(5, 100);
    const size = (list[0] as StreamMessage).byteLength;
    const sub = subscriber(sink, { batchSize: 10, batchBytes: size * 2 });
    sink.buffered = 2000;
    list.forEach((message) => sub.deliver(message));
    sink.drain();
    expect(sink.writes.map((write) => write.length)).toEqual([2, 2, 1]);
  });

  it('flushes after flush_interval even if the connection never drains, and stops listening for the drain', async () => {
    jest.useFakeTimers();
    try {
      const sink = new ManualSink();
      const sub = subscriber(sink, { flushInterval: 50 });
      sink.buffered = 2000;
      (await messages(3)).forEach((message) => sub.deliver(message));
      expect(sink.writes).toHaveLength(0);
      jest.advanceTimersByTime(50);
      expect(sink.writes.map((write) => write.length)).toEqual([3]);
      sink.drain();
      expect(sink.writes).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops closing slow consumers itself: past the cap it is held, and slow() closes it and stops delivering', async () => {
    const sink = new ManualSink();
    const onSlow = jest.fn();
    const list = await messages(10, 100);
    const size = (list[0] as StreamMessage).byteLength;
    const sub = subscriber(sink, { maxQueueBytes: 2000 + size * 3 }, onSlow);
    sink.buffered = 2000;
    list.forEach((message) => sub.deliver(message));
    expect(sub.overCap).toBe(true);
    expect(sub.closed).toBe(false);
    sub.slow();
    expect(sink.closedSlow).toBe(true);
    expect(onSlow).toHaveBeenCalledTimes(1);
    expect(sub.closed).toBe(true);
    sink.drain();
    expect(sink.writes).toHaveLength(0);
  });

  it('writes every message at once for a high-priority stream, busy or not', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink, { immediate: true });
    sink.buffered = 2000;
    (await messages(4)).forEach((message) => expect(sub.deliver(message)).toBe(true));
    expect(sink.writes.map((write) => write.length)).toEqual([1, 1, 1, 1]);
  });

  it('writes a burst in one write while the connection keeps up, and queues its messages while busy', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink);
    const list = await messages(7);
    expect(sub.deliverBurst(new Burst(list.slice(0, 3)))).toBe(true);
    expect(sink.writes.map((write) => write.map((message) => message.offset))).toEqual([[1, 2, 3]]);
    sink.buffered = 2000;
    expect(sub.deliverBurst(new Burst(list.slice(3, 7)))).toBe(false);
    sink.drain();
    expect(sink.writes.map((write) => write.map((message) => message.offset))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('never writes a burst message twice: offsets at or before the last one written are dropped', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink);
    const list = await messages(5);
    sub.deliverBurst(new Burst(list.slice(0, 3)));
    sub.deliverBurst(new Burst(list.slice(1, 5)));
    expect(sink.writes.flat().map((message) => message.offset)).toEqual([1, 2, 3, 4, 5]);
  });

  it('goes live after the position the welcome announced when it did not replay', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink, { batchSize: 100 }, jest.fn(), false);
    const list = await messages(4);
    const announced = list[1] as StreamMessage;
    sub.goLive([], { epoch: announced.epoch, offset: announced.offset });
    sub.deliverBurst(new Burst(list));
    expect(sink.writes.flat().map((message) => message.offset)).toEqual([3, 4]);
  });

  it('queues a replay that piles up past the cap instead of buffering all history, and sends the rest as it drains', async () => {
    const sink = new ManualSink();
    const onSlow = jest.fn();
    const sub = subscriber(sink, { maxQueueBytes: 1500, batchSize: 2, flushInterval: 60_000 }, onSlow, false);
    sink.buffered = 1400; // the client is not reading yet
    sink.growth = 600;
    const replay = await messages(10);
    sub.goLive(replay);
    expect(sink.writes).toHaveLength(1);
    expect(sub.overCap).toBe(true);
    expect(onSlow).not.toHaveBeenCalled();
    sink.growth = 0;
    sink.drain();
    expect(sink.writes.flat().map((message) => message.offset)).toEqual(replay.map((message) => message.offset));
    sub.close();
  });

  it('sends a replay in batches of up to batch_bytes, not batch_size messages, and live traffic in batch_size', async () => {
    const sink = new ManualSink();
    const list = (await messages(50)).slice(10); // two-digit indexes: messages of one size
    const size = (list[0] as StreamMessage).byteLength;
    const sub = subscriber(sink, { batchSize: 3, batchBytes: size * 8 }, jest.fn(), false);
    sub.goLive(list.slice(0, 20));
    expect(sink.writes.map((batch) => batch.length)).toEqual([8, 8, 4]);
    sink.writes.length = 0;
    sink.buffered = sink.busyAbove; // busy: live messages queue and leave in batches of batch_size
    list.slice(20).forEach((message) => sub.deliver(message));
    sink.drain();
    expect(sink.writes.map((batch) => batch.length)).toEqual([3, 3, 3, 3, 3, 3, 2]);
    expect(sink.writes.flat().map((message) => message.offset)).toEqual(list.slice(20).map((message) => message.offset));
    sub.close();
  });

  it('holds live messages during a replay and drops those the replay already delivered', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink, { batchSize: 100 }, jest.fn(), false);
    const list = await messages(6);
    sub.deliver(list[3] as StreamMessage);
    sub.deliver(list[4] as StreamMessage);
    sub.deliver(list[5] as StreamMessage);
    sub.goLive(list.slice(0, 4));
    expect(sink.writes.flat().map((message) => message.offset)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('holds a subscriber past its cap, pushes nothing more into its connection until it drains, and loses nothing', async () => {
    jest.useFakeTimers();
    const sink = new ManualSink();
    const onSlow = jest.fn();
    const list = await messages(50, 100);
    const sub = subscriber(sink, { maxQueueBytes: 3000, batchSize: 10, flushInterval: 50 }, onSlow, true);
    sink.buffered = 4000; // past the cap on its own: a flush by the timer must not add to it
    try {
      list.forEach((message) => sub.deliver(message));
      jest.advanceTimersByTime(500);
    } finally {
      jest.useRealTimers();
    }
    expect(sink.writes).toHaveLength(0);
    expect(sub.overCap).toBe(true);
    expect(sub.closed).toBe(false);
    expect(onSlow).not.toHaveBeenCalled();
    sink.drain();
    expect(sink.writes.flat().map((message) => message.offset)).toEqual(list.map((message) => message.offset));
  });

  it('closes a held subscriber whose backlog passes the history it could resume from', async () => {
    const sink = new ManualSink();
    const onSlow = jest.fn();
    const sub = subscriber(sink, { maxQueueBytes: 500, maxQueueMessages: 20 }, onSlow, true);
    sink.buffered = 2000;
    (await messages(30, 100)).forEach((message) => sub.deliver(message));
    expect(onSlow).toHaveBeenCalledTimes(1);
    expect(sink.closedSlow).toBe(true);
  });

  it('writes a backlog only until the connection is busy again, the rest on the following drains', async () => {
    const sink = new ManualSink();
    sink.growth = 600; // every batch written fills the socket buffer by 600 bytes; busy above 1000
    const sub = subscriber(sink, { batchSize: 2 });
    sink.buffered = 2000;
    const list = await messages(10);
    list.forEach((message) => sub.deliver(message));
    sink.drain();
    expect(sink.writes.map((write) => write.length)).toEqual([2, 2]);
    sink.drain();
    sink.drain();
    expect(sink.writes.flat().map((message) => message.offset)).toEqual(list.map((message) => message.offset));
  });

  it("sends a conflating channel's backlog as one message with the latest value per key, marked", async () => {
    const sink = new ManualSink();
    const bus = new MemoryBus(busOptions(100));
    const ticks = await bus.publish(
      'high_frequency.system_metrics',
      [{ a: 1, b: 1 }, { b: 2 }, { c: 3 }, { a: 4 }].map((values) => ({ type: 'high_frequency.update', data: { values } })),
    );
    const sub = subscriber(sink, {}, jest.fn(), true, { conflate: conflater('values') });
    sink.buffered = 2000;
    ticks.forEach((tick) => sub.deliver(tick));
    sink.drain();
    const [written] = sink.writes.flat();
    expect(sink.writes.flat()).toHaveLength(1);
    expect(written?.id).toBe(ticks.at(-1)?.id);
    expect(written?.event).toMatchObject({ conflated: 4, data: { values: { a: 4, b: 2, c: 3 } } });
  });

  it('counts the checks in a row in which its connection took no bytes: a slow reader progresses, a stuck one does not', () => {
    const sink = new ManualSink();
    const sub = subscriber(sink);
    expect([sub.checkProgress(), sub.checkProgress()]).toEqual([1, 2]);
    sink.sent = 500;
    expect([sub.checkProgress(), sub.checkProgress()]).toEqual([0, 1]);
  });
});
