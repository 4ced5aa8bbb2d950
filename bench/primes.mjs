#!/usr/bin/env node
// Primes kernel benchmark: our countPrimes on one thread against `primesieve -t 1` (Debian package
// primesieve-bin), interleaved, median of RUNS runs each. Run after `npm run build`:
//   node bench/primes.mjs            (RUNS=5 node bench/primes.mjs for more runs)
// COMPARE=/path/to/another/dist adds that build (an older commit's, say) to the same interleaved runs,
// reported as compare_cpu_s and compare_cpu_ratio (its CPU time over primesieve's).
// Also: a new worker thread's first countPrimes(1, 625000), compiling the kernel itself or given primesModule().
// Exports run() for bench/run.mjs; prints a table when executed directly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const CASES = [
  { name: 'primes count [0, 1e10]', start: 0n, end: 10n ** 10n, args: ['1e10'], expect: 455052511 },
  { name: 'primes count [1e15, 1e15 + 1e10]', start: 10n ** 15n, end: 10n ** 15n + 10n ** 10n, args: ['1e15', '-d', '1e10'], expect: 289531946 },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One primesieve run: { seconds (its own report), cpu (user + system of the process, from bash's `times`),
 * count }, or null when it is not installed. CPU time is the fairer measure on a shared machine.
 */
function primesieve(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', 'primesieve "$@" -c -t 1 --no-status || exit 1; times', 'bash', ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) return null;
  const secs = /Seconds:\s*([\d.]+)/.exec(r.stdout);
  const count = /Primes:\s*(\d+)/.exec(r.stdout);
  const times = [...r.stdout.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
  const cpu = times ? 60 * Number(times[1]) + Number(times[2]) + 60 * Number(times[3]) + Number(times[4]) : null;
  return { seconds: secs ? Number(secs[1]) : wall, cpu, count: count ? Number(count[1]) : null };
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Milliseconds from a new worker thread's start to the answer of its first countPrimes(1, 625000), the
 * thread either compiling the kernel's WebAssembly itself or given the compiled module (primesModule()).
 */
async function firstCall(module) {
  const url = new URL('../dist/kernels/primes.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then((k) => {
      if (workerData) k.usePrimesModule(workerData);
      k.countPrimes(1n, 625000n);
      parentPort.postMessage(0);
    });`;
  const t0 = performance.now();
  const w = new Worker(code, { eval: true, workerData: module });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const ms = performance.now() - t0;
  await w.terminate();
  return ms;
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const { countPrimes, primesModule } = await import('../dist/kernels/primes.js');
  const other = process.env.COMPARE ? (await import(`${process.env.COMPARE}/kernels/primes.js`)).countPrimes : null;
  const rows = [];
  for (const c of CASES) {
    const ours = [];
    const oursCpu = [];
    const theirs = [];
    const theirsCpu = [];
    const otherCpu = [];
    let count = null;
    let theirCount = null;
    let yardstick = true;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const c0 = cpuSeconds();
      count = countPrimes(c.start, c.end).count;
      oursCpu.push(cpuSeconds() - c0);
      ours.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (other) {
        const c1 = cpuSeconds();
        if (other(c.start, c.end).count !== c.expect) throw new Error(`COMPARE build: wrong count for ${c.name}`);
        otherCpu.push(cpuSeconds() - c1);
      }
      if (yardstick) {
        const y = primesieve(c.args);
        if (y === null) yardstick = false;
        else {
          theirs.push(y.seconds);
          if (y.cpu !== null) theirsCpu.push(y.cpu);
          theirCount = y.count;
        }
      }
      log(
        `${c.name}: run ${i + 1}/${runs}: ours ${ours[i].toFixed(2)} s (cpu ${oursCpu[i].toFixed(2)})` +
          (yardstick ? `, primesieve ${theirs[i].toFixed(2)} s (cpu ${theirsCpu[i]?.toFixed(2) ?? '?'})` : '') +
          (other ? `, COMPARE build cpu ${otherCpu[i].toFixed(2)}` : ''),
      );
    }
    const o = median(ours);
    const t = theirs.length ? median(theirs) : null;
    const oc = median(oursCpu);
    const tc = theirsCpu.length === runs ? median(theirsCpu) : null;
    rows.push({
      kernel: 'primes',
      case: c.name,
      runs,
      ours_s: Number(o.toFixed(3)),
      yardstick: 'primesieve -c -t 1',
      yardstick_s: t === null ? null : Number(t.toFixed(3)),
      ratio: t === null ? null : Number((o / t).toFixed(2)),
      ours_cpu_s: Number(oc.toFixed(3)),
      yardstick_cpu_s: tc === null ? null : Number(tc.toFixed(3)),
      cpu_ratio: tc === null ? null : Number((oc / tc).toFixed(2)),
      ...(other ? { compare_cpu_s: Number(median(otherCpu).toFixed(3)), compare_cpu_ratio: tc === null ? null : Number((median(otherCpu) / tc).toFixed(2)) } : {}),
      count,
      correct: count === c.expect && (theirCount === null || theirCount === count),
    });
  }
  // start-up of a slot thread: its own compile against a module handed over (interleaved)
  const own = [];
  const given = [];
  for (let i = 0; i < Math.max(runs, 3); i++) {
    own.push(await firstCall(null));
    given.push(await firstCall(primesModule()));
  }
  log(`first countPrimes(1, 625000) in a new thread: own compile ${own.map((x) => x.toFixed(0)).join(' ')} ms, given the module ${given.map((x) => x.toFixed(0)).join(' ')} ms`);
  rows.push({
    kernel: 'primes',
    case: 'new thread to first countPrimes(1, 625000), given primesModule()',
    runs: own.length,
    ours_s: Number((median(given) / 1000).toFixed(4)),
    yardstick: 'the same, the thread compiling its own module',
    yardstick_s: Number((median(own) / 1000).toFixed(4)),
    ratio: Number((median(given) / median(own)).toFixed(2)),
    correct: true,
  });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run({ log: (s) => console.error(s) });
  for (const r of rows) {
    if (r.ours_cpu_s === undefined) {
      console.log(`${r.case}: ${(r.ours_s * 1000).toFixed(1)} ms; ${r.yardstick}: ${(r.yardstick_s * 1000).toFixed(1)} ms (median of ${r.runs})`);
      continue;
    }
    console.log(
      `${r.case.padEnd(34)} ours ${r.ours_s.toFixed(2).padStart(6)} s   primesieve ${r.yardstick_s === null ? '   n/a' : r.yardstick_s.toFixed(2).padStart(6)} s   ratio ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}` +
        `   (cpu: ${r.ours_cpu_s.toFixed(2)} s / ${r.yardstick_cpu_s === null ? 'n/a' : r.yardstick_cpu_s.toFixed(2)} s = ${r.cpu_ratio ?? 'n/a'})` +
        `   count ${r.count} ${r.correct ? 'ok' : 'WRONG'}   (median of ${r.runs})` +
        (r.compare_cpu_s === undefined ? '' : `   COMPARE build: cpu ${r.compare_cpu_s.toFixed(2)} s = ${r.compare_cpu_ratio} x primesieve`),
    );
  }
  if (rows.some((r) => !r.correct)) process.exitCode = 1;
}
