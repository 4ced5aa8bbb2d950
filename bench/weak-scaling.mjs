#!/usr/bin/env node
// Weak scaling of the primes kernel against primesieve (issue 16, scaling past two cores): N processes
// at once, each sieving its own range of WIDTH numbers above BASE with one thread, against one alone;
// the same with `primesieve -t1`. T(N) / T(1) is 1 on a machine whose cores do not share a bottleneck
// (caches, memory bandwidth, clock); a kernel with a larger working set loses more as N grows.
// VARIANTS='default;BRAMBLE_PRIMES_PRESIEVE=4;NODE_FLAGS=--no-liftoff;threads' sets the kernel's benchmark knobs
// (primes/wasm.ts) or node's flags per row; `threads` runs the N sieves as worker threads of one process
// (as bramble's slots run) instead of N processes, and prints each thread's spread.
//   npm run build && N=1,2 RUNS=3 node bench/weak-scaling.mjs
import { spawn } from 'node:child_process';
import os from 'node:os';
import { median } from './lib.mjs';

const cores = os.availableParallelism();
const NS = (process.env.N ?? `1,${cores}`).split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 3);
const BASE = BigInt(Number(process.env.BASE ?? 1e11));
const WIDTH = BigInt(Number(process.env.WIDTH ?? 4e9));
const VARIANTS = (process.env.VARIANTS ?? 'default').split(';');
const kernel = new URL('../dist/kernels/primes.js', import.meta.url).href;
const lib = new URL('./lib.mjs', import.meta.url).href;

function one(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** A variant's environment (NAME=value, comma-separated; the word `threads` is not one) and node flags (NODE_FLAGS). */
function knobs(variant) {
  const env = Object.fromEntries(variant === 'default' ? [] : variant.split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { env, flags: env.NODE_FLAGS ? env.NODE_FLAGS.split(' ') : [] };
}

/**
 * The `threads` variants: the same n sieves as worker threads of one Node process (as bramble's slots
 * run; bench/lib.mjs's kernelThreads in a process of their own, for the variant's flags and environment),
 * one line per thread (its kernel seconds and count). Against n processes this shows what the threads
 * of one process share: V8's platform threads (compilers, collector), the allocator, the address space.
 */
async function threads(n, variant) {
  const { env, flags } = knobs(variant);
  const parts = Array.from({ length: n }, (_, i) => [String(BASE + BigInt(i) * WIDTH), String(BASE + BigInt(i + 1) * WIDTH - 1n)]);
  const code = `import(${JSON.stringify(lib)}).then(({ kernelThreads }) => kernelThreads(${JSON.stringify(parts)})).then(({ each }) => console.log(each.map((e) => e.secs + ' ' + e.count).join('\\n')));`;
  const lines = (await one(process.execPath, [...flags, '-e', code], env)).split('\n');
  const ts = lines.map((l) => Number(l.split(' ')[0])).sort((x, y) => x - y);
  if (n > 1) console.log(`    ${variant} n=${n}: thread seconds min ${ts[0].toFixed(3)} median ${median(ts).toFixed(3)} max ${ts.at(-1).toFixed(3)}`);
  return lines;
}

/** Seconds until the last of n concurrent sieves is done (the kernel's own time, or primesieve's wall time). */
async function batch(n, variant) {
  const t0 = performance.now();
  const outs = variant.split(',').includes('threads') ? await threads(n, variant) : await Promise.all(Array.from({ length: n }, (_, i) => {
    const a = BASE + BigInt(i) * WIDTH;
    const b = a + WIDTH - 1n;
    if (variant === 'primesieve') return one('primesieve', [String(a), String(b), '-c', '-t1', '--no-status']);
    const { env, flags } = knobs(variant);
    const code = `import(${JSON.stringify(kernel)}).then(({ countPrimes }) => { countPrimes(0n, 10n ** 6n); const t = performance.now(); const c = countPrimes(${a}n, ${b}n).count; console.log((performance.now() - t) / 1000, c); })`;
    return one(process.execPath, [...flags, '-e', code], env);
  }));
  const wall = (performance.now() - t0) / 1000;
  // every variant must count what primesieve counts in the same ranges (a knob that breaks the sieve shows here)
  const counts = outs.map((o) => Number(o.trim().split(/\s+/).pop()));
  if (variant === 'primesieve') expected.set(n, counts);
  else if (expected.has(n) && counts.some((c, i) => c !== expected.get(n)[i])) throw new Error(`${variant}: counted ${counts} primes, primesieve ${expected.get(n)}`);
  return variant === 'primesieve' ? wall : Math.max(...outs.map((o) => Number(o.trim().split(/\s+/)[0])));
}
const expected = new Map();

const rows = [];
for (const v of ['primesieve', ...VARIANTS]) {
  const t = {};
  for (const n of NS) t[n] = [];
  for (let r = 0; r < RUNS; r++) for (const n of NS) t[n].push(await batch(n, v));
  const m = Object.fromEntries(NS.map((n) => [n, median(t[n])]));
  rows.push({ v, m });
  console.log(`${v.padEnd(44)} ${NS.map((n) => `T(${n}) ${m[n].toFixed(3)} s`).join('  ')}  slowdown at ${NS.at(-1)}: ${(m[NS.at(-1)] / m[NS[0]]).toFixed(2)}`);
}
