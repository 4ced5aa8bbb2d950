import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Compat, CompatOptions } from '../src/compat/index.js';
import { compatRoutes, startCompat } from '../src/compat/index.js';
import type { HeadProcess } from '../src/head/index.js';
import { startHeadProcess } from '../src/head/index.js';
import { listPrimes, primeListText } from '../src/kernels/index.js';
import { initCluster } from '../src/trust/index.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, freePort, run, startHead, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SEED000 = path.join(FIXTURES, 'seed000_client.py');
const TEMP_WORKER = path.join(FIXTURES, 'seed004_temp_worker.py');
const PRIME_WORKER = path.join(FIXTURES, 'seed004_prime_worker.py');

const dirs: string[] = [];
const procs: Proc[] = [];
const pys: Py[] = [];
const heads: { hp: HeadProcess; compat: Compat }[] = [];
afterAll(async () => {
  for (const p of pys) await p.kill();
  for (const p of procs) await p.kill();
  for (const h of heads) {
    await h.compat.close();
    await h.hp.stop();
  }
  for (const d of dirs) cleanup(d);
});

// ---- helpers ----

interface Py {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Runs a seed script with python3, as the lab runs it. */
function python(script: string, args: string[] = [], env: Record<string, string> = {}, onOut?: (text: string, p: Py) => void): Py {
  const child = spawn('python3', ['-u', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const p: Py = {
    child,
    out: () => out,
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    onOut?.(out, p);
  });
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  pys.push(p);
  return p;
}

interface CompatHead {
  dir: string;
  url: string;
  port: number;
  hp: HeadProcess;
  compat: Compat;
}

/** A head in this process (its compat options are not CLI flags yet), with real TLS, real worker processes. */
async function compatHead(options: Partial<CompatOptions>, head: { leaseMs?: number; staleMs?: number; lostMs?: number } = {}): Promise<CompatHead> {
  const dir = tmpDir('bramble-compat-');
  dirs.push(dir);
  const cluster = await initCluster(dir);
  let compat: Compat | null = null;
  const hp = await startHeadProcess({
    cluster,
    dataDir: dir,
    bind: '127.0.0.1',
    port: 0,
    httpPort: 0,
    insecure: false,
    logger: pino({ level: 'silent' }),
    leaseMs: head.leaseMs ?? 3000,
    staleMs: head.staleMs,
    lostMs: head.lostMs,
    extendHttp: (app) => compatRoutes(app, () => compat),
  });
  compat = await startCompat(hp.head, { bind: '127.0.0.1', dataDir: dir, ...options });
  heads.push({ hp, compat });
  return { dir, url: hp.httpUrl as string, port: hp.workerPort, hp, compat };
}

/** Opens a raw TCP connection; resolves when connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves when the head closes the socket (with the time it took). */
function closedBy(s: net.Socket): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(0);
    s.on('error', () => {});
    s.on('close', () => resolve(Date.now() - t0));
    s.resume();
  });
}

