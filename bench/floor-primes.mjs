#!/usr/bin/env node
// The floor under `bramble run primes --start 1 --end 1e9` for any Node program with bramble's kernel:
// start Node, start 2 worker threads, each loads the primes kernel and counts half of [1, END], print the
// sum, exit. No CLI, no head, no leases: what bench/startup.mjs sets beside bramble's row to show
// bramble's own cost. The threads are bramble's own slot threads (dist/worker/slot-thread.cjs, as
// `npm run build` bundles them: the kernel's WebAssembly and first table built in), each sent its half as
// one request; without the bundle, the compiled kernel module (which assembles its WebAssembly first).
//   node bench/floor-primes.mjs [END]      (prints the count)
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const end = BigInt(Number(process.argv[2] ?? 1e9));
const bundle = new URL('../dist/worker/slot-thread.cjs', import.meta.url);
const mid = end / 2n;
const parts = [[1n, mid], [mid + 1n, end]];

function half([a, b]) {
  return new Promise((resolve, reject) => {
    let w;
    if (existsSync(bundle)) {
      w = new Worker(bundle);
      w.postMessage({ id: 1, task: 'primes', params: { list: false }, ranges: [String(a), String(b)] });
      w.once('message', (m) => (m.replies[0].ok ? resolve(m.replies[0].summary.c) : reject(new Error(m.replies[0].error))));
    } else {
      const url = new URL('../dist/kernels/primes.js', import.meta.url).href;
      const code = `const { parentPort, workerData } = require('node:worker_threads');
        import(workerData.url).then(({ countPrimes }) => parentPort.postMessage(countPrimes(BigInt(workerData.a), BigInt(workerData.b)).count));`;
      w = new Worker(code, { eval: true, workerData: { url, a: String(a), b: String(b) } });
      w.once('message', resolve);
    }
    w.once('error', reject);
  });
}

const counts = await Promise.all(parts.map(half));
console.log(counts.reduce((x, y) => x + y, 0));
process.exit(0);
