#!/usr/bin/env node
// Idempotent submit benchmarks (issue 18), run after `npm run build`:
//   node bench/submit.mjs        (RUNS=5 rounds by default, N=200 submits per kind and round)
// 1. POST /api/jobs latency over one keep-alive TLS connection: a submit with a fresh id, and a repeat
//    of an id (answered with the job already there), against the yardstick of a submit without an id
//    (the head picks one: what every submit cost before issue 18). One head, kinds interleaved per
//    round; median per kind over all requests; ratio = ours / yardstick.
// 2. A lost answer: a head started with BRAMBLE_TEST_KILL_AFTER_SUBMIT=1 dies after journaling the job;
//    it is restarted at once on the same data and ports; reported: how long after the restarted head
//    answers its first request the CLI (`bramble submit --id`) has its answer (its backoff wait), median
//    of RUNS, against the yardstick of the head's own restart time (SIGKILL to API answering).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { BIN, freePort, median, sleep } from './lib.mjs';

function bramble(args, env = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  return { child, out: () => out, exited };
}

async function startHead(dir, ports, env = {}) {
  const state = path.join(dir, 'head.json');
  rmSync(state, { force: true });
  const p = bramble(['head', '--data', dir, '--bind', '127.0.0.1', '--port', String(ports.port), '--http-port', String(ports.httpPort), '--log-level', 'error'], env);
  for (let i = 0; i < 600 && !existsSync(state); i++) await sleep(10);
  const url = JSON.parse(readFileSync(state, 'utf8')).url;
  return { ...p, dir, url, ca: readFileSync(path.join(dir, 'ca.crt')), token: readFileSync(path.join(dir, 'admin-token'), 'utf8').trim() };
}

function post(head, agent, body) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + '/api/jobs'), { method: 'POST', agent, ca: head.ca, headers: { authorization: `Bearer ${head.token}`, 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 || res.statusCode === 201 ? resolve(res.statusCode) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function latency(runs, n, log) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-idem-'));
  const head = await startHead(dir, { port: await freePort(), httpPort: await freePort() });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: head.ca });
  const body = { task: 'noop', params: { chunks: 10 } };
  const times = { none: [], fresh: [], repeat: [] };
  let k = 0;
  for (let i = 0; i < 50; i++) await post(head, agent, body); // warm-up
  await post(head, agent, { ...body, id: 'b-repeat' });
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < n; i++) {
      // interleaved request by request, so drift in the machine's load hits every kind alike
      for (const kind of ['none', 'fresh', 'repeat']) {
        const b = kind === 'none' ? body : { ...body, id: kind === 'fresh' ? `b-${k++}` : 'b-repeat' };
        const t0 = process.hrtime.bigint();
        await post(head, agent, b);
        times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    log(`round ${r + 1}: median ms none ${median(times.none).toFixed(3)}, fresh id ${median(times.fresh).toFixed(3)}, repeated id ${median(times.repeat).toFixed(3)}`);
  }
  agent.destroy();
  head.child.kill('SIGKILL');
  await head.exited;
  rmSync(dir, { recursive: true, force: true });
  const yard = median(times.none);
  return [
    { name: 'submit with a fresh id (p50 ms)', ours: median(times.fresh), yardstick: yard, unit: 'ms per POST /api/jobs, keep-alive; yardstick: no id', ratio: median(times.fresh) / yard },
    { name: 'submit of an existing id (p50 ms)', ours: median(times.repeat), yardstick: yard, unit: 'ms per POST /api/jobs, keep-alive; yardstick: no id', ratio: median(times.repeat) / yard },
  ];
}

async function headUp(url, ca, token) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = https.request(new URL(url + '/api/health'), { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return performance.now();
    await sleep(5);
  }
}

async function lostAnswer(runs, log) {
  const gaps = [];
  const restarts = [];
  for (let r = 0; r < runs; r++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-bench-idem-'));
    const ports = { port: await freePort(), httpPort: await freePort() };
    const victim = await startHead(dir, ports, { BRAMBLE_TEST_KILL_AFTER_SUBMIT: '1' });
    const cli = bramble(['submit', 'noop', '--chunks', '10', '--id', `lost-${r}`, '--data', dir, '--head-url', victim.url, '--json']);
    await victim.exited;
    const killed = performance.now();
    const head = bramble(['head', '--data', dir, '--bind', '127.0.0.1', '--port', String(ports.port), '--http-port', String(ports.httpPort), '--log-level', 'error']);
    const up = await headUp(victim.url, victim.ca, victim.token);
    await cli.exited;
    const answered = performance.now();
    if (!cli.out().includes(`"id":"lost-${r}"`)) throw new Error(`the CLI did not get its job: ${cli.out()}`);
    gaps.push(answered - up);
    restarts.push(up - killed);
    log(`run ${r + 1}: head restart ${(up - killed).toFixed(0)} ms, then the CLI's answer ${(answered - up).toFixed(0)} ms later`);
    head.child.kill('SIGKILL');
    await head.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return [{ name: 'lost answer: CLI answered after the head is back (ms)', ours: median(gaps), yardstick: median(restarts), unit: 'ms; yardstick: the head restart itself', ratio: median(gaps) / median(restarts) }];
}

export async function run({ log = console.log } = {}) {
  const runs = Number(process.env.RUNS ?? 5);
  const n = Number(process.env.N ?? 200);
  return [...(await latency(runs, n, log)), ...(await lostAnswer(runs, log))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(`${r.name}: ours ${r.ours.toFixed(3)}, yardstick ${r.yardstick.toFixed(3)}, ratio ${r.ratio.toFixed(3)} (${r.unit})`);
  process.exit(0);
}
