/**
 * One subscriber's outbound path. A message goes out at once while the connection keeps up (its buffer under the
 * stream's high-water mark); once it is busy, messages queue and leave together as batches (at most `batchSize`
 * messages and `batchBytes` bytes each) as the connection drains, or after `flushInterval` at the latest; a flush
 * writes until the connection is busy again, never the whole backlog at once. On channels that conflate (live
 * dashboards, high-frequency streams) a backlog leaves as one message with the latest value per key, marked
 * `conflated`.
 *
 * Queued plus buffered bytes are capped. Past the cap the subscriber is held: nothing more is pushed into its
 * connection until it drains, and its backlog is kept (references to messages the channel's history holds anyway).
 * It is closed as a slow consumer for its own connection's fault only: when the network has taken none of its bytes
 * for `overload_stall_checks` load checks while the service keeps up (the fan-out's `closeStalled`), or when its
 * backlog passes `maxQueueMessages` (the channel's history: it would need messages the history no longer holds, and
 * resumes from what it got). A reader that is slow but steady, or one slowed with every other by a service that is
 * behind, is never closed for it, and one stuck client never holds more than a history's worth of references.
 */
import { performance } from 'node:perf_hooks';
import type { StreamMessage } from '../../bus/stream-message';
import type { TransportMetrics } from '../../metrics/streaming.metrics';
import type { Burst } from './burst';
import type { ControlMessage, Sink } from './sink';

export interface DeliveryPolicy {
  maxQueueBytes: number;
  batchSize: number;
  batchBytes: number;
  flushInterval: number;
  /** High-priority streams: every message is written at once, never held behind a batch. */
  immediate: boolean;
  /** The most messages a held subscriber may have queued: the channel's history capacity. */
  maxQueueMessages: number;
}

/** What a subscriber asks of the fan-out that owns it. */
export interface SubscriberHost {
  /** The subscriber was closed as a slow consumer. */
  closedSlow(subscriber: Subscriber): void;
  /** On channels that conflate: one message standing for a backlog, the latest value per key. */
  conflate?: (messages: readonly StreamMessage[]) => StreamMessage | undefined;
}

export class Subscriber {
  private queue: StreamMessage[] = [];
  private queuedBytes = 0;
  /** Waiting for the connection to drain (or the flush timer). */
  private waiting = false;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Live messages held while a resume replay is read; null once live. */
  private held: StreamMessage[] | null = [];
  /** The newest offset written, to drop live messages that a replay already delivered. */
  private lastOffset = 0;
  private epoch: string | undefined;
  closed = false;
  readonly connectedAt = Date.now();
  /** What the connection had handed to the network at the last progress check. */
  private sentAtCheck = 0;

  constructor(
    readonly channel: string,
    private readonly sink: Sink,
    private readonly policy: DeliveryPolicy,
    private readonly metrics: TransportMetrics,
    private readonly host: SubscriberHost,
  ) {}

  /**
   * Behind right now: messages wait for this connection to drain, or its buffer is past the high-water mark (a flush
   * that just wrote until busy has no queue left, but has not caught up either).
   */
  get lagging(): boolean {
    return this.waiting || this.sink.bufferedBytes() >= this.sink.busyAbove;
  }

  /** Queued plus buffered bytes are past the cap (the subscriber is held, or about to be closed). */
  get overCap(): boolean {
    return this.queuedBytes + this.sink.bufferedBytes() > this.policy.maxQueueBytes;
  }

  get transport(): Sink['transport'] {
    return this.sink.transport;
  }

  /** The connection's id in log lines. */
  get connection(): string {
    return this.sink.connection;
  }

  /**
   * Offers a live message. Returns true when it was written at once (the caller records latency once per
   * broadcast for those), false when it was queued, held or dropped.
   */
  deliver(message: StreamMessage): boolean {
    if (this.closed) return false;
    if (this.held !== null) {
      this.held.push(message);
      return false;
    }
    if (message.epoch === this.epoch && message.offset <= this.lastOffset) return false;
    const buffered = this.sink.bufferedBytes();
    const writable = this.policy.immediate ? buffered <= this.policy.maxQueueBytes : buffered < this.sink.busyAbove;
    if (!this.waiting && writable) {
      this.write([message], false);
      return true;
    }
    this.queue.push(message);
    this.queuedBytes += message.byteLength;
    if (this.queue.length > this.policy.maxQueueMessages) {
      this.slow();
      return false;
    }
    this.wait();
    return false;
  }

  private wait(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.sink.onceDrained(this.flush);
    this.flushTimer = setTimeout(this.flush, this.policy.flushInterval);
  }

  /**
   * Offers a burst (messages of this channel in offset order). A subscriber that keeps up gets it in one write;
   * otherwise each message takes the path of `deliver`. Returns true when the burst was written at once.
   */
  deliverBurst(burst: Burst): boolean {
    if (this.closed) return false;
    const first = burst.first;
    const last = burst.last;
    const buffered = this.sink.bufferedBytes();
    const keepsUp = !this.waiting && (this.policy.immediate ? buffered <= this.policy.maxQueueBytes : buffered < this.sink.busyAbove);
    if (this.held !== null || !keepsUp || first.epoch !== last.epoch || (first.epoch === this.epoch && first.offset <= this.lastOffset)) {
      let wrote = false;
      for (const message of burst.messages) wrote = this.deliver(message) || wrote;
      return wrote;
    }
    this.epoch = last.epoch;
    this.lastOffset = last.offset;
    this.metrics.counts.delivered += burst.messages.length;
    this.metrics.counts.bytes += this.sink.writeBurst(burst);
    return true;
  }

