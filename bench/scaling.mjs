#!/usr/bin/env node
// Scaling past two cores (issue 16): primes [0, END] with `bramble run --workers N` against
// `primesieve -tN`, N = 1, 2, 4 ... up to the machine's cores, process start to exit, interleaved,
// median of RUNS. The figure is bramble's speed-up T(1)/T(N) over primesieve's on the same machine
// (target: at least 0.9). Beside it, the machine's own ceiling for bramble's kernel: the same sieve
// in N bare worker threads sharing [0, END] (no head, no leases, no CLI), one pass.
//   npm run build && END=1e11 RUNS=3 node bench/scaling.mjs          (SLOTS=1,2,4 to pick the counts)
// On a bigger machine without Node: ../shared/tools/bundle packs node, the build and primesieve.
// OUT=DIR writes scaling.json there after every run, so a cut-off run keeps what it measured.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, kernelThreads, median } from './lib.mjs';

const cores = os.availableParallelism();
const END = BigInt(Number(process.env.END ?? (cores >= 8 ? 1e11 : 1e10)));
const RUNS = Number(process.env.RUNS ?? 3);
const SLOTS = (process.env.SLOTS ?? [1, 2, 4, 8, 16, 32, 64].filter((n) => n <= cores).join(',')).split(',').map(Number);
const OUT = process.env.OUT ?? null;
/** BARE=0 leaves out the bare-threads pass (bench/weak-scaling.mjs measures the kernel's own scaling better). */
const BARE = process.env.BARE !== '0';

/**
 * Wall seconds from spawn to exit, CPU seconds (user + system, from bash's `times`: the command and its
 * threads, V8's compiler and collector threads included), and the last line of stdout (bramble's --json
 * summary). At one slot, CPU above wall is work that ran beside the sieve on idle cores (a V8
 * recompilation that deoptimised and recompiled Engine.run took 0.25 s of it): at N slots every core is
 * busy and that work is paid in full.
 */
function timed(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('bash', ['-c', '"$@"; s=$?; times >&2; exit $s', 'bash', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      // `times`: the shell's user and system time, then its children's (the last line)
      const tm = [...err.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
      const cpu = tm ? 60 * Number(tm[1]) + Number(tm[2]) + 60 * Number(tm[3]) + Number(tm[4]) : NaN;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-400)}`));
      else resolve({ wall, cpu, out });
    });
  });
}

/** The kernel alone in n bare threads, [0, END] split in n equal parts: seconds from go to the last done. */
async function bare(n) {
  const step = (END + 1n) / BigInt(n);
  return (await kernelThreads(Array.from({ length: n }, (_, i) => [BigInt(i) * step, i === n - 1 ? END : BigInt(i + 1) * step - 1n]))).secs;
}

export async function run({ log = console.log } = {}) {
  const have = spawnSync('primesieve', ['--version']).status === 0;
  if (!have) throw new Error('primesieve is not installed (apt-get install primesieve-bin): the yardstick of this benchmark');
  const t = Object.fromEntries(SLOTS.map((n) => [n, { ours: [], theirs: [], oursCpu: [], theirsCpu: [], bare: null }]));
  const save = () => OUT && writeFileSync(path.join(OUT, 'scaling.json'), JSON.stringify({ end: String(END), cores, runs: RUNS, t }, null, 1));
  let count = null;
  for (let i = 0; i < RUNS; i++) {
    for (const n of SLOTS) {
      const p = await timed('primesieve', [String(END), '-c', `-t${n}`, '--no-status']);
      const o = await timed(process.execPath, [BIN, 'run', 'primes', '--start', '0', '--end', String(END), '--workers', String(n), '--json']);
      const j = JSON.parse(o.out.trim().split('\n').pop());
      const theirsCount = /(\d+)\s*$/.exec(p.out.trim())?.[1];
      if (j.count !== theirsCount) throw new Error(`bramble counted ${j.count}, primesieve ${theirsCount} primes in [0, ${END}]`);
      count = j.count;
      t[n].theirs.push(p.wall);
      t[n].ours.push(o.wall);
      t[n].theirsCpu.push(p.cpu);
      t[n].oursCpu.push(o.cpu);
      log(`  run ${i + 1} N=${n}: primesieve ${p.wall.toFixed(2)} s (CPU ${p.cpu.toFixed(2)} s), bramble ${o.wall.toFixed(2)} s (CPU ${o.cpu.toFixed(2)} s, its job ${j.seconds} s)`);
      save();
    }
  }
  for (const n of BARE ? SLOTS : []) {
    t[n].bare = await bare(n);
    log(`  bare kernel threads N=${n}: ${t[n].bare.toFixed(2)} s`);
    save();
  }
  const m = (n, k) => median(t[n][k]);
  const one = SLOTS[0];
  return SLOTS.map((n) => {
    const ours = m(one, 'ours') / m(n, 'ours');
    const theirs = m(one, 'theirs') / m(n, 'theirs');
    const bareUp = BARE ? t[one].bare / t[n].bare : NaN;
    return { name: `primes [0, ${END}] speed-up ${one} -> ${n} slots`, ours, yardstick: theirs, ratio: ours / theirs,
      unit: `speed-up; yardstick: primesieve -t${one} / -t${n}; bramble ${m(n, 'ours').toFixed(2)} s (CPU ${m(n, 'oursCpu').toFixed(2)} s) vs primesieve ${m(n, 'theirs').toFixed(2)} s (CPU ${m(n, 'theirsCpu').toFixed(2)} s) (${(m(n, 'ours') / m(n, 'theirs')).toFixed(2)}x), ${BARE ? `bare kernel threads ${t[n].bare.toFixed(2)} s (speed-up ${bareUp.toFixed(2)}); ` : ''}${count} primes, median of ${RUNS}` };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`# primes [0, ${END}] on ${cores} cores, median of ${RUNS}, process start to exit`);
  const rows = await run();
  console.log('| slots | bramble speed-up | primesieve speed-up | ratio |  |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name.split(' -> ')[1]} | ${r.ours.toFixed(2)} | ${r.yardstick.toFixed(2)} | **${r.ratio.toFixed(2)}** | ${r.unit} |`);
}
