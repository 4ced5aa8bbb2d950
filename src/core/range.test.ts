import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';
import { U64_MAX, chunkBounds, chunkCount, makeRange, parseInteger } from './range.js';

describe('parseInteger', () => {
  it('refuses text longer than MAX_NUMBER_TEXT before evaluating it (issue 17, item 6)', () => {
    expect(() => parseInteger('--end', Array(50_000).fill('2^256').join('+'))).toThrow(/--end is 299999 characters long; a number is at most 80/);
    expect(() => parseInteger('--end', '9'.repeat(81))).toThrow(/at most 80/);
    expect(parseInteger('--end', '18_446_744_073_709_551_615')).toBe(U64_MAX);
  });

  it.each([
    ['1000000', 1000000n],
    ['1_000_000', 1000000n],
    ['1e6', 1000000n],
    ['2.5e9', 2500000000n],
    ['2^32', 4294967296n],
    ['2^64-1', U64_MAX],
    ['1e12+1e6', 1000001000000n],
    ['18446744073709551615', U64_MAX],
    ['0', 0n],
  ])('reads %s', (text, want) => {
    expect(parseInteger('--end', text)).toBe(want);
  });

  it.each([['abc'], ['1.5'], ['-3'], ['1e'], [''], ['1__0_'], ['0x10'], ['2^'], ['1.5e0']])('rejects %s naming the flag', (text) => {
    expect(() => parseInteger('--start', text)).toThrow(InputError);
    expect(() => parseInteger('--start', text)).toThrow(/--start/);
  });

  it('rejects 2^64 as beyond the largest value', () => {
    expect(() => parseInteger('--end', '2^64')).toThrow(/--end must be at most 18446744073709551615 \(got 2\^64\)/);
  });
});

describe('chunk tiling', () => {
  const bigRange = fc
    .tuple(fc.bigInt({ min: 0n, max: U64_MAX }), fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 1n, max: 1n << 36n }))
    .map(([a, w, c]) => {
      const start = a;
      const end = a + w > U64_MAX ? U64_MAX : a + w;
      return { start, end, chunk: c };
    })
    .filter((r) => (r.end - r.start) / r.chunk < 2000n);

  it('tiles any range exactly: contiguous, in order, no gap or overlap, ends at end', () => {
    fc.assert(
      fc.property(bigRange, (r) => {
        const range = makeRange(r.start, r.end, r.chunk);
        const n = chunkCount(range);
        let next = r.start;
        for (let i = 0; i < n; i++) {
          const b = chunkBounds(range, i);
          expect(b.start).toBe(next);
          expect(b.end).toBeGreaterThanOrEqual(b.start);
          expect(b.end - b.start + 1n).toBeLessThanOrEqual(r.chunk);
          next = b.end + 1n;
        }
        expect(next - 1n).toBe(r.end);
      }),
      { numRuns: 300 },
    );
  });

  it('handles ranges touching 2^64 - 1', () => {
    const r = makeRange(U64_MAX - 10n, U64_MAX, 3n);
    expect(chunkCount(r)).toBe(4);
    expect(chunkBounds(r, 3)).toEqual({ start: U64_MAX - 1n, end: U64_MAX });
  });

  it('rejects end < start and chunk 0 naming the flags', () => {
    expect(() => makeRange(10n, 5n, 1n)).toThrow(/--end must be at least --start/);
    expect(() => makeRange(1n, 5n, 0n)).toThrow(/--chunk must be a positive integer \(got 0\)/);
    expect(() => makeRange(0n, U64_MAX, 1n)).toThrow(/more than 100000000/);
  });
});
