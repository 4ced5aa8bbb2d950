#!/usr/bin/env node
// Distributed Life benchmark (issue 14): an 8192 x 8192 random torus (density 0.5, seed 1), G
// generations (default 100: 1000 takes minutes per run on this shared 2-core machine; LIFE_GENS=1000
// for the full case), B3/S23:
//   - bramble, 1 worker process with 1 slot: `bramble head` + `bramble worker` as real processes on
//     loopback TLS, the job submitted over the API; time = the job's own seconds (started -> done:
//     the soup made on the workers, every round through the head, the final checkpoint)
//   - bramble, 2 worker processes with 1 slot each (two strips, halos relayed through the head)
//   - the same kernel in 2 bare worker_threads, each stepping half the grid plus 8 ghost rows with no
//     exchange at all: the machine's ceiling for 2 threads (and 1 bare thread for reference)
//   - bgolly -a QuickLife -m G on the same soup (its whole process, loading the RLE included)
// Interleaved, median of RUNS (default 3). Run after `npm run build`: node bench/life-cluster.mjs
// Exports run() for bench/run.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BIN, freePort, median, sleep } from './lib.mjs';

const SIZE = Number(process.env.LIFE_SIZE ?? 8192);
const GENS = Number(process.env.LIFE_GENS ?? 100);

function call(dir, url, method, route, body) {
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((res, rej) => {
    const req = https.request(new URL(url + route), { method, ca, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) } }, (r) => {
      const parts = [];
      r.on('data', (d) => parts.push(d));
      r.on('end', () => res(JSON.parse(Buffer.concat(parts).toString() || 'null')));
    });
    req.on('error', rej);
    if (payload) req.write(payload);
    req.end();
  });
}


