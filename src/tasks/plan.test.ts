import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { planJob } from './plan.js';
import { admitLimits } from './define-task.js';
import { listBytes } from './builtin/primes.js';
import { listPrimes } from '../kernels/index.js';

describe('planJob', () => {
  it('sizes a job by time when no --chunk is given: small chunks and a chunkMs target', () => {
    const p = planJob({ task: 'primes', start: '1', end: '1e10' }, 2);
    expect(p.chunkMs).toBe(2000);
    expect(p.chunk).toBe(20_000_000n);
    expect(planJob({ task: 'collatz', start: '1', end: '1e9', chunkTime: '0.5' }).chunkMs).toBe(500);
  });

  it('keeps fixed chunks when every chunk carries its full output, or when --chunk is given', () => {
    expect(planJob({ task: 'primes', start: '1', end: '1e10', params: { list: true } }).chunkMs).toBeNull();
    expect(planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e8' }).chunkMs).toBeNull();
    expect(planJob({ task: 'noop', params: { chunks: 10 } }).chunkMs).toBeNull();
  });

  it('refuses a Life pattern larger than the grid when the job is submitted (it was cropped on the worker)', () => {
    expect(() => planJob({ task: 'life', params: { size: '4x4', pattern: 'x = 5, y = 1, rule = B3/S23\n5o!\n' } })).toThrow('--pattern is 5x1, larger than the --size 4x4 grid');
    expect(planJob({ task: 'life', params: { size: '5x5', pattern: 'x = 5, y = 1, rule = B3/S23\n5o!\n' } }).task).toBe('life');
  });

  it('names the flag of every mistake', () => {
    expect(() => planJob({ task: 'primes', start: '1', end: '9', chunk: '5', chunkTime: '1' })).toThrow(/either --chunk or --chunk-time/);
    expect(() => planJob({ task: 'primes', start: '1', end: '9', chunkTime: '-1' })).toThrow(InputError);
    expect(() => planJob({ task: 'noop', start: '1', params: { chunks: 3 } })).toThrow(/takes no --start\/--end/);
    expect(() => planJob({ task: 'primes', end: '9' })).toThrow(/--start is required/);
  });
});

describe('admission control (issue 17, item 7)', () => {
  it('refuses a --list job that no cut makes fit, with the estimate and the limit', () => {
    const err = (() => {
      try {
        planJob({ task: 'primes', start: '1', end: '2^64-1', params: { list: true } });
      } catch (e) {
        return e as InputError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err?.field).toBe('--end');
    expect(err?.message).toMatch(/^--list over \[1, 18446744073709551615\] keeps about \d+ PiB of primes; each chunk's list must fit 8\.0 MiB \(half a 16 MiB frame\), so chunks of at most \d+ numbers, which makes \d+ chunks, more than the 100000000 a job may have: narrow --start\/--end$/);
  });

  it("cuts a --list job's chunks so the densest chunk's primes fit half a frame, instead of refusing", () => {
    const p = planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e9', params: { list: true } });
    expect(p.chunk).toBeLessThan(1_000_000_000n);
    expect(p.note).toMatch(/^--chunk cut from 1000000000 to \d+: each chunk's primes \(about \d+ MiB for 1000000000 numbers\) must fit 8\.0 MiB$/);
    // the request keeps the user's --chunk: an idempotent resubmit compares what was asked
    expect(p.request).toContain('"--chunk":"1000000000"');
    // a smaller frame cuts smaller chunks
    expect(planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e9', params: { list: true } }, 4, admitLimits({ frameBytes: 2 << 20 })).chunk).toBeLessThan(p.chunk);
    expect(planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e7', params: { list: true } }).chunks).toBe(1000);
    expect(planJob({ task: 'primes', start: '1', end: '1e9', params: { list: true } }).chunks).toBeGreaterThan(1);
    // without --list nothing is sent per chunk but a summary
    expect(planJob({ task: 'primes', start: '1', end: '2^64-1' }).chunks).toBeGreaterThan(1);
  });

  it("estimates a chunk's list on the high side of the truth, within 1.3x where density rules", () => {
    for (const [a, w] of [[1n, 20_000_000n], [1_000_000_000_000n, 10_000_000n], [1_000_000_000_000_000n, 2_000_000n]] as [bigint, bigint][]) {
      const real = listPrimes(a, a + w - 1n).encoded.length;
      const est = listBytes(a, w);
      expect(est, `${a} + ${w}`).toBeGreaterThanOrEqual(real);
      expect(est / real, `${a} + ${w}`).toBeLessThan(1.3);
    }
  });

  it("sizes Life against frames and the head's relay, naming the flag", () => {
    const life = (params: Record<string, unknown>, workers: { slots: number; memFree: number | null }[] = []) => planJob({ task: 'life', params }, 4, admitLimits({ workers }));
    expect(life({ size: '16384x16384' }).storedBy).toBe('--size');
    expect(life({ size: '16384x16384' }).storedBytes).toBe(2 * 16384 * 2048);
    expect(() => life({ size: '100000000x10' })).toThrow(/^--size 100000000x10: a halo exchange sends a row above and a row below, 24 MiB for rows of 100000000 cells, more than a 16 MiB frame \(--max-frame-bytes\): at most \d+ cells wide$/);
    expect(() => life({ size: '32768x32768', halo: 4096 })).toThrow(/^--halo 4096 sends 32 MiB of halo rows a step for rows of 32768 cells, more than a 16 MiB frame \(--max-frame-bytes\): use --halo 2040 or less$/);
    expect(() => life({ size: '32768x32768', parts: 4096 })).toThrow(/makes the head relay 256 MiB a round, more than its limit of 128 MiB/);
    expect(life({ size: '1024x1024' }, [{ slots: 4, memFree: 100 * 2 ** 20 }]).task).toBe('life');
  });
});
