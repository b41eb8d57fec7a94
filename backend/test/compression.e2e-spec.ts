/**
 * Compression as real clients negotiate it: `ws` with permessage-deflate (its default offer, and one that asks for a
 * smaller window), SSE with Accept-Encoding: gzip. Each message is compressed once for every subscriber
 * (streams/compression.ts); these tests check the bytes clients decode, and that they are compressed on the wire.
 */
import type { Socket } from 'node:net';
import { eventually, post, startApp, type RunningApp } from './support/app';
import { event } from './support/factories';
import { SseReader } from './support/sse-reader';
import { WsClient } from './support/ws-client';

/** Dashboard-like JSON of about `bytes` bytes: compressible the way real payloads are. */
const payload = (sequence: number, bytes: number) => ({
  sequence,
  rows: Array.from({ length: Math.ceil(bytes / 60) }, (_, index) => ({ model: `model-${index % 7}`, p99_ms: index * 1.5 + sequence })),
});

const wireBytes = (client: WsClient): number => (client.socket as unknown as { _socket: Socket })._socket.bytesRead;

describe('compression', () => {
  let service: RunningApp;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    service = await startApp();
  });
  afterEach(() => open.splice(0).forEach((client) => client.close()));
  afterAll(() => service.close());

  it('sends every WebSocket message compressed once, decoded intact by deflate clients, plain to the others', async () => {
    const deflate = await WsClient.subscribe(`${service.ws}/ws/business_events`);
    const smallWindow = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: { serverMaxWindowBits: 10 } });
    const plain = await WsClient.subscribe(`${service.ws}/ws/business_events`, { perMessageDeflate: false });
    open.push(deflate, smallWindow, plain);
    expect(deflate.socket.extensions).toBe('permessage-deflate');
    expect(smallWindow.socket.extensions).toBe('permessage-deflate');
    expect(plain.socket.extensions).toBe('');
    const before = [deflate, smallWindow, plain].map(wireBytes);

    // One request of 20 events (one burst), then single events of 2 KB and 16 KB, and small ones under the threshold.
    const published = [
      ...Array.from({ length: 20 }, (_, index) => event({ channel: 'business_events', data: payload(index, 2048) })),
      event({ channel: 'business_events', data: payload(20, 2048) }),
      event({ channel: 'business_events', data: payload(21, 16_384) }),
      event({ channel: 'business_events', data: { small: true } }),
    ];
    expect((await post(service.http, '/events', published.slice(0, 20))).status).toBe(202);
    for (const single of published.slice(20)) expect((await post(service.http, '/events', single)).status).toBe(202);

    for (const client of [deflate, smallWindow, plain]) {
      const received = await client.waitForEvents(published.length);
      expect(received.map((item) => item.data)).toEqual(published.map((item) => item.data));
    }
    const [deflated, windowed, uncompressed] = [deflate, smallWindow, plain].map(
      (client, index) => wireBytes(client) - (before[index] as number),
    );
    expect(deflated).toBeLessThan((uncompressed as number) / 3);
    expect(windowed).toBeLessThan((uncompressed as number) / 2);
  });

  it('compresses control frames too: a dashboard snapshot reaches a deflate client whole', async () => {
    const viewer = await WsClient.subscribe(`${service.ws}/ws/dashboards/operational_overview`);
    open.push(viewer);
    const snapshot = await eventually(() => viewer.frames.find((frame) => frame.kind === 'snapshot'));
    expect(Array.isArray(snapshot.data.panels)).toBe(true);
    // The application ping is answered in order on the same compressed connection.
    viewer.socket.send('{"kind":"ping"}');
    await eventually(() => (viewer.frames.at(-1)?.kind === 'pong' ? true : undefined));
  });
});

describe('SSE in gzip', () => {
  it('is one valid gzip stream from the first event to the end of the response, CRC and size checked', async () => {
    const service = await startApp();
    const zipped = await SseReader.open(`${service.http}/sse/business_analytics`, { 'accept-encoding': 'gzip, deflate' });
    const plain = await SseReader.open(`${service.http}/sse/business_analytics`);
    await zipped.waitFor((item) => item.event === 'welcome');
    await plain.waitFor((item) => item.event === 'welcome');
    expect(zipped.response.headers['content-encoding']).toBe('gzip');
    let zippedBytes = 0;
    let plainBytes = 0;
    zipped.response.on('data', (chunk: Buffer) => (zippedBytes += chunk.length));
    plain.response.on('data', (chunk: Buffer) => (plainBytes += chunk.length));

    const published = [
      ...Array.from({ length: 10 }, (_, index) => event({ channel: 'business_events', data: payload(index, 2048) })),
      event({ channel: 'business_events', data: payload(10, 16_384) }),
      event({ channel: 'business_events', data: { small: true } }),
    ];
    expect((await post(service.http, '/events', published.slice(0, 10))).status).toBe(202);
    for (const single of published.slice(10)) expect((await post(service.http, '/events', single)).status).toBe(202);
    for (const reader of [zipped, plain]) {
      const received = await reader.waitForMessages(published.length);
      expect(received.map((item) => item.data)).toEqual(published.map((item) => item.data));
    }
    expect(zippedBytes).toBeLessThan(plainBytes / 3);

    // Shutting down ends the stream: its last event, the last deflate block and the gzip trailer.
    await service.close();
    await zipped.waitForEnd();
    expect(zipped.error).toBeUndefined();
    expect(zipped.events.at(-1)?.json).toMatchObject({ reason: 'going_away' });
  });

  it('is not used when the client refuses it', async () => {
    const service = await startApp();
    try {
      const reader = await SseReader.open(`${service.http}/sse/business_analytics`, { 'accept-encoding': 'gzip;q=0, identity' });
      await reader.waitFor((item) => item.event === 'welcome');
      expect(reader.response.headers['content-encoding']).toBeUndefined();
      reader.close();
    } finally {
      await service.close();
    }
  });
});