function readLine(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        s.off('data', onData);
        resolve(buf.slice(0, nl));
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed before a line (got ${JSON.stringify(buf)})`)));
  });
}

function frame(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

async function sendFrame(port: number, body: string | Buffer): Promise<void> {
  const s = await connect(port);
  s.end(frame(body));
  await closedBy(s);
}

function primesText(start: bigint, end: bigint): string {
  return [...primeListText(start, listPrimes(start, end).encoded)].join('');
}

interface Status {
  id: string;
  state: string;
  chunks: { total: number; done: number; failed: number };
}

const waitDone = (h: CompatHead, id: string, timeoutMs = 90_000): Promise<Status> => waitJob<Status>(h, id, timeoutMs);

function events(h: CompatHead): string[] {
  return h.hp.head.events.map((e) => e.msg);
}

function seed000Rows(h: CompatHead, job: string): number {
  let n = 0;
  for (const r of h.hp.head.journal.results(job)) if (r.worker.startsWith('seed000:')) n++;
  return n;
}

// ---- seed 000 ----

describe('seed 000 text protocol', () => {
  it('Python clients and a native worker compute a primes --list job; one client is SIGKILLed mid-chunk', async () => {
    const h = await compatHead({ text: 0 });
    expect(events(h).some((m) => m.startsWith(`seed-compat listeners open WITHOUT authentication: seed 000 text on 127.0.0.1:${h.compat.ports.text}`))).toBe(true);
    const sub = await api<Status>(h, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2000000', chunk: '200000', params: { list: true } });
    expect(sub.status).toBe(201);
    const id = sub.json.id;
    const port = String(h.compat.ports.text);

    // B is killed the moment it has a chunk: it is computing it (a Python loop, ~0.3 s a chunk)
    let killedAt: string | null = null;
    const b = python(SEED000, ['127.0.0.1', port], {}, (out, p) => {
      const m = /Job (\d+):/.exec(out);
      if (m && killedAt === null) {
        killedAt = m[1] as string;
        p.child.kill('SIGKILL');
      }
    });
    await b.exited;
    expect(killedAt).not.toBeNull();
    const returned = new RegExp(`^seed 000 client 127\\.0\\.0\\.1 left \\(node seed000:127\\.0\\.0\\.1#0\\); chunk ${killedAt} of job ${id} returned to the queue$`);
    await waitFor('the killed client chunk to return', () => events(h).some((m) => returned.test(m)));

    const a = python(SEED000, ['127.0.0.1', port]);
    await waitFor('a chunk accepted from the Python client', () => (h.compat.status().text?.accepted ?? 0) >= 1, 30_000);
    const nodes = await api<{ nodes: { id: string; legacy: boolean; slots: number; state: string }[] }>(h, 'GET', '/api/nodes');
    expect(nodes.json.nodes).toContainEqual(expect.objectContaining({ id: 'seed000:127.0.0.1#0', legacy: true, slots: 1, state: 'ready' }));

    const w = startWorker(h, 'native', ['--slots', '1']);
    procs.push(w);
    const st = await waitDone(h, id);
    expect(st.state).toBe('done');
    expect(st.chunks).toMatchObject({ total: 10, done: 10, failed: 0 });
    const r = await api<Record<string, unknown>>(h, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ count: '148933', first: '2', last: '1999993', largestGap: { gap: '132', after: '1357201' } });
    const out = await api<string>(h, 'GET', `/api/jobs/${id}/output`);
    expect(out.json === primesText(1n, 2_000_000n)).toBe(true);
    expect(seed000Rows(h, id)).toBeGreaterThanOrEqual(1);
    expect(h.compat.status().text?.refused).toBe(0);
    await a.kill();
  });

  it('refuses lying, garbage and silent clients without harm to the job; a Python client finishes it', async () => {
    const h = await compatHead({ text: 0, textTimeoutMs: 1500 });
    const sub = await api<Status>(h, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '300000', chunk: '50000', params: { list: true } });
    const id = sub.json.id;
    const port = h.compat.ports.text as number;

    const answers: [string, (line: string) => string][] = [
      ['a composite', (l) => `${l.split(':')[0]}:2,3,5,7,9\n`],
      ['a short list', (l) => `${l.split(':')[0]}:2,3,5\n`],
      ['another JobID', (l) => `${Number(l.split(':')[0]) + 1}:\n`],
      ['garbage', () => 'GET / HTTP/1.1\r\n\r\n'],
      ['binary', () => '\u0000\u00ff\u0001'],
    ];
    for (const [, answer] of answers) {
      const s = await connect(port);
      const line = await readLine(s);
      expect(line).toMatch(/^\d+:\d+:\d+$/);
      s.write(answer(line));
      await closedBy(s);
    }
    // a silent client: given a chunk, never answers, closed after textTimeoutMs
    const silent = await connect(port);
    await readLine(silent);
    const took = await closedBy(silent);
    expect(took).toBeGreaterThan(800);
    expect(took).toBeLessThan(10_000);
    // a client that sends two (wrong) answers at once
    const twice = await connect(port);
    await readLine(twice);
    twice.write('0:2\n0:2\n');
    await closedBy(twice);

    const st0 = h.compat.status().text;
    expect(st0).toMatchObject({ refused: 6, timeouts: 1, accepted: 0 });
    expect(events(h).filter((m) => m.includes('refused its answer')).length).toBe(6);
    expect(events(h).some((m) => m.includes(': 9 is not prime'))).toBe(true);
    expect(events(h).some((m) => /no answer to chunk \d+ within 2 s/.test(m))).toBe(true);

    python(SEED000, ['127.0.0.1', String(port)]);
    const st = await waitDone(h, id);
    expect(st.state).toBe('done');
    expect(st.chunks.failed).toBe(0);
    const r = await api<Record<string, unknown>>(h, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ count: '25997', last: '299993' });
    expect(seed000Rows(h, id)).toBe(6);
    const health = await api(h, 'GET', '/api/health');
    expect(health.status).toBe(200);
  });

  it('makes clients wait while no primes --list job has work, then serves them', async () => {
    const h = await compatHead({ text: 0 });
    const s = await connect(h.compat.ports.text as number);
    const first = readLine(s);
    const other = await api<Status>(h, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1000', chunk: '1000' });
    await waitFor('the plain primes job to be noticed', () => events(h).some((m) => m.includes(`seed 000 clients wait while job ${other.json.id} (primes) runs: they take only primes jobs submitted with --list`)));
    await api(h, 'POST', `/api/jobs/${other.json.id}/cancel`);
    const listed = await api<Status>(h, 'POST', '/api/jobs', { task: 'primes', start: '10', end: '30', chunk: '100', params: { list: true } });
    expect(await first).toBe('0:10:30');
    s.write('0:11,13,17,19,23,29\n');
    const st = await waitDone(h, listed.json.id);
    expect(st.state).toBe('done');
    s.destroy();
  });
});

