import { ChannelLog } from './channel-log';
import { ReceiptCache, IdempotencyConflictError, scopedKey } from './receipts';
import { StreamMessage } from './stream-message';

const t0 = 1_800_000_000_000;

function message(log: ChannelLog, at: number, size = 10): StreamMessage {
  return new StreamMessage(log.name, log.epoch, log.lastOffset + 1, undefined, JSON.stringify({ pad: 'x'.repeat(size) }), 0, at);
}

describe('ChannelLog', () => {
  it('keeps at most `capacity` messages, the newest', () => {
    const log = new ChannelLog('a', 'e', { capacity: 3, maxBytes: 1e9, maxAgeMs: 1e12 });
    for (let index = 0; index < 5; index++) log.append(message(log, t0 + index));
    expect(log.state()).toEqual({ epoch: 'e', lastOffset: 5, firstOffset: 3, depth: 3, capacity: 3 });
    expect(log.slice(1).map((held) => held.offset)).toEqual([3, 4, 5]);
    expect([log.covers(2), log.covers(1)]).toEqual([true, false]);
  });

  it('keeps at most `maxBytes` of payload, but always the newest message', () => {
    const size = message(new ChannelLog('a', 'e', { capacity: 10, maxBytes: 1, maxAgeMs: 1 }), t0, 100).byteLength;
    const log = new ChannelLog('a', 'e', { capacity: 100, maxBytes: size * 2, maxAgeMs: 1e12 });
    for (let index = 0; index < 5; index++) log.append(message(log, t0, 100));
    expect(log.depth).toBe(2);
    expect(log.bytes).toBe(size * 2);
    log.append(message(log, t0, 1000));
    expect(log.slice(1).map((held) => held.offset)).toEqual([6]);
  });

  it('lets messages older than `maxAgeMs` go, even when nothing new arrives', () => {
    const log = new ChannelLog('a', 'e', { capacity: 100, maxBytes: 1e9, maxAgeMs: 60_000 });
    log.append(message(log, t0));
    log.append(message(log, t0 + 30_000));
    log.trim(t0 + 70_000);
    expect(log.slice(1).map((held) => held.offset)).toEqual([2]);
    log.trim(t0 + 100_000);
    // Empty, but the offsets go on: a client that saw 2 misses nothing, one that saw 1 misses 2.
    expect(log.state()).toMatchObject({ lastOffset: 2, firstOffset: 0, depth: 0 });
    expect([log.covers(2), log.covers(1)]).toEqual([true, false]);
    log.append(message(log, t0 + 100_000));
    expect(log.state()).toMatchObject({ lastOffset: 3, firstOffset: 3, depth: 1 });
  });

  it('restores a history read back from disk with the same bounds', () => {
    const source = new ChannelLog('a', 'e', { capacity: 100, maxBytes: 1e9, maxAgeMs: 1e12 });
    const stored = Array.from({ length: 6 }, (_, index) => {
      const held = message(source, t0 + index * 1000);
      source.append(held);
      return held;
    });
    const log = new ChannelLog('a', 'e', { capacity: 4, maxBytes: 1e9, maxAgeMs: 3500 });
    log.restore(stored, 6, t0 + 6000);
    // Capacity keeps 3..6, age (older than t0 + 2500) takes 3.
    expect(log.state()).toMatchObject({ lastOffset: 6, firstOffset: 4, depth: 3 });
    expect(log.slice(1).map((held) => held.offset)).toEqual([4, 5, 6]);
  });
});

