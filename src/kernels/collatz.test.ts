import { describe, expect, it, afterEach } from 'vitest';
import fc from 'fast-check';
import { collatzSteps, collatzVerify, CollatzRangeError, type CollatzSteps, type CollatzVerify } from './collatz.js';
import { setHandBackForTests, setHeadStartForTests, setLimbCapForTests, setVerifyWasmForTests } from './collatz/engine.js';
import { getSieve, SIEVE_BITS, SIEVE_SURVIVORS } from './collatz/tables.js';

// ---- plain BigInt references: no tables, no jumps, one step of the standard map at a time ----

function referenceSteps(start: bigint, end: bigint): CollatzSteps {
  let longest = { n: 0n, steps: -1 };
  let highest = { n: 0n, value: 0n };
  let total = 0n;
  for (let n = start; n <= end; n++) {
    let x = n;
    let s = 0;
    let max = n;
    while (x !== 1n) {
      x = (x & 1n) === 1n ? 3n * x + 1n : x >> 1n;
      if (x > max) max = x;
      s++;
    }
    total += BigInt(s);
    if (s > longest.steps) longest = { n, steps: s };
    if (max > highest.value) highest = { n, value: max };
  }
  return { count: Number(end - start + 1n), longest, highest, totalSteps: total };
}

/** Stopping time in T-steps (x/2, (3x+1)/2) of n >= 2, capped at `cap`. */
function tStoppingTime(n: bigint, cap: number): number {
  let x = n;
  for (let j = 1; j <= cap; j++) {
    x = (x & 1n) === 1n ? (3n * x + 1n) >> 1n : x >> 1n;
    if (x < n) return j;
  }
  return cap + 1;
}

/**
 * Barina-style verification, stated directly: n is skipped when n = 1, n = 2 (mod 3), n = 4 (mod 9)
 * (n >= 4), or its path drops below n within SIEVE_BITS T-steps (for n below the sieve's bound minN only
 * even n are skipped that way); every other n is walked one C-step at a time until it drops below n.
 */
function referenceVerify(start: bigint, end: bigint): CollatzVerify {
  const minN = BigInt(getSieve().minN);
  let checked = 0;
  let highest = { n: start, value: -1n };
  for (let n = start; n <= end; n++) {
    if (n === 1n) continue;
    if (n >= 4n && (n % 3n === 2n || n % 9n === 4n)) continue;
    if (n % 2n === 0n) continue;
    if (n >= minN && tStoppingTime(n, SIEVE_BITS) <= SIEVE_BITS) continue;
    checked++;
    if (n > highest.value) highest = { n, value: n };
    let x = n;
    while (x >= n) {
      x = (x & 1n) === 1n ? 3n * x + 1n : x >> 1n;
      if (x > highest.value) highest = { n, value: x };
    }
  }
  if (checked === 0) highest = { n: start, value: start };
  return { count: Number(end - start + 1n), checked, highest, sieve: { bits: SIEVE_BITS, survivors: getSieve().residues.length } };
}

