import { describe, expect, it } from 'vitest';
import { InputError } from '../core/index.js';
import { planJob } from './plan.js';

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
  it('refuses a --list job whose chunks could not carry their primes, with the estimate and the limit', () => {
    expect(() => planJob({ task: 'primes', start: '1', end: '2^64-1', params: { list: true } })).toThrow(/--list with chunks of \d+ numbers would send about \d+ MiB of primes per chunk \(the limit is 8\.0 MiB\); use --chunk \d+ or less, over a narrower range/);
    expect(() => planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e9', params: { list: true } })).toThrow(/use --chunk \d+ or less/);
    expect(planJob({ task: 'primes', start: '1', end: '1e10', chunk: '1e7', params: { list: true } }).chunks).toBe(1000);
    expect(planJob({ task: 'primes', start: '1', end: '1e9', params: { list: true } }).chunks).toBeGreaterThan(1);
    // without --list nothing is sent per chunk but a summary
    expect(planJob({ task: 'primes', start: '1', end: '2^64-1' }).chunks).toBeGreaterThan(1);
  });
});
