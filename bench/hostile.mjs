#!/usr/bin/env node
// Issue 17 benchmarks, run after `npm run build`:
//   node bench/hostile.mjs            (RUNS=3 by default; BENCH=hostile npm run bench)
// Hoarding (item 18): primes [1, 4e7] in 100 fixed chunks on one honest worker (1 slot), with and
// without a hoarder that joined first, asked for 1,024 chunks and heartbeats without ever answering.
// The yardstick is the same job without the hoarder, interleaved, median of RUNS; the bound is 2x.
// Replication (item 17): primes [1, 2e9] in 100 fixed chunks on two honest 1-slot workers, plain, with
// --verify 10 and with --replicas 2; the yardstick is the plain job, interleaved, median of RUNS.
// Chunk map (item 9): /api/jobs/ID/chunks of a 1e8-chunk job in 4,096 cells, Ledger.chunkCells against
// the per-chunk state array it replaced (the yardstick), in process, median of 5.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { api, startHead, waitJob } from './coordinator.mjs';
import { BIN, median, ROOT, sleep } from './lib.mjs';

const { connectFramed } = await import(path.join(ROOT, 'dist/net/index.js'));
const { authProof, loadCluster } = await import(path.join(ROOT, 'dist/trust/index.js'));
const { PROTOCOL_VERSION } = await import(path.join(ROOT, 'dist/protocol/index.js'));

/** A worker that takes what it can and never answers; returns how many chunks it got and a stop(). */
export async function hoarder(head, name = 'hoarder') {
  const c = loadCluster(head.dir);
  const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
  const tokens = [];
  let got = 0;
  link.conn.on('message', (m) => {
    if (m.type === 'challenge') {
      link.conn.send({ type: 'hello', version: PROTOCOL_VERSION, node: name, name, instance: 0, hostname: 'h', addresses: [], slots: 1, kernels: ['primes'], pid: 1, proof: authProof(c.secret, m.nonce, name, link.binding) });
    } else if (m.type === 'welcome') link.conn.send({ type: 'want', n: 1024 });
    else if (m.type === 'assign') {
      got += m.chunks.length;
      for (const k of m.chunks) tokens.push(k.token);
    }
  });
  const beat = setInterval(() => link.conn.send({ type: 'heartbeat', tokens: tokens.slice(-4096) }), 1000);
  return { got: () => got, stop: () => (clearInterval(beat), link.conn.destroy()) };
}

