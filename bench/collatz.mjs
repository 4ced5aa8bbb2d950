#!/usr/bin/env node
// Collatz kernel benchmark: our collatzSteps on one thread against the plain C yardstick
// ../shared/yardsticks/collatz_steps.c (128-bit, one step at a time) compiled with gcc -O3 -march=native
// into a temporary directory; interleaved, median of RUNS runs each. Run after `npm run build`:
//   node bench/collatz.mjs            (RUNS=5 node bench/collatz.mjs for more runs)
// The yardstick's directory can be moved with BRAMBLE_YARDSTICKS=/path/to/yardsticks.
// Our time is the collatzSteps call in this process; the tables it builds once per thread (about 50 ms)
// are built before timing and reported separately as init_s. The C time is the whole process.
// Exports run() for bench/run.mjs; prints a table when executed directly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const yardsticks = process.env.BRAMBLE_YARDSTICKS ?? resolve(here, '..', '..', 'shared', 'yardsticks');

const CASES = [
  { name: 'collatz steps [1, 1e7]', start: 1n, end: 10n ** 7n },
  { name: 'collatz steps [2^60, 2^60 + 1e6]', start: 1n << 60n, end: (1n << 60n) + 10n ** 6n },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Compiles the yardstick; null when gcc or the source is missing. */
function compileYardstick(dir) {
  const src = join(yardsticks, 'collatz_steps.c');
  if (!existsSync(src)) return null;
  const exe = join(dir, 'collatz_steps');
  const r = spawnSync('gcc', ['-O3', '-march=native', '-o', exe, src], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : exe;
}

/** One C run: { seconds, n, steps, total }. */
function yardstick(exe, start, end) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(exe, [String(start), String(end)], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) return null;
  const [n, steps, total] = r.stdout.trim().split(/\s+/).map((v) => BigInt(v));
  return { seconds, n, steps: Number(steps), total };
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const { collatzSteps } = await import('../dist/kernels/collatz.js');
  const t0 = process.hrtime.bigint();
  collatzSteps(1n, 2n); // builds the tables
  const init = Number(process.hrtime.bigint() - t0) / 1e9;
  const dir = mkdtempSync(join(tmpdir(), 'bramble-bench-collatz-'));
  const rows = [];
  try {
    const exe = compileYardstick(dir);
    for (const c of CASES) {
      const ours = [];
      const theirs = [];
      let result = null;
      let their = null;
      for (let i = 0; i < runs; i++) {
        const a = process.hrtime.bigint();
        result = collatzSteps(c.start, c.end);
        ours.push(Number(process.hrtime.bigint() - a) / 1e9);
        if (exe) {
          their = yardstick(exe, c.start, c.end);
          if (their) theirs.push(their.seconds);
        }
        log(`${c.name}: run ${i + 1}/${runs}: ours ${ours[i].toFixed(3)} s${theirs[i] === undefined ? '' : `, C ${theirs[i].toFixed(3)} s`}`);
      }
      const o = median(ours);
      const t = theirs.length ? median(theirs) : null;
      rows.push({
        kernel: 'collatz',
        case: c.name,
        runs,
        ours_s: Number(o.toFixed(3)),
        init_s: Number(init.toFixed(3)),
        yardstick: 'collatz_steps.c, gcc -O3 -march=native',
        yardstick_s: t === null ? null : Number(t.toFixed(3)),
        ratio: t === null ? null : Number((o / t).toFixed(2)),
        longest: `${result.longest.n}/${result.longest.steps}`,
        // the C program reports the first n with the most steps and the total, as we do
        correct: their === null || (their.n === result.longest.n && their.steps === result.longest.steps && their.total === result.totalSteps),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run({ log: (s) => console.error(s) });
  for (const r of rows) {
    console.log(
      `${r.case.padEnd(34)} ours ${r.ours_s.toFixed(3).padStart(7)} s   C ${r.yardstick_s === null ? '    n/a' : r.yardstick_s.toFixed(3).padStart(7)} s   ratio ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}   longest ${r.longest} ${r.correct ? 'ok' : 'WRONG'}   (median of ${r.runs}; tables built once in ${r.init_s.toFixed(3)} s)`,
    );
  }
  if (rows.some((r) => !r.correct)) process.exitCode = 1;
}
