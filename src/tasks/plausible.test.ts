import { describe, expect, it } from 'vitest';
import { collatzSteps } from '../kernels/index.js';
import { collatzOne, maxPrimesIn } from '../kernels/index.js';
import { getTask } from './registry.js';

const primes = getTask('primes');
const collatz = getTask('collatz');

describe('plausibility of primes summaries', () => {
  it('accepts every honest summary (chunks small and large, low and near 2^64)', () => {
    const ranges: [bigint, bigint][] = [[1n, 1n], [1n, 2n], [2n, 2n], [4n, 4n], [1n, 100n], [24n, 28n], [90n, 96n], [1n, 1_000_000n], [492_113n, 492_228n], [1_000_000_000n, 1_010_000_000n], [(1n << 64n) - 10_000n, (1n << 64n) - 1n]];
    for (let s = 1n; s < 400n; s += 7n) ranges.push([s, s + 13n]);
    for (const [a, b] of ranges) {
      const { summary } = primes.run({}, a, b) as { summary: Record<string, unknown> };
      expect(() => primes.checkSummary(summary, a, b), `[${a}, ${b}]`).not.toThrow();
    }
  });

  it('refuses the lies of issue 17: c = 1 everywhere, c = 2^53 - 1, made-up first, last and gaps', () => {
    const [a, b] = [1n, 10_000_000n];
    const honest = (primes.run({}, a, b) as { summary: Record<string, unknown> }).summary;
    const lies: Record<string, unknown>[] = [
      { ...honest, c: 1 },
      { ...honest, c: Number.MAX_SAFE_INTEGER },
      { ...honest, c: 1, l: honest['f'] },
      { c: 0, f: null, l: null, g: null },
      { ...honest, f: '4' },
      { ...honest, l: '9999990' },
      { ...honest, g: ['2', '3'] },
      { ...honest, c: (honest['c'] as number) * 3 },
    ];
    for (const lie of lies) expect(() => primes.checkSummary(lie, a, b), JSON.stringify(lie)).toThrow(/invalid chunk summary/);
    expect(maxPrimesIn(10_000_000n)).toBeLessThan(2_000_000n);
  });
});

describe('plausibility of collatz summaries', () => {
  it('recomputes the longest and highest claims', () => {
    expect(collatzOne(27n)).toEqual({ steps: 111, peak: 9232n });
    for (const [a, b] of [[1n, 1n], [1n, 1000n], [1_000_000n, 1_001_000n]] as [bigint, bigint][]) {
      const r = collatzSteps(a, b);
      expect(collatzOne(r.longest.n).steps).toBe(r.longest.steps);
      expect(collatzOne(r.highest.n).peak).toBe(r.highest.value);
      const { summary } = collatz.run({}, a, b) as { summary: Record<string, unknown> };
      expect(() => collatz.checkSummary(summary, a, b)).not.toThrow();
      expect(() => collatz.checkSummary({ ...summary, ls: (summary['ls'] as number) + 1 }, a, b)).toThrow(/steps/);
      expect(() => collatz.checkSummary({ ...summary, hv: String(BigInt(summary['hv'] as string) * 2n) }, a, b)).toThrow(/peaks/);
    }
  });
});

describe('plausibility of collatz verify summaries', () => {
  it('accepts every honest verify summary, small chunks included (their highest is a walk peak, not a path peak)', () => {
    // [8, 11]: 9 is walked 9 -> 28 -> 14 -> 7 < 9, so its highest is 28 (its whole path peaks at 52);
    // [5, 5]: nothing walked (5 = 2 mod 3), highest is 5 itself. The check took the whole path's peak,
    // refused these, and `run collatz --mode verify --chunk 4` never finished.
    const verify = collatz.params({ mode: 'verify' });
    const ranges: [bigint, bigint][] = [[1n, 1n], [5n, 5n], [8n, 11n], [1n, 100n], [1_000_000n, 1_001_000n], [(1n << 60n) + 3n, (1n << 60n) + 40n]];
    for (let s = 1n; s < 300n; s += 5n) ranges.push([s, s + 3n]);
    for (const [a, b] of ranges) {
      const { summary } = collatz.run(verify, a, b) as { summary: Record<string, unknown> };
      expect(() => collatz.checkSummary(summary, a, b), `[${a}, ${b}]`).not.toThrow();
      expect(() => collatz.checkSummary({ ...summary, hv: String(BigInt(summary['hv'] as string) + 1n) }, a, b)).toThrow(/peaks/);
    }
    const { summary } = collatz.run(verify, 8n, 11n) as { summary: Record<string, unknown> };
    expect(summary).toMatchObject({ k: 1, hn: '9', hv: '28' });
  });
});

describe('outputs checked against their summaries (issue 17, item 16)', () => {
  it('accepts honest prime lists, refuses one that differs from its summary', () => {
    for (const [a, b] of [[1n, 1n], [1n, 2n], [24n, 28n], [1n, 100_000n], [(1n << 64n) - 10_000n, (1n << 64n) - 1n]] as [bigint, bigint][]) {
      const r = primes.run({ list: true }, a, b);
      const s = primes.checkSummary(r.summary, a, b);
      expect(() => primes.checkOutput({ list: true }, a, b, s, r.output as Uint8Array), `[${a}, ${b}]`).not.toThrow();
    }
    const r = primes.run({ list: true }, 1n, 1000n);
    const s = primes.checkSummary(r.summary, 1n, 1000n);
    const enc = r.output as Uint8Array;
    expect(() => primes.checkOutput({ list: true }, 1n, 1000n, s, enc.subarray(1))).toThrow(/invalid chunk output/);
    expect(() => primes.checkOutput({ list: true }, 1n, 1000n, s, Uint8Array.from([...enc.subarray(0, -1), 2, 1]))).toThrow(/invalid chunk output/);
    expect(() => primes.checkOutput({ list: true }, 1n, 500n, s, enc)).toThrow(/past the chunk/);
  });

  it('accepts an honest Life grid, refuses one of another size or population', () => {
    const life = getTask('life');
    const params = life.params({ size: '64x48', generations: 20 });
    const r = life.run(params, 0n, 0n);
    const s = life.checkSummary(r.summary, 0n, 0n);
    const grid = r.output as Uint8Array;
    expect(() => life.checkOutput(params, 0n, 0n, s, grid)).not.toThrow();
    expect(() => life.checkOutput(params, 0n, 0n, { ...s, p: (s['p'] as number) + 1 }, grid)).toThrow(/live cells, the summary says/);
    expect(() => life.checkOutput(life.params({ size: '64x64', generations: 20 }), 0n, 0n, s, grid)).toThrow(/64x48 grid, the job's is 64x64/);
    expect(() => life.checkOutput(params, 0n, 0n, s, Uint8Array.from([0xff, 0xfe]))).toThrow(/invalid chunk output/);
  });
});
