/**
 * The durable bus, the embedded default (`storage.durability: disk` or `fsync`): the in-memory logs of the memory bus,
 * with every message also written to SQLite (sqlite-history.ts) before anyone sees it. A restart continues the same
 * epoch and offsets with the history it had, so a client resuming with `?since` after a crash gets everything that
 * was accepted.
 *
 * Group commit: what is published in one turn of the event loop gets its offsets at once and is written in one
 * transaction at the end of the turn (setImmediate); only then are the messages added to the logs, handed to
 * listeners and the publishes resolved (the 202 follows). When the transaction fails (a full disk, an I/O error) the
 * offsets are given back, every publish of the turn is rejected with HistoryUnavailableError (503: retry later), and
 * the bus reports itself degraded until a commit succeeds again: nothing is acknowledged that was not written.
 *
 * Derived channels (dashboards, high-frequency views) are recomputed after a restart: they stay on an in-memory bus
 * with an epoch of this process.
 */
import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import {
  type Bus,
  type BusOptions,
  type ChannelState,
  type HistoryQuery,
  type HistoryResult,
  HistoryUnavailableError,
  type Listener,
  type ReadResult,
  type TimeReadResult,
  type Unsubscribe,
} from './bus.port';
import { ChannelLog } from './channel-log';
import { MemoryBus, logHistory, readLog, readLogFrom } from './memory.bus';
import type { HistoryStorage, Position } from '@data-streaming/protocol';
import { ReceiptCache, type Idempotency, type PublishGroup, type PublishReceipt, type StoredReceipt } from './receipts';
import { SqliteHistory } from './sqlite-history';
import { StreamMessage, type PublishInput } from './stream-message';

export interface DurableBusOptions extends BusOptions {
  /** Channels that each process derives for itself (not kept on disk). */
  isLocal(channel: string): boolean;
  durability: 'disk' | 'fsync';
}

/** How often messages that left the logs are deleted on disk and expired receipts forgotten. */
const SWEEP_MS = 1000;

class DurableChannel {
  /** The offset the next staged message gets: the log's last offset plus what waits for the commit. */
  next: number;
  /** The lowest offset still on disk, as far as this process knows. */
  diskHead: number;

  constructor(
    readonly log: ChannelLog,
    readonly startedAt: number,
  ) {
    this.next = log.lastOffset + 1;
    this.diskHead = log.firstOffset || log.lastOffset + 1;
  }
}

interface Staged {
  messages: StreamMessage[];
  receipts: [Idempotency, StoredReceipt][];
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
  channels: Set<DurableChannel>;
}

