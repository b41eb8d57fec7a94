/** The fan-out's view of one WebSocket: text frames of pre-encoded bytes, and batch frames built from payloads. */
import type { WebSocket } from 'ws';
import type { StreamMessage } from '../../bus/stream-message';
import type { ControlMessage, Sink, WriteDone } from '../fanout/sink';
import { CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_CLOSE_GRACE_MS } from './close-codes';

export class WebSocketSink implements Sink {
  readonly transport = 'websocket' as const;
  private readonly batchPrefix: string;

  constructor(
    private readonly socket: WebSocket,
    channel: string,
  ) {
    this.batchPrefix = `{"kind":"batch","channel":${JSON.stringify(channel)},"events":[`;
  }

  bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  writeOne(message: StreamMessage, done: WriteDone): number {
    const bytes = message.websocketBytes;
    this.socket.send(bytes, { binary: false }, done);
    return bytes.length;
  }

  writeBatch(messages: readonly StreamMessage[], done: WriteDone): number {
    let text = this.batchPrefix;
    for (let index = 0; index < messages.length; index++) {
      text += (index === 0 ? '' : ',') + (messages[index] as StreamMessage).payload;
    }
    text += ']}';
    const bytes = Buffer.from(text);
    this.socket.send(bytes, { binary: false }, done);
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
