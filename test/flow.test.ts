// Flow control between a real head and a worker speaking the protocol by hand over real TLS: the
// worker states its window once; the head keeps it full as results arrive, in batches, without a
// `want` per chunk, and never lets a slot go idle while work waits.
import { afterAll, describe, expect, it } from 'vitest';
import { connectFramed } from '../src/net/index.js';
import type { Message } from '../src/protocol/index.js';
import { authProof, loadCluster } from '../src/trust/index.js';
import type { HeadHandle } from './helpers/procs.js';
import { api, cleanup, startHead, tmpDir, waitFor } from './helpers/procs.js';
import { hello } from './helpers/hello.js';

const dirs: string[] = [];
const heads: HeadHandle[] = [];
afterAll(async () => {
  for (const h of heads) await h.kill();
  dirs.forEach(cleanup);
});

type Chunk = Extract<Message, { type: 'assign' }>['chunks'][number];

async function handWorker(head: HeadHandle, name: string, slots: number) {
  const c = loadCluster(head.dir);
  const link = await connectFramed({ host: '127.0.0.1', port: head.port, caHash: c.caHash });
  const held: Chunk[] = [];
  const assigns: number[] = [];
  const queue: Message[] = [];
  link.conn.on('message', (m) => {
    if (m.type === 'assign') {
      held.push(...m.chunks);
      assigns.push(m.chunks.length);
    } else queue.push(m);
  });
  const until = async (what: string, f: () => boolean): Promise<void> => void (await waitFor(what, f, 10_000, 5));
  await until('the challenge', () => queue.some((m) => m.type === 'challenge'));
  const ch = queue.find((m) => m.type === 'challenge') as { nonce: string };
  link.conn.send(hello(name, { slots, proof: authProof(c.secret, ch.nonce, name, link.binding) }));
  await until('the welcome', () => queue.some((m) => m.type === 'welcome'));
  /** Sends results for the first n chunks held. */
  const finish = (n: number): void => {
    for (const ch of held.splice(0, n)) link.conn.send({ type: 'result', token: ch.token, job: ch.job, index: ch.index, summary: {} });
  };
  return { conn: link.conn, held, assigns, until, finish };
}

describe('window flow control', () => {
  it('fills the window once, refills a quarter at a time without a want per chunk, and never idles a slot', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const head = await startHead(dir);
    heads.push(head);
    await api(head, 'POST', '/api/jobs', { task: 'noop', params: { chunks: 5000 } });

    // a worker with 2 slots and a window of 40: one assign fills it
    const w = await handWorker(head, 'small-slots', 2);
    w.conn.send({ type: 'want', n: 40 });
    await w.until('the window to fill', () => w.held.length === 40);
    expect(w.assigns).toEqual([40]);
    // 9 results free 9 places: under a quarter (10), nothing comes (the 38 it holds keep 2 slots busy)
    w.finish(9);
    await new Promise((r) => setTimeout(r, 500));
    expect(w.assigns).toEqual([40]);
    // the 10th frees a quarter: the head refills all 10 in one assign, with no `want` sent
    w.finish(1);
    await w.until('the refill', () => w.assigns.length === 2);
    expect(w.assigns).toEqual([40, 10]);
    expect(w.held.length).toBe(40);

    // a worker with 32 slots and a window of 33: a quarter would be 8, but it must not wait that long
    // with slots idle: after 2 results it holds 31 for 32 slots, so the refill comes at once
    const big = await handWorker(head, 'many-slots', 32);
    big.conn.send({ type: 'want', n: 33 });
    await big.until('its window to fill', () => big.held.length === 33);
    big.finish(2);
    await big.until('the refill at the first idle slot', () => big.assigns.length === 2);
    expect(big.assigns).toEqual([33, 2]);

    // a smaller window takes effect for what comes next; 0 stops new work
    w.conn.send({ type: 'want', n: 0 });
    w.finish(40);
    await new Promise((r) => setTimeout(r, 500));
    expect(w.assigns).toEqual([40, 10]);
    const stats = await api<{ counters: { resultsIn: number; assignFrames: number } }>(head, 'GET', '/api/stats');
    expect(stats.json.counters.resultsIn).toBe(52);
    w.conn.destroy();
    big.conn.destroy();
  });
});