// ---- seed 004 ----

describe('seed 004 temperature reports', () => {
  it('the seed temperature workers appear as legacy tiles, then go stale and lost when they stop', async () => {
    const h = await compatHead({ telemetry: 0 }, { staleMs: 2500, lostMs: 4000 });
    const port = String(h.compat.ports.telemetry);
    const temps = ['41.5', '55.0', '72.3'];
    const senders = temps.map((t, i) => {
      // each "Pi" has its own copy of the script (the seed's check refuses a second copy of one file)
      // and its own vcgencmd
      const pi = path.join(h.dir, `pi${i}`);
      mkdirSync(pi);
      copyFileSync(TEMP_WORKER, path.join(pi, 'worker-1.py'));
      writeFileSync(path.join(pi, 'vcgencmd'), `#!/bin/sh\necho "temp=${t}'C"\n`);
      chmodSync(path.join(pi, 'vcgencmd'), 0o755);
      return python(path.join(pi, 'worker-1.py'), [], { SEED_SERVER_IP: '127.0.0.1', SEED_PORT: port, SEED_REPORT_IP: `10.0.4.${i + 1}`, PATH: `${pi}:${process.env['PATH'] ?? ''}` });
    });
    type N = { id: string; name: string; legacy: boolean; state: string; remote: string; telemetry: { temp?: number } };
    const nodes = await waitFor('three legacy tiles', async () => {
      const r = await api<{ nodes: N[] }>(h, 'GET', '/api/nodes');
      const legacy = r.json.nodes.filter((n) => n.legacy);
      return legacy.length === 3 ? legacy : null;
    });
    expect(nodes.map((n) => [n.id, n.name, n.telemetry.temp, n.state, n.remote]).sort()).toEqual([
      ['legacy:10.0.4.1', '10.0.4.1', 41.5, 'ready', '127.0.0.1'],
      ['legacy:10.0.4.2', '10.0.4.2', 55, 'ready', '127.0.0.1'],
      ['legacy:10.0.4.3', '10.0.4.3', 72.3, 'ready', '127.0.0.1'],
    ]);
    for (const s of senders) await s.kill();
    for (const state of ['stale', 'lost']) {
      await waitFor(`the tiles to be ${state}`, async () => {
        const r = await api<{ nodes: N[] }>(h, 'GET', '/api/nodes');
        return r.json.nodes.filter((n) => n.legacy && n.state === state).length === 3;
      }, 15_000);
    }
    // a report naming no usable address ("???": no eth0) is keyed by the sender's address
    await sendFrame(h.compat.ports.telemetry as number, JSON.stringify({ ip: '???', temp: 50.5 }));
    await waitFor('a tile for the sender address', () => h.hp.head.nodes.get('legacy:127.0.0.1')?.telemetry.temp === 50.5);
  });
});

