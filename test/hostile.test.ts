import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFramed } from '../src/net/index.js';
import type { FramedConnection } from '../src/net/index.js';
import type { Message } from '../src/protocol/index.js';
import { authProof, loadCluster } from '../src/trust/index.js';
import { hello } from './helpers/hello.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { BIN, api, cleanup, freePort, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

// Issue 17, before authentication: every bound is checked with real sockets on loopback, under
// Debian's default descriptor limit (1,024), floods coming from other loopback addresses (127.0.0.2-5).

const dirs: string[] = [];
const procs: Proc[] = [];
let head: HeadHandle;
let out = '';

/** `bramble head` under `ulimit -n 1024`, soft and hard, as on a stock Raspberry Pi OS. */
async function startLimitedHead(dir: string): Promise<HeadHandle> {
  const port = await freePort();
  const httpPort = await freePort();
  const state = path.join(dir, 'head.json');
  rmSync(state, { force: true });
  const args = [BIN, 'head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'info', '--auth-timeout-ms', '3000'];
  const child = spawn('sh', ['-c', 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, ...args], { env: { ...process.env, BRAMBLE_DATA: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await waitFor('the head to start', () => {
    if (child.exitCode !== null) throw new Error(`head exited: ${out}`);
    return existsSync(state);
  }, 30_000);
  const url = (JSON.parse(readFileSync(state, 'utf8')) as { url: string }).url;
  return {
    child, dir, port, httpPort, url, exited, out: () => out, err: () => out,
    async kill() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

beforeAll(async () => {
  const dir = tmpDir();
  dirs.push(dir);
  head = await startLimitedHead(dir);
  procs.push(head);
});
afterAll(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) cleanup(d);
});

function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${head.child.pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

/** Opens `n` TCP connections from `from` and keeps them; resolves with the sockets once each is connected or closed. */
async function flood(port: number, from: string, n: number, onConnect: (s: net.Socket) => void = () => undefined): Promise<{ sockets: net.Socket[]; open: () => number }> {
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: n }, () => new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      sockets.push(s);
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.once('connect', () => {
        onConnect(s);
        resolve();
      });
      s.once('close', () => resolve());
    })),
  );
  return { sockets, open: () => sockets.filter((s) => !s.destroyed && !s.readableEnded && s.readyState === 'open').length };
}

function next(conn: FramedConnection): Promise<Message | { type: 'closed'; err?: string }> {
  return new Promise((resolve) => {
    conn.once('message', (m) => resolve(m));
    conn.once('close', (err) => resolve({ type: 'closed', err: err?.message }));
  });
}

async function stats(): Promise<{ pendingConnections: number; server: { droppedBusy: number; droppedPerAddress: number }; http: { open: number; refusedPerAddress: number } }> {
  return (await api<never>(head, 'GET', '/api/stats')).json;
}

describe('descriptor budget', () => {
  it('reads its limit and says its budget at start', () => {
    expect(out).toMatch(/descriptors: limit 1024 \(hard 1024\)/);
    expect(out).toMatch(/HTTPS at most \d+ connections \(32 per address\)/);
  });
});

