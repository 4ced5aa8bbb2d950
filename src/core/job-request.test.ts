import { describe, expect, it } from 'vitest';
import { jobRequest, requestDifference } from './job-request.js';

describe('job requests (idempotent submit)', () => {
  it('writes nested objects with sorted keys, so equal settings give equal strings', () => {
    const a = jobRequest([['task', 'exec'], ['--args', { b: 1, a: [2, { d: 1, c: null }] }]]);
    const b = jobRequest([['task', 'exec'], ['--args', { a: [2, { c: null, d: 1 }], b: 1 }]]);
    expect(a).toBe(b);
    expect(a).toBe('{"task":"exec","--args":{"a":[2,{"c":null,"d":1}],"b":1}}');
  });

  it('names the first setting that differs, the first request first', () => {
    const a = jobRequest([['task', 'primes'], ['--start', '1'], ['--end', '1000'], ['--chunk', null]]);
    const b = jobRequest([['task', 'primes'], ['--start', '1'], ['--end', '2000'], ['--chunk', '10']]);
    expect(requestDifference(a, b)).toEqual({ key: '--end', message: '--end differs: 1000 vs 2000' });
    expect(requestDifference(a, a)).toBeNull();
    expect(requestDifference(a, jobRequest([['task', 'collatz'], ['--start', '1']]))?.message).toBe('task differs: primes vs collatz');
    expect(requestDifference(jobRequest([['task', 'noop']]), jobRequest([['task', 'noop'], ['--x', true]]))?.message).toBe('--x differs: (none) vs true');
  });

  it('shortens long values in the message', () => {
    const d = requestDifference(jobRequest([['--pattern', 'x'.repeat(500)]]), jobRequest([['--pattern', 'y']]));
    expect(d?.message).toBe(`--pattern differs: ${'x'.repeat(37)}... vs y`);
  });
});
