// The tables agree with each other, and the schemas take what the protocol documents and refuse what it does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLOSE,
  CLOSE_CODES,
  ERROR_CODES,
  closeCodeForStatus,
  errorBodySchema,
  publishBodySchemaFor,
  serverFrameSchema,
  sseDataSchemas,
} from '../dist/index.js';

const event = {
  kind: 'event',
  id: 'mwy0ck7o6e08:19',
  channel: 'metrics_updates',
  type: 'llm.metrics',
  timestamp: '2026-11-26T20:31:24.937Z',
  key: 'cluster',
  data: { latency_ms: 212 },
};

describe('codes', () => {
  it('describes every close code once, and maps refusals to the codes browsers can read', () => {
    assert.deepEqual(Object.keys(CLOSE_CODES).map(Number).sort(), Object.values(CLOSE).sort());
    assert.equal(closeCodeForStatus(404), CLOSE.NOT_FOUND);
    assert.equal(closeCodeForStatus(503), CLOSE.TRY_AGAIN_LATER);
    assert.equal(closeCodeForStatus(500), undefined);
  });

  it('gives every error code an HTTP error status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      assert.ok(status >= 400 && status < 600, code);
      assert.ok(errorBodySchema.safeParse({ error: code, message: 'm' }).success, code);
    }
  });
});

describe('frames', () => {
  it('takes each documented frame kind', () => {
    const frames = [
      {
        kind: 'welcome',
        channel: 'metrics_updates',
        epoch: 'mwy0ck7o6e08',
        last_id: 'mwy0ck7o6e08:19',
        resumed: false,
        recovered: true,
        replayed: 0,
      },
      {
        kind: 'welcome',
        channel: 'metrics_updates',
        epoch: 'e',
        last_id: 'e:5',
        resumed: true,
        recovered: false,
        reason: 'history_exceeded',
        replayed: 3,
        from_reached: '2026-11-26T20:31:24.937Z',
      },
      event,
      { ...event, conflated: 3 },
      { kind: 'batch', channel: 'metrics_updates', events: [event, { ...event, id: 'mwy0ck7o6e08:20' }] },
      { kind: 'snapshot', channel: 'system_metrics', id: 'e:4', data: { values: {} } },
      { kind: 'error', code: 4400, reason: 'unsupported_message', message: 'the only client message is {"kind":"ping"}' },
      { kind: 'pong' },
    ];
    for (const frame of frames) assert.ok(serverFrameSchema.safeParse(frame).success, JSON.stringify(frame));
    assert.ok(sseDataSchemas.message.safeParse(event).success);
  });

  it('refuses unknown kinds, unknown fields, bad ids and empty batches', () => {
    for (const frame of [
      { kind: 'hello' },
      { ...event, extra: 1 },
      { ...event, id: 'not-an-id' },
      { ...event, timestamp: '2026-11-26 20:31' },
      { kind: 'batch', channel: 'metrics_updates', events: [] },
      {
        kind: 'welcome',
        channel: 'metrics_updates',
        epoch: 'e',
        last_id: 'e:1',
        resumed: true,
        recovered: false,
        reason: 'because',
        replayed: 0,
      },
    ]) {
      assert.equal(serverFrameSchema.safeParse(frame).success, false, JSON.stringify(frame));
    }
  });
});

describe('publishing', () => {
  const body = publishBodySchemaFor(['metrics_updates'], 2);

  it('takes one event or a batch of at most the limit, on configured channels only', () => {
    const one = { channel: 'metrics_updates', type: 'llm.request', data: { model: 'llama' } };
    assert.ok(body.safeParse(one).success);
    assert.ok(body.safeParse([one, one]).success);
    assert.equal(body.safeParse([one, one, one]).success, false);
    assert.equal(body.safeParse([]).success, false);
    assert.equal(body.safeParse({ ...one, channel: 'system_alerts' }).success, false);
    assert.equal(body.safeParse({ ...one, data: undefined }).success, false);
  });
});
