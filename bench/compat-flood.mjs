#!/usr/bin/env node
// Issue 17, item 19, run after `npm run build`:  RUNS=3 node bench/compat-flood.mjs
// A head with --compat-text and a primes --list job of 8 chunks of 10^7 numbers just below 2^64; 8
// seed 000 clients (each on its own loopback address) answer their chunk with a wrong first number,
// which the head can refute only by sieving the chunk. /api/health is asked every 50 ms meanwhile.
// Yardstick, in the same run on the same head: /api/health with no checks running (20 requests).
// Reported per run: health median / slowest with no load and during the 8 checks, the time from the
// answers to the 8th verdict, and the check time the head's thread measured. Median of RUNS.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BIN, freePort, median, sleep } from './lib.mjs';

function api(head, method, route, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + route), { method, ca: head.ca, headers: { authorization: `Bearer ${head.token}`, 'content-type': 'application/json' } }, (res) => {
      let d = '';
      res.on('data', (c) => (d += c));
      res.on('end', () => resolve({ status: res.statusCode, json: d ? JSON.parse(d) : null }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

async function startHead(dir, tp) {
  const [port, httpPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [BIN, 'head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'error', '--compat-text', String(tp)], { stdio: 'ignore' });
  const state = path.join(dir, 'head.json');
  for (let i = 0; i < 600 && !existsSync(state); i++) await sleep(50);
  const head = { child, dir, url: JSON.parse(readFileSync(state, 'utf8')).url, ca: readFileSync(path.join(dir, 'ca.crt')), token: readFileSync(path.join(dir, 'admin-token'), 'utf8').trim() };
  while ((await api(head, 'GET', '/api/compat')).status !== 200) await sleep(50);
  return head;
}

function client(tp, i) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: tp, localAddress: `127.0.3.${i + 1}` });
    s.on('error', reject);
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve({ s, line: buf.slice(0, buf.indexOf('\n')) });
    });
  });
}

async function timedHealth(head) {
  const t0 = performance.now();
  const r = await api(head, 'GET', '/api/health');
  if (r.status !== 200) throw new Error(`health ${r.status}`);
  return performance.now() - t0;
}

async function once() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-compat3-bench-'));
  const tp = await freePort();
  const head = await startHead(dir, tp);
  try {
    const idle = [];
    for (let i = 0; i < 20; i++) {
      idle.push(await timedHealth(head));
      await sleep(50);
    }
    const top = 2n ** 64n - 1n;
    const w = 10_000_000n;
    await api(head, 'POST', '/api/jobs', { task: 'primes', start: String(top - 8n * w + 1n), end: String(top), chunk: String(w), params: { list: true } });
    const cs = await Promise.all(Array.from({ length: 8 }, (_, i) => client(tp, i)));
    const t0 = performance.now();
    for (const { s, line } of cs) {
      const [id, start] = line.split(':');
      s.write(`${id}:${start}\n`);
    }
    const during = [];
    let st;
    for (;;) {
      during.push(await timedHealth(head));
      st = (await api(head, 'GET', '/api/compat')).json.text;
      if (st.refused === 8) break;
      await sleep(50);
    }
    const wall = performance.now() - t0;
    for (const { s } of cs) s.destroy();
    return { idleMedian: median(idle), idleMax: Math.max(...idle), duringMedian: median(during), duringMax: Math.max(...during), checksWall: wall, checkMs: st.checks.cpuMs, asked: during.length };
  } finally {
    head.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = Number(process.env.RUNS ?? 3);
const rows = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  rows.push(r);
  console.log(`run ${i + 1}: health idle median ${r.idleMedian.toFixed(1)} ms (max ${r.idleMax.toFixed(1)}), during 8 checks median ${r.duringMedian.toFixed(1)} ms (max ${r.duringMax.toFixed(1)}, ${r.asked} asked); 8 verdicts in ${(r.checksWall / 1000).toFixed(2)} s, check thread ${(r.checkMs / 1000).toFixed(2)} s`);
}
const m = (k) => median(rows.map((r) => r[k]));
console.log(`median of ${runs}: health idle ${m('idleMedian').toFixed(1)} ms, during checks ${m('duringMedian').toFixed(1)} ms (ratio ${(m('duringMedian') / m('idleMedian')).toFixed(2)}), slowest during checks ${m('duringMax').toFixed(1)} ms; 8 verdicts in ${(m('checksWall') / 1000).toFixed(2)} s; check thread ${(m('checkMs') / 1000).toFixed(2)} s (${(m('checkMs') / 8).toFixed(0)} ms an answer)`);
console.log(`load: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`);