describe('collatzSteps', () => {
  it.each([
    [1n, 0],
    [2n, 1],
    [27n, 111],
    [837799n, 524],
    [8400511n, 685],
    [63728127n, 949],
  ])('gives %s its known number of steps (%i)', (n, steps) => {
    const r = collatzSteps(n, n);
    expect(r.longest).toEqual({ n, steps });
    expect(r.totalSteps).toBe(BigInt(steps));
    expect(r.count).toBe(1);
  });

  it('finds the record below 10^6 (837799, 524 steps) and the highest value a plain BigInt walk finds', () => {
    const r = collatzSteps(1n, 1_000_000n);
    expect(r.count).toBe(1_000_000);
    expect(r.longest).toEqual({ n: 837799n, steps: 524 });
    // total as printed by the C yardstick (collatz_steps 1 1000000)
    expect(r.totalSteps).toBe(131434424n);
    // Reference for the highest value: BigInt, one step at a time. Each n is followed until it drops
    // below n: the rest of its path is the path of a smaller number of the range, already covered, and
    // a value reached there first by a smaller number wins the tie. So this is the plain maximum over
    // all paths, computed in a fraction of the time of following every path to 1.
    let best = { n: 0n, value: 0n };
    for (let n = 1n; n <= 1_000_000n; n++) {
      let x = n;
      if (x > best.value) best = { n, value: x };
      while (x >= n && x !== 1n) {
        x = (x & 1n) === 1n ? 3n * x + 1n : x >> 1n;
        if (x > best.value) best = { n, value: x };
      }
    }
    expect(r.highest).toEqual(best);
    expect(r.highest).toEqual({ n: 704511n, value: 56991483520n });
  });

  it('matches the plain BigInt reference on fixed ranges across the representations', () => {
    const ranges: [bigint, bigint][] = [
      [1n, 3000n],
      [(1n << 20n) - 500n, (1n << 20n) + 500n], // the small table's edge
      [(1n << 48n) - 60n, (1n << 48n) + 60n], // doubles -> limbs on entry
      [(1n << 53n) - 40n, (1n << 53n) + 40n],
      [(1n << 60n) - 30n, (1n << 60n) + 30n],
      [(1n << 64n) - 80n, (1n << 64n) - 1n], // values far beyond 2^64
    ];
    for (const [a, b] of ranges) expect(collatzSteps(a, b)).toEqual(referenceSteps(a, b));
  });

  it('equals the plain BigInt reference on random small ranges, including near 2^60 and 2^64 - 1', () => {
    // [anchor, spread]: starts are anchor + (random below spread)
    const anchors: [bigint, bigint][] = [
      [1n, 1n << 30n],
      [1n << 20n, 1n << 20n],
      [1n << 32n, 1n << 32n],
      [1n << 48n, 1n << 40n],
      [(1n << 52n) - 1000n, 2000n],
      [1n << 60n, 1n << 40n],
      [(1n << 64n) - (1n << 40n), 1n << 40n],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...anchors),
        fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }),
        fc.integer({ min: 1, max: 40 }),
        ([anchor, spread], offset, width) => {
          const start = anchor + (offset % spread);
          let end = start + BigInt(width - 1);
          if (end > (1n << 64n) - 1n) end = (1n << 64n) - 1n;
          expect(collatzSteps(start, end)).toEqual(referenceSteps(start, end));
        },
      ),
      { numRuns: 60 },
    );
  });

  describe('with the limbs capped at 80 bits, so that values past 2^64 continue in BigInt', () => {
    afterEach(() => setLimbCapForTests(9));
    it('still matches the reference (overflow detected, never wrapped)', () => {
      setLimbCapForTests(5);
      for (const [a, b] of [
        [(1n << 64n) - 40n, (1n << 64n) - 1n],
        [(1n << 62n) + 1000n, (1n << 62n) + 1040n],
        [(1n << 50n) + 7n, (1n << 50n) + 47n],
      ] as [bigint, bigint][]) {
        expect(collatzSteps(a, b)).toEqual(referenceSteps(a, b));
        expect(collatzVerify(a, b)).toEqual(referenceVerify(a, b));
      }
    });
  });

  it('refuses ranges outside 1 <= start <= end < 2^64 or wider than 2^32', () => {
    expect(() => collatzSteps(0n, 5n)).toThrow(CollatzRangeError);
    expect(() => collatzSteps(0n, 5n)).toThrow('start must be at least 1 (got 0)');
    expect(() => collatzSteps(5n, 4n)).toThrow('end must not be below start');
    expect(() => collatzSteps(1n, 1n << 64n)).toThrow('end must be below 2^64');
    expect(() => collatzVerify(1n, (1n << 32n) + 1n)).toThrow('wider than 2^32');
  });
});