describe('seed 004 prime stream', () => {
  it('the seed prime workers fill /api/compat/primes with unique primes, kept on disk and downloadable', async () => {
    const h = await compatHead({ primes: 0 });
    const env = { SEED_SERVER_IP: '127.0.0.1', SEED_PORT: String(h.compat.ports.primes) };
    // overlapping ranges: [500, 1000] is sent twice
    const workers = [python(PRIME_WORKER, ['1', '1000'], env), python(PRIME_WORKER, ['500', '2000'], env)];
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    await sendFrame(h.compat.ports.primes as number, '1001'); // 7 x 11 x 13: refused
    await sendFrame(h.compat.ports.primes as number, 'many');
    const snap = await waitFor('every value to be counted', async () => {
      const r = await api<Record<string, unknown>>(h, 'GET', '/api/compat/primes');
      return r.json['received'] === 168 + 303 - 95 + 2 ? r.json : null;
    });
    expect(snap).toEqual({ count: '303', max: '1999', reporters: ['127.0.0.1'], reportersTotal: 1, received: 378, duplicates: 73, rejected: 2 });
    const txt = await api<string>(h, 'GET', '/api/compat/primes.txt');
    expect(txt.status).toBe(200);
    expect(txt.json).toBe(primesText(1n, 2000n));
    const db = h.compat.primes?.file as string;
    expect(path.basename(db)).toBe('compat-primes.db');
    expect(path.dirname(db)).toBe(h.dir);
  });
});

describe('seed 004 prime stream over its rate', () => {
  it("slows the seed's own worker (a connection a prime, closed at once) without losing a prime", async () => {
    const h = await compatHead({ primes: 0, primesRate: 20 }); // a burst of 200, then 20 a second
    const env = { SEED_SERVER_IP: '127.0.0.1', SEED_PORT: String(h.compat.ports.primes) };
    expect(await python(PRIME_WORKER, ['1', '1583'], env).exited).toBe(0); // the first 250 primes
    const st = await waitFor('all 250 primes taken', () => {
      const p = h.compat.status().primes;
      return p && p.count === '250' ? p : null;
    }, 30_000);
    expect(st.throttled).toBeGreaterThanOrEqual(40);
    expect(st).toMatchObject({ received: 250, rejected: 0, refusedConnections: 0, refusedSourceCap: 0 });
  });
});

// ---- hostile input ----

describe('compat listeners under hostile input', () => {
  it('close oversize, garbage, silent and dripping connections, and refuse addresses outside --compat-allow', async () => {
    const h = await compatHead({ text: 0, telemetry: 0, primes: 0, idleMs: 3000 });
    const tele = h.compat.ports.telemetry as number;
    const primes = h.compat.ports.primes as number;

    // a length over 64 KiB closes the socket before any body is sent
    for (const port of [tele, primes]) {
      const s = await connect(port);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(64 * 1024 + 1);
      s.write(len);
      expect(await closedBy(s)).toBeLessThan(2500); // well before the 3 s idle timeout
    }
    // garbage bodies
    await sendFrame(tele, 'not json');
    await sendFrame(tele, JSON.stringify({ ip: '10.9.9.9', temp: 'hot' }));
    await sendFrame(tele, JSON.stringify([1, 2]));
    await sendFrame(tele, Buffer.from([0xff, 0xfe, 0x00]));
    // silent: connects and sends nothing
    const silent = await connect(tele);
    expect(await closedBy(silent)).toBeGreaterThan(2800);
    // dripping: a 100-byte message, one byte every 300 ms (under the idle timeout), never completes in time
    const drip = await connect(primes);
    const closed = closedBy(drip);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100);
    drip.write(header);
    const t = setInterval(() => drip.writable && drip.write(Buffer.from('7')), 300);
    const took = await closed;
    clearInterval(t);
    expect(took).toBeGreaterThan(2800);
    expect(took).toBeLessThan(20_000);
    // random bytes on every port
    for (const port of [tele, primes, h.compat.ports.text as number]) {
      for (let k = 0; k < 5; k++) {
        const s = await connect(port);
        s.write(Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 97 + k * 31) & 255)));
        s.end();
        await closedBy(s);
      }
    }
    expect(h.hp.head.nodes.list().filter((n) => n.legacy && n.id.startsWith('legacy:'))).toEqual([]);
    expect(h.compat.status().telemetry).toMatchObject({ reports: 0 });

    // the head is fine: a good report still lands
    await sendFrame(tele, JSON.stringify({ ip: '10.0.0.9', temp: 44 }));
    await waitFor('the good report', () => h.hp.head.nodes.get('legacy:10.0.0.9')?.telemetry.temp === 44);
    expect((await api(h, 'GET', '/api/health')).status).toBe(200);

    // addresses outside --compat-allow are closed at accept
    const closedHead = await compatHead({ telemetry: 0, allow: ['10.0.0.0/8'] });
    const s = await connect(closedHead.compat.ports.telemetry as number);
    s.write(frame(JSON.stringify({ ip: '10.0.0.1', temp: 40 })));
    await closedBy(s);
    expect(closedHead.compat.status().telemetry).toMatchObject({ reports: 0, refusedConnections: 1 });
    expect(events(closedHead).some((m) => m.includes('refused a seed 004 telemetry connection from 127.0.0.1: not in --compat-allow (10.0.0.0/8)'))).toBe(true);
    expect(events(closedHead).some((m) => m.includes('accepting connections from 10.0.0.0/8 only'))).toBe(true);
  });
});

