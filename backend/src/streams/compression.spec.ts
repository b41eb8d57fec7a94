import { randomBytes } from 'node:crypto';
import { constants, crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { crc32Combine, deflatedTextFrame, GZIP_HEADER, gzipPiece, GzipStream, negotiatedWindowBits } from './compression';

/** How a receiver reads a stream that is not finished: up to the last flush point. */
const SYNC = { finishFlush: constants.Z_SYNC_FLUSH };

/** Text that compresses like JSON does, with some randomness so that pieces differ. */
const jsonish = (length: number): Buffer =>
  Buffer.from(
    Array.from({ length: Math.ceil(length / 40) }, (_, index) => `{"k":${index},"v":"${randomBytes(6).toString('hex')}"},`)
      .join('')
      .slice(0, length),
  );

describe('crc32Combine', () => {
  it('gives the CRC-32 of the concatenation, for lengths from 0 to megabytes', () => {
    for (const [first, second] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [7, 13],
      [1000, 65_536],
      [3, 1_048_577],
    ] as const) {
      const a = randomBytes(first);
      const b = randomBytes(second);
      expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
    }
  });
});

describe('a gzip stream made of pieces deflated once each', () => {
  it('decompresses (header, trailer and CRC checked by zlib) to everything written, in order', () => {
    for (let round = 0; round < 20; round++) {
      const stream = new GzipStream();
      const parts: Buffer[] = [GZIP_HEADER];
      const written: Buffer[] = [];
      for (let index = 0; index < 1 + (round % 7) * 5; index++) {
        const data = jsonish(Math.floor(Math.random() * 20_000));
        written.push(data);
        parts.push(stream.add(gzipPiece(data, index % 3 === 0 ? 0 : 1 + (index % 9))));
      }
      parts.push(stream.trailer());
      expect(gunzipSync(Buffer.concat(parts)).equals(Buffer.concat(written))).toBe(true);
    }
  });

  it('can be read piece by piece as it arrives (each piece ends on a flush point)', () => {
    const data = jsonish(5000);
    const piece = gzipPiece(data, 1);
    expect(piece.segment.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
    expect(inflateRawSync(piece.segment, SYNC).equals(data)).toBe(true);
  });
});

describe('a permessage-deflate frame', () => {
  it('sets RSV1 and holds the message deflated without the sync-flush tail (RFC 7692 §7.2.1)', () => {
    const payload = jsonish(4000);
    const frame = deflatedTextFrame(payload, 1, 15);
    expect(frame[0]).toBe(0xc1);
    const length = frame[1] as number;
    const body = length === 126 ? frame.subarray(4) : frame.subarray(2);
    expect(body.length).toBeLessThan(payload.length / 2);
    // What a receiver does (RFC 7692 §7.2.2): append 00 00 ff ff and inflate.
    expect(inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), SYNC).equals(payload)).toBe(true);
  });

  it('reads the negotiated window from the response header', () => {
    expect(negotiatedWindowBits(undefined)).toBe(0);
    expect(negotiatedWindowBits(' permessage-deflate; server_no_context_takeover; client_no_context_takeover')).toBe(15);
    expect(negotiatedWindowBits(' permessage-deflate; server_no_context_takeover; server_max_window_bits=10')).toBe(10);
    // zlib cannot deflate with a 256-byte window: such a socket gets uncompressed frames.
    expect(negotiatedWindowBits(' permessage-deflate; server_max_window_bits=8')).toBe(0);
  });
});
