/**
 * Compression made once per message and shared by every subscriber, the technique of gorilla/websocket's prepared
 * messages (on which Centrifugo relies). A message is deflated on its own, with a fresh context, and flushed with
 * Z_SYNC_FLUSH: its deflate segment refers to nothing that went before it on any connection, so the same bytes are
 * valid on every one of them.
 * - A WebSocket that negotiated permessage-deflate with server_no_context_takeover (the service always answers with
 *   it, RFC 7692 §7.1.1.1) gets the segment without its last four bytes (00 00 ff ff) as the payload of a frame with
 *   RSV1 set (RFC 7692 §7.2.1).
 * - An SSE response in gzip gets a gzip header, then segments back to back: a deflate stream may be cut into
 *   byte-aligned, sync-flushed segments that each refer only to themselves. The stream's CRC-32 is combined from
 *   each segment's own (crc32Combine), so nothing is compressed or checksummed per connection.
 * Messages under the threshold go out uncompressed: deflate costs more than it saves on a few hundred bytes.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { StreamMessage } from '../bus/stream-message';
import { httpChunk, textFrame } from '../common/framing';
import { fromPool, type Allocate } from '../common/allocate';

export interface CompressionSettings {
  /** zlib level, 1 (fastest) to 9. */
  level: number;
  /** Payloads smaller than this many bytes are sent uncompressed. */
  threshold: number;
}

/** The deflate window a permessage-deflate socket negotiated (server_max_window_bits), 0 for none. */
export type WindowBits = number;

/**
 * Window sizes a client may ask for (server_max_window_bits). zlib cannot deflate with a 256-byte window (it turns
 * 8 into 9), so a client that asks for 8 gets uncompressed frames, which RFC 7692 allows for any message.
 */
export const MIN_WINDOW_BITS = 9;

/** The server_max_window_bits of a Sec-WebSocket-Extensions response header; 0 when permessage-deflate is absent. */
export function negotiatedWindowBits(header: string | undefined): WindowBits {
  if (header === undefined || !/(^|,)\s*permessage-deflate\b/.test(header)) return 0;
  const bits = /\bserver_max_window_bits=(\d+)/.exec(header);
  const value = bits ? Number(bits[1]) : 15;
  return value >= MIN_WINDOW_BITS && value <= 15 ? value : 0;
}

/** One self-contained deflate segment of `data`, ending with the sync-flush marker (00 00 ff ff). */
export function deflateSegment(data: Buffer, level: number, windowBits = 15): Buffer {
  return deflateRawSync(data, { level, windowBits, finishFlush: constants.Z_SYNC_FLUSH });
}

/** A WebSocket text frame of `payload` compressed with permessage-deflate, no context takeover. */
export function deflatedTextFrame(payload: Buffer, level: number, windowBits: WindowBits, allocate: Allocate = fromPool): Buffer {
  const segment = deflateSegment(payload, level, windowBits);
  return textFrame(segment.subarray(0, segment.length - 4), true, allocate);
}

// CRC-32 combination (zlib's crc32_combine, in the form of zlib 1.2.12): the CRC of A followed by B from the CRCs of
// both and the length of B, in a few hundred operations whatever the lengths.
const POLY = 0xedb88320;

function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^n) modulo the CRC polynomial, for n = 0..31. */
const X2N: number[] = [];
for (let n = 0, p = 0x40000000; n < 32; n++) {
  X2N.push(p);
  p = multiplyModP(p, p);
}

