/**
 * The in-memory bus: one process, nothing to install. Each channel keeps a ring of its newest messages, indexed by
 * offset, so a resume is a slice. A restart starts a new epoch.
 */
import { randomBytes } from 'node:crypto';
import {
  PositionAheadError,
  type Bus,
  type BusOptions,
  type ChannelState,
  type Listener,
  type ReadResult,
  type Unsubscribe,
} from './bus.port';
import type { Position } from './position';
import { StreamMessage, type PublishInput } from './stream-message';

class ChannelLog {
  private readonly ring: (StreamMessage | undefined)[];
  lastOffset = 0;
  readonly listeners = new Set<Listener>();

  constructor(
    readonly name: string,
    readonly epoch: string,
    readonly capacity: number,
  ) {
    this.ring = new Array<StreamMessage | undefined>(capacity);
  }

  get firstOffset(): number {
    return this.lastOffset === 0 ? 0 : Math.max(1, this.lastOffset - this.capacity + 1);
  }

  append(input: PublishInput, acceptedAt?: number): StreamMessage {
    const offset = ++this.lastOffset;
    const message = StreamMessage.create(this.name, this.epoch, offset, input, acceptedAt);
    this.ring[offset % this.capacity] = message;
    return message;
  }

  slice(fromOffset: number): StreamMessage[] {
    const out: StreamMessage[] = [];
    for (let offset = Math.max(fromOffset, this.firstOffset); offset <= this.lastOffset; offset++) {
      out.push(this.ring[offset % this.capacity] as StreamMessage);
    }
    return out;
  }
}

export class MemoryBus implements Bus {
  /** Base-36 start time plus randomness: distinct across restarts, sortable by start. */
  readonly epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly channels = new Map<string, ChannelLog>();

  constructor(private readonly options: BusOptions) {}

  private log(channel: string): ChannelLog {
    let log = this.channels.get(channel);
    if (!log) {
      log = new ChannelLog(channel, this.epoch, this.options.historySize(channel));
      this.channels.set(channel, log);
    }
    return log;
  }

  publish(channel: string, events: readonly PublishInput[]): Promise<StreamMessage[]> {
    return Promise.resolve(this.publishNow(channel, events));
  }

  /** Synchronous publish, for producers inside this process that must not wait a tick. */
  publishNow(channel: string, events: readonly PublishInput[], acceptedAt?: number): StreamMessage[] {
    const log = this.log(channel);
    const messages = events.map((event) => log.append(event, acceptedAt));
    for (const message of messages) {
      for (const listener of log.listeners) listener(message);
    }
    return messages;
  }

  subscribe(channel: string, listener: Listener): Unsubscribe {
    const { listeners } = this.log(channel);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  read(channel: string, after: Position): Promise<ReadResult> {
    const log = this.log(channel);
    if (after.epoch !== log.epoch) {
      // The client's position belongs to another lifetime of this channel: what followed it there is unknown.
      // Everything of the current epoch is still new to the client if history reaches back to its start.
      return Promise.resolve({ messages: log.slice(1), recovered: false, reason: 'epoch_changed' });
    }
    if (after.offset > log.lastOffset) return Promise.reject(new PositionAheadError(channel, after, log.lastOffset));
    const recovered = log.lastOffset === 0 || after.offset + 1 >= log.firstOffset;
    return Promise.resolve({
      messages: log.slice(after.offset + 1),
      recovered,
      ...(recovered ? {} : { reason: 'history_exceeded' as const }),
    });
  }

  state(channel: string): ChannelState {
    const log = this.log(channel);
    return {
      epoch: log.epoch,
      lastOffset: log.lastOffset,
      firstOffset: log.firstOffset,
      depth: log.lastOffset === 0 ? 0 : log.lastOffset - log.firstOffset + 1,
      capacity: log.capacity,
    };
  }

  check(): Promise<Record<string, unknown>> {
    return Promise.resolve({ adapter: 'memory', epoch: this.epoch, channels: this.channels.size });
  }
}
