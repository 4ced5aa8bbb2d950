#!/usr/bin/env node
// Life benchmark, two parts, each against `bgolly -a QuickLife` (Debian package golly) on the soup
// written by ../shared/yardsticks/random_soup.py (2048 x 2048, density 0.5), interleaved, medians.
// Run after `npm run build`:
//   node bench/life.mjs               (RUNS=5 node bench/life.mjs for more kernel runs)
//
// 1. The kernel: a 2048 x 2048 random torus, 100 generations of B3/S23 on one thread (RUNS, default 3).
//    Our time is grid.step(rule, 100) in this process (the grid is filled before timing). bgolly's time
//    is its whole process, which includes reading the 3 MB RLE soup; that reading alone (bgolly -m 0)
//    is measured too and reported as yardstick_load_s, and ratio_net compares against bgolly minus it.
//    Correctness: our kernel runs the same Python soup and must equal bgolly's output cell for cell.
// 2. What a user waits for (issue 16), process start to exit (PROCESS_RUNS, default 5):
//    `bramble run life --size 2048x2048 --generations 100 --pattern soup.rle --workers 1` (and with
//    --generations 1, and with --out) against `bgolly -a QuickLife -m 100 soup.rle` (and with -o),
//    with `bramble run noop --chunks 1 --workers 1` (the run command's own fixed cost) and `node -e 0`
//    beside them; the load average is printed with the rows. The --out grid must equal bgolly's.
//    COMPARE=DIR adds the two run life rows of another build (e.g. a built checkout of an earlier commit).
// Exports run() for bench/run.mjs; prints a table when executed directly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BIN, median } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const yardsticks = process.env.BRAMBLE_YARDSTICKS ?? resolve(here, '..', '..', 'shared', 'yardsticks');
const SIZE = 2048;
const GENERATIONS = 100;
const bramble = BIN;

function bgolly(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bgolly', args, { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return r.error || r.status !== 0 ? null : seconds;
}

