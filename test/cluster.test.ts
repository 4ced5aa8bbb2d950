import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

interface Status {
  id: string;
  state: string;
  chunks: { total: number; done: number; leased: number; pending: number; failed: number };
}

const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) cleanup(d);
});

async function cluster(workers: number, headArgs: string[] = []): Promise<{ head: HeadHandle; workers: Proc[] }> {
  const dir = tmpDir();
  dirs.push(dir);
  const head = await startHead(dir, ['--lease-ms', '3000', ...headArgs]);
  procs.push(head);
  const ws = Array.from({ length: workers }, (_, i) => startWorker(head, `w${i}`, ['--slots', '1']));
  procs.push(...ws);
  await waitFor('workers to join', async () => {
    const r = await api<{ nodes: { state: string }[] }>(head, 'GET', '/api/nodes');
    return r.json.nodes.filter((n) => n.state === 'ready').length === workers;
  });
  return { head, workers: ws };
}

async function submit(head: HeadHandle, body: Record<string, unknown>): Promise<string> {
  const r = await api<Status>(head, 'POST', '/api/jobs', body);
  expect(r.status).toBe(201);
  return r.json.id;
}

const waitDone = (head: { dir: string; url: string }, id: string, timeoutMs = 240_000): Promise<Status> => waitJob<Status>(head, id, timeoutMs, 200);

describe('a head and worker processes', () => {
  it('count the primes in [1, 10^8] = 5761455 while one worker is SIGKILLed mid-job', async () => {
    const { head, workers } = await cluster(3);
    const id = await submit(head, { task: 'primes', start: '1', end: '1e8', chunk: '2e6' });
    await waitFor('some progress', async () => (await api<Status>(head, 'GET', `/api/jobs/${id}`)).json.chunks.done >= 5, 60_000);
    await workers[0]!.kill('SIGKILL');
    const st = await waitDone(head, id);
    expect(st.state).toBe('done');
    expect(st.chunks.done).toBe(50);
    const r = await api<Record<string, unknown>>(head, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ task: 'primes', start: '1', end: '100000000', count: '5761455', first: '2', last: '99999989' });
  });

  it('finishes a job when the head is SIGKILLed mid-job and restarted on the same data dir', async () => {
    const { head } = await cluster(2);
    const id = await submit(head, { task: 'primes', start: '1', end: '1e8', chunk: '2e6' });
    await waitFor('some progress', async () => (await api<Status>(head, 'GET', `/api/jobs/${id}`)).json.chunks.done >= 8, 60_000);
    await head.kill('SIGKILL');
    const again = await startHead(head.dir, ['--lease-ms', '3000'], { port: head.port, httpPort: head.httpPort });
    procs.push(again);
    const st = await waitDone(again, id);
    expect(st.state).toBe('done');
    const r = await api<Record<string, unknown>>(again, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ count: '5761455', last: '99999989' });
  });

  it('writes every prime in order with result --out, byte for byte equal to a reference sieve', async () => {
    const { head } = await cluster(2);
    const out = path.join(head.dir, 'primes.txt');
    const sub = await run(['submit', 'primes', '--start', '1', '--end', '2_000_000', '--chunk', '150000', '--list', '--wait', '--json', '--data', head.dir]);
    expect(sub.err).toBe('');
    expect(sub.code).toBe(0);
    const res = JSON.parse(sub.out) as { id: string; count: string };
    expect(res.count).toBe('148933');
    const r = await run(['result', res.id, '--out', out, '--data', head.dir, '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(referencePrimes(2_000_000));
  });

  it('answers job commands through the CLI: jobs, status, watch, cancel', async () => {
    const { head } = await cluster(1);
    const sub = await run(['submit', 'collatz', '--start', '1', '--end', '1e9', '--chunk', '1e6', '--json', '--data', head.dir]);
    expect(sub.code).toBe(0);
    const { id } = JSON.parse(sub.out) as { id: string };
    const st = await run(['status', id, '--json', '--data', head.dir]);
    expect(['queued', 'running']).toContain((JSON.parse(st.out) as Status).state);
    const jobs = await run(['jobs', '--json', '--data', head.dir]);
    expect((JSON.parse(jobs.out) as { jobs: Status[] }).jobs.map((j) => j.id)).toContain(id);
    const c = await run(['cancel', id, '--json', '--data', head.dir]);
    expect((JSON.parse(c.out) as Status).state).toBe('cancelled');
    const w = await run(['watch', id, '--json', '--data', head.dir]);
    expect((JSON.parse(w.out) as Status).state).toBe('cancelled');
    const again = await run(['cancel', id, '--data', head.dir]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already cancelled/);
  });

  it('lets a job submitted with no workers wait for them', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const head = await startHead(dir);
    procs.push(head);
    const id = await submit(head, { task: 'collatz', start: '1', end: '1e6' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await api<Status>(head, 'GET', `/api/jobs/${id}`)).json.state).toBe('queued');
    const w = startWorker(head, 'late');
    procs.push(w);
    const st = await waitDone(head, id);
    expect(st.state).toBe('done');
    const r = await api<Record<string, unknown>>(head, 'GET', `/api/jobs/${id}/result`);
    expect(r.json).toMatchObject({ longest: { n: '837799', steps: '524' } });
  });
});

function referencePrimes(n: number): string {
  const sieve = new Uint8Array(n + 1);
  const out: string[] = [];
  for (let i = 2; i <= n; i++) {
    if (sieve[i]) continue;
    out.push(String(i));
    for (let j = i * i; j <= n; j += i) sieve[j] = 1;
  }
  return out.join('\n') + '\n';
}