  control(message: ControlMessage, id?: string): void {
    if (!this.closed) this.sink.writeControl(message, id);
  }

  /**
   * Writes a resume replay, then the live messages held meanwhile, and goes live. `from` is the position the
   * welcome announced: live messages at or before it are history, not news, and are not written again.
   */
  goLive(replay: readonly StreamMessage[], from?: { epoch: string; offset: number }): void {
    const held = this.held ?? [];
    this.held = null;
    if (from) {
      this.epoch = from.epoch;
      this.lastOffset = from.offset;
    }
    let start = 0;
    // A replay goes out in batches of up to `batchBytes` (history is not news: fewer, larger frames, each compressed
    // once, instead of `batchSize` messages each) up to the cap; the rest waits in the queue like live traffic, so a
    // client that does not take it is held, not flooded.
    while (start < replay.length && this.sink.bufferedBytes() <= this.policy.maxQueueBytes) {
      const end = this.batchEnd(replay, start, Math.max(this.policy.batchSize, replay.length));
      this.write(replay.slice(start, end), false);
      start = end;
    }
    if (start < replay.length) {
      this.queue = replay.slice(start);
      for (const message of this.queue) this.queuedBytes += message.byteLength;
      this.wait();
    }
    for (const message of held) this.deliver(message);
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.held = null;
    this.stopWaiting();
  }

  private stopWaiting(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.waiting) this.sink.offDrained(this.flush);
    this.waiting = false;
  }

  /** Load checks in a row in which the network took none of this connection's bytes. */
  stalledChecks = 0;

  /**
   * Called once per load check: counts the checks since the network last took any of this connection's bytes. A
   * slow reader progresses, a stuck one does not. (Drain events are no measure: a connection that reads slowly
   * drains rarely but steadily.)
   */
  checkProgress(): number {
    const sent = this.sink.sentBytes();
    this.stalledChecks = sent > this.sentAtCheck ? 0 : this.stalledChecks + 1;
    this.sentAtCheck = sent;
    return this.stalledChecks;
  }

  /** Closes the subscriber as a slow consumer (4000, or the SSE error event). */
  slow(): void {
    if (this.closed) return;
    this.close();
    this.metrics.counts.slowConsumers++;
    this.host.closedSlow(this);
    this.sink.closeSlow();
  }

  /**
   * Writes the backlog in batches until the connection is busy again (at least one batch each time while under the
   * cap, so a flush by the timer always makes progress; past it, only what the connection drains), and waits for the
   * next drain for the rest.
   */
  private readonly flush = (): void => {
    this.stopWaiting();
    if (this.closed) return;
    if (this.queue.length > 1 && this.host.conflate) {
      const conflated = this.host.conflate(this.queue);
      if (conflated) this.queue = [conflated];
    }
    const queue = this.queue;
    let start = 0;
    const forced = this.sink.bufferedBytes() <= this.policy.maxQueueBytes;
    while (start < queue.length && ((start === 0 && forced) || this.sink.bufferedBytes() < this.sink.busyAbove)) {
      const end = this.batchEnd(queue, start, this.policy.batchSize);
      this.write(queue.slice(start, end), true);
      for (let index = start; index < end; index++) this.queuedBytes -= (queue[index] as StreamMessage).byteLength;
      start = end;
    }
    this.queue = start === queue.length ? [] : queue.slice(start);
    if (this.queue.length === 0) this.queuedBytes = 0;
    else this.wait();
  };

  /** Where a batch from `start` ends: at most `count` messages and `batchBytes` bytes (one message at least). */
  private batchEnd(messages: readonly StreamMessage[], start: number, count: number): number {
    let end = start;
    let bytes = 0;
    while (end < messages.length && end - start < count) {
      const size = (messages[end] as StreamMessage).byteLength;
      if (end > start && bytes + size > this.policy.batchBytes) break;
      bytes += size;
      end++;
    }
    return end;
  }

  /** `queued`: the batch waited in the queue, so its latency is recorded here, from its oldest message. */
  private write(batch: readonly StreamMessage[], queued: boolean): void {
    const first = batch[0] as StreamMessage;
    const last = batch[batch.length - 1] as StreamMessage;
    this.epoch = last.epoch;
    this.lastOffset = last.offset;
    const bytes = batch.length === 1 ? this.sink.writeOne(first) : this.sink.writeBatch(batch);
    this.metrics.counts.delivered += batch.length;
    this.metrics.counts.bytes += bytes;
    // An immediate write's latency is recorded once per broadcast by the caller; replays are not live latency.
    if (queued) this.metrics.latency.observe((performance.now() - first.acceptedAt) / 1000);
  }
}