function x2nModP(n: number, k: number): number {
  let p = 0x80000000;
  while (n > 0) {
    if (n % 2 === 1) p = multiplyModP(X2N[k & 31] as number, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return combineShifted(crc1, crc2, x2nModP(length2, 3));
}

/** crc32Combine with the part that depends only on the second length (`x2nModP(length2, 3)`) made beforehand. */
function combineShifted(crc1: number, crc2: number, shift: number): number {
  return (multiplyModP(shift, crc1) ^ crc2) >>> 0;
}

/** A compressed piece of an SSE response: the segment, and the CRC-32 and length of what it holds. */
export interface GzipPiece {
  segment: Buffer;
  crc: number;
  length: number;
  /**
   * What appending this piece does to a CRC that went before, which depends only on its length: made once per
   * piece, so each response pays one multiplication per message, not the whole combination.
   */
  shift: number;
  /** The segment as one HTTP/1.1 chunk, when made for a message (the segment is then a view into it). */
  chunk?: Buffer;
}

/** A piece of a gzip stream holding `data`: deflated at `level`, or stored as it is (level 0, up to 64 KiB). */
export function gzipPiece(data: Buffer, level: number): GzipPiece {
  return {
    segment: level === 0 && data.length <= 0xffff ? storedBlock(data) : deflateSegment(data, level),
    crc: crc32(data),
    length: data.length,
    shift: x2nModP(data.length, 3),
  };
}

/** A non-final stored deflate block (RFC 1951 §3.2.4), for a stream that is byte-aligned after a sync flush. */
function storedBlock(data: Buffer): Buffer {
  const block = Buffer.allocUnsafe(5 + data.length);
  block[0] = 0;
  block.writeUInt16LE(data.length, 1);
  block.writeUInt16LE(~data.length & 0xffff, 3);
  data.copy(block, 5);
  return block;
}

/** gzip member header (RFC 1952): deflate, no name, no time, unknown OS. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** The running state of one gzip response: CRC-32 and size of everything written, for the trailer. */
export class GzipStream {
  private crc = 0;
  private size = 0;

  add(piece: GzipPiece): Buffer {
    this.crc = this.size === 0 ? piece.crc : combineShifted(this.crc, piece.crc, piece.shift);
    this.size += piece.length;
    return piece.segment;
  }

  /** The last block (final, empty, fixed Huffman: 03 00), then CRC-32 and size modulo 2^32, little-endian. */
  trailer(): Buffer {
    const trailer = Buffer.alloc(10);
    trailer[0] = 0x03;
    trailer.writeUInt32LE(this.crc, 2);
    trailer.writeUInt32LE(this.size % 2 ** 32, 6);
    return trailer;
  }
}

/** Each message's compressed forms, made on first use and kept with the message. */
export class Compressor {
  constructor(private readonly settings: CompressionSettings) {}

  /** The frame for a socket with this window: the message's compressed frame, or its plain one under the threshold. */
  websocketFrame(message: StreamMessage, windowBits: WindowBits): Buffer {
    if (windowBits === 0 || message.byteLength < this.settings.threshold) return message.websocketFrame;
    return message.encoding(`ws-deflate-${windowBits}`, () =>
      deflatedTextFrame(message.websocketBytes, this.settings.level, windowBits, message.allocate),
    ) as Buffer;
  }

  /** A frame of bytes made for one socket (a batch, a control message). */
  frameOf(payload: Buffer, windowBits: WindowBits): Buffer {
    return windowBits === 0 || payload.length < this.settings.threshold
      ? textFrame(payload)
      : deflatedTextFrame(payload, this.settings.level, windowBits);
  }

  /**
   * The message's SSE event as a piece of a gzip stream (stored, not deflated, under the threshold), kept with the
   * message as one buffer: its HTTP chunk, the segment a view into it.
   */
  ssePiece(message: StreamMessage): GzipPiece {
    return message.encoding('sse-gzip', () => {
      const piece = this.pieceOf(message.sseEventBytes);
      const chunk = httpChunk(piece.segment, message.allocate);
      const start = chunk.indexOf(0x0a) + 1;
      return { ...piece, chunk, segment: chunk.subarray(start, chunk.length - 2) };
    }) as GzipPiece;
  }

  pieceOf(data: Buffer): GzipPiece {
    return gzipPiece(data, data.length < this.settings.threshold ? 0 : this.settings.level);
  }
}
