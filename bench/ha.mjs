#!/usr/bin/env node
// High availability benchmarks (issue 15), run after `npm run build` (needs /usr/bin/etcd: Debian's etcd-server):
//   node bench/ha.mjs          TRIALS=10 failovers, RUNS=5 commit runs (medians reported)
// 1. Failover: a real 3-member etcd on loopback, three `bramble head --etcd` candidates with the default
//    HA timings (lease TTL 6 s, renew deadline 4 s, retry 1 s; HA_TTL/HA_RENEW_MS/HA_RETRY_MS to change),
//    two workers given all three, a long primes job. Each trial SIGKILLs the leader and measures from the
//    kill to the new leader's first lease (GET /api/ha self.firstLeaseAt): an upper bound of "last lease of
//    the old leader to first lease of the new", since the old leader was leasing until it died. The
//    yardstick is the lease TTL: a crashed leader cannot be replaced before its etcd lease expires.
//    The killed candidate is started again (it rejoins as a standby) before the next trial. Then TERM_TRIALS
//    (default 5) more with SIGTERM: the leader resigns (deletes its key), so a standby need not wait the TTL.
// 2. Results per second into the journal: commitChunksAsync of 20,000 primes-sized result rows (no output),
//    512 per call as the head's group commit gives them, into EtcdJournal (3-member etcd, fenced) and into
//    SqliteJournal (WAL, synchronous=FULL) in a temp dir; interleaved, median of RUNS. Yardstick: SQLite.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BIN, freePort, median, ROOT, sleep } from './lib.mjs';

const ETCD = process.env.BRAMBLE_ETCD ?? '/usr/bin/etcd';

function proc(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  const exited = new Promise((r) => child.on('exit', r));
  return { child, out: () => out, exited, async kill(sig = 'SIGKILL') {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    await exited;
  } };
}

async function startEtcd(dir) {
  const members = [];
  for (let i = 0; i < 3; i++) members.push({ name: `m${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` });
  const procs = members.map((m) =>
    proc(ETCD, ['--name', m.name, '--data-dir', path.join(dir, m.name), '--listen-client-urls', m.client, '--advertise-client-urls', m.client, '--listen-peer-urls', m.peer, '--initial-advertise-peer-urls', m.peer, '--initial-cluster', members.map((x) => `${x.name}=${x.peer}`).join(','), '--initial-cluster-state', 'new', '--initial-cluster-token', path.basename(dir), '--log-level', 'error']),
  );
  for (const m of members) {
    for (let i = 0; ; i++) {
      try {
        const j = await (await fetch(`${m.client}/health`, { signal: AbortSignal.timeout(1000) })).json();
        if (j.health === 'true') break;
      } catch {
        /* starting */
      }
      if (i > 300) throw new Error(`etcd ${m.name} not healthy`);
      await sleep(100);
    }
  }
  return { endpoints: members.map((m) => m.client), stop: () => procs.forEach((p) => p.child.kill('SIGKILL')) };
}

