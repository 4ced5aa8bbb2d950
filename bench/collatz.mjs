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
import { BIN, median } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// ../shared/yardsticks beside the checkout, or two levels up from a worktree (/work/wt/NAME)
const yardsticks =
  process.env.BRAMBLE_YARDSTICKS ??
  [resolve(here, '..', '..', 'shared', 'yardsticks'), resolve(here, '..', '..', '..', 'shared', 'yardsticks')].find((d) => existsSync(join(d, 'collatz_steps.c'))) ??
  resolve(here, '..', '..', 'shared', 'yardsticks');

const CASES = [
  { name: 'collatz steps [1, 1e7]', start: 1n, end: 10n ** 7n },
  { name: 'collatz steps [2^60, 2^60 + 1e6]', start: 1n << 60n, end: (1n << 60n) + 10n ** 6n },
];


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

const VERIFY_CASES = [
  { name: 'collatz verify [1, 1e9]', start: 1n, end: 10n ** 9n },
  { name: 'collatz verify [2^40, 2^40 + 1e9]', start: 1n << 40n, end: (1n << 40n) + 10n ** 9n },
  // above 2^53: the WebAssembly walk's 128-bit values; the JavaScript walkers' limbs
  { name: 'collatz verify [2^60, 2^60 + 1e9]', start: 1n << 60n, end: (1n << 60n) + 10n ** 9n },
];

/**
 * Verify mode, numbers per second of CPU time on one thread: the WebAssembly walk against the
 * JavaScript walkers it replaced (the yardstick here; Barina's own figure, 4.2e9 numbers/s per Xeon
 * thread, is from his paper), interleaved, median of RUNS. Both must give the same result.
 */
function verifyRows(collatzVerify, setWasm, runs, log) {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  collatzVerify(1n, 1n << 25n); // tables, sieve, WebAssembly instance
  const rows = [];
  for (const c of VERIFY_CASES) {
    const ours = [];
    const theirs = [];
    let a = null;
    let b = null;
    for (let i = 0; i < runs; i++) {
      let t = cpu();
      setWasm(true);
      a = collatzVerify(c.start, c.end);
      ours.push(cpu() - t);
      t = cpu();
      setWasm(false);
      b = collatzVerify(c.start, c.end);
      theirs.push(cpu() - t);
      setWasm(true);
      log(`${c.name}: run ${i + 1}/${runs}: WebAssembly ${ours[i].toFixed(3)} s, JavaScript walkers ${theirs[i].toFixed(3)} s (cpu)`);
    }
    const o = median(ours);
    const t = median(theirs);
    const n = Number(c.end - c.start + 1n);
    rows.push({
      kernel: 'collatz',
      case: c.name,
      runs,
      ours_s: Number(o.toFixed(3)),
      numbers_per_s: Number((n / o).toPrecision(3)),
      yardstick: 'the JavaScript walkers (cpu seconds)',
      yardstick_s: Number(t.toFixed(3)),
      ratio: Number((o / t).toFixed(2)),
      checked: a.checked,
      sieve: `2^${a.sieve.bits}, ${a.sieve.survivors} residues`,
      longest: `checked ${a.checked}`,
      correct: a.checked === b.checked && a.highest.value === b.highest.value && a.highest.n === b.highest.n,
    });
  }
  return rows;
}

/**
 * What a user waits for: `bramble run collatz --start 1 --end 1e9 --mode verify --workers 1`, process
 * start to exit (head, one worker slot, tables built, TLS on loopback), beside `node -e 0` in the same
 * run, interleaved, median of RUNS.
 */
function verifyEndToEnd(runs, log) {
  const args = [BIN, 'run', 'collatz', '--start', '1', '--end', '1e9', '--mode', 'verify', '--workers', '1', '--json'];
  const wall = (argv) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
    return { s: Number(process.hrtime.bigint() - t0) / 1e9, r };
  };
  const ours = [];
  const node = [];
  let out = null;
  for (let i = 0; i < runs; i++) {
    const a = wall(args);
    if (a.r.status !== 0) throw new Error(`bramble run failed: ${a.r.stderr}`);
    out = JSON.parse(a.r.stdout);
    ours.push(a.s);
    node.push(wall(['-e', '0']).s);
    log(`collatz verify end to end: run ${i + 1}/${runs}: ${ours[i].toFixed(3)} s, node -e 0 ${node[i].toFixed(3)} s`);
  }
  const o = median(ours);
  const t = median(node);
  return {
    kernel: 'collatz',
    case: '`bramble run collatz --start 1 --end 1e9 --mode verify --workers 1`, start to exit',
    runs,
    ours_s: Number(o.toFixed(3)),
    numbers_per_s: Number((1e9 / o).toPrecision(3)),
    yardstick: 'node -e 0',
    yardstick_s: Number(t.toFixed(3)),
    ratio: Number((o / t).toFixed(2)),
    checked: out.checked,
    sieve: `${out.sieve.modulus}, ${out.sieve.kept} residues`,
    longest: `checked ${out.checked}`,
    correct: out.verified === '1000000000' && out.checked === '9489778' && out.highest.value === '1414236446719942480',
  };
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const { collatzSteps, collatzVerify } = await import('../dist/kernels/collatz.js');
  const { setVerifyWasmForTests } = await import('../dist/kernels/collatz/engine.js');
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
    rows.push(...verifyRows(collatzVerify, setVerifyWasmForTests, runs, log));
    rows.push(verifyEndToEnd(runs, log));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run({ log: (s) => console.error(s) });
  for (const r of rows) {
    const theirs = r.yardstick_s === null ? 'n/a' : `${r.yardstick_s.toFixed(3)} s`;
    const what = r.numbers_per_s === undefined ? `longest ${r.longest}` : `${r.numbers_per_s.toExponential(2)} numbers/s, checked ${r.checked}, sieve ${r.sieve}`;
    const extra = r.init_s === undefined ? '' : `; tables built once in ${r.init_s.toFixed(3)} s`;
    console.log(`${r.case}: ours ${r.ours_s.toFixed(3)} s, ${r.yardstick} ${theirs}, ratio ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}, ${what} ${r.correct ? 'ok' : 'WRONG'} (median of ${r.runs}${extra})`);
  }
  if (rows.some((r) => !r.correct)) process.exitCode = 1;
}
