// Positions (Last-Event-ID, ?since=) and times (?from=, ?to=), property-tested against the built package.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidPositionError, InvalidTimeError, formatPosition, parsePosition, parseTime } from '../dist/index.js';

describe('positions', () => {
  it('round-trips every valid position', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-z]{1,32}$/), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (epoch, offset) => {
        assert.deepEqual(parsePosition(formatPosition(epoch, offset)), { epoch, offset });
      }),
    );
  });

  it('refuses every other string with InvalidPositionError, quoting at most 80 characters of it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        let position;
        try {
          position = parsePosition(text);
        } catch (error) {
          assert.ok(error instanceof InvalidPositionError);
          assert.equal(error.message, `"${text.slice(0, 80)}" is not a position: expected epoch:offset, e.g. m4k2x9a1:1042`);
          return;
        }
        assert.equal(formatPosition(position.epoch, position.offset), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the documented example, and refuses empty parts, extra colons, paths, offsets past the safe integers and leading zeros', () => {
    assert.deepEqual(parsePosition('m4k2x9a1:1042'), { epoch: 'm4k2x9a1', offset: 1042 });
    assert.deepEqual(parsePosition('abc:0'), { epoch: 'abc', offset: 0 });
    const refused = ['', ':1', 'abc:', 'a:1:2', '../../etc/passwd', 'a b:1', 'abc:99999999999999999'];
    for (const text of [...refused, 'abc:9007199254740993', 'abc:01', 'abc:-1', 'ABC:1', 'abc:1.5', ' abc:1', 'abc:1 ']) {
      assert.throws(() => parsePosition(text), InvalidPositionError);
    }
  });
});

describe('times', () => {
  it('reads RFC 3339 with a zone and milliseconds since 1970 as the same instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        assert.equal(parseTime(String(ms)), ms);
        assert.equal(parseTime(new Date(ms).toISOString()), ms);
      }),
    );
    assert.equal(parseTime('2026-12-02T10:00:00+01:00'), Date.UTC(2026, 11, 2, 9));
    assert.equal(parseTime('2026-12-02 10:00:00.5z'), Date.UTC(2026, 11, 2, 10, 0, 0, 500));
  });

  it('refuses a time without a zone, a date alone, words and negative or fractional numbers', () => {
    for (const text of ['2026-12-02T10:00:00', '2026-12-02', 'yesterday', '-1', '1.5', '', ' 1', '2026-13-40T99:99:99Z', '1e12']) {
      assert.throws(() => parseTime(text), InvalidTimeError, text);
    }
  });
});
