/**
 * What a subscriber's connection must offer the fan-out: byte-accurate buffering, a drain signal, and three kinds of
 * write. Writes take no callback: the connection is busy while its buffer is above `busyAbove`, and says when it
 * drains.
 */
import type { ControlFrame } from '@data-streaming/protocol';
import type { StreamMessage } from '../../bus/stream-message';
import type { Transport } from '../../metrics/streaming.metrics';
import type { Burst } from './burst';

/** Control messages: every frame that is not an event (the protocol's welcome, snapshot and error frames). */
export type ControlMessage = ControlFrame;

/** Connections made by this process, for the ids in its log lines (`ws-17`, `sse-4`). */
let connections = 0;
export const nextConnectionId = (transport: Transport): string => `${transport === 'websocket' ? 'ws' : 'sse'}-${++connections}`;

export interface Sink {
  readonly transport: Transport;
  /** The connection's id in log lines (`ws-17`): unique in this process. */
  readonly connection: string;
  /** Bytes handed to the connection and not yet sent to the network. */
  bufferedBytes(): number;
  /** Bytes the network has taken from the connection so far (written less buffered). */
  sentBytes(): number;
  /** Buffered bytes above which the connection is busy (its stream's high-water mark). */
  readonly busyAbove: number;
  /** Calls `listener` once the connection's buffer has drained; `offDrained` withdraws it. */
  onceDrained(listener: () => void): void;
  offDrained(listener: () => void): void;
  /** Writes one message; returns the payload bytes written. */
  writeOne(message: StreamMessage): number;
  /** Writes a burst's messages, each as its own frame or event, in one write; returns the payload bytes written. */
  writeBurst(burst: Burst): number;
  /** Writes several messages as one batch message; returns the payload bytes written. */
  writeBatch(messages: readonly StreamMessage[]): number;
  writeControl(message: ControlMessage, id?: string): void;
  /** Closes the connection as a slow consumer (WebSocket close 4000, SSE error event). */
  closeSlow(): void;
}
