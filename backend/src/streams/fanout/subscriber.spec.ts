import { MemoryBus } from '../../bus/memory.bus';
import type { StreamMessage } from '../../bus/stream-message';
import type { ControlMessage, Sink, WriteDone } from './sink';
import { Subscriber, type DeliveryPolicy } from './subscriber';

/** A sink whose writes complete only when the test says so, like a socket the kernel has not drained yet. */
class ManualSink implements Sink {
  readonly transport = 'websocket' as const;
  readonly writes: StreamMessage[][] = [];
  readonly controls: ControlMessage[] = [];
  private readonly pending: WriteDone[] = [];
  buffered = 0;
  closedSlow = false;

  bufferedBytes(): number {
    return this.buffered;
  }
  writeOne(message: StreamMessage, done: WriteDone): number {
    return this.writeBatch([message], done);
  }
  writeBatch(messages: readonly StreamMessage[], done: WriteDone): number {
    this.writes.push([...messages]);
    this.pending.push(done);
    return messages.reduce((sum, message) => sum + message.byteLength, 0);
  }
  writeControl(message: ControlMessage): void {
    this.controls.push(message);
  }
  closeSlow(): void {
    this.closedSlow = true;
  }
  complete(): void {
    this.pending.splice(0).forEach((done) => done());
  }
}

const counter = () => ({ inc: () => undefined, observe: () => undefined });
const metrics = { latency: counter(), delivered: counter(), bytes: counter(), slowConsumers: counter() };

async function messages(count: number, size = 10): Promise<StreamMessage[]> {
  const bus = new MemoryBus({ historySize: () => 1000 });
  return bus.publish(
    'c',
    Array.from({ length: count }, (_, index) => ({ type: 't', data: { index, pad: 'p'.repeat(size) } })),
  );
}

function subscriber(sink: ManualSink, policy: Partial<DeliveryPolicy> = {}, onSlow = jest.fn()): Subscriber {
  const result = new Subscriber(
    'c',
    sink,
    { maxQueueBytes: 1_000_000, batchSize: 3, batchBytes: 1_000_000, flushInterval: 10_000, immediate: false, ...policy },
    metrics,
    onSlow,
  );
  result.goLive([]);
  return result;
}

describe('Subscriber', () => {
  it('writes at once when idle, queues while a write is in flight, then flushes batches of batch_size', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink);
    const list = await messages(8);
    expect(sub.deliver(list[0] as StreamMessage)).toBe(true);
    for (const message of list.slice(1)) expect(sub.deliver(message)).toBe(false);
    expect(sink.writes.map((write) => write.length)).toEqual([1]);
    sink.complete();
    expect(sink.writes.map((write) => write.map((message) => message.offset))).toEqual([[1], [2, 3, 4], [5, 6, 7], [8]]);
  });

  it('limits a batch by bytes as well as by count', async () => {
    const sink = new ManualSink();
    const list = await messages(5, 100);
    const size = (list[0] as StreamMessage).byteLength;
    const sub = subscriber(sink, { batchSize: 10, batchBytes: size * 2 });
    list.forEach((message) => sub.deliver(message));
    sink.complete();
    expect(sink.writes.map((write) => write.length)).toEqual([1, 2, 2]);
  });

  it('flushes after flush_interval even if the socket never reports the write done', async () => {
    jest.useFakeTimers();
    try {
      const sink = new ManualSink();
      const sub = subscriber(sink, { flushInterval: 50 });
      (await messages(3)).forEach((message) => sub.deliver(message));
      expect(sink.writes).toHaveLength(1);
      jest.advanceTimersByTime(50);
      expect(sink.writes.map((write) => write.length)).toEqual([1, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('closes as slow when queued plus buffered bytes pass the cap, and stops delivering', async () => {
    const sink = new ManualSink();
    const onSlow = jest.fn();
    const list = await messages(10, 100);
    const size = (list[0] as StreamMessage).byteLength;
    const sub = subscriber(sink, { maxQueueBytes: size * 4 }, onSlow);
    sink.buffered = size;
    list.forEach((message) => sub.deliver(message));
    expect(sink.closedSlow).toBe(true);
    expect(onSlow).toHaveBeenCalledTimes(1);
    expect(sub.closed).toBe(true);
    const writes = sink.writes.length;
    sink.complete();
    expect(sink.writes).toHaveLength(writes);
  });

  it('writes every message at once for a high-priority stream', async () => {
    const sink = new ManualSink();
    const sub = subscriber(sink, { immediate: true });
    (await messages(4)).forEach((message) => expect(sub.deliver(message)).toBe(true));
    expect(sink.writes.map((write) => write.length)).toEqual([1, 1, 1, 1]);
  });

  it('holds live messages during a replay and drops those the replay already delivered', async () => {
    const sink = new ManualSink();
    const sub = new Subscriber(
      'c',
      sink,
      { maxQueueBytes: 1e6, batchSize: 100, batchBytes: 1e6, flushInterval: 1e4, immediate: false },
      metrics,
      jest.fn(),
    );
    const list = await messages(6);
    sub.deliver(list[3] as StreamMessage);
    sub.deliver(list[4] as StreamMessage);
    sub.deliver(list[5] as StreamMessage);
    sub.goLive(list.slice(0, 4));
    sink.complete();
    expect(sink.writes.flat().map((message) => message.offset)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