describe('seed 000 listener when full', () => {
  it('makes room by closing a silent chunk holder of the fullest address, never a client whose answer is being read', async () => {
    const h = await compatHead({ text: 0, maxConnections: 4, maxPerAddress: 3 });
    const port = h.compat.ports.text as number;
    const sub = await api<Status>(h, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '100000', chunk: '1000', params: { list: true } });
    const a = [];
    for (let i = 0; i < 3; i++) {
      const s = await connectFrom(port, '127.0.6.1');
      await readLine(s);
      a.push(s);
    }
    const b = await connectFrom(port, '127.0.6.2');
    await readLine(b);
    // the newest holder of 127.0.6.1 has begun its answer: it is not a candidate
    (a[2] as net.Socket).write('9');
    await new Promise((r) => setTimeout(r, 200)); // its byte reaches the head before the newcomer (nothing to poll for)
    const firstClosed = closedBy(a[0] as net.Socket);
    const c = await connectFrom(port, '127.0.6.3');
    const line = await readLine(c);
    expect(line).toMatch(/^\d+:\d+:\d+$/);
    await firstClosed;
    expect(h.compat.status().text).toMatchObject({ clients: 4, evicted: 1, refusedConnections: 0 });
    expect(events(h).some((m) => /^closed seed 000 client 127\.0\.6\.1 \(node seed000:127\.0\.6\.1#0\): closed to make room for a new connection: 4 are open \(--compat-max-connections\), 3 of them from its address, and it had not begun its answer to chunk \d+; chunk \d+ of job [0-9a-f-]+ returned to the queue$/.test(m))).toBe(true);
    expect((a[1] as net.Socket).destroyed).toBe(false);
    expect((a[2] as net.Socket).destroyed).toBe(false);
    for (const s of [...a, b, c]) s.destroy();
    await api(h, 'POST', `/api/jobs/${sub.json.id}/cancel`);
  });
});

// ---- the CLI (once `bramble head` has the compat flags) ----

const cliHasCompat = (await run(['head', '--help'])).out.includes('--compat-telemetry');

describe.runIf(cliHasCompat)('bramble head --compat-*', () => {
  it('opens the listeners given on the command line and reports into /api/nodes and /api/compat/primes', async () => {
    const dir = tmpDir('bramble-compat-cli-');
    dirs.push(dir);
    const [tele, primes] = [await freePort(), await freePort()];
    const head = await startHead(dir, ['--compat-telemetry', String(tele), '--compat-primes', String(primes)]);
    procs.push(head);
    await waitFor('the telemetry listener', async () => {
      try {
        await sendFrame(tele, JSON.stringify({ ip: '10.1.1.1', temp: 61.5 }));
        return true;
      } catch {
        return false;
      }
    });
    await sendFrame(primes, '7919');
    await waitFor('the tile and the prime', async () => {
      const n = await api<{ nodes: { id: string; legacy: boolean }[] }>(head, 'GET', '/api/nodes');
      const p = await api<{ count: string; max: string }>(head, 'GET', '/api/compat/primes');
      return n.json.nodes.some((x) => x.id === 'legacy:10.1.1.1' && x.legacy) && p.json.max === '7919';
    });
    expect(head.out() + head.err()).toMatch(/seed-compat listeners open WITHOUT authentication/);
  });
});

// ---- issue 17, items 19 and 20: limits, on a real head process (bramble head --compat-*) ----

/** A raw connection from a chosen loopback address (127.0.0.0/8 is all this machine's). */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

interface CompatView {
  limits: Record<string, number>;
  text: { clients: number; accepted: number; refused: number; idleClosed: number; blankFloods: number; evicted: number; refusedConnections: number; checks: { checks: number; running: number; queued: number; cpuMs: number; threads: number } } | null;
  primes: { count: string; received: number; throttled: number; refusedSourceCap: number; refusedTotalCap: number; topSources: { addr: string; stored: number }[] } | null;
}

async function compatView(head: HeadHandle): Promise<CompatView> {
  return (await api<CompatView>(head, 'GET', '/api/compat')).json;
}

/** The primes of [start, end] as a seed 000 list, computed in a child process (the test's own loop stays free). */
async function primesInChild(start: string, end: string): Promise<string> {
  const kernels = new URL('../dist/kernels/index.js', import.meta.url).href;
  const code = `import { listPrimes, primeListText } from ${JSON.stringify(kernels)};
    const [s, e] = [BigInt(process.argv[1]), BigInt(process.argv[2])];
    process.stdout.write([...primeListText(s, listPrimes(s, e).encoded)].join('').trimEnd().split('\\n').join(','));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, start, end], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code_ = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code_ !== 0) throw new Error(`the primes child exited with ${code_}`);
  return out;
}

/** Polls /api/health every 100 ms until stopped; resolves with the slowest answer (ms). */
function healthWatch(head: HeadHandle): { stop: () => Promise<number> } {
  let on = true;
  let worst = 0;
  const loop = (async () => {
    while (on) {
      const t0 = performance.now();
      const r = await api(head, 'GET', '/api/health');
      if (r.status !== 200) throw new Error(`/api/health answered ${r.status}`);
      worst = Math.max(worst, performance.now() - t0);
      await new Promise((r2) => setTimeout(r2, 100));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return worst;
    },
  };
}

async function cliHead(flags: string[]): Promise<HeadHandle> {
  const dir = tmpDir('bramble-compat3-');
  dirs.push(dir);
  const head = await startHead(dir, flags);
  procs.push(head);
  // the listeners open after the HTTP API: /api/compat says 503 until then
  await waitFor('the compat listeners', async () => (await api(head, 'GET', '/api/compat')).status === 200);
  return head;
}

describe.runIf(cliHasCompat)('compat limits on a real head (issue 17, items 19 and 20)', () => {
  it('checks 8 answers to chunks of 10^7 near 2^64 off the event loop: /api/health answers within a second, wrong answers are caught, a right one is accepted', async () => {
    const tp = await freePort();
    const head = await cliHead(['--compat-text', String(tp)]);
    const top = 2n ** 64n - 1n;
    const w = 10_000_000n;
    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'primes', start: String(top - 8n * w + 1n), end: String(top), chunk: String(w), params: { list: true } });
    expect(sub.status).toBe(201);
    // 8 clients, each on its own address (so each has its own check budget)
    const socks = await Promise.all(Array.from({ length: 8 }, (_, i) => connectFrom(tp, `127.0.3.${i + 1}`)));
    const lines = await Promise.all(socks.map((s) => readLine(s)));
    const chunks = lines.map((l) => l.split(':') as [string, string, string]);
    expect(new Set(chunks.map((c) => c[0])).size).toBe(8);
    const c0 = chunks[0] as [string, string, string];
    const right = await primesInChild(c0[1], c0[2]);
    expect(right.split(',').length).toBeGreaterThan(200_000);
    const watch = healthWatch(head);
    // seven answer with the chunk's first number (even: not prime), which the head knows only by sieving the chunk
    for (let i = 1; i < 8; i++) socks[i]?.write(`${chunks[i]?.[0]}:${chunks[i]?.[1]}\n`);
    socks[0]?.write(`${c0[0]}:${right}\n`);
    const v = await waitFor('the 8 answers to be checked', async () => {
      const c = await compatView(head);
      return c.text && c.text.refused === 7 && c.text.accepted === 1 ? c : null;
    }, 240_000, 250);
    const worst = await watch.stop();
    expect(worst).toBeLessThan(1000);
    expect(v.text?.checks).toMatchObject({ checks: 8, threads: 1, running: 0, queued: 0 });
    expect(v.text?.checks.cpuMs).toBeGreaterThan(0);
    expect(v.limits).toMatchObject({ checkThreads: 1, checkBudgetMsPerMinute: 20_000 });
    const logged = head.out() + head.err();
    for (let i = 1; i < 8; i++) expect(logged).toContain(`: ${chunks[i]?.[1]} is not prime`);
    const st = await api<Status>(head, 'GET', `/api/jobs/${sub.json.id}`);
    expect(st.json.chunks.done).toBe(1);
    for (const s of socks) s.destroy();
  }, 300_000);

  it('1,088 idle seed 000 connections do not shut out a real client, who gets a chunk and its answer accepted; a blank-line flood is cut off; the job is exact', async () => {
    const tp = await freePort();
    // named, not the default: under a descriptor limit below 8,192 the default would be an eighth of it
    const head = await cliHead(['--compat-text', String(tp), '--compat-max-connections', '1024']);
    // 17 addresses x 64 (the per-address cap): 64 more than the 1,024 the listener holds
    const flood: net.Socket[] = [];
    for (let a = 1; a <= 17; a++) {
      const batch = await Promise.all(Array.from({ length: 64 }, () => connectFrom(tp, `127.0.1.${a}`)));
      for (const s of batch) {
        s.on('close', () => {});
        flood.push(s);
      }
    }
    const full = await waitFor('the listener to hold 1,024 with 64 evicted', async () => {
      const c = await compatView(head);
      return c.text && c.text.clients === 1024 && c.text.evicted === 64 ? c : null;
    }, 60_000, 200);
    expect(full.text?.refusedConnections).toBe(0);
    expect(full.limits).toMatchObject({ maxConnections: 1024, maxPerAddress: 64, idleS: 300, maxBlanks: 64 });

    // a blank-line flood is cut off (it took the place of one idle connection)
    const blank = await connectFrom(tp, '127.0.2.1');
    const cut = closedBy(blank);
    blank.write(Buffer.alloc(100_000, 10));
    await cut;
    await waitFor('the blank flood counted', async () => (await compatView(head)).text?.blankFloods === 1);

    // the real client (the seed's own script) gets in, and gets a chunk before the flood when a job comes
    const real = python(SEED000, ['127.0.0.1', String(tp)]);
    await waitFor('the real client in', async () => {
      const n = await api<{ nodes: { id: string }[] }>(head, 'GET', '/api/nodes');
      return n.json.nodes.some((x) => x.id === 'seed000:127.0.0.1#0');
    });
    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2000000', chunk: '100000', params: { list: true } });
    expect(sub.status).toBe(201);
    await waitFor('the real client answer accepted', async () => ((await compatView(head)).text?.accepted ?? 0) >= 1, 60_000, 200);
    expect(real.out()).toMatch(/Job \d+: sent \d+ primes/);
    expect((await api(head, 'GET', '/api/health')).status).toBe(200);
    const evicted = (await compatView(head)).text?.evicted ?? 0;
    expect(evicted).toBeGreaterThanOrEqual(65); // the blank flood took a place (freed when it was cut off: the real client took that one)

    // the flood goes; its chunks return; a native worker and the real client finish the job, exactly
    for (const s of flood) s.destroy();
    procs.push(startWorker(head, 'native', ['--slots', '1']));
    const st = await waitJob<Status>(head, sub.json.id, 120_000);
    expect(st.state).toBe('done');
    const out = await api<string>(head, 'GET', `/api/jobs/${sub.json.id}/output`);
    expect(out.json === primesText(1n, 2_000_000n)).toBe(true);
    await real.kill();
  }, 300_000);

  it('closes seed 000 connections that wait with no chunk, or stop mid-answer, after --compat-idle-s', async () => {
    const tp = await freePort();
    const head = await cliHead(['--compat-text', String(tp), '--compat-idle-s', '2']);
    const socks = await Promise.all(Array.from({ length: 200 }, (_, i) => connectFrom(tp, `127.0.4.${(i % 4) + 1}`)));
    const real = python(SEED000, ['127.0.0.1', String(tp)]);
    const took = await Promise.all(socks.map((s) => closedBy(s)));
    expect(Math.min(...took)).toBeGreaterThan(1500);
    expect(Math.max(...took)).toBeLessThan(30_000);
    expect(await real.exited).toBe(0); // the seed's client exits when the head closes it
    expect(real.out()).toContain('Server closed the connection');
    const v = await compatView(head);
    expect(v.text).toMatchObject({ clients: 0, idleClosed: 201 });
    expect(v.limits['idleS']).toBe(2);
    // an answer begun and then stopped (its JobID sent, then nothing) is closed too; its chunk returns
    const sub = await api<Status>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1000', chunk: '1000', params: { list: true } });
    const s = await connectFrom(tp, '127.0.4.9');
    const [id] = (await readLine(s)).split(':');
    const stalled = closedBy(s);
    s.write(`${id}:2,3,5`);
    expect(await stalled).toBeGreaterThan(1500);
    expect((await compatView(head)).text).toMatchObject({ idleClosed: 202, refused: 0 });
    expect(head.out() + head.err()).toContain(`its answer to chunk ${id} stopped for 2 s (--compat-idle-s); chunk ${id} of job ${sub.json.id} returned to the queue`);
    expect((await api(head, 'GET', '/api/health')).status).toBe(200);
  }, 120_000);

  it('a seed 004 prime flood is slowed to its rate and stopped at its caps, per source and in all, as /api/compat shows', async () => {
    const pp = await freePort();
    const head = await cliHead(['--compat-primes', String(pp), '--compat-primes-rate', '200', '--compat-primes-per-source', '2500', '--compat-primes-max', '3000']);
    const list = primesText(1n, 40_000n).trimEnd().split('\n'); // 4,203 primes
    const stream = (from: string, values: string[]): Promise<number> =>
      connectFrom(pp, from).then((s) => {
        const closed = closedBy(s);
        s.write(Buffer.concat(values.map((v) => frame(v))));
        return closed;
      });
    // one connection, 4,203 primes at once: a burst of 2,000 (10 s of the rate), then 200 a second, then the per-source cap closes it
    const took = await stream('127.0.5.1', list);
    expect(took).toBeGreaterThan(1500); // 500 values at 200 a second
    const a = await compatView(head);
    expect(a.limits).toMatchObject({ primesRate: 200, primesBurst: 2000, primesPerSource: 2500, primesMax: 3000 });
    expect(a.primes).toMatchObject({ count: '2500', refusedSourceCap: 1, refusedTotalCap: 0 });
    expect(a.primes?.throttled).toBeGreaterThan(300); // of the 500 past the burst, most waited for a token
    expect(a.primes?.topSources[0]).toEqual({ addr: '127.0.5.1', stored: 2500 });
    // a second source fills the rest of the total, then is refused
    await stream('127.0.5.2', list.slice(-1000));
    const b = await compatView(head);
    expect(b.primes).toMatchObject({ count: '3000', refusedTotalCap: 1 });
    expect(b.primes?.topSources).toEqual([{ addr: '127.0.5.1', stored: 2500 }, { addr: '127.0.5.2', stored: 500 }]);
    const logged = head.out() + head.err();
    expect(logged).toContain('slowing the seed 004 prime stream from 127.0.5.1 to 200 values a second (--compat-primes-rate)');
    expect(logged).toContain('refused a value of the seed 004 prime stream from 127.0.5.1: that address has stored 2500 primes (--compat-primes-per-source)');
    expect(logged).toContain('refused a value of the seed 004 prime stream from 127.0.5.2: 3000 primes are stored (--compat-primes-max)');
    expect((await api(head, 'GET', '/api/health')).status).toBe(200);
  }, 120_000);
});
