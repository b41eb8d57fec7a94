/** POST /events: what is accepted, what is refused and how, and that a refusal publishes nothing. */
import { gzipSync } from 'node:zlib';
import { getJson, post, startApp, type RunningApp } from './support/app';
import { event, events } from './support/factories';

describe('POST /events', () => {
  let service: RunningApp;
  const lastOffset = async (channel: string): Promise<string> =>
    (await getJson(service.http, '/streams/status')).body.channels[channel].last_offset;

  beforeAll(async () => {
    service = await startApp({ service: { max_body_bytes: 64 * 1024, max_batch_events: 20 } });
  });
  afterAll(() => service.close());

  it('refuses malformed JSON with 400 malformed_json', async () => {
    const response = await post(service.http, '/events', '{"channel": "metrics_updates", ');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'malformed_json', message: expect.stringContaining('not valid JSON') });
  });

  it('refuses wrong types and unknown channels naming the field', async () => {
    const wrongType = await post(service.http, '/events', { channel: 'metrics_updates', type: 42, data: {} });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ error: 'invalid_event', details: { problems: [{ field: 'type' }] } });

    const unknown = await post(service.http, '/events', { channel: 'nope', type: 'x', data: {} });
    expect(unknown.status).toBe(400);
    expect((unknown.body as { message: string }).message).toContain('channel: expected one of: metrics_updates, system_alerts');

    const badTime = await post(service.http, '/events', { ...event(), timestamp: 'yesterday' });
    expect(badTime.body).toMatchObject({ details: { problems: [{ field: 'timestamp', message: expect.stringContaining('ISO 8601') }] } });

    const noData = await post(service.http, '/events', { channel: 'metrics_updates', type: 'x' });
    expect(noData.body).toMatchObject({ details: { problems: [{ field: 'data' }] } });

    const extra = await post(service.http, '/events', { ...event(), chanel: 'typo' });
    expect(extra.status).toBe(400);
  });

  it('refuses a whole batch with one bad event, lists it by index, and publishes nothing', async () => {
    const before = await lastOffset('metrics_updates');
    const batch = events(5);
    (batch[3] as { channel: string }).channel = 'nope';
    const response = await post(service.http, '/events', batch);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'invalid_event',
      message: expect.stringContaining('1 of 5 events are invalid; none was accepted: [3].channel'),
      details: { problems: [{ index: 3, field: 'channel' }] },
    });
    expect(await lastOffset('metrics_updates')).toBe(before);
  });

  it('refuses an empty batch and one over max_batch_events', async () => {
    expect((await post(service.http, '/events', [])).status).toBe(400);
    const tooMany = await post(service.http, '/events', events(21));
    expect(tooMany.status).toBe(400);
    expect((tooMany.body as { message: string }).message).toContain('at most 20 events');
  });

  it('refuses a body over max_body_bytes with 413 and publishes nothing', async () => {
    const before = await lastOffset('metrics_updates');
    const response = await post(service.http, '/events', event({ data: { blob: 'z'.repeat(70 * 1024) } }));
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: 'payload_too_large', message: expect.stringContaining('65536') });
    expect(await lastOffset('metrics_updates')).toBe(before);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await fetch(`${service.http}/events`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('takes the same body through the framework route when it is compressed or declares another charset', async () => {
    // The lean path answers plain JSON; these requests fall through to EventsController and must behave the same.
    const gzipped = await fetch(`${service.http}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(event())),
    });
    expect(gzipped.status).toBe(202);
    expect(await gzipped.json()).toMatchObject({ accepted: 1, ids: [expect.stringMatching(/^\w+:\d+$/)] });
    const latin1 = await post(service.http, '/events', event(), { 'content-type': 'application/json; charset=iso-8859-1' });
    expect(latin1.status).toBe(415);
    expect(latin1.body).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('refuses a chunked body that grows past max_body_bytes with 413 and publishes nothing', async () => {
    const before = await lastOffset('metrics_updates');
    const encoder = new TextEncoder();
    const parts = [
      '{"channel":"metrics_updates","type":"x","data":{"blob":"',
      ...Array.from({ length: 80 }, () => 'z'.repeat(1024)),
      '"}}',
    ];
    const response = await fetch(`${service.http}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: ReadableStream.from(parts.map((part) => encoder.encode(part))),
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'payload_too_large' });
    expect(await lastOffset('metrics_updates')).toBe(before);
  });

  it('answers unknown routes with the JSON error shape', async () => {
    const response = await getJson(service.http, '/nowhere/../etc/passwd');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: 'not_found' });
  });
});

describe('POST /events with API keys configured', () => {
  let service: RunningApp;
  const key = 'test-key-0123456789abcdef';

  beforeAll(async () => {
    service = await startApp({}, { DATA_STREAMING_API_KEYS: `other-key-0123456789abcdef,${key}` });
  });
  afterAll(() => service.close());

  it('needs a known key as a Bearer token', async () => {
    const missing = await post(service.http, '/events', event());
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect(missing.body).toMatchObject({ error: 'unauthorized' });
    const wrong = await post(service.http, '/events', event(), { authorization: 'Bearer not-a-key-at-all-000000' });
    expect(wrong.status).toBe(401);
    const right = await post(service.http, '/events', event(), { authorization: `Bearer ${key}` });
    expect(right.status).toBe(202);
  });

  it('needs a key for reading too, except health and metrics', async () => {
    expect((await getJson(service.http, '/streams')).status).toBe(401);
    expect((await fetch(`${service.http}/streams`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await getJson(service.http, '/health')).status).toBe(200);
  });
});
