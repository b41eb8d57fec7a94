import fc from 'fast-check';
import { InvalidPositionError, formatPosition, parsePosition } from './position';

describe('positions (Last-Event-ID, ?since=)', () => {
  it('round-trips every valid position', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-z]{1,32}$/), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (epoch, offset) => {
        const text = formatPosition(epoch, offset);
        expect(parsePosition(text)).toEqual({ epoch, offset });
      }),
    );
  });

  it('refuses every other string with InvalidPositionError, and quotes at most 80 characters of it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        let position;
        try {
          position = parsePosition(text);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidPositionError);
          expect((error as Error).message.length).toBeLessThan(200);
          return;
        }
        expect(formatPosition(position.epoch, position.offset)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses offsets past the safe integers and leading zeros', () => {
    for (const text of ['abc:9007199254740993', 'abc:01', 'abc:-1', 'ABC:1', 'abc:1.5', ' abc:1', 'abc:1 ']) {
      expect(() => parsePosition(text)).toThrow(InvalidPositionError);
    }
  });
});
