#!/usr/bin/env node
// What a user waits for, process start to exit (issue 16's first three rows): `bramble --help` and
// `bramble run primes --help` against `node -e 0`, and `bramble run primes` end to end against
// primesieve (the 1e9 run also against bench/floor-primes.mjs, the Node floor), every command run RUNS
// times (default 5) interleaved, median reported, with the CPU time (user + system, from bash's
// `times`) beside the wall time, the fairer measure on a shared machine.
//   npm run bench -- startup        (or: npm run build && node bench/startup.mjs)
// Exports run() for bench/run.mjs; prints a table when executed directly.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BRAMBLE = path.join(ROOT, 'bin', 'bramble.js');
const RUNS = Number(process.env.RUNS ?? 5);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One run of a command line: wall seconds (spawn to exit) and CPU seconds of the process and its children. */
function timed(argv, expect) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" 2>/dev/null || exit 97; times', 'bash', ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  if (expect && !expect.test(r.stdout)) throw new Error(`${argv.join(' ')} printed no ${expect}: ${r.stdout.slice(0, 400)}`);
  // `times` prints the shell's and then its children's user and system time
  const t = [...r.stdout.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
  const cpu = t ? 60 * Number(t[1]) + Number(t[2]) + 60 * Number(t[3]) + Number(t[4]) : NaN;
  return { wall, cpu };
}

const node = process.execPath;
/** BASE=DIR: an earlier checkout, built: its `bramble run` rows are timed in the same run (before/after). */
const BASE = process.env.BASE ? path.join(path.resolve(process.env.BASE), 'bin', 'bramble.js') : null;
/** The rows: ours against a yardstick; `expect` checks the answer, so a fast wrong run cannot count. */
const ROWS = [
  { name: 'bramble --help', ours: [node, BRAMBLE, '--help'], yard: 'node -e 0', theirs: [node, '-e', '0'], expect: /Commands:/ },
  { name: 'bramble run primes --help', ours: [node, BRAMBLE, 'run', 'primes', '--help'], yard: 'node -e 0', theirs: [node, '-e', '0'], expect: /--start/ },
  { name: 'bramble run primes --start 1 --end 1e9', ours: [node, BRAMBLE, 'run', 'primes', '--start', '1', '--end', '1e9', '--workers', '2'], yard: 'primesieve 1e9 -c (2 threads)', theirs: ['primesieve', '1e9', '-c', '-t2', '--no-status'], expect: /50847534/, theirsExpect: /50847534/ },
  // the same command against the least any Node program with this kernel takes (bench/floor-primes.mjs):
  // what of the row above is bramble's own, and what is Node's start and the kernel's first run
  { name: 'bramble run primes --start 1 --end 1e9 (against the Node floor)', ours: [node, BRAMBLE, 'run', 'primes', '--start', '1', '--end', '1e9', '--workers', '2'], yard: 'node bench/floor-primes.mjs (2 threads, the kernel alone)', theirs: [node, path.join(ROOT, 'bench', 'floor-primes.mjs'), '1e9'], expect: /50847534/, theirsExpect: /50847534/ },
  { name: 'bramble run primes --start 0 --end 1e10 --workers 1', ours: [node, BRAMBLE, 'run', 'primes', '--start', '0', '--end', '1e10', '--workers', '1'], yard: 'primesieve 1e10 -c -t1', theirs: ['primesieve', '1e10', '-c', '-t1', '--no-status'], expect: /455052511/, theirsExpect: /455052511/ },
];

export async function run({ log = console.log } = {}) {
  const have = spawnSync('primesieve', ['--version']).status === 0;
  if (!have) log('primesieve is not installed (apt-get install primesieve-bin): the run rows are left out');
  const rows = ROWS.filter((r) => have || r.theirs[0] !== 'primesieve');
  const res = rows.map(() => ({ ours: [], theirs: [], base: [] }));
  timed(ROWS[0].ours); // the first start fills the page cache for everyone
  for (let i = 0; i < RUNS; i++) {
    rows.forEach((r, k) => {
      res[k].theirs.push(timed(r.theirs, r.theirsExpect));
      res[k].ours.push(timed(r.ours, r.expect));
      if (BASE) res[k].base.push(timed(r.ours.map((a) => (a === BRAMBLE ? BASE : a)), r.expect));
    });
  }
  return rows.map((r, k) => {
    const ours = median(res[k].ours.map((x) => x.wall));
    const theirs = median(res[k].theirs.map((x) => x.wall));
    const oursCpu = median(res[k].ours.map((x) => x.cpu));
    const theirsCpu = median(res[k].theirs.map((x) => x.cpu));
    const base = BASE ? ` [BASE: ${median(res[k].base.map((x) => x.wall)).toFixed(3)} s, CPU ${median(res[k].base.map((x) => x.cpu)).toFixed(2)} s]` : '';
    return { name: r.name, ours, yardstick: theirs, ratio: ours / theirs, unit: `seconds, process start to exit, median of ${RUNS}; yardstick: ${r.yard}; CPU ${oursCpu.toFixed(2)} s vs ${theirsCpu.toFixed(2)} s, ratio ${(oursCpu / theirsCpu).toFixed(2)}${base}` };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run();
  console.log(`| command | bramble (s) | yardstick | yardstick (s) | ratio | CPU: ours vs theirs | CPU ratio |${BASE ? ' BASE build |' : ''}`);
  console.log(`|---|---|---|---|---|---|---|${BASE ? '---|' : ''}`);
  for (const r of rows) {
    const cpu = /ratio ([\d.]+)/.exec(r.unit)?.[1];
    const cpuS = /CPU ([\d.]+ s vs [\d.]+ s)/.exec(r.unit)?.[1];
    const base = BASE ? ` ${/\[BASE: (.*)\]/.exec(r.unit)?.[1] ?? '-'} |` : '';
    console.log(`| \`${r.name}\` | ${r.ours.toFixed(3)} | ${r.unit.split('yardstick: ')[1].split(';')[0]} | ${r.yardstick.toFixed(3)} | ${r.ratio.toFixed(2)}x | ${cpuS} | ${cpu}x |${base}`);
  }
}
