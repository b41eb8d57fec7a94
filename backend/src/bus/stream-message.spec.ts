import { StreamMessage } from './stream-message';

const input = { type: 'llm.request', key: 'tenant-ä', data: { model: 'llama-3.1-8b-instruct', note: 'naïve “quotes” 🚀', tokens: 512 } };

describe('StreamMessage', () => {
  it('keeps only bytes once released: the text, the event and the SSE chunk come back intact from the frame', () => {
    const message = StreamMessage.create('metrics_updates', 'epoch1', 7, input);
    const text = message.payload;
    const frame = Buffer.from(message.websocketFrame);
    message.release();

    expect(message.payload).toBe(text);
    expect(message.event).toEqual(JSON.parse(text));
    expect(message.byteLength).toBe(Buffer.byteLength(text));
    expect(Buffer.from(message.websocketFrame)).toEqual(frame);
    const chunk = message.sseChunk.toString('utf8');
    const event = `id: epoch1:7\ndata: ${text}\n\n`;
    expect(chunk).toBe(`${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`);
    expect(message.sseEventBytes.toString('utf8')).toBe(event);
  });

  it('makes its frame when released if no transport asked for it, so that history holds bytes, not text', () => {
    const message = StreamMessage.create('business_events', 'epoch1', 1, input).release();
    expect(message.websocketBytes.toString('utf8')).toBe(message.payload);
    expect(JSON.parse(message.payload)).toMatchObject({ kind: 'event', id: 'epoch1:1', type: 'llm.request', data: input.data });
  });

  it("cuts its bytes from its channel's slabs, not from Node's shared pool", () => {
    const first = StreamMessage.create('spec.slab.channel', 'epoch1', 1, input).release();
    const second = StreamMessage.create('spec.slab.channel', 'epoch1', 2, input).release();
    expect(second.websocketFrame.buffer).toBe(first.websocketFrame.buffer);
    expect(first.websocketFrame.buffer).not.toBe(Buffer.allocUnsafe(16).buffer);
  });
});
