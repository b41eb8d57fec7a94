/**
 * The in-memory bus: one process, nothing on disk (`storage.durability: memory`, and the derived channels of the
 * other adapters). Each channel keeps a bounded log of its newest messages (channel-log.ts), so a resume is a slice.
 * A restart starts a new epoch.
 */
import { randomBytes } from 'node:crypto';
import {
  EpochChangedError,
  PositionAheadError,
  type Bus,
  type BusOptions,
  type ChannelState,
  type HistoryQuery,
  type HistoryResult,
  type Listener,
  type ReadResult,
  type TimeReadResult,
  type Unsubscribe,
} from './bus.port';
import { ChannelLog } from './channel-log';
import type { HistoryStorage, Position } from '@data-streaming/protocol';
import { ReceiptCache, type Idempotency, type PublishGroup, type PublishReceipt } from './receipts';
import { StreamMessage, type PublishInput } from './stream-message';

/** Base-36 start time plus randomness: distinct across restarts, sortable by start. */
export const newEpoch = (): string => `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

/** A log's answer to "what follows `after`", shared by the adapters that keep logs in memory. */
export function readLog(log: ChannelLog, after: Position): Promise<ReadResult> {
  log.trim();
  if (after.epoch !== log.epoch) {
    // The client's position belongs to another lifetime of this channel: what followed it there is unknown.
    // Everything of the current epoch is still new to the client if history reaches back to its start.
    return Promise.resolve({ messages: log.slice(1), recovered: false, reason: 'epoch_changed' });
  }
  if (after.offset > log.lastOffset) return Promise.reject(new PositionAheadError(log.name, after, log.lastOffset));
  const recovered = log.lastOffset === 0 || log.covers(after.offset);
  return Promise.resolve({
    messages: log.slice(after.offset + 1),
    recovered,
    ...(recovered ? {} : { reason: 'history_exceeded' as const }),
  });
}

/** A log's answer to "what was accepted since `from`", shared by the adapters that keep logs in memory. */
export function readLogFrom(log: ChannelLog, from: number): Promise<TimeReadResult> {
  log.trim();
  const recovered = log.keepsSince(from);
  return Promise.resolve({
    messages: log.slice(log.firstAtOrAfter(from)),
    recovered,
    ...(recovered ? {} : { reason: 'history_exceeded' as const }),
    reached: recovered ? from : log.completeSince(),
    through: { epoch: log.epoch, offset: log.lastOffset },
  });
}

/** A page of a log's history by acceptance time, shared by the adapters that keep logs in memory. */
export function logHistory(log: ChannelLog, query: HistoryQuery): Promise<HistoryResult> {
  log.trim();
  const { after, limit } = query;
  if (after && after.epoch !== log.epoch) return Promise.reject(new EpochChangedError(log.name, after, log.epoch));
  if (after && after.offset > log.lastOffset) return Promise.reject(new PositionAheadError(log.name, after, log.lastOffset));
  // The range as offsets: [first accepted at or after `from`, last accepted at or before `to`].
  let low = log.firstAtOrAfter(query.from ?? -Infinity);
  let high = log.firstAtOrAfter(query.to + 1) - 1;
  let messages: StreamMessage[];
  let more: boolean;
  if (query.order === 'asc') {
    if (after) low = Math.max(low, after.offset + 1);
    messages = log.range(low, Math.min(high, low + limit - 1));
    more = low + limit - 1 < high;
  } else {
    if (after) high = Math.min(high, after.offset - 1);
    messages = log.range(Math.max(low, high - limit + 1), high).reverse();
    more = high - limit + 1 > low;
  }
  const oldest = log.oldest();
  return Promise.resolve({
    epoch: log.epoch,
    messages,
    more,
    ...(oldest ? { oldest: { id: oldest.id, at: oldest.at } } : {}),
    complete: (query.from === undefined || log.keepsSince(query.from)) && (query.order === 'desc' || !after || log.covers(after.offset)),
  });
}

export class MemoryBus implements Bus {
  readonly epoch = newEpoch();
  private readonly channels = new Map<string, ChannelLog>();
  private readonly started = new Map<string, number>();
  private readonly receipts: ReceiptCache;

  constructor(private readonly options: BusOptions) {
    this.receipts = new ReceiptCache(options.idempotency);
  }

  private log(channel: string): ChannelLog {
    let log = this.channels.get(channel);
    if (!log) {
      log = new ChannelLog(channel, this.epoch, this.options.retention(channel));
      this.channels.set(channel, log);
      this.started.set(channel, Date.now());
    }
    return log;
  }

  publish(channel: string, events: readonly PublishInput[]): Promise<StreamMessage[]> {
    return Promise.resolve(this.publishNow(channel, events));
  }

  publishRequest(groups: readonly PublishGroup[], idempotency?: Idempotency): Promise<PublishReceipt> {
    // A throw (an idempotency conflict) inside the executor becomes the rejection.
    return new Promise((resolve) => {
      const replay = idempotency && this.receipts.begin(idempotency);
      if (replay) {
        resolve(replay);
        return;
      }
      const ids = groups.map((group) => this.publishNow(group.channel, group.events).map((message) => message.id));
      if (idempotency) this.receipts.settle(idempotency, ids);
      resolve({ ids, replayed: false });
    });
  }

  /** Synchronous publish, for producers inside this process that must not wait a tick. */
  publishNow(channel: string, events: readonly PublishInput[], acceptedAt?: number): StreamMessage[] {
    const log = this.log(channel);
    const messages = events.map((event) => {
      const message = StreamMessage.create(channel, log.epoch, log.lastOffset + 1, event, acceptedAt);
      log.append(message);
      return message;
    });
    for (const message of messages) {
      for (const listener of log.listeners) listener(message);
      message.release();
    }
    return messages;
  }

  subscribe(channel: string, listener: Listener): Unsubscribe {
    const { listeners } = this.log(channel);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  read(channel: string, after: Position): Promise<ReadResult> {
    return readLog(this.log(channel), after);
  }

  readFrom(channel: string, from: number): Promise<TimeReadResult> {
    return readLogFrom(this.log(channel), from);
  }

  history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    return logHistory(this.log(channel), query);
  }

  state(channel: string): ChannelState {
    const log = this.log(channel);
    log.trim();
    return { ...log.state(), bytes: log.bytes, since: this.started.get(channel) };
  }

  storage(): HistoryStorage {
    return { durability: 'memory', idempotency_keys: this.receipts.size, idempotency_evicted: this.receipts.evicted };
  }

  check(): Promise<Record<string, unknown>> {
    return Promise.resolve({ adapter: 'memory', durability: 'memory', epoch: this.epoch, channels: this.channels.size });
  }
}
