/**
 * One subscriber's outbound path. A message goes out at once while the connection keeps up (its buffer under the
 * stream's high-water mark); once it is busy, messages queue and leave together as batches (at most `batchSize`
 * messages and `batchBytes` bytes each) when the connection drains, or after `flushInterval` at the latest. Queued
 * plus buffered bytes are capped: past the cap the subscriber is closed as a slow consumer, so one stuck client
 * never holds memory or delays the others.
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

  constructor(
    readonly channel: string,
    private readonly sink: Sink,
    private readonly policy: DeliveryPolicy,
    private readonly metrics: TransportMetrics,
    private readonly onSlow: (subscriber: Subscriber) => void,
  ) {}

  get transport(): Sink['transport'] {
    return this.sink.transport;
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
    if (this.policy.immediate || (!this.waiting && buffered < this.sink.busyAbove)) {
      if (buffered > this.policy.maxQueueBytes) {
        this.slow();
        return false;
      }
      this.write([message], false);
      return true;
    }
    this.queue.push(message);
    this.queuedBytes += message.byteLength;
    if (this.queuedBytes + buffered > this.policy.maxQueueBytes) {
      this.slow();
      return false;
    }
    if (!this.waiting) {
      this.waiting = true;
      this.sink.onceDrained(this.flush);
      this.flushTimer = setTimeout(this.flush, this.policy.flushInterval);
    }
    return false;
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
    const keepsUp = this.policy.immediate || (!this.waiting && buffered < this.sink.busyAbove);
    if (this.held !== null || !keepsUp || first.epoch !== last.epoch || (first.epoch === this.epoch && first.offset <= this.lastOffset)) {
      let wrote = false;
      for (const message of burst.messages) wrote = this.deliver(message) || wrote;
      return wrote;
    }
    if (buffered > this.policy.maxQueueBytes) {
      this.slow();
      return false;
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
    for (let start = 0; start < replay.length && !this.closed; start += this.policy.batchSize) {
      this.write(replay.slice(start, start + this.policy.batchSize), false);
      // A replay is bounded like live traffic: a client that does not take it is a slow consumer (it resumes from
      // the last event it got).
      if (this.sink.bufferedBytes() > this.policy.maxQueueBytes) {
        this.slow();
        return;
      }
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

  private slow(): void {
    this.close();
    this.metrics.counts.slowConsumers++;
    this.onSlow(this);
    this.sink.closeSlow();
  }

  private readonly flush = (): void => {
    this.stopWaiting();
    if (this.closed) return;
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    let start = 0;
    while (start < queue.length) {
      let end = start;
      let bytes = 0;
      while (end < queue.length && end - start < this.policy.batchSize) {
        const size = (queue[end] as StreamMessage).byteLength;
        if (end > start && bytes + size > this.policy.batchBytes) break;
        bytes += size;
        end++;
      }
      this.write(queue.slice(start, end), true);
      start = end;
    }
  };

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
