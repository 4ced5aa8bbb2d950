import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPrimes, listPrimes } from '../src/kernels/index.js';
import { connectFramed } from '../src/net/index.js';
import type { FramedConnection } from '../src/net/index.js';
import type { Message } from '../src/protocol/index.js';
import { authProof, loadCluster } from '../src/trust/index.js';
import { hello } from './helpers/hello.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

// Issue 17, lying workers after authentication: a worker speaking the protocol by hand (real TLS,
// real head process on loopback) sends what an honest worker would not.

const dirs: string[] = [];
const procs: Proc[] = [];
let head: HeadHandle;

beforeAll(async () => {
  const dir = tmpDir('bramble-sec2-liars-');
  dirs.push(dir);
  head = await startHead(dir);
  procs.push(head);
});
afterAll(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) cleanup(d);
});

function next(conn: FramedConnection): Promise<Message | { type: 'closed'; err?: string }> {
  return new Promise((resolve) => {
    conn.once('message', (m) => resolve(m));
    conn.once('close', (err) => resolve({ type: 'closed', err: err?.message }));
  });
}

interface Assigned { token: string; job: string; index: number; span: number; start: string; end: string }

/** A hand-driven worker: joins, takes one chunk. */
async function liar(name: string): Promise<{ conn: FramedConnection; chunk: Assigned }> {
  const c = loadCluster(head.dir);
  const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
  const ch = (await next(link.conn)) as { nonce: string };
  link.conn.send(hello(name, { kernels: ['primes'], proof: authProof(c.secret, ch.nonce, name, link.binding) }));
  expect((await next(link.conn)).type).toBe('welcome');
  link.conn.send({ type: 'want', n: 1 });
  const a = (await next(link.conn)) as { type: string; chunks: Assigned[] };
  expect(a.type).toBe('assign');
  return { conn: link.conn, chunk: a.chunks[0] as Assigned };
}

/** Sends a result and returns the head's answer: an ack, or the error code that closed it. */
async function answer(conn: FramedConnection, result: Message): Promise<string> {
  conn.send(result);
  let a = await next(conn);
  for (let n = 0; n < 5 && a.type === 'assign'; n++) a = await next(conn);
  return 'code' in a ? String(a.code) : a.type;
}

