/**
 * The fan-out's view of one SSE response: pre-encoded event bytes, the same for every subscriber. On a chunked
 * HTTP/1.1 response, events go straight to the TCP socket as pre-built chunks (built once per message or burst)
 * instead of through `response.write`, which frames every write for every response; Node still writes the final
 * chunk at `end()`. In gzip, the response is a gzip stream made of each message's own compressed piece
 * (streams/compression.ts): the pieces are made once per message, only the CRC-32 is combined per response.
 */
import { CLOSE } from '@data-streaming/protocol';
import type { Response } from 'express';
import type { Socket } from 'node:net';
import type { StreamMessage } from '../../bus/stream-message';
import { httpChunk } from '../../common/framing';
import { GZIP_HEADER, gzipPiece, type Compressor, type GzipPiece, type GzipStream } from '../compression';
import type { Burst } from '../fanout/burst';
import { nextConnectionId, type ControlMessage, type Sink } from '../fanout/sink';
import { SLOW_CONSUMER_CLOSE_GRACE_MS } from '../websocket/close-codes';

export function controlEvent(message: ControlMessage, id?: string): string {
  return `event: ${message.kind}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(message)}\n\n`;
}

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');
const KEEP_ALIVE_CHUNK = httpChunk(KEEP_ALIVE);
const KEEP_ALIVE_PIECE = gzipPiece(KEEP_ALIVE, 0);
const KEEP_ALIVE_PIECE_CHUNK = httpChunk(KEEP_ALIVE_PIECE.segment);

export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly connection = nextConnectionId('sse');

  readonly busyAbove: number;
  /** The socket, when events can be written to it as chunks (headers sent, chunked coding, nothing queued). */
  private readonly raw: Socket | undefined;

  /** `gzip`: the response is gzip-encoded (Content-Encoding sent); its header goes out here. */
  constructor(
    private readonly response: Response,
    private readonly compressor: Compressor,
    private readonly gzip: GzipStream | undefined,
  ) {
    const socket = response.socket ?? undefined;
    this.raw =
      response.headersSent && response.chunkedEncoding && socket && response.writableLength === socket.writableLength ? socket : undefined;
    this.busyAbove = (this.raw ?? response).writableHighWaterMark;
    if (gzip) this.body(GZIP_HEADER);
  }

  onceDrained(listener: () => void): void {
    (this.raw ?? this.response).once('drain', listener);
  }

  offDrained(listener: () => void): void {
    (this.raw ?? this.response).off('drain', listener);
  }

  bufferedBytes(): number {
    return this.raw ? this.raw.writableLength : this.response.writableLength;
  }

  sentBytes(): number {
    const socket = this.response.socket;
    return socket ? socket.bytesWritten - socket.writableLength : 0;
  }

  /** Bytes of the response body (gzip-encoded already when in gzip); `chunk`: the same as a pre-built HTTP chunk. */
  private body(data: Buffer, chunk?: Buffer): void {
    if (this.response.writableEnded) return;
    if (!this.raw) this.response.write(data);
    else if (!this.raw.destroyed) this.raw.write(chunk ?? httpChunk(data));
  }

  private piece(piece: GzipPiece, chunk?: Buffer): void {
    (this.gzip as GzipStream).add(piece);
    this.body(piece.segment, chunk);
  }

  /** Writes SSE text made for this response (the retry line, a control event). */
  write(text: string): void {
    const data = Buffer.from(text);
    if (this.gzip) this.piece(this.compressor.pieceOf(data));
    else this.body(data);
  }

  /** The keep-alive comment, its bytes built once for every stream. */
  keepAlive(): void {
    if (this.gzip) this.piece(KEEP_ALIVE_PIECE, KEEP_ALIVE_PIECE_CHUNK);
    else this.body(KEEP_ALIVE, KEEP_ALIVE_CHUNK);
  }

  writeOne(message: StreamMessage): number {
    if (this.gzip) {
      const piece = this.compressor.ssePiece(message);
      this.piece(piece, this.raw && piece.chunk);
    } else {
      this.body(message.sseEventBytes, this.raw && message.sseChunk);
    }
    return message.sseEventBytes.length;
  }

  writeBurst(burst: Burst): number {
    if (this.gzip) {
      const pieces = burst.gzipPieces(this.compressor);
      for (const piece of pieces) this.gzip.add(piece);
      this.body(burst.gzipSegments(this.compressor), this.raw && burst.gzipChunk(this.compressor));
    } else {
      this.body(burst.sseEvents, this.raw && burst.sseChunk);
    }
    return burst.sseEvents.length;
  }

  writeBatch(messages: readonly StreamMessage[]): number {
    const bytes = Buffer.concat(messages.map((message) => message.sseEventBytes));
    if (this.gzip) this.piece(this.compressor.pieceOf(bytes));
    else this.body(bytes);
    return bytes.length;
  }

  writeControl(message: ControlMessage, id?: string): void {
    this.write(controlEvent(message, id));
  }

  /**
   * Ends the stream (after `message`, an error event saying why). With `closeConnection` (the service is going away)
   * the connection closes once the end is written: kept alive, it would outlive the server that could answer on it.
   */
  end(message?: ControlMessage, closeConnection = false): void {
    if (this.response.writableEnded) return;
    if (message) this.write(controlEvent(message));
    if (this.gzip) this.body(this.gzip.trailer());
    // Node detaches the socket from the response on 'finish', before this listener runs: hold it now.
    const socket = this.response.socket;
    if (closeConnection && socket) this.response.once('finish', () => socket.destroySoon());
    this.response.end();
  }

  closeSlow(): void {
    this.end({ kind: 'error', code: CLOSE.SLOW_CONSUMER, reason: 'slow_consumer', message: 'unsent bytes passed the queue cap' });
    setTimeout(() => this.response.destroy(), SLOW_CONSUMER_CLOSE_GRACE_MS).unref();
  }
}
