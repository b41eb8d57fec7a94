import type { Writable } from 'node:stream';
import { Receiver } from 'ws';
import { framePayload, sseEventChunk, textFrameOf } from './framing';

// `ws` exports its frame parser (`WebSocket.Receiver`), which @types/ws does not declare.
declare module 'ws' {
  class Receiver extends Writable {
    constructor(options: { isServer: boolean });
  }
}

/** What `ws`, the client most subscribers use, reads from the bytes (a client receives unmasked frames). */
function readByWs(frame: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error('binary')) : resolve(data.toString('utf8'))));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('WebSocket framing', () => {
  it.each([0, 125, 126, 65_535, 65_536, 70_000])('frames a %i-byte text that ws reads back, and finds its payload', async (length) => {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'x'.repeat(length % 2);
    const frame = textFrameOf(text);
    await expect(readByWs(frame)).resolves.toBe(text);
    expect(framePayload(frame).toString('utf8')).toBe(text);
  });
});

describe('SSE event as an HTTP chunk', () => {
  it('is a size line in hex, the event, CRLF; the event starts at start', () => {
    const json = Buffer.from(JSON.stringify({ kind: 'event', note: 'naïve 🚀' }));
    const { chunk, start } = sseEventChunk('e1:42', json);
    const event = Buffer.concat([Buffer.from('id: e1:42\ndata: '), json, Buffer.from('\n\n')]);
    expect(chunk.subarray(0, start).toString('latin1')).toBe(`${event.length.toString(16)}\r\n`);
    expect(chunk.subarray(start, chunk.length - 2)).toEqual(event);
    expect(chunk.subarray(chunk.length - 2).toString('latin1')).toBe('\r\n');
  });
});