async function once(withHoarder) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-sec2-bench-'));
  const head = await startHead(dir);
  let h = null;
  try {
    // both connected and idle before the job exists: the time is submit to done either way
    const w = spawn(process.execPath, [BIN, 'worker', '--head', `127.0.0.1:${head.port}`, '--data', dir, '--name', 'honest', '--instance', '901', '--slots', '1', '--log-level', 'error'], { stdio: 'ignore' });
    if (withHoarder) h = await hoarder(head);
    for (;;) {
      const { nodes } = await api(head, 'GET', '/api/nodes');
      if (nodes.filter((n) => n.state === 'ready').length === (withHoarder ? 2 : 1)) break;
      await sleep(50);
    }
    const t0 = Date.now();
    const sub = await api(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '4e7', chunk: '4e5' });
    const st = await waitJob(head, sub.id);
    const secs = (Date.now() - t0) / 1000;
    const stats = await api(head, 'GET', '/api/stats');
    w.kill('SIGKILL');
    if (st.state !== 'done') throw new Error(`job ${st.state}`);
    return { secs, hoarded: h?.got() ?? 0, backups: stats.ledger.overdueBackups ?? 0 };
  } finally {
    h?.stop();
    await head.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function modes(runs, log) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-sec2-bench-'));
  const head = await startHead(dir);
  const workers = ['r1', 'r2'].map((n, i) => spawn(process.execPath, [BIN, 'worker', '--head', `127.0.0.1:${head.port}`, '--data', dir, '--name', n, '--instance', String(911 + i), '--slots', '1', '--log-level', 'error'], { stdio: 'ignore' }));
  try {
    for (;;) {
      const { nodes } = await api(head, 'GET', '/api/nodes');
      if (nodes.filter((n) => n.state === 'ready').length === 2) break;
      await sleep(50);
    }
    const times = { plain: [], verify10: [], replicas2: [] };
    const body = { plain: {}, verify10: { verify: 10 }, replicas2: { replicas: 2 } };
    for (let i = 0; i < runs; i++) {
      for (const m of Object.keys(times)) {
        const t0 = Date.now();
        const sub = await api(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2e9', chunk: '2e7', ...body[m] });
        const st = await waitJob(head, sub.id);
        if (st.state !== 'done') throw new Error(`${m}: job ${st.state}`);
        times[m].push((Date.now() - t0) / 1000);
      }
      log(`run ${i + 1}: plain ${times.plain.at(-1).toFixed(2)} s, --verify 10 ${times.verify10.at(-1).toFixed(2)} s, --replicas 2 ${times.replicas2.at(-1).toFixed(2)} s`);
    }
    const base = median(times.plain);
    return [
      { name: 'replication: primes [1, 2e9], 100 chunks, 2 workers, --verify 10', ours: median(times.verify10), yardstick: base, unit: 'seconds; yardstick: the same job unverified', ratio: median(times.verify10) / base },
      { name: 'replication: primes [1, 2e9], 100 chunks, 2 workers, --replicas 2', ours: median(times.replicas2), yardstick: base, unit: 'seconds; yardstick: the same job unverified', ratio: median(times.replicas2) / base },
    ];
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    await head.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function chunkMap() {
  const { Ledger, ManualClock } = await import(path.join(ROOT, 'dist/core/index.js'));
  const { MemoryJournal } = await import(path.join(ROOT, 'dist/storage/index.js'));
  const signer = { signRun: (j, f, s, a, c) => Array.from({ length: c }, (_, k) => `${j}:${f + k * s}:${a}:${k}`), verify: () => true };
  const ledger = new Ledger({ clock: new ManualClock(0), journal: new MemoryJournal(), signer });
  ledger.submit({ id: 'j', task: 'noop', params: {}, start: 0n, end: 99_999_999n, chunk: 1n, chunks: 1e8, chunkMs: null, priority: 0, maxAttempts: 3 });
  ledger.registerWorker('w', 4);
  const a = ledger.lease('w', 16);
  ledger.complete(a.map((x) => ({ token: x.token, jobId: 'j', index: x.index, span: 1, worker: 'w', summary: {}, output: null })));
  const timed = (f) => {
    const t = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
    return median(t);
  };
  const perChunk = () => {
    const st = ledger.chunkStates('j');
    const k = Math.ceil(st.length / 4096);
    const out = [];
    for (let i = 0; i < st.length; i += k) {
      const c = [0, 0, 0, 0];
      for (let j = i; j < Math.min(st.length, i + k); j++) c[st[j]]++;
      out.push(c);
    }
    return out;
  };
  const theirs = timed(perChunk);
  const ours = timed(() => ledger.chunkCells('j', 4096));
  return { name: 'chunk map of a 1e8-chunk job, 4096 cells', ours, yardstick: theirs, unit: 'ms; yardstick: a byte per chunk, as before', ratio: ours / theirs };
}

export async function run({ runs = Number(process.env.RUNS ?? 3), log = () => {} } = {}) {
  const plain = [];
  const hoarded = [];
  for (let i = 0; i < runs; i++) {
    const a = await once(false);
    const b = await once(true);
    plain.push(a.secs);
    hoarded.push(b.secs);
    log(`run ${i + 1}: alone ${a.secs.toFixed(2)} s; with a hoarder ${b.secs.toFixed(2)} s (it got ${b.hoarded} chunks, ${b.backups} overdue backups)`);
  }
  const ours = median(hoarded);
  const theirs = median(plain);
  return [{ name: 'hoarder: primes [1, 4e7], 100 chunks, 1 honest slot', ours, yardstick: theirs, unit: 'seconds with a hoarder; yardstick: the same job without it; bound 2x', ratio: ours / theirs }, ...(await modes(runs, log)), await chunkMap()];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run({ log: (s) => console.log(s) });
  console.log(JSON.stringify(rows, null, 2));
  process.exit(0);
}
