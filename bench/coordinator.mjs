#!/usr/bin/env node
// Coordinator benchmarks (issue 8), run after `npm run build`:
//   node bench/coordinator.mjs        (RUNS=5 for more; CHUNKS=50000 by default: steady state, not ramp-up)
// 1. Throughput: `noop` chunks per second end to end (head + 2 worker processes over TLS, 2 slots + 48
//    prefetched = 50 chunks in flight per process, as BullMQ's concurrency 50), against the
//    same work as BullMQ jobs (no-op processor, 2 worker processes, concurrency 50, removeOnComplete)
//    on a local redis-server started here; interleaved, median of RUNS. Also p50/p99 want -> assign.
//    BullMQ in both pairings, the same run: 2 worker processes, and 1 process with concurrency 50 (its
//    best on a 2-core machine: issue 16); bramble's ratio is reported against the better of the two,
//    and `bramble run noop --chunks N` (head and slots in one process) against it too.
//    SKIP=scaling,memory leaves those parts out. BASE=DIR (an earlier checkout, built) times its
//    `bramble run noop` in the same run too: before and after on the same loaded machine.
// 2. Scaling: primes [0, 1e10] with 1 and 2 slots (`bramble run --workers N`): T1 / (2 x T2).
// 3. Head memory per queued chunk and per connected worker.
// Profiling: BENCH_HEAD_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (and BENCH_WORKER_FLAGS) pass node flags.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, freePort, kernelThreads, median, ROOT, sleep } from './lib.mjs';

/** BASE=DIR: a checkout of an earlier version, built, whose `run noop` is timed in the same run (before/after). */
const BASE = process.env.BASE ? path.resolve(process.env.BASE) : null;

function proc(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', r));
  return { child, out: () => out, exited, kill: async () => {
    if (child.exitCode !== null) return;
    // SIGTERM first so a profiled process writes its profile; SIGKILL if it lingers
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  } };
}

