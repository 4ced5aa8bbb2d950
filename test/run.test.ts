import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bramble, cleanup, run, tmpDir } from './helpers/procs.js';

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
    // every message of the in-process link through the wire's encoding and checks (Want's max included)
    const r = await run(['run', 'noop', '--chunks', '20000', '--workers', '16', '--json'], { BRAMBLE_CHECK_LOCAL_LINK: '1' });
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

  it('a slot thread that dies in the middle of a chunk is replaced and the chunk retried: the count stays exact', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const once = path.join(dir, 'exit-once');
    writeFileSync(once, '');
    // the test-only hook ends the first slot thread that finds the file (deleting it), mid-chunk
    const r = await run(['run', 'primes', '--start', '1', '--end', '1e7', '--chunk', '1e6', '--json', '--workers', '2', '--log-level', 'warn'], { BRAMBLE_TEST_SLOT_FAULT: `exit-once:${once}`, BRAMBLE_CHECK_LOCAL_LINK: '1' });
    expect(existsSync(once)).toBe(false);
    expect(r.err).toMatch(/slot thread exited with code 3/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ count: '664579', last: '9999991', failedChunks: [], state: 'done' });
  });

  it('a chunk that throws every time is retried, quarantined and reported: exit 1, its error on stderr', async () => {
    const r = await run(['run', 'primes', '--start', '1', '--end', '1e7', '--chunk', '1e6'], { BRAMBLE_TEST_SLOT_FAULT: 'throw:1000001' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED chunks \(quarantined\): 1/);
    expect(r.err).toMatch(/chunk 1 quarantined: failed 3 times on 1 worker\(s\); last error: Error: test fault: the chunk starting at 1000001 throws/);
  });

  it('Ctrl-C stops a run at once: the process and its slot threads are gone, exit 130', async () => {
    const p = bramble(['run', 'primes', '--start', '0', '--end', '1e12', '--workers', '2', '--log-level', 'info']);
    while (!/joined head/.test(p.err()) && p.child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.out()).toBe('');
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
