import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleSieveBytes } from '../src/kernels/primes/wasm.js';
import { initialCacheBits } from '../src/kernels/primes/engine.js';
import { taskNames } from '../src/tasks/index.js';
import type { SlotReply, SlotRequest } from '../src/worker/slot-thread.js';
import { BIN } from './helpers/procs.js';

/**
 * What scripts/build-bundles.mjs makes from dist/ behaves as dist/ does: the slot thread as one CommonJS
 * file answers every chunk as the compiled ES module does (the same tasks: its registry is the builtin
 * folder read at build time; the same summaries, outputs and errors), and the bundled CLI prints what
 * the compiled one prints. (test/task-plugin.test.ts: a task file added to dist/ without a build is
 * run, by the compiled modules.)
 */
const dist = (f: string): string => fileURLToPath(new URL(`../dist/worker/${f}`, import.meta.url));
const threads: Worker[] = [];

function ask(file: string, batch: SlotRequest[]): Promise<SlotReply[]> {
  const t = new Worker(dist(file));
  threads.push(t);
  return new Promise((resolve, reject) => {
    t.once('message', (m: { replies: SlotReply[] }) => resolve(m.replies));
    t.once('error', reject);
    t.postMessage({ id: 1, batch });
  });
}
const comparable = (rs: SlotReply[]): unknown => rs.map((r) => (r.ok ? { summary: r.summary, output: r.output ? Buffer.from(r.output).toString('base64') : null } : r));

afterAll(async () => {
  for (const t of threads) await t.terminate();
});

describe('the bundles', () => {
  it('are built, with the list of tasks they hold', () => {
    expect(existsSync(dist('slot-thread.cjs'))).toBe(true);
    expect(existsSync(dist('life-part-thread.cjs'))).toBe(true);
    expect(existsSync(dist('../bundle/main.js'))).toBe(true);
    const builtin = readdirSync(dist('../tasks/builtin')).filter((f) => /^[\w-]+\.js$/.test(f)).sort();
    expect(JSON.parse(readFileSync(dist('../bundle/builtin.json'), 'utf8'))).toEqual(builtin);
  });

  // what scripts/build-bundles.mjs computed into them: each as the kernel makes it now
  it.each([
    ['the primes sieve WebAssembly', 'BRAMBLE_PRIMES_WASM', 'assembleSieveBytes', assembleSieveBytes],
    ["the primes kernel's first table of sieving primes", 'BRAMBLE_PRIMES_CACHE', 'initialCacheBits', initialCacheBits],
  ])('hold %s as the kernel makes it now', (_what, define, maker, make) => {
    const b64 = Buffer.from(make()).toString('base64');
    for (const f of ['slot-thread.cjs', 'life-part-thread.cjs']) {
      const text = readFileSync(dist(f), 'utf8');
      if (text.includes(define) || text.includes(maker)) expect(text, f).toContain(b64);
    }
    expect(readFileSync(dist('slot-thread.cjs'), 'utf8')).toContain(b64);
  });

  it('the bundled CLI prints what the compiled modules print', () => {
    for (const args of [['run', 'primes', '--start', '1e12', '--end', '1e12+1e6', '--json'], ['run', 'collatz', '--start', '1', '--end', '1e5', '--json'], ['run', '--help'], ['run', 'primes', '--start', 'x']]) {
      const [a, b] = [{}, { BRAMBLE_NO_BUNDLE: '1' }].map((env) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }));
      const strip = (t: string): string => t.replace(/"(ms|seconds|time|elapsed\w*)":\s*[\d.]+/g, '"$1":0');
      expect({ code: a?.status, out: strip(a?.stdout ?? ''), err: a?.stderr }, args.join(' ')).toEqual({ code: b?.status, out: strip(b?.stdout ?? ''), err: b?.stderr });
    }
  });

  it('knows every task the registry knows and answers each chunk as the ES module does', async () => {
    const names = taskNames().filter((n) => n !== 'fixture-crash' && n !== 'fixture-sleep');
    expect(names).toEqual(expect.arrayContaining(['primes', 'collatz', 'life', 'noop', 'exec']));
    const batch: SlotRequest[] = [
      ...names.map((task) => ({ task, params: {}, start: '1', end: '1000' })),
      { task: 'primes', params: { list: true }, start: '1000000', end: '1001000' },
      { task: 'primes', params: {}, start: '18446744073709551000', end: '18446744073709551615' },
      { task: 'collatz', params: { mode: 'verify' }, start: '1', end: '100000' },
      { task: 'life', params: { width: 64, height: 64, generations: 10, seed: 7 }, start: '0', end: '1' },
      { task: 'no-such-task', params: {}, start: '1', end: '2' },
    ];
    const [esm, cjs] = await Promise.all([ask('slot-thread.js', batch), ask('slot-thread.cjs', batch)]);
    expect(cjs.length).toBe(batch.length);
    expect(comparable(cjs)).toEqual(comparable(esm));
    // not every request failed alike: the real tasks ran
    const primes = cjs[names.indexOf('primes')];
    expect(primes?.ok && primes.summary['c']).toBe(168);
    expect(cjs.at(-1)).toMatchObject({ ok: false, error: expect.stringMatching(/unknown task "no-such-task"/) });
  });
});
