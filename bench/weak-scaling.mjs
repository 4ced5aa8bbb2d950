#!/usr/bin/env node
// Weak scaling of the primes kernel against primesieve (issue 16, scaling past two cores): N processes
// at once, each sieving its own range of WIDTH numbers above BASE with one thread, against one alone;
// the same with `primesieve -t1`. T(N) / T(1) is 1 on a machine whose cores do not share a bottleneck
// (caches, memory bandwidth, clock); a kernel with a larger working set loses more as N grows.
// VARIANTS='default;BRAMBLE_PRIMES_PRESIEVE=4;NODE_FLAGS=--no-liftoff' sets the kernel's benchmark knobs
// (primes/wasm.ts) or node's flags per row.
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

function one(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** Seconds until the last of n concurrent sieves is done (the kernel's own time, or primesieve's wall time). */
async function batch(n, variant) {
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: n }, (_, i) => {
    const a = BASE + BigInt(i) * WIDTH;
    const b = a + WIDTH - 1n;
    if (variant === 'primesieve') return one('primesieve', [String(a), String(b), '-c', '-t1', '--no-status']);
    const env = Object.fromEntries(variant === 'default' ? [] : variant.split(',').map((kv) => kv.split('=')));
    const flags = env.NODE_FLAGS ? env.NODE_FLAGS.split(' ') : [];
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
