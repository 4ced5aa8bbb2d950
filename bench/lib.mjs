// What every benchmark script shares: where the CLI is, a median, a free loopback port, a sleep.
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(ROOT, 'bin/bramble.js');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * The primes kernel alone (dist/kernels/primes.js) in one bare worker thread per [a, b] of `parts`, no
 * bramble around it: each thread warms up, then all start at once. `secs`: from the start to the last
 * done; `each`: every thread's own sieve time and count. The machine's own ceiling for the kernel's
 * scaling (bench/coordinator.mjs, bench/scaling.mjs; bench/weak-scaling.mjs's `threads` variants).
 */
export async function kernelThreads(parts) {
  const url = new URL('../dist/kernels/primes.js', import.meta.url).href;
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ countPrimes }) => { countPrimes(0n, 10n ** 6n); parentPort.postMessage('ready');
      parentPort.once('message', () => { const t = performance.now(); const { count } = countPrimes(BigInt(workerData.a), BigInt(workerData.b)); parentPort.postMessage({ secs: (performance.now() - t) / 1000, count }); }); });`;
  const ws = parts.map(([a, b]) => new Worker(code, { eval: true, workerData: { url, a: String(a), b: String(b) } }));
  await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
  const t0 = performance.now();
  const each = await Promise.all(ws.map((w) => new Promise((r) => { w.once('message', r); w.postMessage('go'); })));
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(ws.map((w) => w.terminate()));
  return { secs, each };
}
