/** The fan-out's view of one SSE response: pre-encoded event bytes, optionally through gzip flushed per write. */
import type { Response } from 'express';
import { constants, type Gzip } from 'node:zlib';
import type { StreamMessage } from '../../bus/stream-message';
import type { Burst } from '../fanout/burst';
import type { ControlMessage, Sink } from '../fanout/sink';
import { CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_CLOSE_GRACE_MS } from '../websocket/close-codes';

export function controlEvent(message: ControlMessage, id?: string): string {
  return `event: ${message.kind}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(message)}\n\n`;
}

export class SseSink implements Sink {
  readonly transport = 'sse' as const;

  readonly busyAbove: number;

  constructor(
    private readonly response: Response,
    private readonly gzip: Gzip | undefined,
  ) {
    this.busyAbove = (gzip ?? response).writableHighWaterMark;
  }

  onceDrained(listener: () => void): void {
    (this.gzip ?? this.response).once('drain', listener);
  }

  offDrained(listener: () => void): void {
    (this.gzip ?? this.response).off('drain', listener);
  }

  bufferedBytes(): number {
    const zipped = this.gzip ? this.gzip.writableLength + this.gzip.readableLength : 0;
    return this.response.writableLength + zipped;
  }

  /** Writes raw SSE text or bytes, flushing the compressor so the event leaves now. */
  write(chunk: Buffer | string): void {
    if (this.response.writableEnded) return;
    if (this.gzip) {
      this.gzip.write(chunk);
      this.gzip.flush(constants.Z_SYNC_FLUSH);
    } else {
      this.response.write(chunk);
    }
  }

  writeOne(message: StreamMessage): number {
    const bytes = message.sseEventBytes;
    this.write(bytes);
    return bytes.length;
  }

  writeBurst(burst: Burst): number {
    const bytes = burst.sseEvents;
    this.write(bytes);
    return bytes.length;
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
