/**
 * The fan-out's view of one WebSocket. A socket that negotiated no extension gets the message's pre-built frame
 * written straight to its TCP socket: the same bytes for every subscriber, no per-socket framing. With
 * permessage-deflate negotiated, frames go through `ws`, which compresses them for that socket.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamMessage } from '../../bus/stream-message';
import type { Burst } from '../fanout/burst';
import type { ControlMessage, Sink } from '../fanout/sink';
import { CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_CLOSE_GRACE_MS } from './close-codes';
import { textFrame } from './frame';

const OPEN = 1;

export class WebSocketSink implements Sink {
  readonly transport = 'websocket' as const;
  private readonly batchPrefix: string;

  private readonly raw: Duplex | undefined;
  readonly busyAbove: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Duplex,
    channel: string,
  ) {
    this.batchPrefix = `{"kind":"batch","channel":${JSON.stringify(channel)},"events":[`;
    this.raw = socket.extensions === '' ? tcp : undefined;
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

  writeOne(message: StreamMessage): number {
    // After a close frame nothing else may follow on the socket (RFC 6455 §5.5.1); `ws` guards its own sends.
    if (this.socket.readyState !== OPEN) return 0;
    if (this.raw) {
      this.raw.write(message.websocketFrame);
      return message.byteLength;
    }
    const bytes = message.websocketBytes;
    this.socket.send(bytes, { binary: false });
    return bytes.length;
  }

  writeBurst(burst: Burst): number {
    if (this.socket.readyState !== OPEN) return 0;
    if (this.raw) {
      this.raw.write(burst.websocketFrames);
      return burst.byteLength;
    }
    for (const message of burst.messages) this.socket.send(message.websocketBytes, { binary: false });
    return burst.byteLength;
  }

  writeBatch(messages: readonly StreamMessage[]): number {
    if (this.socket.readyState !== OPEN) return 0;
    let text = this.batchPrefix;
    for (let index = 0; index < messages.length; index++) {
      text += (index === 0 ? '' : ',') + (messages[index] as StreamMessage).payload;
    }
    text += ']}';
    const bytes = Buffer.from(text);
    if (this.raw) this.raw.write(textFrame(bytes));
    else this.socket.send(bytes, { binary: false });
    return bytes.length;
  }

  writeControl(message: ControlMessage): void {
    this.socket.send(JSON.stringify(message));
  }

  closeSlow(): void {
    this.socket.close(CLOSE_SLOW_CONSUMER, 'slow consumer');
    // The close frame waits behind the unsent bytes; a peer that still does not read is cut off.
    setTimeout(() => this.socket.terminate(), SLOW_CONSUMER_CLOSE_GRACE_MS).unref();
  }
}
