/**
 * The fan-out's view of one SSE response: pre-encoded event bytes, optionally through gzip flushed per write.
 * Without gzip, on a chunked HTTP/1.1 response, events go straight to the TCP socket as pre-built chunks (the same
 * bytes for every subscriber, built once per message or burst) instead of through `response.write`, which frames
 * every write for every response; Node still writes the final chunk at `end()`.
 */
import type { Response } from 'express';
import type { Socket } from 'node:net';
import { constants, type Gzip } from 'node:zlib';
import { httpChunk, type StreamMessage } from '../../bus/stream-message';
import type { Burst } from '../fanout/burst';
import type { ControlMessage, Sink } from '../fanout/sink';
import { CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_CLOSE_GRACE_MS } from '../websocket/close-codes';

export function controlEvent(message: ControlMessage, id?: string): string {
  return `event: ${message.kind}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(message)}\n\n`;
}

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');
const KEEP_ALIVE_CHUNK = httpChunk(KEEP_ALIVE);

export class SseSink implements Sink {
  readonly transport = 'sse' as const;

  readonly busyAbove: number;
  /** The socket, when events can be written to it as chunks (headers sent, chunked coding, nothing queued). */
  private readonly raw: Socket | undefined;

  constructor(
    private readonly response: Response,
    private readonly gzip: Gzip | undefined,
  ) {
    const socket = response.socket ?? undefined;
    this.raw =
      !gzip && response.headersSent && response.chunkedEncoding && socket && response.writableLength === socket.writableLength
        ? socket
        : undefined;
    this.busyAbove = (gzip ?? this.raw ?? response).writableHighWaterMark;
  }

  onceDrained(listener: () => void): void {
    (this.gzip ?? this.raw ?? this.response).once('drain', listener);
  }

  offDrained(listener: () => void): void {
    (this.gzip ?? this.raw ?? this.response).off('drain', listener);
  }

  bufferedBytes(): number {
    if (this.raw) return this.raw.writableLength;
    const zipped = this.gzip ? this.gzip.writableLength + this.gzip.readableLength : 0;
    return this.response.writableLength + zipped;
  }

  /** Writes raw SSE text or bytes, flushing the compressor so the event leaves now. */
  write(chunk: Buffer | string): void {
    if (this.response.writableEnded) return;
    if (this.raw) {
      this.writeChunk(httpChunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    } else if (this.gzip) {
      this.gzip.write(chunk);
      this.gzip.flush(constants.Z_SYNC_FLUSH);
    } else {
      this.response.write(chunk);
    }
  }

  /** The keep-alive comment, its bytes built once for every stream. */
  keepAlive(): void {
    if (this.raw) this.writeChunk(KEEP_ALIVE_CHUNK);
    else this.write(KEEP_ALIVE);
  }

  private writeChunk(chunk: Buffer): void {
    if (!this.response.writableEnded && this.raw && !this.raw.destroyed) this.raw.write(chunk);
  }

  writeOne(message: StreamMessage): number {
    if (this.raw) this.writeChunk(message.sseChunk);
    else this.write(message.sseEventBytes);
    return message.sseEventBytes.length;
  }

  writeBurst(burst: Burst): number {
    if (this.raw) this.writeChunk(burst.sseChunk);
    else this.write(burst.sseEvents);
    return burst.sseEvents.length;
  }

  writeBatch(messages: readonly StreamMessage[]): number {
    const bytes = Buffer.concat(messages.map((message) => message.sseEventBytes));
    this.write(bytes);
    return bytes.length;
  }

  writeControl(message: ControlMessage, id?: string): void {
    this.write(controlEvent(message, id));
  }

  end(message?: ControlMessage): void {
    if (this.response.writableEnded) return;
    if (message) this.write(controlEvent(message));
    if (this.gzip) this.gzip.end();
    else this.response.end();
  }

  closeSlow(): void {
    this.end({ kind: 'error', code: CLOSE_SLOW_CONSUMER, reason: 'slow_consumer', message: 'unsent bytes passed the queue cap' });
    setTimeout(() => this.response.destroy(), SLOW_CONSUMER_CLOSE_GRACE_MS).unref();
  }
}
