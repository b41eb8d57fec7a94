/**
 * The fan-out's view of one WebSocket. Every frame is written straight to the TCP socket, the same bytes for every
 * subscriber with the same negotiation, built once per message: the plain frame, or for a socket that negotiated
 * permessage-deflate (no context takeover) the message's compressed frame (streams/compression.ts). `ws` keeps the
 * handshake, the reading side, pings and the close; nothing is sent through its compressing sender, so its frames
 * never queue behind a compression and the order on the wire is the order of the writes here.
 */
import { CLOSE } from '@data-streaming/protocol';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamMessage } from '../../bus/stream-message';
import type { Compressor, WindowBits } from '../compression';
import type { Burst } from '../fanout/burst';
import { nextConnectionId, type ControlMessage, type Sink } from '../fanout/sink';
import { SLOW_CONSUMER_CLOSE_GRACE_MS } from './close-codes';

const OPEN = 1;
const COMMA = Buffer.from(',');
const BATCH_END = Buffer.from(']}');

/**
 * The most bytes handed to the kernel in one write. Behind a busy socket Node joins everything buffered into one
 * write that completes only when the kernel has taken all of it (megabytes for a subscriber working through a
 * backlog), and a socket's byte counts move only when a write completes: a reader that is slow but steady would look
 * stalled for seconds, to the fan-out and to the heartbeat alike. Written one slice at a time, they move as it reads.
 */
export const WRITE_SLICE_BYTES = 16 * 1024;

/** Bytes of a connection the kernel has taken (written, not waiting in Node's buffer): its peer's progress. */
export const bytesTaken = (tcp: Duplex): number => (tcp as Socket).bytesWritten - tcp.writableLength;

/** Makes a socket hand its buffered chunks to the kernel one by one instead of joined (see WRITE_SLICE_BYTES). */
const writeChunkByChunk = (tcp: Duplex): void => {
  (tcp as { _writev?: unknown })._writev = null;
};

export class WebSocketSink implements Sink {
  readonly transport = 'websocket' as const;
  readonly connection = nextConnectionId('websocket');
  private readonly batchPrefix: Buffer;
  readonly busyAbove: number;

  /** `windowBits`: the negotiated permessage-deflate window, 0 when frames go uncompressed. */
  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Duplex,
    channel: string,
    private readonly compressor: Compressor,
    private readonly windowBits: WindowBits,
  ) {
    this.batchPrefix = Buffer.from(`{"kind":"batch","channel":${JSON.stringify(channel)},"events":[`);
    this.busyAbove = tcp.writableHighWaterMark;
    writeChunkByChunk(tcp);
  }

  onceDrained(listener: () => void): void {
    this.tcp.once('drain', listener);
  }

  offDrained(listener: () => void): void {
    this.tcp.off('drain', listener);
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  sentBytes(): number {
    return bytesTaken(this.tcp);
  }

  /** After a close frame nothing else may follow on the socket (RFC 6455 §5.5.1). */
  private send(frame: Buffer): void {
    if (this.socket.readyState !== OPEN) return;
    if (frame.length <= WRITE_SLICE_BYTES) {
      this.tcp.write(frame);
      return;
    }
    for (let offset = 0; offset < frame.length; offset += WRITE_SLICE_BYTES) {
      this.tcp.write(frame.subarray(offset, offset + WRITE_SLICE_BYTES));
    }
  }

  writeOne(message: StreamMessage): number {
    this.send(this.compressor.websocketFrame(message, this.windowBits));
    return message.byteLength;
  }

  writeBurst(burst: Burst): number {
    this.send(this.windowBits === 0 ? burst.websocketFrames : burst.compressedFrames(this.compressor, this.windowBits));
    return burst.byteLength;
  }

  writeBatch(messages: readonly StreamMessage[]): number {
    // The events' JSON bytes as they are kept (views into their frames), joined once into the batch.
    const parts: Buffer[] = [this.batchPrefix];
    for (let index = 0; index < messages.length; index++) {
      if (index > 0) parts.push(COMMA);
      parts.push((messages[index] as StreamMessage).websocketBytes);
    }
    parts.push(BATCH_END);
    const bytes = Buffer.concat(parts);
    this.send(this.compressor.frameOf(bytes, this.windowBits));
    return bytes.length;
  }

  writeControl(message: ControlMessage): void {
    this.send(this.compressor.frameOf(Buffer.from(JSON.stringify(message)), this.windowBits));
  }

  closeSlow(): void {
    this.socket.close(CLOSE.SLOW_CONSUMER, 'slow consumer');
    // The close frame waits behind the unsent bytes; a peer that still does not read is cut off.
    setTimeout(() => this.socket.terminate(), SLOW_CONSUMER_CLOSE_GRACE_MS).unref();
  }
}