function api(head, method, route, body) {
  const payload = body ? Buffer.from(JSON.stringify(body)) : null;
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + route), { method, ca: head.ca, headers: { authorization: `Bearer ${head.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, json: JSON.parse(t) });
        } catch {
          resolve({ status: res.statusCode, json: null });
        }
      });
    });
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function ha(h) {
  try {
    const r = await api(h, 'GET', '/api/ha');
    return r.status === 200 ? r.json : null;
  } catch {
    return null;
  }
}

async function failover(log) {
  const trials = Number(process.env.TRIALS ?? 10);
  const ttl = process.env.HA_TTL ?? '6';
  const timing = ['--ha-lease-ttl', ttl, ...(process.env.HA_RENEW_MS ? ['--ha-renew-ms', process.env.HA_RENEW_MS] : []), ...(process.env.HA_RETRY_MS ? ['--ha-retry-ms', process.env.HA_RETRY_MS] : [])];
  const root = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-ha-'));
  const etcd = await startEtcd(path.join(root, 'etcd'));
  const heads = new Map();
  const workers = [];
  try {
    const dir1 = path.join(root, 'h1');
    const init = proc(process.execPath, [BIN, 'init', '--data', dir1, '--etcd', etcd.endpoints.join(',')]);
    await init.exited;
    for (const n of ['h2', 'h3']) cpSync(dir1, path.join(root, n), { recursive: true });
    const ports = new Map();
    for (const n of ['h1', 'h2', 'h3']) ports.set(n, { port: await freePort(), httpPort: await freePort() });
    const start = async (n) => {
      const dir = path.join(root, n);
      rmSync(path.join(dir, 'head.json'), { force: true });
      const { port, httpPort } = ports.get(n);
      const p = proc(process.execPath, [BIN, 'head', '--data', dir, '--name', n, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'error', ...timing]);
      for (let i = 0; i < 300 && !existsSync(path.join(dir, 'head.json')); i++) await sleep(50);
      heads.set(n, { ...p, url: `https://127.0.0.1:${httpPort}`, ca: readFileSync(path.join(dir, 'ca.crt')), token: readFileSync(path.join(dir, 'admin-token'), 'utf8').trim() });
    };
    await Promise.all(['h1', 'h2', 'h3'].map(start));
    const leaderOf = async (not) => {
      for (;;) {
        for (const h of heads.values()) {
          const v = await ha(h);
          if (v?.leader && v.leader !== not) {
            const own = await ha(heads.get(v.leader));
            if (own?.self.state === 'leader') return own;
          }
        }
        await sleep(50);
      }
    };
    await leaderOf();
    const list = [...ports.values()].map((p) => `127.0.0.1:${p.port}`).join(',');
    for (const w of ['w1', 'w2']) workers.push(proc(process.execPath, [BIN, 'worker', '--head', list, '--data', dir1, '--name', w, '--instance', String(workers.length + 1), '--slots', '1', '--log-level', 'error']));
    const first = await leaderOf();
    const job = (await api(heads.get(first.leader), 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e13', chunk: '2e6' })).json;
    const times = [];
    const termTimes = [];
    const termTrials = Number(process.env.TERM_TRIALS ?? 5);
    for (let t = 0; t < trials + termTrials; t++) {
      const signal = t < trials ? 'SIGKILL' : 'SIGTERM';
      const cur = await leaderOf();
      // mid-job: the leader has been handing out leases
      for (let i = 0; i < 200 && !(await ha(heads.get(cur.leader)))?.self.firstLeaseAt; i++) await sleep(50);
      const killedAt = Date.now();
      await heads.get(cur.leader).kill(signal);
      const next = await leaderOf(cur.leader);
      let first = null;
      for (let i = 0; i < 600 && !(first = (await ha(heads.get(next.leader)))?.self.firstLeaseAt); i++) await sleep(20);
      const ms = first - killedAt;
      (signal === 'SIGKILL' ? times : termTimes).push(ms);
      log(`  trial ${t + 1}: ${cur.leader} ${signal === 'SIGKILL' ? 'killed' : 'stopped (SIGTERM: resigns)'}, ${next.leader} leads (epoch ${next.epoch}), first lease after ${ms} ms`);
      await start(cur.leader); // rejoins as a standby
    }
    await api(heads.get((await leaderOf()).leader), 'POST', `/api/jobs/${job.id}/cancel`);
    return { median: median(times), worst: Math.max(...times), ttlMs: Number(ttl) * 1000, trials, termMedian: termTimes.length ? median(termTimes) : null, termWorst: termTimes.length ? Math.max(...termTimes) : null, termTrials };
  } finally {
    for (const w of workers) await w.kill();
    for (const h of heads.values()) await h.kill();
    etcd.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function commits(log) {
  const runs = Number(process.env.RUNS ?? 5);
  const N = Number(process.env.ROWS ?? 20_000);
  const BATCH = 512;
  const { EtcdElection, EtcdJournal, SqliteJournal } = await import(path.join(ROOT, 'dist/storage/index.js'));
  const root = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-journal-'));
  const etcd = await startEtcd(path.join(root, 'etcd'));
  const election = new EtcdElection({ endpoints: etcd.endpoints, prefix: 'bench/', name: 'bench', urls: [], leaseTtlS: 6, renewDeadlineMs: 4000, retryMs: 1000 });
  election.start();
  while (!election.isLeader()) await sleep(20);
  const job = (id) => ({ id, seq: 1, task: 'primes', params: {}, start: 1n, end: BigInt(N) * 1000n, chunk: 1000n, chunks: N, chunkMs: null, priority: 0, maxAttempts: 3, state: 'running', createdAt: 1, startedAt: 1, finishedAt: null, error: null });
  const rows = (id) => Array.from({ length: N }, (_, i) => ({ jobId: id, index: i, span: 1, attempt: 1, worker: 'bench-worker-1', summary: { count: 168, first: '1009', last: '1999', gap: 20 }, output: null, finishedAt: Date.now() }));
  const once = async (j, id) => {
    j.createJob(job(id));
    const all = rows(id);
    const t0 = performance.now();
    for (let i = 0; i < all.length; i += BATCH) await j.commitChunksAsync(all.slice(i, i + BATCH));
    return N / ((performance.now() - t0) / 1000);
  };
  const e = [];
  const s = [];
  try {
    for (let r = 0; r < runs; r++) {
      const ej = new EtcdJournal({ endpoints: etcd.endpoints, prefix: 'bench/', fence: () => election.fence() });
      e.push(await once(ej, `e${r}`));
      ej.close();
      const sj = new SqliteJournal(path.join(root, `s${r}.db`));
      s.push(await once(sj, `s${r}`));
      sj.close();
      log(`  run ${r + 1}: etcd ${e.at(-1).toFixed(0)} results/s, sqlite ${s.at(-1).toFixed(0)} results/s`);
    }
  } finally {
    await election.resign();
    election.close();
    etcd.stop();
    rmSync(root, { recursive: true, force: true });
  }
  return { etcd: median(e), sqlite: median(s) };
}

export async function run({ log }) {
  if (!existsSync(ETCD)) throw new Error(`${ETCD} not found (apt-get install etcd-server)`);
  const rows = [];
  const pick = (process.env.HA_BENCH ?? 'failover,commit').split(',');
  if (pick.includes('commit')) {
    const c = await commits(log);
    rows.push({ name: 'journal commit, results/s (512 per call)', ours: c.etcd, yardstick: c.sqlite, unit: 'EtcdJournal vs SqliteJournal', ratio: c.etcd / c.sqlite });
  }
  if (pick.includes('failover')) {
    const f = await failover(log);
    if (f.trials > 0) rows.push({ name: `failover after SIGKILL of the leader, median of ${f.trials} (worst ${(f.worst / 1000).toFixed(2)} s)`, ours: f.median / 1000, yardstick: f.ttlMs / 1000, unit: 'seconds; yardstick: the etcd lease TTL, the floor for a crash', ratio: f.median / f.ttlMs });
    if (f.termMedian !== null) rows.push({ name: `failover after SIGTERM of the leader (it resigns), median of ${f.termTrials} (worst ${(f.termWorst / 1000).toFixed(2)} s)`, ours: f.termMedian / 1000, yardstick: f.ttlMs / 1000, unit: 'seconds; yardstick: the etcd lease TTL', ratio: f.termMedian / f.ttlMs });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run({ log: (s) => console.log(s) });
  for (const r of rows) console.log(`${r.name}: ours ${r.ours.toFixed(2)}, yardstick ${r.yardstick.toFixed(2)}, ratio ${r.ratio.toFixed(3)} (${r.unit})`);
  process.exit(0);
}
