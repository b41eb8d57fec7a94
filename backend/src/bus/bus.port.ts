/**
 * The bus: where every channel's messages get their position and history, and how they reach the fan-out. Two
 * adapters implement it: in-memory (the embedded default) and Redis (shared between instances). Code above the
 * bus does not know which one runs.
 */
import type { Position } from './position';
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
  /** Listens to new messages of a channel. */
  subscribe(channel: string, listener: Listener): Unsubscribe;
  /** Messages after `after` that history still holds; throws PositionAheadError for a position not yet reached. */
  read(channel: string, after: Position): Promise<ReadResult>;
  state(channel: string): ChannelState;
  /** Human-readable health of the bus; throws when it cannot serve. */
  check(): Promise<Record<string, unknown>>;
}

export interface BusOptions {
  historySize(channel: string): number;
}
