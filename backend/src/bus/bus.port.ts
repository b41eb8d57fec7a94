/**
 * The bus: where every channel's messages get their position and history, and how they reach the fan-out. Two
 * adapters implement it: in-memory (the embedded default) and Redis (shared between instances). Code above the
 * bus does not know which one runs.
 */
import type { Retention } from './channel-log';
import type { GapReason, HistoryStorage, Position } from '@data-streaming/protocol';
import type { Idempotency, PublishGroup, PublishReceipt } from './receipts';
import type { PublishInput, StreamMessage } from './stream-message';

export const BUS = Symbol('BUS');

export type Listener = (message: StreamMessage) => void;
export type Unsubscribe = () => void;

/** Why a resume could not be served whole; `history_unavailable`: the shared history (Redis) cannot be read now. */
export type { GapReason };

export interface ReadResult {
  /** Messages after the requested position, oldest first. */
  messages: StreamMessage[];
  /** False when messages between the requested position and the first returned one are no longer held. */
  recovered: boolean;
  reason?: GapReason;
}

/** What a subscription from a point in time replays (`readFrom`). */
export interface TimeReadResult extends ReadResult {
  /**
   * The acceptance time (ms since 1970) from which `messages` holds every message: the time asked for when history
   * reached back to it; else the oldest held message's (then `recovered` is false).
   */
  reached: number;
  /**
   * The newest position the read saw: a live message at or before it is in `messages` or older than the time asked
   * for, never news. Absent when the history could not be read (then nothing live is dropped).
   */
  through?: Position;
}

export type HistoryOrder = 'asc' | 'desc';

/** A page of history by acceptance time (`history`). */
export interface HistoryQuery {
  /** Acceptance times in ms since 1970, both included; without `from`, from the oldest message held. */
  from?: number;
  to: number;
  /** Messages at most in the page. */
  limit: number;
  /** Oldest first (`asc`) or newest first (`desc`). */
  order: HistoryOrder;
  /** The last message of the previous page: this page continues after it in `order`. */
  after?: Position;
}

export interface HistoryResult {
  epoch: string;
  /** The page, in the order asked for. */
  messages: StreamMessage[];
  /** Whether messages of the range lie beyond the page (the next page has some). */
  more: boolean;
  /** The oldest message history holds, when it holds any. */
  oldest?: { id: string; at: number };
  /**
   * Whether history still holds every message of the range: none accepted at or after `from` (and, oldest first, none
   * after `after`) has left it. False: the range starts later than asked, at `oldest`.
   */
  complete: boolean;
}

export interface ChannelState {
  epoch: string;
  /** Offset of the newest message, 0 when there is none. */
  lastOffset: number;
  /** Offset of the oldest message still in history, 0 when there is none. */
  firstOffset: number;
  depth: number;
  capacity: number;
  /** Payload bytes held, when the adapter counts them. */
  bytes?: number;
  /** When this epoch of the channel began (ms since the epoch), when known: history from offset 1 is complete since then. */
  since?: number;
}

export class PositionAheadError extends Error {
  constructor(
    readonly channel: string,
    readonly requested: Position,
    readonly lastOffset: number,
  ) {
    super(`position ${requested.epoch}:${requested.offset} is beyond the newest message of ${channel} (offset ${lastOffset})`);
    this.name = 'PositionAheadError';
  }
}

/** A position from another lifetime of the channel's history than the current one (a page cursor from before). */
export class EpochChangedError extends Error {
  constructor(
    readonly channel: string,
    readonly requested: Position,
    readonly epoch: string,
  ) {
    super(`position ${requested.epoch}:${requested.offset} is from an earlier lifetime of ${channel}'s history (now ${epoch})`);
    this.name = 'EpochChangedError';
  }
}

/** The shared history (Redis) cannot be read now. */
export class HistoryReadError extends Error {
  constructor(readonly reason: string) {
    super(`channel history cannot be read: ${reason}`);
    this.name = 'HistoryReadError';
  }
}

export interface Bus {
  /** Appends events to a channel, in order, and hands them to the channel's listeners. */
  publish(channel: string, events: readonly PublishInput[]): Promise<StreamMessage[]>;
  /**
   * Publishes one request's events, grouped by channel, together (one commit on the durable bus). With
   * `idempotency`, a key already published within the window is not appended again: the answer repeats the first
   * publish's ids (`replayed`). Throws IdempotencyConflictError for a key in use by another request.
   */
  publishRequest(groups: readonly PublishGroup[], idempotency?: Idempotency): Promise<PublishReceipt>;
  /** Listens to new messages of a channel. */
  subscribe(channel: string, listener: Listener): Unsubscribe;
  /** Messages after `after` that history still holds; throws PositionAheadError for a position not yet reached. */
  read(channel: string, after: Position): Promise<ReadResult>;
  /**
   * Messages history holds that were accepted at or after `from` (ms since 1970), oldest first, and how far back that
   * is complete. Call after `subscribe`: `through` tells which live messages the read already covers.
   */
  readFrom(channel: string, from: number): Promise<TimeReadResult>;
  /**
   * One page of the messages accepted in [from, to]. Throws EpochChangedError or PositionAheadError for an `after`
   * that is not of the current history, HistoryReadError when the history cannot be read.
   */
  history(channel: string, query: HistoryQuery): Promise<HistoryResult>;
  state(channel: string): ChannelState;
  /** Where history is kept and what it takes, for /streams/status. */
  storage(): HistoryStorage;
  /** Human-readable health of the bus; throws when it cannot serve. */
  check(): Promise<Record<string, unknown>>;
}

export interface BusOptions {
  retention(channel: string): Retention;
  /** How long, and for how many keys, idempotent publishes are remembered. */
  idempotency: { windowMs: number; maxKeys: number };
}

/** The history cannot be written (disk full, I/O error): nothing of the publish was accepted. */
export class HistoryUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`channel history cannot be written: ${reason}`);
    this.name = 'HistoryUnavailableError';
  }
}
