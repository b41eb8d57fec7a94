/**
 * The transports' framing, built once per message or batch so the same bytes go to every subscriber without
 * per-connection work: server-to-client WebSocket text frames (RFC 6455 §5.2: FIN, opcode 1, no mask; RSV1 for a
 * compressed payload), and chunks of HTTP/1.1 chunked transfer coding for SSE responses written straight to the
 * socket. Below the bus (a kept message holds its frames) and the transports alike.
 */
import { fromPool, type Allocate } from './allocate';

export function textFrame(payload: Buffer, compressed = false, allocate: Allocate = fromPool): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = allocate(header + length);
  writeHeader(frame, length, compressed);
  payload.copy(frame, header);
  return frame;
}

function writeHeader(frame: Buffer, length: number, compressed: boolean): void {
  // FIN, RSV1 when the payload is permessage-deflate compressed (RFC 7692 §6), opcode 1 (text).
  frame[0] = compressed ? 0xc1 : 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
}

/** The text frame of a string, encoded straight into the frame (one allocation, no intermediate copy). */
export function textFrameOf(text: string, allocate: Allocate = fromPool): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = allocate(header + length);
  writeHeader(frame, length, false);
  frame.write(text, header, 'utf8');
  return frame;
}

/** The payload of a server-to-client frame (unmasked): a view past its header. */
export function framePayload(frame: Buffer): Buffer {
  const marker = (frame[1] as number) & 0x7f;
  return frame.subarray(marker === 126 ? 4 : marker === 127 ? 10 : 2);
}

/** One chunk of HTTP/1.1 chunked transfer coding (RFC 9112 §7.1) around `data`. */
export function httpChunk(data: Buffer, allocate: Allocate = fromPool): Buffer {
  const sizeLine = `${data.length.toString(16)}\r\n`;
  const chunk = allocate(sizeLine.length + data.length + 2);
  chunk.write(sizeLine, 0, 'latin1');
  data.copy(chunk, sizeLine.length);
  chunk.write('\r\n', sizeLine.length + data.length, 'latin1');
  return chunk;
}

/**
 * An SSE event (`id:` and one `data:` line; JSON text has no line break) as one HTTP/1.1 chunk, built in one buffer
 * from the JSON's bytes: the event itself is `chunk.subarray(start, chunk.length - 2)`.
 */
export function sseEventChunk(id: string, json: Buffer, allocate: Allocate = fromPool): { chunk: Buffer; start: number } {
  const head = `id: ${id}\ndata: `;
  const length = head.length + json.length + 2;
  const sizeLine = `${length.toString(16)}\r\n`;
  const chunk = allocate(sizeLine.length + length + 2);
  let at = chunk.write(sizeLine, 0, 'latin1');
  at += chunk.write(head, at, 'latin1');
  at += json.copy(chunk, at);
  chunk.write('\n\n\r\n', at, 'latin1');
  return { chunk, start: sizeLine.length };
}