export class DurableBus implements Bus {
  private readonly logger = new Logger(DurableBus.name);
  private readonly local: MemoryBus;
  private readonly channels = new Map<string, DurableChannel>();
  private readonly receipts: ReceiptCache;
  private staged: Staged | undefined;
  /** Why the last commit failed, while no commit has succeeded since. */
  private failure: string | undefined;
  private failedCommits = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly store: SqliteHistory,
    private readonly options: DurableBusOptions,
  ) {
    this.local = new MemoryBus(options);
    this.receipts = new ReceiptCache(options.idempotency);
    for (const [key, receipt] of store.receipts(Date.now() - options.idempotency.windowMs)) this.receipts.remember(key, receipt);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get epoch(): string {
    return this.store.epoch;
  }

  /** The channel's log, read back from disk the first time it is used. */
  private channel(name: string): DurableChannel {
    let channel = this.channels.get(name);
    if (!channel) {
      const retention = this.options.retention(name);
      const now = Date.now();
      const stored = this.store.load(name, retention.capacity, now - retention.maxAgeMs, now);
      const log = new ChannelLog(name, this.store.epoch, retention);
      const clock = performance.now();
      log.restore(
        stored.messages.map((row) =>
          new StreamMessage(
            name,
            this.store.epoch,
            row.offset,
            undefined,
            row.payload,
            clock - Math.max(0, now - row.at),
            row.at,
          ).release(),
        ),
        stored.lastOffset,
        now,
      );
      channel = new DurableChannel(log, stored.startedAt);
      this.channels.set(name, channel);
    }
    return channel;
  }

  publish(channel: string, events: readonly PublishInput[]): Promise<StreamMessage[]> {
    if (this.options.isLocal(channel)) return this.local.publish(channel, events);
    return new Promise((resolve, reject) => {
      const staged = this.stage();
      const messages = this.append(staged, channel, events, performance.now());
      staged.waiters.push({ resolve: () => resolve(messages), reject });
    });
  }

  publishRequest(groups: readonly PublishGroup[], idempotency?: Idempotency): Promise<PublishReceipt> {
    if (groups.every((group) => this.options.isLocal(group.channel)) && !idempotency) return this.local.publishRequest(groups);
    // A throw (an idempotency conflict, a channel that cannot be read) inside the executor becomes the rejection.
    return new Promise((resolve, reject) => {
      // Every channel read first, so that nothing is staged and no key marked in flight when one cannot be.
      for (const group of groups) if (!this.options.isLocal(group.channel)) this.channel(group.channel);
      const replay = idempotency && this.receipts.begin(idempotency);
      if (replay) {
        resolve(replay);
        return;
      }
      const staged = this.stage();
      const acceptedAt = performance.now();
      const ids = groups.map((group) =>
        this.options.isLocal(group.channel)
          ? this.local.publishNow(group.channel, group.events, acceptedAt).map((message) => message.id)
          : this.append(staged, group.channel, group.events, acceptedAt).map((message) => message.id),
      );
      if (idempotency) staged.receipts.push([idempotency, { fingerprint: idempotency.fingerprint, ids, at: Date.now() }]);
      staged.waiters.push({ resolve: () => resolve({ ids, replayed: false }), reject });
    });
  }

  private append(staged: Staged, name: string, events: readonly PublishInput[], acceptedAt: number): StreamMessage[] {
    const channel = this.channel(name);
    staged.channels.add(channel);
    const messages = events.map((event) => StreamMessage.create(name, channel.log.epoch, channel.next++, event, acceptedAt));
    staged.messages.push(...messages);
    return messages;
  }

  /** The group commit of this turn, started on first use. */
  private stage(): Staged {
    if (!this.staged) {
      this.staged = { messages: [], receipts: [], waiters: [], channels: new Set() };
      setImmediate(this.commit);
    }
    return this.staged;
  }

  private readonly commit = (): void => {
    const staged = this.staged;
    if (!staged) return; // written by close()
    this.staged = undefined;
    try {
      this.store.write({
        messages: staged.messages,
        receipts: staged.receipts.map(([idempotency, receipt]) => [idempotency.key, receipt]),
      });
    } catch (error) {
      this.failed(staged, error as Error);
      return;
    }
    if (this.failure !== undefined) {
      this.logger.log(`Channel history writable again after ${this.failedCommits} failed commits`);
      this.failure = undefined;
      this.failedCommits = 0;
    }
    for (const message of staged.messages) {
      const { log } = this.channel(message.channel);
      log.append(message);
      for (const listener of log.listeners) listener(message);
      message.release();
    }
    for (const [idempotency, receipt] of staged.receipts) this.receipts.settle(idempotency, receipt.ids, receipt.at);
    for (const waiter of staged.waiters) waiter.resolve();
  };

  /** Nothing of the turn was written: its offsets are given back and every publisher is told. */
  private failed(staged: Staged, error: Error): void {
    for (const channel of staged.channels) channel.next = channel.log.lastOffset + 1;
    for (const [idempotency] of staged.receipts) this.receipts.settle(idempotency, undefined);
    const reason = `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
    if (this.failure === undefined) this.logger.error(`Channel history cannot be written (${reason}); publishes are refused with 503`);
    this.failure = reason;
    this.failedCommits++;
    const refusal = new HistoryUnavailableError(reason);
    for (const waiter of staged.waiters) waiter.reject(refusal);
  }

  /** Deletes on disk what left the logs (count, size, age) and forgets expired receipts; runs every second. */
  sweep(now = Date.now()): void {
    try {
      for (const [name, channel] of this.channels) {
        channel.log.trim(now);
        const head = channel.log.firstOffset || channel.log.lastOffset + 1;
        if (head > channel.diskHead) {
          this.store.trim(name, head);
          channel.diskHead = head;
        }
      }
      this.store.expireReceipts(this.receipts.sweep(now));
    } catch (error) {
      this.logger.warn(`History clean-up failed (${(error as Error).message}); trying again in ${SWEEP_MS} ms`);
    }
  }

  subscribe(channel: string, listener: Listener): Unsubscribe {
    if (this.options.isLocal(channel)) return this.local.subscribe(channel, listener);
    const { listeners } = this.channel(channel).log;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  read(channel: string, after: Position): Promise<ReadResult> {
    if (this.options.isLocal(channel)) return this.local.read(channel, after);
    return readLog(this.channel(channel).log, after);
  }

  // The logs hold what SQLite holds (restored from it at the first use), so time reads need not touch the disk.
  readFrom(channel: string, from: number): Promise<TimeReadResult> {
    if (this.options.isLocal(channel)) return this.local.readFrom(channel, from);
    return readLogFrom(this.channel(channel).log, from);
  }

  history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    if (this.options.isLocal(channel)) return this.local.history(channel, query);
    return logHistory(this.channel(channel).log, query);
  }

  state(channel: string): ChannelState {
    if (this.options.isLocal(channel)) return this.local.state(channel);
    const { log, startedAt } = this.channel(channel);
    log.trim();
    return { ...log.state(), bytes: log.bytes, since: startedAt };
  }

  /** What /streams/status shows of the storage. */
  storage(): HistoryStorage {
    return {
      durability: this.options.durability,
      path: this.store.path,
      ...this.store.sizes(),
      idempotency_keys: this.receipts.size,
      idempotency_evicted: this.receipts.evicted,
    };
  }

  check(): Promise<Record<string, unknown>> {
    return Promise.resolve({
      adapter: 'sqlite',
      durability: this.options.durability,
      epoch: this.store.epoch,
      channels: this.channels.size,
      ...(this.failure === undefined
        ? {}
        : { degraded: `channel history cannot be written: ${this.failure}`, failed_commits: this.failedCommits }),
    });
  }

  /** Writes what is staged, then closes the database. */
  close(): void {
    clearInterval(this.sweeper);
    if (this.staged) this.commit();
    this.store.close();
  }
}