describe('collatzVerify', () => {
  it('verifies [1, 10^5] checking the same numbers, and reaching the same highest value, as the reference', () => {
    const r = collatzVerify(1n, 100_000n);
    expect(r).toEqual(referenceVerify(1n, 100_000n));
    expect(r.count).toBe(100_000);
    expect(r.checked).toBeLessThan(5_000);
    // the highest value reached while verifying is the highest on any path when the range starts at 1
    expect(r.highest).toEqual(collatzSteps(1n, 100_000n).highest);
  });

  it('follows a path from n < 2^48 through the limbs to its end after a check of n >= 2^48 (no stale n)', () => {
    // the walker keeps n's limbs for its "below n" test in limbs; they were set only for n >= 2^48, so
    // a path from a smaller n that passed 2^52 was compared with the n of an earlier call and stopped
    // early, missing its largest value (found by the WebAssembly walk's property test)
    const start = (1n << 40n) + 49422778n;
    const end = start + 163397n;
    const expected = referenceVerify(start, end);
    expect(expected.highest).toEqual({ n: 1099561213951n, value: 80144475402064480n });
    expect(collatzVerify(start, end)).toEqual(expected);
    collatzVerify((1n << 60n) + 1000n, (1n << 60n) + 1100n);
    expect(collatzVerify(start, end)).toEqual(expected);
  });

  it('is consistent with steps mode on random small ranges anywhere below 2^64', () => {
    const anchors = [2n, 1000n, 1n << 24n, 1n << 48n, 1n << 60n, (1n << 64n) - 5000n];
    fc.assert(
      fc.property(fc.constantFrom(...anchors), fc.bigInt({ min: 0n, max: 4000n }), fc.integer({ min: 1, max: 300 }), (anchor, offset, width) => {
        const start = anchor + offset;
        const end = start + BigInt(width - 1) > (1n << 64n) - 1n ? (1n << 64n) - 1n : start + BigInt(width - 1);
        const v = collatzVerify(start, end);
        expect(v).toEqual(referenceVerify(start, end));
        // every number converges (steps mode reaches 1 for all), and nothing checked climbs higher than
        // the highest value of steps mode
        const s = collatzSteps(start, end);
        expect(v.count).toBe(s.count);
        expect(v.highest.value <= s.highest.value).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('reports its sieve: 2^24, 286581 surviving residues (OEIS A076227), the count of the sieve it builds', () => {
    expect(collatzVerify(1n, 10n).sieve).toEqual({ bits: 24, survivors: 286581 });
    expect(getSieve().residues.length).toBe(SIEVE_SURVIVORS);
  });

  describe('the WebAssembly walk (64-bit below 2^53, 128-bit above, paths past 2^112 handed back)', () => {
    afterEach(() => {
      setVerifyWasmForTests(true);
      setHandBackForTests(null);
      setHeadStartForTests(true);
    });

    // [anchor, spread]: starts are anchor + (random below spread)
    const anchors: [bigint, bigint][] = [
      [1n, 1n << 20n], // small n, the sieve's bound minN
      [(1n << 24n) - 20_000n, 40_000n], // the first sieve block edge
      [1n << 40n, 1n << 30n], // where the reverted walk's test failed (the JavaScript walker was wrong)
      [(1n << 53n) - (1n << 24n), 1n << 25n], // the 64-bit / 128-bit switch at 2^53, a block edge
      [1n << 60n, 1n << 40n],
      [(1n << 64n) - (1n << 25n), (1n << 25n) - 30_000n], // the last block below 2^64
    ];
    const range = fc
      .tuple(fc.constantFrom(...anchors), fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), fc.integer({ min: 1, max: 30_000 }))
      .map(([[anchor, spread], offset, width]) => {
        const start = anchor + (offset % spread);
        return [start, start + BigInt(width - 1)] as const;
      });

    it('equals the plain BigInt reference on random ranges, in any order, with any hand-back limit', () => {
      // several ranges in a row, so that state left by one call (the reverted walk's bug was stale state
      // in the JavaScript walker) meets the next; hand-back at 2^112 (default), 2^64 and 2^53 (every
      // path above 2^53 followed by the JavaScript walkers); walks started at T^24(n) or at n
      fc.assert(
        fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), fc.constantFrom(null, 1n, 0n), fc.boolean(), (ranges, handBack, head) => {
          setHandBackForTests(handBack);
          setHeadStartForTests(head);
          for (const [start, end] of ranges) expect(collatzVerify(start, end)).toEqual(referenceVerify(start, end));
        }),
        { numRuns: 40 },
      );
    });

    it('equals the BigInt reference across the 2^53 switch and around sieve block edges', () => {
      for (const [a, b] of [
        [(1n << 53n) - (1n << 13n), (1n << 53n) + 500n],
        [(1n << 52n) - 3000n, (1n << 52n) + 3000n],
        [(1n << 24n) - 4000n, (1n << 24n) + 4000n],
        [(5n << 24n) - 3000n, (5n << 24n) + 3000n],
        [(1n << 64n) - 5000n, (1n << 64n) - 1n],
      ] as [bigint, bigint][]) {
        expect(collatzVerify(a, b)).toEqual(referenceVerify(a, b));
      }
    });

    it('gives what the JavaScript walkers give on wider random ranges', () => {
      const wide = fc.tuple(fc.constantFrom(100n, 1n << 24n, 1n << 40n, (1n << 53n) - (1n << 26n), 1n << 62n), fc.bigInt({ min: 0n, max: (1n << 26n) - 1n }), fc.integer({ min: 1, max: 200_000 }));
      fc.assert(
        fc.property(wide, ([anchor, offset, width]) => {
          const start = anchor + offset;
          const end = start + BigInt(width - 1);
          const fast = collatzVerify(start, end);
          setVerifyWasmForTests(false);
          const slow = collatzVerify(start, end);
          setVerifyWasmForTests(true);
          expect(fast).toEqual(slow);
        }),
        { numRuns: 25 },
      );
    });
  });
});