describe('connection floods (issue 17, items 1 and 2)', () => {
  it('under a flood of both ports from four addresses, health answers, a new worker joins and the answer is exact', async () => {
    const floods: net.Socket[] = [];
    const held: Record<string, () => number> = {};
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      // 150 sockets each on the HTTPS port, 150 on the worker port: all sit in the TLS handshake
      const h = await flood(head.httpPort, from, 150);
      const w = await flood(head.port, from, 150);
      floods.push(...h.sockets, ...w.sockets);
      held[`http ${from}`] = h.open;
      held[`workers ${from}`] = w.open;
    }
    // the head kept at most 32 per address on each port and closed the rest at once
    await waitFor('the head to shed the excess', () => Object.values(held).every((f) => f() <= 32), 10_000);
    const s = await stats();
    expect(s.pendingConnections).toBeLessThanOrEqual(4 * 32);
    expect(s.server.droppedPerAddress).toBeGreaterThanOrEqual(4 * (150 - 32));
    expect(s.http.refusedPerAddress).toBeGreaterThanOrEqual(4 * (150 - 32));
    // while the flood is held: health answers, a new worker joins, a job's answer is exact
    const health = await api<{ ok: boolean }>(head, 'GET', '/api/health', undefined, null);
    expect(health.json.ok).toBe(true);
    const c = loadCluster(head.dir);
    const w = startWorker(head, 'legit', ['--slots', '1', '--join', c.joinToken]);
    procs.push(w);
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e6' });
    const done = await waitJob(head, sub.json.id, 60_000);
    expect(done.state).toBe('done');
    expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`)).json.count).toBe('78498');
    // the handshake timeouts (5 s HTTPS, --auth-timeout-ms 3 s) close every flood socket by themselves
    await waitFor('the head to close every flood socket', () => Object.values(held).every((f) => f() === 0), 30_000, 200);
    for (const f of floods) f.destroy();
    await w.kill();
  });

  it('a client sending headers slowly is closed by the header timeout; one idle after a request by the keep-alive timeout', async () => {
    const ca = readFileSync(path.join(head.dir, 'ca.crt'));
    const closed = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: head.httpPort, ca, servername: 'localhost', checkServerIdentity: () => undefined }, () => {
        s.write('GET /api/health HTTP/1.1\r\nHost: x\r\n');
        const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('X-Slow: 1\r\n')), 500);
      });
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 30_000).unref();
    });
    expect(closed).toBe(true);
    // a kept-alive connection with one answered request, then silence
    const agent = new https.Agent({ keepAlive: true, ca, checkServerIdentity: () => undefined });
    const socketClosed = await new Promise<boolean>((resolve) => {
      https.get(new URL(head.url + '/api/health'), { agent }, (res) => {
        res.resume();
        res.socket.once('close', () => resolve(true));
      });
      setTimeout(() => resolve(false), 20_000).unref();
    });
    agent.destroy();
    expect(socketClosed).toBe(true);
  });

  it('TLS 1.2 is refused on the HTTPS port', async () => {
    const err = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: head.httpPort, maxVersion: 'TLSv1.2', rejectUnauthorized: false }, () => resolve('connected'));
      s.on('error', (e) => resolve(e.message));
    });
    expect(err).not.toBe('connected');
  });
});

describe('hostile frames (issue 17, item 3)', () => {
  /** array32 of n empty arrays, framed. */
  function bomb(n: number): Buffer {
    const b = Buffer.alloc(4 + 5 + n, 0x90);
    b.writeUInt32BE(5 + n, 0);
    b[4] = 0xdd;
    b.writeUInt32BE(n, 5);
    return b;
  }

  it('before authentication: a 16 MiB frame is refused from its length, a 60 KiB one of empty arrays from its shape; RSS stays flat', async () => {
    const c = loadCluster(head.dir);
    const rss0 = rssMb();
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
      expect((await next(link.conn)).type).toBe('challenge');
      const frame = i % 2 ? bomb(60 * 1024) : bomb(16 * 1024 * 1024 - 9);
      link.conn.socket.write(i % 2 ? frame : frame.subarray(0, 64 * 1024)); // the big one's header is enough
      const a = await next(link.conn);
      answers.push('code' in a ? String(a.code) : a.type);
      link.conn.destroy();
    }
    const rss1 = rssMb();
    console.log(`pre-auth hostile frames: head RSS ${rss0} MB before, ${rss1} MB after 12`);
    expect(answers.filter((a, i) => a === (i % 2 ? 'BAD_FRAME' : 'FRAME_TOO_LARGE'))).toHaveLength(12);
    expect(rss1 - rss0).toBeLessThan(64);
  });

  it('after authentication: a 16 MiB frame of empty arrays is refused by the element limit', async () => {
    const c = loadCluster(head.dir);
    const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
    const ch = (await next(link.conn)) as { nonce: string };
    link.conn.send(hello('bomber', { kernels: ['primes'], proof: authProof(c.secret, ch.nonce, 'bomber', link.binding) }));
    expect((await next(link.conn)).type).toBe('welcome');
    const rss0 = rssMb();
    link.conn.socket.write(bomb(16 * 1024 * 1024 - 9));
    const a = await next(link.conn);
    const rss1 = rssMb();
    console.log(`post-auth 16 MiB empty-array frame: head RSS ${rss0} MB before, ${rss1} MB after`);
    expect(a).toMatchObject({ type: 'error', code: 'BAD_FRAME' });
    expect((a as { message: string }).message).toMatch(/more than 1048576 values/);
    expect(rss1 - rss0).toBeLessThan(200);
  });
});

describe('malformed cookie (issue 17, item 4)', () => {
  it('is a 401 without a stack trace, and repeated errors are not logged once per request', async () => {
    const ca = readFileSync(path.join(head.dir, 'ca.crt'));
    const before = out.length;
    const statuses: number[] = [];
    const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 8, checkServerIdentity: () => undefined });
    await Promise.all(Array.from({ length: 300 }, () => new Promise<void>((resolve) => {
      https.get(new URL(head.url + '/api/jobs'), { agent, headers: { cookie: '__Host-bramble_session=%E0%A4%A' } }, (res) => {
        statuses.push(res.statusCode ?? 0);
        res.resume();
        res.on('end', resolve);
      }).on('error', () => resolve());
    })));
    agent.destroy();
    expect(statuses.length).toBe(300);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const logged = out.slice(before);
    expect(logged).not.toMatch(/URIError| {4}at /);
    expect(logged.split('\n').filter((l) => /api error/.test(l)).length).toBe(0);
  });
});

describe('a lying worker (issue 17, item 15)', () => {
  it('impossible counts are refused before they are stored; the job answer stays exact', async () => {
    const c = loadCluster(head.dir);
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e7', chunk: '1e6' });
    const lies = [{ c: 1 }, { c: Number.MAX_SAFE_INTEGER }, { c: 2, f: '2', l: '3', g: ['1', '2'] }];
    const refused: string[] = [];
    for (const [i, lie] of lies.entries()) {
      const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
      const ch = (await next(link.conn)) as { nonce: string };
      link.conn.send(hello(`liar-${i}`, { kernels: ['primes'], proof: authProof(c.secret, ch.nonce, `liar-${i}`, link.binding) }));
      expect((await next(link.conn)).type).toBe('welcome');
      link.conn.send({ type: 'want', n: 1 });
      const a = (await next(link.conn)) as { type: string; chunks: { token: string; job: string; index: number; span: number }[] };
      expect(a.type).toBe('assign');
      const k = a.chunks[0] as { token: string; job: string; index: number; span: number };
      link.conn.send({ type: 'result', token: k.token, job: k.job, index: k.index, span: k.span, summary: { f: '2', l: '2', g: null, ...lie } });
      // the refill of its window may come first (the place frees as the frame is read)
      let answer = await next(link.conn);
      for (let n = 0; n < 5 && answer.type === 'assign'; n++) answer = await next(link.conn);
      refused.push('code' in answer ? String(answer.code) : answer.type);
      link.conn.destroy();
    }
    expect(refused).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE']);
    const w = startWorker(head, 'honest', ['--slots', '1', '--join', c.joinToken]);
    procs.push(w);
    const done = await waitJob(head, sub.json.id, 120_000);
    expect(done.state).toBe('done');
    expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`)).json.count).toBe('664579');
    await w.kill();
  });
});
