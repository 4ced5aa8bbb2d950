#!/usr/bin/env node
// The floor under `bramble run primes --start 1 --end 1e9` for any Node program with bramble's kernel:
// start Node, start 2 worker threads, each loads the primes kernel (dist/kernels/primes.js, its
// WebAssembly assembled and compiled there) and counts half of [1, END], print the sum, exit. No CLI,
// no head, no leases: what bench/startup.mjs sets beside bramble's row to show bramble's own cost.
//   node bench/floor-primes.mjs [END]      (prints the count)
import { Worker } from 'node:worker_threads';

const end = BigInt(Number(process.argv[2] ?? 1e9));
const url = new URL('../dist/kernels/primes.js', import.meta.url).href;
const code = `const { parentPort, workerData } = require('node:worker_threads');
  import(workerData.url).then(({ countPrimes }) => parentPort.postMessage(countPrimes(BigInt(workerData.a), BigInt(workerData.b)).count));`;
const mid = end / 2n;
const parts = [[1n, mid], [mid + 1n, end]];
const counts = await Promise.all(parts.map(([a, b]) => new Promise((resolve, reject) => {
  const w = new Worker(code, { eval: true, workerData: { url, a: String(a), b: String(b) } });
  w.once('message', resolve);
  w.once('error', reject);
})));
console.log(counts.reduce((x, y) => x + y, 0));
process.exit(0);