/** The Python soup as RLE text, or null without python3 or the script. */
function pythonSoup() {
  const script = join(yardsticks, 'random_soup.py');
  if (!existsSync(script)) return null;
  const r = spawnSync('python3', [script, String(SIZE), String(SIZE), '1'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.error || r.status !== 0 ? null : r.stdout;
}

/** Wall seconds of a command from spawn to exit, or null when it failed. */
function timed(cmd, args, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return seconds;
}

const fmtLoad = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Process start to exit: bramble run life against bgolly, interleaved, median of `runs`. */
async function processRows(dir, soupFile, runs, log) {
  const { rleToGrid } = await import('../dist/kernels/rle.js');
  const life = (gens, out) => ['run', 'life', '--size', `${SIZE}x${SIZE}`, '--generations', String(gens), '--pattern', soupFile, '--workers', '1', ...(out ? ['--out', out] : [])];
  const cases = [
    { name: `run life ${SIZE}x${SIZE} --generations ${GENERATIONS} --workers 1`, cmd: process.execPath, args: [bramble, ...life(GENERATIONS)] },
    { name: `run life ${SIZE}x${SIZE} --generations 1 --workers 1`, cmd: process.execPath, args: [bramble, ...life(1)] },
    { name: `run life ${SIZE}x${SIZE} --generations ${GENERATIONS} --workers 1 --out`, cmd: process.execPath, args: [bramble, ...life(GENERATIONS, join(dir, 'ours.rle'))] },
    { name: `bgolly -a QuickLife -m ${GENERATIONS}`, cmd: 'bgolly', args: ['-a', 'QuickLife', '-m', String(GENERATIONS), '-q', '-q', soupFile] },
    { name: `bgolly -a QuickLife -m ${GENERATIONS} -o`, cmd: 'bgolly', args: ['-a', 'QuickLife', '-m', String(GENERATIONS), '-q', '-q', '-o', join(dir, 'theirs.rle'), soupFile] },
    { name: 'run noop --chunks 1 --workers 1', cmd: process.execPath, args: [bramble, 'run', 'noop', '--chunks', '1', '--workers', '1'] },
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  ];
  // COMPARE=DIR: the same run life rows with another build (a checkout of an earlier commit, built), interleaved
  const before = process.env.COMPARE ? resolve(process.env.COMPARE, 'bin', 'bramble.js') : null;
  if (before) {
    cases.push(
      { name: `COMPARE build: run life ${SIZE}x${SIZE} --generations ${GENERATIONS} --workers 1`, cmd: process.execPath, args: [before, ...life(GENERATIONS)] },
      { name: `COMPARE build: run life ${SIZE}x${SIZE} --generations 1 --workers 1`, cmd: process.execPath, args: [before, ...life(1)] },
    );
  }
  // once untimed: `run` makes its credentials on a user's first run
  for (const c of cases) timed(c.cmd, c.args, dir);
  const ours = rleToGrid(readFileSync(join(dir, 'ours.rle'), 'utf8'));
  const theirs = rleToGrid(readFileSync(join(dir, 'theirs.rle'), 'utf8'), { width: SIZE, height: SIZE, wrap: true });
  const correct = ours.equals(theirs);
  const times = cases.map(() => []);
  const loadBefore = fmtLoad();
  for (let i = 0; i < runs; i++) {
    cases.forEach((c, j) => times[j].push(timed(c.cmd, c.args, dir)));
    log(`life process run ${i + 1}/${runs}: ${cases.map((c, j) => `${c.name} ${times[j][i].toFixed(3)} s`).join(', ')}`);
  }
  const med = times.map(median);
  const [life100, life1, lifeOut, golly, gollyOut, noop, node, before100, before1] = med;
  const load = `${loadBefore} -> ${fmtLoad()}`;
  const row = (name, o, y, yname) => ({ name, ours: Number(o.toFixed(3)), yardstick: Number(y.toFixed(3)), unit: `seconds, process start to exit; yardstick: ${yname}; median of ${runs}; load average ${load}`, ratio: Number((o / y).toFixed(2)), correct });
  return [
    row(`process: bramble ${cases[0].name}`, life100, golly, cases[3].name),
    row(`process: bramble ${cases[1].name}`, life1, golly, cases[3].name),
    row(`process: bramble ${cases[2].name}`, lifeOut, gollyOut, cases[4].name),
    row('process: bramble run noop --chunks 1 --workers 1 (the run command alone)', noop, golly, cases[3].name),
    row('process: bramble run life 100 generations minus run noop, median of the runs\' differences (what Life adds)', median(times[0].map((t, i) => t - times[5][i])), golly, cases[3].name),
    row('process: node -e 0', node, golly, cases[3].name),
    ...(before ? [row(`process: ${cases[7].name}`, before100, golly, cases[3].name), row(`process: ${cases[8].name}`, before1, golly, cases[3].name)] : []),
  ];
}

/**
 * A distributed Life round's compute (issue 14's bench: most of it was the population count): a strip of
 * 2048 rows of a 4096-wide torus with 64 ghost rows each side, 32 generations counting the population
 * after each (as a part does when G <= 500) against the same 32 generations without counting,
 * interleaved on one evolving strip, median of `runs`.
 */
async function stripRows(runs, log, dist = resolve(here, '..', 'dist'), label = '') {
  const { LifeStrip, randomRow } = await import(pathToFileURL(join(dist, 'kernels', 'life-strip.js')).href);
  const { parseRule } = await import(pathToFileURL(join(dist, 'kernels', 'life.js')).href);
  const rule = parseRule('B3/S23');
  const W = 4096;
  const strip = new LifeStrip({ width: W, height: 8192, torus: true, y0: 0, rows: 2048, kt: 64, kb: 64 });
  strip.fill((y, out) => randomRow(W, y, 0.5, 1, out));
  const bare = [];
  const counted = [];
  for (let i = 0; i < runs; i++) {
    let t = process.hrtime.bigint();
    for (let g = 0; g < 32; g++) strip.step(rule);
    bare.push(Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    let pop = 0;
    for (let g = 0; g < 32; g++) {
      strip.step(rule);
      pop += strip.population();
    }
    counted.push(Number(process.hrtime.bigint() - t) / 1e9);
    log(`${label}life strip round ${i + 1}/${runs}: 32 generations ${bare[i].toFixed(4)} s, counting each ${counted[i].toFixed(4)} s (population sum ${pop})`);
  }
  const o = median(counted);
  const y = median(bare);
  return { name: `${label}life strip ${W}x2048 (+2x64 ghost rows), 32 generations with the population counted after each`, ours: Number(o.toFixed(4)), yardstick: Number(y.toFixed(4)), unit: `seconds; yardstick: the same 32 generations without counting, interleaved; median of ${runs}`, ratio: Number((o / y).toFixed(3)) };
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const { LifeGrid, parseRule } = await import('../dist/kernels/life.js');
  const { rleToGrid } = await import('../dist/kernels/rle.js');
  const rule = parseRule('B3/S23');
  const dir = mkdtempSync(join(tmpdir(), 'bramble-bench-life-'));
  try {
    const soup = pythonSoup();
    const soupFile = join(dir, 'soup.rle');
    let haveBgolly = soup !== null;
    if (soup !== null) writeFileSync(soupFile, soup);
    // correctness, untimed: the same soup through our kernel and through bgolly
    let correct = null;
    if (haveBgolly) {
      const out = join(dir, 'out.rle');
      if (bgolly(['-a', 'QuickLife', '-m', String(GENERATIONS), '-q', '-q', '-o', out, soupFile]) === null) haveBgolly = false;
      else {
        const g = rleToGrid(soup);
        g.step(rule, GENERATIONS);
        correct = rleToGrid(readFileSync(out, 'utf8'), { width: SIZE, height: SIZE, wrap: true }).equals(g);
      }
    }
    const ours = [];
    const theirs = [];
    const loads = [];
    let engine = '';
    let population = 0;
    for (let i = 0; i < runs; i++) {
      const g = LifeGrid.random(SIZE, SIZE, 0.5, i + 1);
      engine = g.engine;
      const a = process.hrtime.bigint();
      g.step(rule, GENERATIONS);
      ours.push(Number(process.hrtime.bigint() - a) / 1e9);
      population = g.population();
      if (haveBgolly) {
        const t = bgolly(['-a', 'QuickLife', '-m', String(GENERATIONS), '-q', '-q', soupFile]);
        const l = bgolly(['-a', 'QuickLife', '-m', '0', '-q', '-q', soupFile]);
        if (t !== null && l !== null) {
          theirs.push(t);
          loads.push(l);
        }
      }
      log(`life ${SIZE}x${SIZE} x${GENERATIONS}: run ${i + 1}/${runs}: ours ${ours[i].toFixed(3)} s${theirs[i] === undefined ? '' : `, bgolly ${theirs[i].toFixed(3)} s (load ${loads[i].toFixed(3)} s)`}`);
    }
    const o = median(ours);
    const t = theirs.length ? median(theirs) : null;
    const l = loads.length ? median(loads) : null;
    const processes = haveBgolly ? await processRows(dir, soupFile, Number(process.env.PROCESS_RUNS ?? 5), log) : [];
    const strip = await stripRows(runs, log);
    const stripBefore = process.env.COMPARE ? [await stripRows(runs, log, resolve(process.env.COMPARE, 'dist'), 'COMPARE build: ')] : [];
    return [
      ...processes,
      strip,
      ...stripBefore,
      {
        kernel: 'life',
        case: `life ${SIZE}x${SIZE} torus, ${GENERATIONS} generations`,
        runs,
        engine,
        ours_s: Number(o.toFixed(4)),
        yardstick: 'bgolly -a QuickLife -m 100',
        yardstick_s: t === null ? null : Number(t.toFixed(4)),
        yardstick_load_s: l === null ? null : Number(l.toFixed(4)),
        ratio: t === null ? null : Number((o / t).toFixed(3)),
        ratio_net: t === null || l === null ? null : Number((o / Math.max(t - l, 1e-6)).toFixed(3)),
        population,
        correct: correct !== false,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run({ log: (s) => console.error(s) });
  for (const r of rows.filter((x) => x.name !== undefined)) {
    console.log(`${r.name.padEnd(86)} ${r.ours.toFixed(3)} s   ${r.ratio}x of ${r.unit}${r.correct === false ? '   WRONG' : ''}`);
  }
  for (const r of rows.filter((x) => x.name === undefined)) {
    const y = r.yardstick_s === null ? '   n/a' : r.yardstick_s.toFixed(3);
    console.log(
      `${r.case.padEnd(34)} ours ${r.ours_s.toFixed(3)} s (${r.engine})   bgolly ${y} s (of which loading ${r.yardstick_load_s ?? 'n/a'} s)   ratio ${r.ratio ?? 'n/a'} (net of loading ${r.ratio_net ?? 'n/a'})   ${r.correct ? 'ok' : 'WRONG'}   (median of ${r.runs})`,
    );
  }
  if (rows.some((r) => r.correct === false)) process.exitCode = 1;
}