/** One bramble run: a head and `workers` worker processes of 1 slot; returns the job's seconds. */
async function brambleRun(workers, log) {
  const dir = mkdtempSync(join(tmpdir(), 'bramble-bench-lifec-'));
  const procs = [];
  try {
    const [port, httpPort] = [await freePort(), await freePort()];
    const env = { ...process.env, BRAMBLE_DATA: dir };
    procs.push(spawn(process.execPath, [BIN, 'head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'error'], { env, stdio: 'ignore' }));
    while (!existsSync(join(dir, 'head.json'))) await sleep(50);
    const url = JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8')).url;
    for (let i = 0; i < workers; i++) procs.push(spawn(process.execPath, [BIN, 'worker', '--head', `127.0.0.1:${port}`, '--data', dir, '--slots', '1', '--instance', String(i + 1), '--name', `w${i + 1}`, '--log-level', 'error'], { env, stdio: 'ignore' }));
    while ((await call(dir, url, 'GET', '/api/nodes')).nodes.length < workers) await sleep(50);
    const job = await call(dir, url, 'POST', '/api/jobs', { task: 'life', params: { size: `${SIZE}x${SIZE}`, generations: GENS, random: 0.5, seed: 1, parts: workers, checkpointEvery: GENS } });
    if (!job.id) throw new Error(`submit failed: ${JSON.stringify(job)}`);
    let st;
    let halo = null;
    let stepSeconds = null;
    let exchange = null;
    for (;;) {
      st = await call(dir, url, 'GET', `/api/jobs/${job.id}`);
      if (st.halo) halo = st.halo;
      if (st.stepSeconds) stepSeconds = st.stepSeconds;
      if (st.exchangeMs !== null && st.exchangeMs !== undefined) exchange = { round: st.roundMs, compute: st.computeMs, exchange: st.exchangeMs };
      if (['done', 'failed', 'cancelled'].includes(st.state)) break;
      await sleep(100);
    }
    if (st.state !== 'done') throw new Error(`job ${st.state}: ${st.error}`);
    const r = await call(dir, url, 'GET', `/api/jobs/${job.id}/result`);
    log(`  bramble ${workers} worker(s): ${r.seconds} s in all, ${stepSeconds} s stepping, population ${r.population}, k=${halo}, round ${exchange?.round?.toFixed(1)} ms = compute ${exchange?.compute?.toFixed(1)} ms + exchange through the head ${exchange?.exchange?.toFixed(1)} ms`);
    return { seconds: r.seconds, stepSeconds, population: Number(r.population), halo };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
}

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.strip).then(async ({ LifeStrip, randomRow }) => {
  const { parseRule } = await import(workerData.life);
  const { size, rows, y0, k, gens } = workerData;
  const s = new LifeStrip({ width: size, height: size, torus: true, y0, rows, kt: k, kb: k });
  s.fill((y, out) => randomRow(size, y, 0.5, 1, out));
  const rule = parseRule('B3/S23');
  const t0 = performance.now();
  for (let g = 0; g < gens; g++) s.step(rule);
  parentPort.postMessage((performance.now() - t0) / 1000);
});
`;

/** The kernel in `threads` bare threads, each on its share of the rows (+8 ghost rows a side), no exchange: seconds of stepping. */
async function bare(threads) {
  const strip = new URL('../dist/kernels/life-strip.js', import.meta.url).href;
  const life = new URL('../dist/kernels/life.js', import.meta.url).href;
  const rows = SIZE / threads;
  const stepping = await Promise.all(
    Array.from({ length: threads }, (_, i) =>
      new Promise((res, rej) => {
        const w = new Worker(THREAD, { eval: true, workerData: { strip, life, size: SIZE, rows, y0: i * rows, k: 8, gens: GENS } });
        w.once('message', (s) => {
          res(s);
          void w.terminate();
        });
        w.once('error', rej);
      }),
    ),
  );
  // the threads' stepping time (the slowest), as bramble's stepping figure: not the thread start and
  // making the soup (mulberry32 per cell, seconds for 8192 x 8192), which an earlier version counted
  return Math.max(...stepping);
}

function bgolly(file) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bgolly', ['-a', 'QuickLife', '-m', String(GENS), '-q', '-q', file], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const { LifeGrid, parseRule } = await import('../dist/kernels/life.js');
  const { toRle } = await import('../dist/kernels/rle.js');
  const dir = mkdtempSync(join(tmpdir(), 'bramble-bench-lifec-soup-'));
  try {
    const soup = join(dir, 'soup.rle');
    writeFileSync(soup, toRle(LifeGrid.random(SIZE, SIZE, 0.5, 1), parseRule('B3/S23')));
    const t = { b1: [], b2: [], s1: [], s2: [], bare1: [], bare2: [], golly: [] };
    let pops = new Set();
    for (let i = 0; i < runs; i++) {
      t.bare1.push(await bare(1));
      t.bare2.push(await bare(2));
      const one = await brambleRun(1, log);
      const two = await brambleRun(2, log);
      t.b1.push(one.seconds);
      t.b2.push(two.seconds);
      t.s1.push(one.stepSeconds);
      t.s2.push(two.stepSeconds);
      pops.add(one.population).add(two.population);
      const g = bgolly(soup);
      if (g !== null) t.golly.push(g);
      log(`life cluster run ${i + 1}/${runs}: bare 1 thread ${t.bare1[i].toFixed(2)} s, bare 2 threads ${t.bare2[i].toFixed(2)} s, bramble 1 worker ${one.seconds} s, 2 workers ${two.seconds} s, bgolly ${g?.toFixed(2) ?? 'n/a'} s`);
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.length ? median(v) : null]));
    const cells = SIZE * SIZE * GENS;
    return [
      {
        kernel: 'life-cluster',
        case: `life ${SIZE}x${SIZE} torus, ${GENS} generations, strips over worker processes`,
        runs,
        ours_s: m.s2,
        yardstick: 'the same kernel in 2 bare threads, no exchange (bramble: its stepping time, first step to last round)',
        yardstick_s: m.bare2,
        ratio: Number((m.s2 / m.bare2).toFixed(3)),
        bramble_1_worker_s: m.b1,
        bramble_2_workers_s: m.b2,
        bramble_1_worker_stepping_s: m.s1,
        bramble_2_workers_stepping_s: m.s2,
        bare_1_thread_s: m.bare1,
        bare_2_threads_s: m.bare2,
        bgolly_s: m.golly,
        speedup_2_vs_1: Number((m.b1 / m.b2).toFixed(3)),
        stepping_speedup_2_vs_1: Number((m.s1 / m.s2).toFixed(3)),
        of_2_thread_ceiling: Number((m.bare2 / m.s2).toFixed(3)),
        of_2_thread_ceiling_whole_job: Number((m.bare2 / m.b2).toFixed(3)),
        cells_per_s_bramble_2: Math.round(cells / m.b2),
        cells_per_s_bramble_2_stepping: Math.round(cells / m.s2),
        cells_per_s_bgolly: m.golly === null ? null : Math.round(cells / m.golly),
        same_population: pops.size === 1,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await run({ log: (s) => console.error(s) });
  console.log(JSON.stringify(rows, null, 1));
}
