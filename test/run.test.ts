import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, run, tmpDir } from './helpers/procs.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

describe('bramble run (one command, local slots)', () => {
  it('counts primes in [10^12, 10^12 + 10^6] = 36249', async () => {
    const r = await run(['run', 'primes', '--start', '1e12', '--end', '1e12+1e6', '--json', '--workers', '2']);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ task: 'primes', start: '1000000000000', end: '1000001000000', count: '36249' });
  });

  it('counts primes in [2^64 - 10^6, 2^64 - 1] = 22475', async () => {
    const r = await run(['run', 'primes', '--start', '18446744073708551616', '--end', '18446744073709551615', '--json', '--workers', '2']);
    expect(JSON.parse(r.out)).toMatchObject({ count: '22475', last: '18446744073709551557' });
  });

  it('runs tiny chunks on many slots: a 16-slot worker states a window the protocol accepts (it was 1040 > 1024)', async () => {
    const r = await run(['run', 'noop', '--chunks', '20000', '--workers', '16', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ task: 'noop', chunks: '20000', state: 'done', workers: 16 });
  });

  it('finds the Collatz record of [1, 10^6]: 837799 with 524 steps', async () => {
    const r = await run(['run', 'collatz', '--start', '1', '--end', '1e6', '--json']);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(j).toMatchObject({ task: 'collatz', longest: { n: '837799', steps: '524' } });
    expect(j['highest']).toEqual({ n: expect.any(String), value: '56991483520' });
  });

  it('writes every prime with --out and prints a human summary', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const out = path.join(dir, 'p.txt');
    const r = await run(['run', 'primes', '--start', '1', '--end', '1000', '--chunk', '97', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/primes in \[1, 1000\]: 168/);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(168);
    expect(lines[0]).toBe('2');
    expect(lines[167]).toBe('997');
  });

  it.each([
    [['run', 'primes', '--start', '10', '--end', '5'], /--end must be at least --start/],
    [['run', 'primes', '--start', '1', '--end', '100', '--chunk', '0'], /--chunk must be a positive integer \(got 0\)/],
    [['run', 'primes', '--start', '1', '--end', '-3'], /--end must be at least 0 \(got -3\)/],
    [['run', 'primes', '--start', '1', '--end', '2^64'], /--end must be at most 18446744073709551615 \(got 2\^64\)/],
    [['run', 'primes', '--start', 'abc', '--end', '9'], /--start must be an integer.*"abc"/],
    [['run', 'fibonacci', '--start', '1', '--end', '9'], /unknown task "fibonacci"/],
    [['run', 'primes', '--start', '1', '--end', '9', '--frobnicate'], /unknown option '--frobnicate'/],
    [['run', 'primes', '--start', '1', '--end', '9', '--workers', '0'], /--workers must be a positive integer/],
    [['run', 'collatz', '--start', '0', '--end', '9'], /--start must be a positive integer \(got 0\)/],
  ])('exits 2 with one line naming the flag: %j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});
