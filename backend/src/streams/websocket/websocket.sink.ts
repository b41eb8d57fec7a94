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
import type { ControlMessage, Sink } from '../fanout/sink';
import { SLOW_CONSUMER_CLOSE_GRACE_MS } from './close-codes';

const OPEN = 1;

export class WebSocketSink implements Sink {
  readonly transport = 'websocket' as const;
  private readonly batchPrefix: string;
  readonly busyAbove: number;

  /** `windowBits`: the negotiated permessage-deflate window, 0 when frames go uncompressed. */
  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Duplex,
    channel: string,
    private readonly compressor: Compressor,
    private readonly windowBits: WindowBits,
  ) {
    this.batchPrefix = `{"kind":"batch","channel":${JSON.stringify(channel)},"events":[`;
    this.busyAbove = tcp.writableHighWaterMark;
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
    return (this.tcp as Socket).bytesWritten - this.tcp.writableLength;
  }

  /** After a close frame nothing else may follow on the socket (RFC 6455 §5.5.1). */
  private send(frame: Buffer): void {
    if (this.socket.readyState === OPEN) this.tcp.write(frame);
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
    let text = this.batchPrefix;
    for (let index = 0; index < messages.length; index++) {
      text += (index === 0 ? '' : ',') + (messages[index] as StreamMessage).payload;
    }
    text += ']}';
    const bytes = Buffer.from(text);
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
