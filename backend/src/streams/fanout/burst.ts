/**
 * Messages of one channel published within one turn of the event loop, delivered together: their bytes are joined
 * once per burst (not per subscriber), so a subscriber that keeps up gets the whole burst in one socket write. Each
 * message keeps its own WebSocket frame or SSE event inside the joined bytes, so clients see individual messages,
 * exactly as if they had been written one by one. Under light load a burst is one message; under heavy load bursts
 * grow by themselves, which is batching only under pressure.
 */
import type { StreamMessage } from '../../bus/stream-message';
import { httpChunk } from '../../common/framing';
import type { Compressor, GzipPiece, WindowBits } from '../compression';

export class Burst {
  private frames?: Buffer;
  private sse?: Buffer;
  private sseChunkBytes?: Buffer;
  private compressed?: Map<WindowBits, Buffer>;
  private ssePieces?: GzipPiece[];
  private gzipBytes?: Buffer;
  private gzipChunkBytes?: Buffer;
  readonly byteLength: number;

  constructor(readonly messages: readonly StreamMessage[]) {
    this.byteLength = messages.reduce((sum, message) => sum + message.byteLength, 0);
  }

  get first(): StreamMessage {
    return this.messages[0] as StreamMessage;
  }

  get last(): StreamMessage {
    return this.messages[this.messages.length - 1] as StreamMessage;
  }

  /** Every message's complete WebSocket frame, back to back. */
  get websocketFrames(): Buffer {
    return (this.frames ??= Buffer.concat(this.messages.map((message) => message.websocketFrame)));
  }

  /** Every message's frame for a permessage-deflate socket with this window, back to back. */
  compressedFrames(compressor: Compressor, windowBits: WindowBits): Buffer {
    this.compressed ??= new Map();
    let frames = this.compressed.get(windowBits);
    if (!frames) {
      frames = Buffer.concat(this.messages.map((message) => compressor.websocketFrame(message, windowBits)));
      this.compressed.set(windowBits, frames);
    }
    return frames;
  }

  /** Every message's SSE event as a piece of a gzip stream. */
  gzipPieces(compressor: Compressor): readonly GzipPiece[] {
    return (this.ssePieces ??= this.messages.map((message) => compressor.ssePiece(message)));
  }

  /** The segments of those pieces, back to back. */
  gzipSegments(compressor: Compressor): Buffer {
    return (this.gzipBytes ??= Buffer.concat(this.gzipPieces(compressor).map((piece) => piece.segment)));
  }

  gzipChunk(compressor: Compressor): Buffer {
    return (this.gzipChunkBytes ??= httpChunk(this.gzipSegments(compressor)));
  }

  /** Every message's SSE event, back to back, as one HTTP/1.1 chunk. */
  get sseChunk(): Buffer {
    return (this.sseChunkBytes ??= httpChunk(this.sseEvents));
  }

  /** Every message's SSE event, back to back. */
  get sseEvents(): Buffer {
    return (this.sse ??= Buffer.concat(this.messages.map((message) => message.sseEventBytes)));
  }
}
