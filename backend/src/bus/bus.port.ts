/**
 * The bus: where every channel's messages get their position and history, and how they reach the fan-out. Two
 * adapters implement it: in-memory (the embedded default) and Redis (shared between instances). Code above the
 * bus does not know which one runs.
 */
import type { Retention } from './channel-log';
import type { Position } from './position';
import type { Idempotency, PublishGroup, PublishReceipt } from './receipts';
import type { PublishInput, StreamMessage } from './stream-message';

export const BUS = Symbol('BUS');

export type Listener = (message: StreamMessage) => void;
export type Unsubscribe = () => void;

/** Why a resume could not be served whole; `history_unavailable`: the shared history (Redis) cannot be read now. */
export type GapReason = 'history_exceeded' | 'epoch_changed' | 'history_unavailable';

export interface ReadResult {
  /** Messages after the requested position, oldest first. */
  messages: StreamMessage[];
  /** False when messages between the requested position and the first returned one are no longer held. */
  recovered: boolean;
  reason?: GapReason;
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
  state(channel: string): ChannelState;
  /** Where history is kept and what it takes, for /streams/status. */
  storage(): Record<string, unknown>;
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