function download(route: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const tok = readFileSync(path.join(head.dir, 'admin-token'), 'utf8').trim();
    https.get(new URL(head.url + route), { ca: readFileSync(path.join(head.dir, 'ca.crt')), headers: { authorization: `Bearer ${tok}` } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

describe('corrupt --list outputs (issue 17, item 16)', () => {
  it('every output is decoded and checked against its summary before commit; the download is whole', async () => {
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e6', chunk: '1e5', params: { list: true } });
    expect(sub.status).toBe(201);
    const corruptions: [string, (enc: Uint8Array) => Uint8Array | null][] = [
      ['missing', () => null],
      ['truncated varint', (e) => e.subarray(0, e.length - 1).map((b, i, a) => (i === a.length - 1 ? b | 0x80 : b))],
      ['one prime left out', (e) => e.subarray(0, e.length - 1)],
      ['a value past the chunk', (e) => Uint8Array.from([...e, 0xff, 0xff, 0x7f])],
      ['a zero gap', (e) => Uint8Array.from([...e, 0])],
      ['empty', () => new Uint8Array(0)],
    ];
    const codes: string[] = [];
    for (const [i, [, corrupt]] of corruptions.entries()) {
      const { conn, chunk } = await liar(`lister-${i}`);
      const r = listPrimes(BigInt(chunk.start), BigInt(chunk.end));
      // the summary is the honest one: only the output lies
      const summary = { c: r.count, f: r.first?.toString() ?? null, l: r.last?.toString() ?? null, g: r.largestGap ? [r.largestGap.gap.toString(), r.largestGap.after.toString()] : null };
      codes.push(await answer(conn, { type: 'result', token: chunk.token, job: chunk.job, index: chunk.index, span: chunk.span, summary, output: corrupt(r.encoded) } as Message));
      conn.destroy();
    }
    expect(codes).toEqual(corruptions.map(() => 'BAD_MESSAGE'));
    const events = (await api<{ events: { msg: string }[] }>(head, 'GET', '/api/events')).json.events.map((e) => e.msg).join('\n');
    expect(events).toMatch(/keeps its output and the result has none/);
    expect(events).toMatch(/invalid chunk output: encoded: truncated varint/);
    expect(events).toMatch(/invalid chunk output: \d+ primes listed, the summary counts \d+/);
    expect(events).toMatch(/invalid chunk output: encoded: value past the chunk/);
    expect(events).toMatch(/invalid chunk output: encoded: zero gap/);
    const w = startWorker(head, 'honest', ['--slots', '1']);
    procs.push(w);
    expect((await waitJob(head, sub.json.id, 120_000)).state).toBe('done');
    const out = await download(`/api/jobs/${sub.json.id}/output`);
    expect(out.status).toBe(200);
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(78498);
    expect(lines.at(-1)).toBe('999983');
    await w.kill();
  });
});

describe('a hoarder (issue 17, item 18)', () => {
  it('holds at most 64 leases before its first result; its leases are backed up and the job ends exact while it heartbeats', async () => {
    const c = loadCluster(head.dir);
    const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
    const ch = (await next(link.conn)) as { nonce: string };
    link.conn.send(hello('hoarder', { kernels: ['primes'], proof: authProof(c.secret, ch.nonce, 'hoarder', link.binding) }));
    expect((await next(link.conn)).type).toBe('welcome');
    const tokens: string[] = [];
    link.conn.on('message', (m: Message) => {
      if (m.type === 'assign') for (const k of m.chunks) tokens.push(k.token);
    });
    link.conn.send({ type: 'want', n: 1024 });
    const beat = setInterval(() => link.conn.send({ type: 'heartbeat', tokens: tokens.slice(-4096) }), 500);
    try {
      const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2e7', chunk: '2e5' });
      await waitFor('the hoarder to take its chunks', () => tokens.length >= 64, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(tokens).toHaveLength(64);
      const w = startWorker(head, 'honest-2', ['--slots', '1']);
      procs.push(w);
      const done = await waitJob(head, sub.json.id, 120_000);
      expect(done.state).toBe('done');
      expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`)).json.count).toBe('1270607');
      const stats = (await api<{ ledger: { backups: number } }>(head, 'GET', '/api/stats')).json;
      expect(stats.ledger.backups).toBeGreaterThanOrEqual(64);
      expect(link.conn.socket.destroyed).toBe(false); // it was never cut off: its leases were simply backed up
      await w.kill();
    } finally {
      clearInterval(beat);
      link.conn.destroy();
    }
  });
});

describe('verification by replication (issue 17, item 17)', () => {
  /** A worker that answers every chunk with a plausible lie: the honest summary with one prime more. */
  async function plausibleLiar(name: string): Promise<{ answered: () => number; assigned: () => number; stop: () => void }> {
    const c = loadCluster(head.dir);
    const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
    let answered = 0;
    let assigned = 0;
    link.conn.on('message', (m: Message) => {
      if (m.type === 'assign') assigned += m.chunks.length;
      if (m.type === 'challenge') link.conn.send(hello(name, { kernels: ['primes'], proof: authProof(c.secret, m.nonce, name, link.binding) }));
      else if (m.type === 'welcome') link.conn.send({ type: 'want', n: 2 });
      else if (m.type === 'assign') {
        for (const k of m.chunks) {
          const r = countPrimes(BigInt(k.start), BigInt(k.end));
          const summary = { c: r.count + 1, f: r.first?.toString() ?? null, l: r.last?.toString() ?? null, g: r.largestGap ? [r.largestGap.gap.toString(), r.largestGap.after.toString()] : null };
          answered++;
          link.conn.send({ type: 'result', token: k.token, job: k.job, index: k.index, span: k.span, summary, output: null, ms: 5 });
        }
      }
    });
    return { answered: () => answered, assigned: () => assigned, stop: () => link.conn.destroy() };
  }

  it('with --replicas 2 and with --verify 100 a plausible liar is outvoted, marked suspect, then barred; both answers are exact', async () => {
    const liar = await plausibleLiar('liar');
    const honest = [startWorker(head, 'honest-a', ['--slots', '1']), startWorker(head, 'honest-b', ['--slots', '1'])];
    procs.push(...honest);
    await waitFor('three workers', async () => (await api<{ nodes: { state: string; connected: boolean }[] }>(head, 'GET', '/api/nodes')).json.nodes.filter((n) => n.connected).length >= 3, 30_000);
    try {
      for (const mode of [{ replicas: 2 }, { verify: 100 }]) {
        const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '4e6', chunk: '2e5', ...mode });
        expect(sub.status).toBe(201);
        const done = await waitJob(head, sub.json.id, 120_000);
        expect(done.state, JSON.stringify(mode)).toBe('done');
        expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`)).json.count, JSON.stringify(mode)).toBe('283146');
      }
      expect(liar.answered()).toBeGreaterThan(0);
      const nodes = (await api<{ nodes: { name: string; suspect: boolean; strikes: number; barred: boolean }[] }>(head, 'GET', '/api/nodes')).json.nodes;
      const l = nodes.find((n) => n.name === 'liar');
      expect(l).toMatchObject({ suspect: true, barred: true });
      expect(l?.strikes).toBeGreaterThanOrEqual(3);
      for (const n of nodes.filter((x) => x.name.startsWith('honest-'))) expect(n).toMatchObject({ suspect: false, strikes: 0 });
      const events = (await api<{ events: { msg: string }[] }>(head, 'GET', '/api/events')).json.events.map((e) => e.msg).join('\n');
      expect(events).toMatch(/liar was outvoted on job \S+ chunk \d+ by honest-/);
      // an admin clears it
      const cleared = await run(['node', 'clear', 'liar', '--data', head.dir]);
      expect(cleared.out).toMatch(/liar cleared/);
      expect((await api<{ nodes: { name: string; barred: boolean }[] }>(head, 'GET', '/api/nodes')).json.nodes.find((n) => n.name === 'liar')?.barred).toBe(false);
    } finally {
      liar.stop();
      for (const w of honest) await w.kill();
    }
  });

  it('a liar caught late: what it had committed runs again, the answer is exact; after a head restart it is still barred until cleared', async () => {
    type Node = { name: string; suspect: boolean; strikes: number; barred: boolean; connected: boolean };
    const nodes = async (): Promise<Node[]> => (await api<{ nodes: Node[] }>(head, 'GET', '/api/nodes')).json.nodes;
    // the liar is alone at first: it answers all 40 chunks at once; about half are drawn for --verify 50
    // and wait for a second copy, the other half it commits unchecked
    const liar = await plausibleLiar('late-liar');
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '4e6', chunk: '1e5', verify: 50 });
    expect(sub.status).toBe(201);
    await waitFor('the liar to answer every chunk', () => liar.answered() >= 40, 30_000);
    // its results are committed a batch at a time: wait until the count of done chunks settles
    let before = -1;
    await waitFor('the liar\'s results to be committed', async () => {
      const d = (await api<{ chunks: { done: number } }>(head, 'GET', `/api/jobs/${sub.json.id}`)).json.chunks.done;
      const settled = d === before;
      before = d;
      return settled;
    }, 10_000, 300);
    expect(before).toBeGreaterThanOrEqual(2); // committed before anyone could check them
    // honest workers join: the drawn chunks are compared, the liar is caught, its commits run again
    const honest = [startWorker(head, 'late-a', ['--slots', '1']), startWorker(head, 'late-b', ['--slots', '1'])];
    procs.push(...honest);
    const done = await waitJob(head, sub.json.id, 120_000);
    expect(done.state).toBe('done');
    expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${sub.json.id}/result`)).json.count).toBe('283146');
    const events = (await api<{ events: { msg: string }[] }>(head, 'GET', '/api/events')).json.events.map((e) => e.msg).join('\n');
    const m = new RegExp(`job ${sub.json.id}: (\\d+) result\\(s\\) late-liar committed before it was caught run again on other workers`).exec(events);
    expect(m, events.slice(-2000)).not.toBeNull();
    expect(Number(m?.[1])).toBe(before);
    const caught = (await nodes()).find((n) => n.name === 'late-liar');
    expect(caught).toMatchObject({ suspect: true, barred: true });
    liar.stop();
    for (const w of honest) await w.kill();

    // the head restarts (killed): the liar's strikes are in the journal
    await head.kill();
    head = await startHead(head.dir, [], { port: head.port, httpPort: head.httpPort });
    procs.push(head);
    const back = await plausibleLiar('late-liar');
    const w = startWorker(head, 'late-c', ['--slots', '1']);
    procs.push(w);
    await waitFor('the liar and an honest worker', async () => (await nodes()).filter((n) => n.connected).length >= 2, 30_000);
    expect((await nodes()).find((n) => n.name === 'late-liar')).toMatchObject({ suspect: true, barred: true, strikes: caught?.strikes });
    const again = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1e6', chunk: '1e5' });
    expect((await waitJob(head, again.json.id, 60_000)).state).toBe('done');
    expect((await api<{ count: string }>(head, 'GET', `/api/jobs/${again.json.id}/result`)).json.count).toBe('78498');
    expect(back.assigned()).toBe(0); // benched: no work at all
    const cleared = await run(['node', 'clear', 'late-liar', '--data', head.dir]);
    expect(cleared.out).toMatch(/late-liar cleared/);
    expect((await nodes()).find((n) => n.name === 'late-liar')).toMatchObject({ suspect: false, strikes: 0, barred: false });
    back.stop();
    await w.kill();
  });
});
