/**
 * One channel's history in memory: its newest messages in offset order, indexed by offset in a ring so that a resume
 * is a slice. Bounded three ways: `history_size` messages, `history_max_bytes` bytes and `history_max_age`; the
 * oldest messages leave first. The in-memory bus keeps only this; the durable bus keeps the same set on disk too.
 *
 * Messages are also found by acceptance time (`at`), by binary search: one clock stamps a channel's messages in offset
 * order, so their times do not go down (were the wall clock set back, a search by time would start a little off; a
 * join with live messages goes by offset and stays exact).
 */
import type { ChannelState, Listener } from './bus.port';
import type { StreamMessage } from './stream-message';

export interface Retention {
  /** Messages kept at most. */
  capacity: number;
  /** Bytes of message payloads kept at most. */
  maxBytes: number;
  /** Messages older than this (ms since acceptance) leave the history. */
  maxAgeMs: number;
}

export class ChannelLog {
  private readonly ring: (StreamMessage | undefined)[];
  /** Offset of the newest message, 0 when there has been none in this epoch. */
  lastOffset = 0;
  /** Offset of the oldest message held; lastOffset + 1 when none is held. */
  private head = 1;
  /** Payload bytes of the messages held. */
  bytes = 0;
  /**
   * The newest acceptance time of a message that left the history, undefined while none has: every message accepted
   * after it is still held.
   */
  private droppedAt: number | undefined;
  readonly listeners = new Set<Listener>();

  constructor(
    readonly name: string,
    readonly epoch: string,
    private readonly retention: Retention,
  ) {
    this.ring = new Array<StreamMessage | undefined>(retention.capacity);
  }

  get capacity(): number {
    return this.retention.capacity;
  }

  get depth(): number {
    return this.lastOffset - this.head + 1;
  }

  /** Offset of the oldest message held, 0 when none is. */
  get firstOffset(): number {
    return this.depth === 0 ? 0 : this.head;
  }

  /** Whether a client that has seen `offset` can be given everything after it. */
  covers(offset: number): boolean {
    return offset + 1 >= this.head;
  }

  /** Takes a history read back from disk: `messages` in offset order, the newest being at most `lastOffset`. */
  restore(messages: readonly StreamMessage[], lastOffset: number, now = Date.now()): void {
    this.lastOffset = lastOffset;
    this.head = lastOffset + 1;
    const first = messages[0];
    // Messages that left before the restart are not read back: they were accepted no later than the oldest one that
    // is (or, when none is, before the age bound, the only bound that empties a history).
    if (lastOffset > 0 && (first?.offset ?? lastOffset + 1) > 1) this.droppedAt = first?.at ?? now - this.retention.maxAgeMs;
    const cut = messages[messages.length - this.capacity - 1];
    if (cut) this.droppedAt = Math.max(this.droppedAt ?? cut.at, cut.at);
    const kept = messages.slice(-this.capacity);
    if (kept.length > 0) this.head = (kept[0] as StreamMessage).offset;
    for (const message of kept) {
      this.ring[message.offset % this.capacity] = message;
      this.bytes += message.byteLength;
    }
    this.trim(now);
  }

  /** Adds the next message (offset lastOffset + 1) and lets the oldest go as the bounds require. */
  append(message: StreamMessage): void {
    if (this.depth === this.capacity) this.dropOldest();
    this.ring[message.offset % this.capacity] = message;
    this.lastOffset = message.offset;
    this.bytes += message.byteLength;
    this.trim(message.at);
  }

  /** Lets go of messages past the byte and age bounds (the newest always stays while it is young enough). */
  trim(now = Date.now()): void {
    const oldestKept = now - this.retention.maxAgeMs;
    while (this.depth > 0) {
      const oldest = this.ring[this.head % this.capacity] as StreamMessage;
      const overBytes = this.bytes > this.retention.maxBytes && this.depth > 1;
      if (!overBytes && oldest.at >= oldestKept) return;
      this.dropOldest();
    }
  }

  private dropOldest(): void {
    const slot = this.head % this.capacity;
    const dropped = this.ring[slot] as StreamMessage;
    this.bytes -= dropped.byteLength;
    this.droppedAt = Math.max(this.droppedAt ?? dropped.at, dropped.at);
    this.ring[slot] = undefined;
    this.head++;
  }

  /** The messages held from `fromOffset` on, oldest first. */
  slice(fromOffset: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    for (let offset = Math.max(fromOffset, this.head); offset <= this.lastOffset; offset++) {
      out.push(this.ring[offset % this.capacity] as StreamMessage);
    }
    return out;
  }

  /** The messages held from `fromOffset` to `toOffset` (both included), oldest first. */
  range(fromOffset: number, toOffset: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    for (let offset = Math.max(fromOffset, this.head); offset <= Math.min(toOffset, this.lastOffset); offset++) {
      out.push(this.ring[offset % this.capacity] as StreamMessage);
    }
    return out;
  }

  /** The offset of the oldest message held that was accepted at or after `at`; lastOffset + 1 when none was. */
  firstAtOrAfter(at: number): number {
    let low = this.head;
    let high = this.lastOffset + 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((this.ring[middle % this.capacity] as StreamMessage).at < at) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Whether every message accepted at or after `at` is still held: none of them has left the history. */
  keepsSince(at: number): boolean {
    return this.droppedAt === undefined || this.droppedAt < at;
  }

  /**
   * The time from which history is complete when it no longer reaches back to a time asked for: the oldest held
   * message's acceptance, or just after the newest that left when none is held.
   */
  completeSince(): number {
    return this.oldest()?.at ?? (this.droppedAt ?? 0) + 1;
  }

  /** The oldest message held, if any. */
  oldest(): StreamMessage | undefined {
    return this.depth === 0 ? undefined : this.ring[this.head % this.capacity];
  }

  state(): ChannelState {
    return { epoch: this.epoch, lastOffset: this.lastOffset, firstOffset: this.firstOffset, depth: this.depth, capacity: this.capacity };
  }
}