export function api(head, method, route, body) {
  const payload = body ? Buffer.from(JSON.stringify(body)) : null;
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + route), { method, ca: head.ca, headers: { authorization: `Bearer ${head.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(JSON.parse(t)));
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export async function startHead(dir) {
  const port = await freePort();
  const httpPort = await freePort();
  const p = proc(process.execPath, [...(process.env.BENCH_HEAD_FLAGS ?? '').split(' ').filter(Boolean), BIN, 'head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'error']);
  const state = path.join(dir, 'head.json');
  for (let i = 0; i < 300 && !existsSync(state); i++) await sleep(50);
  const url = JSON.parse(readFileSync(state, 'utf8')).url;
  return { ...p, dir, port, url, ca: readFileSync(path.join(dir, 'ca.crt')), token: readFileSync(path.join(dir, 'admin-token'), 'utf8').trim() };
}

export async function waitJob(head, id) {
  for (let errors = 0; ; ) {
    // a poll may meet a reset connection on a loaded machine (a new TLS connection every 20 ms):
    // asked again, up to 20 times in a row, rather than ending the benchmark
    const st = await api(head, 'GET', `/api/jobs/${id}`).catch((e) => {
      if (++errors > 20) throw e;
      return null;
    });
    if (st) errors = 0;
    if (st && ['done', 'failed', 'cancelled'].includes(st.state)) return st;
    await sleep(20);
  }
}

/** Head + 2 worker processes over TLS; returns chunks/s measured by the head (job start to finish). */
export async function brambleNoop(chunks) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-'));
  const head = await startHead(dir);
  const workers = [0, 1].map((i) => proc(process.env.BENCH_NICE ? 'nice' : process.execPath, [...(process.env.BENCH_NICE ? ['-n', '10', process.execPath] : []), ...(process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean), BIN, 'worker', '--head', `127.0.0.1:${head.port}`, '--data', dir, '--name', `b${i}`, '--instance', String(i + 1), '--slots', '2', '--prefetch', '48', '--log-level', 'error']));
  for (;;) {
    const { nodes } = await api(head, 'GET', '/api/nodes');
    if (nodes.filter((n) => n.state === 'ready').length === 2) break;
    await sleep(50);
  }
  const sub = await api(head, 'POST', '/api/jobs', { task: 'noop', params: { chunks } });
  await waitJob(head, sub.id);
  const r = await api(head, 'GET', `/api/jobs/${sub.id}/result`);
  const stats = await api(head, 'GET', '/api/stats');
  const cpu = { head: cpuSeconds(head.child.pid), workers: workers.reduce((t, w) => t + cpuSeconds(w.child.pid), 0), threads: process.env.BENCH_THREADS ? { head: cpuThreads(head.child.pid), worker: cpuThreads(workers[0].child.pid) } : undefined };
  for (const w of workers) await w.kill();
  await head.kill();
  if (process.env.BENCH_HEAD_OUT) console.log(head.out());
  rmSync(dir, { recursive: true, force: true });
  return { rate: chunks / r.seconds, seconds: r.seconds, p50: stats.wantToAssignMs.p50, p99: stats.wantToAssignMs.p99, cpu, counters: stats.counters };
}

const BULL_WORKER = `
const { Worker } = require('bullmq');
const w = new Worker('bench', async () => {}, { connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) }, concurrency: 50 });
process.on('SIGTERM', async () => { await w.close(); process.exit(0); });
`;

/** BullMQ draining `chunks` no-op jobs with `processes` worker processes of concurrency 50 each. */
export async function bullmqNoop(chunks, processes = 2) {
  let bullmq;
  try {
    bullmq = await import('bullmq');
  } catch {
    return null;
  }
  const port = await freePort();
  const redis = proc('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  for (let i = 0; i < 100; i++) {
    if (redis.out().includes('Ready to accept')) break;
    if (redis.child.exitCode !== null) return null;
    await sleep(50);
  }
  const connection = { host: '127.0.0.1', port };
  const queue = new bullmq.Queue('bench', { connection });
  await queue.obliterate({ force: true }).catch(() => {});
  const workers = Array.from({ length: processes }, () => proc(process.execPath, ['-e', BULL_WORKER], { REDIS_PORT: String(port), NODE_PATH: path.join(ROOT, 'node_modules') }));
  await sleep(1000);
  const t0 = performance.now();
  for (let i = 0; i < chunks; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, chunks - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: true } })));
  }
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (c.waiting + c.active + c.delayed + (c.prioritized ?? 0) === 0) break;
    await sleep(20);
  }
  const secs = (performance.now() - t0) / 1000;
  await queue.close();
  for (const w of workers) await w.kill();
  await redis.kill();
  return { rate: chunks / secs, seconds: secs };
}

/** CPU seconds per thread of a live process (name:tid; the main thread is name:main). */
export function cpuThreads(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const secs = (Number(f[11]) + Number(f[12])) / 100;
      if (secs > 0) out[`${comm}:${tid === String(pid) ? 'main' : tid}`] = secs;
    } catch {
      /* thread ended */
    }
  }
  return out;
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

async function memory() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-'));
  const head = await startHead(dir);
  await sleep(500);
  const r0 = rss(head.child.pid);
  const sub = await api(head, 'POST', '/api/jobs', { task: 'noop', params: { chunks: 1_000_000 } });
  await sleep(500);
  const r1 = rss(head.child.pid);
  await api(head, 'POST', `/api/jobs/${sub.id}/cancel`);
  const { simWorker } = await import('./sim-worker.mjs');
  const cluster = { caHash: null, secret: readFileSync(path.join(dir, 'cluster-secret'), 'utf8').trim() };
  const { certHash } = await import('../dist/trust/index.js');
  cluster.caHash = certHash(readFileSync(path.join(dir, 'ca.crt'), 'utf8'));
  const sims = [];
  for (let i = 0; i < 200; i++) sims.push(await simWorker({ host: '127.0.0.1', port: head.port, ...cluster, name: `m${i}` }));
  await sleep(1000);
  const r2 = rss(head.child.pid);
  for (const s of sims) s.close();
  await head.kill();
  rmSync(dir, { recursive: true, force: true });
  return { perQueuedChunk: (r1 - r0) / 1_000_000, perWorker: (r2 - r1) / 200 };
}

/** The machine's own ceiling: the same kernel in n bare worker threads, each [i * width, (i + 1) * width). */
async function rawThreads(n, width) {
  return (await kernelThreads(Array.from({ length: n }, (_, i) => [BigInt(i) * BigInt(width), BigInt(i + 1) * BigInt(width) - 1n]))).secs;
}

export async function scaling(runs) {
  const t = { 1: [], 2: [] };
  for (let i = 0; i < runs; i++) {
    for (const n of [1, 2]) {
      const p = proc(process.execPath, [BIN, 'run', 'primes', '--start', '0', '--end', '1e10', '--workers', String(n), '--json']);
      await p.exited;
      t[n].push(JSON.parse(p.out().trim().split('\n').pop()).seconds);
    }
  }
  const t1 = median(t[1]);
  const t2 = median(t[2]);
  // yardstick: 2 bare threads each doing the same amount of work as 1 (weak scaling), same kernel
  const raw1 = [];
  const raw2 = [];
  for (let i = 0; i < runs; i++) {
    raw1.push(await rawThreads(1, 5e9));
    raw2.push(await rawThreads(2, 5e9));
  }
  return { t1, t2, efficiency: t1 / (2 * t2), ceiling: median(raw1) / median(raw2) };
}

/** `bramble run noop --chunks N`: head and slots in one process, chunks per second of the job itself. */
async function brambleRunNoop(chunks, root = ROOT) {
  const p = proc(process.execPath, [path.join(root, 'bin', 'bramble.js'), 'run', 'noop', '--chunks', String(chunks), '--json']);
  await new Promise((r) => p.child.on('exit', r));
  const j = JSON.parse(p.out());
  return { rate: chunks / j.seconds, seconds: j.seconds };
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const chunks = Number(process.env.CHUNKS ?? 50000);
  const skip = (process.env.SKIP ?? '').split(',');
  const ours = [];
  const oursRun = [];
  const oursBase = [];
  const theirs2 = [];
  const theirs1 = [];
  const lat = [];
  for (let i = 0; i < runs; i++) {
    const b = await brambleNoop(chunks);
    ours.push(b.rate);
    lat.push(b);
    log(`  bramble noop run ${i + 1}: ${b.rate.toFixed(0)} chunks/s, want->assign p99 ${b.p99?.toFixed(2)} ms`);
    const r = await brambleRunNoop(chunks);
    oursRun.push(r.rate);
    log(`  bramble run noop ${i + 1}: ${r.rate.toFixed(0)} chunks/s`);
    if (BASE) {
      const rb = await brambleRunNoop(chunks, BASE);
      oursBase.push(rb.rate);
      log(`  bramble run noop ${i + 1}, BASE build: ${rb.rate.toFixed(0)} chunks/s`);
    }
    const q2 = await bullmqNoop(chunks, 2);
    if (q2) {
      theirs2.push(q2.rate);
      log(`  bullmq  noop run ${i + 1}, 2 processes: ${q2.rate.toFixed(0)} jobs/s`);
    }
    const q1 = await bullmqNoop(chunks, 1);
    if (q1) {
      theirs1.push(q1.rate);
      log(`  bullmq  noop run ${i + 1}, 1 process: ${q1.rate.toFixed(0)} jobs/s`);
    }
  }
  const best = theirs1.length ? Math.max(median(theirs1), median(theirs2)) : null;
  const bestName = theirs1.length && median(theirs1) >= median(theirs2) ? '1 process, concurrency 50' : '2 processes, concurrency 50 each';
  const rows = [
    ...(BASE ? [{ name: `bramble run noop --chunks ${chunks}, this build against BASE (${BASE})`, ours: median(oursRun), yardstick: median(oursBase), unit: 'chunks/s; yardstick: the same command of the BASE build, same run', ratio: median(oursRun) / median(oursBase) }] : []),
    {
      name: `noop throughput, ${chunks} chunks, 2 worker processes`,
      ours: median(ours),
      yardstick: theirs2.length ? median(theirs2) : null,
      unit: 'chunks/s (higher is better); yardstick: BullMQ, 2 worker processes',
      ratio: theirs2.length ? median(ours) / median(theirs2) : null,
      p50ms: median(lat.map((l) => l.p50)),
      p99ms: median(lat.map((l) => l.p99)),
    },
    {
      name: `noop throughput, ${chunks} chunks, 2 worker processes, against BullMQ's best`,
      ours: median(ours),
      yardstick: best,
      unit: `chunks/s; yardstick: BullMQ's best here (${bestName}; 1 process ${theirs1.length ? median(theirs1).toFixed(0) : '-'}, 2 processes ${theirs2.length ? median(theirs2).toFixed(0) : '-'} jobs/s)`,
      ratio: best ? median(ours) / best : null,
    },
    {
      name: `bramble run noop --chunks ${chunks} (one process), against BullMQ's best`,
      ours: median(oursRun),
      yardstick: best,
      unit: `chunks/s; yardstick: BullMQ's best here (${bestName})`,
      ratio: best ? median(oursRun) / best : null,
    },
  ];
  if (skip.includes('scaling') && skip.includes('memory')) return rows;
  const sc = await scaling(runs);
  rows.push({
    name: 'primes [0, 1e10] scaling 1 -> 2 slots',
    ours: sc.efficiency,
    yardstick: sc.ceiling,
    unit: `T1 ${sc.t1.toFixed(2)} s, T2 ${sc.t2.toFixed(2)} s, efficiency T1/(2 T2); yardstick: the same kernel in 2 bare threads on this machine (target 0.9)`,
    ratio: sc.efficiency / sc.ceiling,
  });
  const mem = await memory();
  rows.push({ name: 'head memory', ours: mem.perQueuedChunk, yardstick: null, unit: `bytes per queued chunk; ${(mem.perWorker / 1024).toFixed(1)} KiB per connected worker`, ratio: null });
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await run({ log: (s) => console.log(s) });
  for (const r of rows) console.log(JSON.stringify(r));
  process.exit(0);
}