describe('ChannelLog by acceptance time', () => {
  const unbounded = { capacity: 4, maxBytes: 1e9, maxAgeMs: 1e12 };
  /** Offsets 1..6 accepted at t0, t0, t0 + 10, t0 + 10, t0 + 20, t0 + 30: the ring of 4 has wrapped and holds 3..6. */
  function wrapped(): ChannelLog {
    const log = new ChannelLog('a', 'e', unbounded);
    for (const at of [t0, t0, t0 + 10, t0 + 10, t0 + 20, t0 + 30]) log.append(message(log, at));
    return log;
  }

  it('finds the first message held at or after a time, by binary search over the wrapped ring', () => {
    const log = wrapped();
    expect(log.state()).toMatchObject({ firstOffset: 3, lastOffset: 6 });
    expect([t0 - 1, t0 + 10, t0 + 11, t0 + 20, t0 + 30, t0 + 31].map((at) => log.firstAtOrAfter(at))).toEqual([3, 3, 5, 5, 6, 7]);
    expect(log.range(4, 5).map((held) => held.offset)).toEqual([4, 5]);
    expect(log.range(1, 99).map((held) => held.offset)).toEqual([3, 4, 5, 6]);
    expect(new ChannelLog('b', 'e', unbounded).firstAtOrAfter(t0)).toBe(1);
  });

  it('knows from which time it is complete: after the newest message that left', () => {
    const log = wrapped();
    // 1 and 2 (accepted at t0) left: everything from t0 + 1 on is held, from t0 on is not.
    expect([log.keepsSince(t0 + 1), log.keepsSince(t0)]).toEqual([true, false]);
    expect(log.completeSince()).toBe(t0 + 10);
    const young = new ChannelLog('a', 'e', { capacity: 10, maxBytes: 1e9, maxAgeMs: 1000 });
    young.append(message(young, t0));
    expect(young.keepsSince(0)).toBe(true);
    young.trim(t0 + 5000);
    // Nothing held: complete from just after the newest that left.
    expect([young.keepsSince(t0), young.keepsSince(t0 + 1), young.completeSince()]).toEqual([false, true, t0 + 1]);
  });

  it('after a restore, counts what was not read back as having left no later than the oldest message that was', () => {
    const source = wrapped();
    const log = new ChannelLog('a', 'e', unbounded);
    log.restore(source.slice(1), 6, t0 + 30);
    expect([log.keepsSince(t0 + 11), log.keepsSince(t0 + 10)]).toEqual([true, false]);
    const whole = new ChannelLog('a', 'e', unbounded);
    const first = message(whole, t0);
    whole.restore([first], 1, t0);
    expect(whole.keepsSince(0)).toBe(true);
  });
});

describe('ReceiptCache', () => {
  const limits = { windowMs: 60_000, maxKeys: 2 };

  it('answers a repeated key with the first ids, refuses one in flight or with another request', () => {
    const cache = new ReceiptCache(limits);
    const first = { key: 'k', fingerprint: 'f' };
    expect(cache.begin(first, t0)).toBeUndefined();
    expect(() => cache.begin(first, t0)).toThrow(new IdempotencyConflictError('in_progress'));
    expect(() => cache.begin({ key: 'k', fingerprint: 'other' }, t0)).toThrow(new IdempotencyConflictError('mismatch'));
    cache.settle(first, [['e:1']], t0);
    expect(cache.begin(first, t0 + 1000)).toEqual({ ids: [['e:1']], replayed: true });
    expect(() => cache.begin({ key: 'k', fingerprint: 'other' }, t0 + 1000)).toThrow(IdempotencyConflictError);
  });

  it('forgets a failed publish, keys past the window, and the oldest keys past maxKeys', () => {
    const cache = new ReceiptCache(limits);
    const key = (name: string) => ({ key: name, fingerprint: 'f' });
    cache.begin(key('failed'), t0);
    cache.settle(key('failed'), undefined);
    expect(cache.begin(key('failed'), t0)).toBeUndefined();
    for (const name of ['a', 'b', 'c']) {
      cache.begin(key(name), t0);
      cache.settle(key(name), [[name]], t0);
    }
    expect([cache.get('a', t0), cache.get('c', t0)?.ids]).toEqual([undefined, [['c']]]);
    expect(cache.evicted).toBe(1);
    expect(cache.get('c', t0 + 60_001)).toBeUndefined();
    expect(cache.sweep(t0 + 60_001)).toBe(t0 + 60_001);
    expect(cache.size).toBe(0);
  });

  it('gives back a receipt of several groups exactly as it was settled, and sweeps by its time', () => {
    const cache = new ReceiptCache({ windowMs: 60_000, maxKeys: 10 });
    const request = { key: scopedKey('publisher-1', 'retry-7'), fingerprint: 'Zm9v-_bar|with a bar' };
    const ids = [['e1:10', 'e1:11', 'e1:12'], ['e1:3'], ['e1:999999999999']];
    cache.begin(request, t0);
    cache.settle(request, ids, t0 + 5);
    expect(cache.get(request.key, t0 + 10)).toEqual({ fingerprint: request.fingerprint, ids, at: t0 + 5 });
    expect(cache.begin(request, t0 + 10)).toEqual({ ids, replayed: true });
    expect(cache.get(scopedKey('publisher-2', 'retry-7'), t0 + 10)).toBeUndefined();
    expect(cache.sweep(t0 + 60_004)).toBe(t0 + 5);
    expect(cache.sweep(t0 + 60_006)).toBe(t0 + 60_006);
    expect(cache.size).toBe(0);
  });
});
