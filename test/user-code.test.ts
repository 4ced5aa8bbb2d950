import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleTaskModule } from '../src/tasks/index.js';
import { sha256Hex, signCodeHash } from '../src/trust/index.js';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

/**
 * Issue 12, with real processes: a head, workers that may run code (--allow-code --allow-exec) and
 * one that may not, task modules and commands submitted through the real CLI.
 */

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const dirs: string[] = [];
const procs: Proc[] = [];
let head: HeadHandle;
let work: string;
const coders: Proc[] = [];

interface Status {
  id: string;
  state: string;
  waiting?: string;
  chunks: { total: number; done: number; leased: number; failed: number };
  failedChunks: { index: number; error: string }[];
}

afterAll(async () => {
  for (const p of procs) await p.kill();
  dirs.forEach(cleanup);
});

/** A module that does what `mode` says: the sandbox's test subject. */
const HOSTILE = `import { defineTask, param } from 'bramble';
import fs from 'node:fs';
export default defineTask({
  name: 'hostile',
  description: 'misbehaves on purpose',
  params: { mode: param.choice(['ok', 'write', 'spawn', 'thread', 'loop', 'alloc', 'throw'], { description: 'what to do', default: 'ok' }) },
  async run(p, start, end) {
    if (p.mode === 'write') fs.writeFileSync('/tmp/bramble-uc-escape.txt', 'out');
    if (p.mode === 'spawn') (await import('node:child_process')).execFileSync('true');
    if (p.mode === 'thread') new (await import('node:worker_threads')).Worker('1', { eval: true });
    if (p.mode === 'loop') for (;;) {}
    if (p.mode === 'alloc') { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); }
    if (p.mode === 'throw') throw new Error('thrown by the module');
    // its own scratch directory is writable
    fs.writeFileSync('scratch.txt', String(start));
    return { summary: { n: Number(end - start + 1n) }, output: null };
  },
  checkSummary: (s) => ({ n: Number(s.n) }),
  fold() { let n = 0; return { add: (_i, _s, _e, x) => void (n += x.n), result: () => ({ n: String(n) }) }; },
});
`;

function fetchedCount(p: Proc): number {
  return p.out().split('\n').filter((l) => l.includes('code fetched from the head')).length;
}

async function submit(args: string[]): Promise<string> {
  const r = await run(['submit', '--data', head.dir, '--json', ...args]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { id: string }).id;
}

beforeAll(async () => {
  work = tmpDir('bramble-usercode-');
  dirs.push(work);
  head = await startHead(work, []);
  procs.push(head);
  for (const n of ['a', 'b', 'c']) {
    const w = startWorker(head, `code-${n}`, ['--slots', '1', '--allow-code', '--allow-exec', '--code-cpu-seconds', '3', '--code-memory-mb', '64', '--log-level', 'info']);
    procs.push(w);
    coders.push(w);
  }
  await waitFor('3 workers', async () => ((await api<{ nodes: unknown[] }>(head, 'GET', '/api/nodes')).json.nodes.length >= 3 ? true : null));
  writeFileSync(path.join(work, 'hostile.mjs'), HOSTILE);
}, 60_000);

describe('task modules', () => {
  it('over 3 workers with one SIGKILLed mid-job equals a sequential run; a second job with the same module fetches nothing', async () => {
    const args = [path.join(EXAMPLES, 'pi.mjs'), '--start', '1', '--end', '48', '--param', 'samples=3000000'];
    const id = await submit([...args, '--chunk', '2']);
    const mid = await waitFor('a few chunks done', async () => {
      const st = (await api<Status>(head, 'GET', `/api/jobs/${id}`)).json;
      return st.chunks.done >= 2 ? st : null;
    }, 60_000, 20);
    await (coders[1] as Proc).kill('SIGKILL');
    expect(mid.chunks.done).toBeLessThan(mid.chunks.total - 6); // killed mid-job, not after it
    const st = await waitJob<Status>(head, id, 120_000);
    expect(st.state).toBe('done');
    const got = (await api<Record<string, string>>(head, 'GET', `/api/jobs/${id}/result`)).json;
    const seq = await run(['run', ...args, '--workers', '1', '--json']);
    expect(seq.code).toBe(0);
    const want = JSON.parse(seq.out) as Record<string, string>;
    expect(got['pi']).toBe(want['pi']);
    expect(got['inside']).toBe(want['inside']);
    expect(got['darts']).toBe('144000000');
    // each surviving worker fetched the bundle at most once...
    const survivors = [coders[0] as Proc, coders[2] as Proc];
    const before = survivors.map(fetchedCount);
    for (const n of before) expect(n).toBeLessThanOrEqual(1);
    expect(before.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(1);
    // ...and a second job with the same module (other params, same bundle) transfers nothing
    const served = async (): Promise<number> => (await api<{ code: { served: number } }>(head, 'GET', '/api/stats')).json.code.served;
    const servedBefore = await served();
    const id2 = await submit([path.join(EXAMPLES, 'pi.mjs'), '--start', '100', '--end', '120', '--chunk', '1', '--param', 'samples=1000']);
    expect((await waitJob<Status>(head, id2, 60_000)).state).toBe('done');
    expect(survivors.map(fetchedCount)).toEqual(before);
    expect(await served()).toBe(servedBefore);
  }, 240_000);

  it('refuses a bundle whose bytes or signature were tampered with on the head', async () => {
    const put = async (bytes: Uint8Array, name: string): Promise<string> => {
      const https = await import('node:https');
      return new Promise((resolve, reject) => {
        const req = https.request(new URL(`${head.url}/api/code?module=${name}`), {
          method: 'PUT',
          ca: readFileSync(path.join(head.dir, 'ca.crt')),
          headers: { authorization: `Bearer ${readFileSync(path.join(head.dir, 'admin-token'), 'utf8').trim()}`, 'content-type': 'application/octet-stream' },
        }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => (res.statusCode === 201 ? resolve((JSON.parse(t) as { task: string }).task) : reject(new Error(t))));
        });
        req.on('error', reject);
        req.end(Buffer.from(bytes));
      });
    };
    const base = await bundleTaskModule(path.join(work, 'hostile.mjs'));
    const failsWith = async (task: string): Promise<string> => {
      const r = await api<{ id: string }>(head, 'POST', '/api/jobs', { task, start: 1, end: 1, maxAttempts: 1 });
      expect(r.status).toBe(201);
      const st = await waitJob<Status>(head, r.json.id, 60_000);
      expect(st.state).toBe('failed');
      return st.failedChunks[0]?.error ?? '';
    };
    // bytes changed after the head signed them
    const a = Buffer.concat([base, Buffer.from('\n// a\n')]);
    const taskA = await put(a, 'a.mjs');
    const hashA = sha256Hex(a);
    // the store serves it to the admin only
    expect((await api(head, 'GET', `/api/code/${hashA}`)).status).toBe(200);
    expect((await api(head, 'GET', `/api/code/${hashA}`, undefined, null)).status).toBe(401);
    expect((await api(head, 'GET', `/api/code/${'0'.repeat(64)}`)).status).toBe(404);
    appendFileSync(path.join(head.dir, 'code', hashA), '\nconsole.log("injected")\n');
    expect(await failsWith(taskA)).toMatch(/refused code [0-9a-f]{12}: its SHA-256 is .* not the hash it was sent for/);
    // a signature of another hash (or by another key)
    const b = Buffer.concat([base, Buffer.from('\n// b\n')]);
    const taskB = await put(b, 'b.mjs');
    writeFileSync(path.join(head.dir, 'code', `${sha256Hex(b)}.sig`), signCodeHash(readFileSync(path.join(head.dir, 'code-key'), 'utf8'), hashA));
    expect(await failsWith(taskB)).toMatch(/refused code [0-9a-f]{12}: its signature is not the cluster code key's/);
  }, 120_000);

  it('under the permission model: writes outside scratch, processes and threads fail the chunk; loops and allocations are stopped; the worker serves on', async () => {
    const mod = path.join(work, 'hostile.mjs');
    const run1 = async (mode: string): Promise<Status> => waitJob<Status>(head, await submit([mod, '--start', '1', '--end', '1', '--max-attempts', '1', '--param', `mode=${mode}`]), 90_000);
    const expectFail = async (mode: string, pattern: RegExp): Promise<void> => {
      const st = await run1(mode);
      expect(st.state, mode).toBe('failed');
      expect(st.failedChunks[0]?.error, mode).toMatch(pattern);
    };
    await expectFail('write', /ERR_ACCESS_DENIED FileSystemWrite/);
    expect(existsSync('/tmp/bramble-uc-escape.txt')).toBe(false);
    await expectFail('spawn', /ERR_ACCESS_DENIED ChildProcess/);
    await expectFail('thread', /ERR_ACCESS_DENIED WorkerThreads/);
    await expectFail('throw', /Error: thrown by the module\n\s+at /);
    await expectFail('loop', /CPU time limit of 3 s exceeded/);
    await expectFail('alloc', /memory cap of 64 MiB reached/);
    const ok = await run1('ok');
    expect(ok.state).toBe('done');
    for (const w of [coders[0] as Proc, coders[2] as Proc]) expect(w.child.exitCode).toBeNull();
  }, 300_000);
});

describe('command tasks', () => {
  it("a Python script's concatenated output is byte-equal to running it over the same chunks by hand", async () => {
    const script = path.join(EXAMPLES, 'primes.py');
    const id = await submit(['exec', '--start', '1', '--end', '3000', '--chunk', '250', '--file', script, '--', 'python3', 'primes.py', '{start}', '{end}']);
    expect((await waitJob<Status>(head, id, 120_000)).state).toBe('done');
    const out = path.join(work, 'primes.out');
    const r = await run(['result', id, '--data', head.dir, '--out', out]);
    expect(r.code).toBe(0);
    const byHand: Buffer[] = [];
    for (let s = 1; s <= 3000; s += 250) byHand.push(execFileSync('python3', [script, String(s), String(s + 249)]));
    expect(readFileSync(out).equals(Buffer.concat(byHand))).toBe(true);
    expect(readFileSync(out, 'utf8').split('\n')[429]).toBe('2999');
  }, 180_000);

  it('exit 3 is retried, then quarantined, with its stderr', async () => {
    const id = await submit(['exec', '--start', '1', '--end', '1', '--max-attempts', '2', '--shell', '--', 'echo', 'no luck', '>&2;', 'exit', '3']);
    const st = await waitJob<Status>(head, id, 60_000);
    expect(st.state).toBe('failed');
    expect(st.failedChunks[0]?.error).toMatch(/exited with code 3/);
    expect(st.failedChunks[0]?.error).toMatch(/no luck/);
    const shown = await run(['status', id, '--data', head.dir]);
    expect(shown.out).toMatch(/no luck/);
  }, 60_000);

  it('--chunk-timeout kills the whole process group: no process is left', async () => {
    const marker = String(7000 + Math.floor(Math.random() * 2000));
    const id = await submit(['exec', '--start', '1', '--end', '1', '--max-attempts', '1', '--chunk-timeout', '1', '--shell', '--', `sleep ${marker}.5 & sleep ${marker}.5 & wait`]);
    const st = await waitJob<Status>(head, id, 60_000);
    expect(st.state).toBe('failed');
    expect(st.failedChunks[0]?.error).toMatch(/timed out after 1 s/);
    // every process on this machine whose command line is one of the sleeps
    const left = (): string =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim() === `sleep ${marker}.5`;
          } catch {
            return false; // gone meanwhile
          }
        })
        .join(' ');
    // the chunk failed while they ran: they were there to be killed
    expect(st.failedChunks[0]?.error).not.toMatch(/cannot start/);
    await waitFor('the sleeps to be gone', () => left() === '', 5000);
    expect(left()).toBe('');
  }, 60_000);
});

describe('who may run what', () => {
  it('a worker without --allow-code / --allow-exec never receives such work; the job waits and says why', async () => {
    const dir = tmpDir('bramble-usercode-plain-');
    dirs.push(dir);
    const h2 = await startHead(dir, []);
    procs.push(h2);
    const plain = startWorker(h2, 'plain', ['--slots', '2']);
    procs.push(plain);
    await waitFor('the plain worker', async () => ((await api<{ nodes: unknown[] }>(h2, 'GET', '/api/nodes')).json.nodes.length >= 1 ? true : null));
    const sub = async (args: string[]): Promise<string> => {
      const r = await run(['submit', '--data', dir, '--json', ...args]);
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { id: string }).id;
    };
    const mod = await sub([path.join(EXAMPLES, 'pi.mjs'), '--start', '1', '--end', '4', '--param', 'samples=10']);
    const cmd = await sub(['exec', '--start', '1', '--end', '4', '--', 'echo', '{start}']);
    await new Promise((r) => setTimeout(r, 1500));
    const m = (await api<Status>(h2, 'GET', `/api/jobs/${mod}`)).json;
    const c = (await api<Status>(h2, 'GET', `/api/jobs/${cmd}`)).json;
    expect([m.state, m.chunks.done, m.chunks.leased]).toEqual(['queued', 0, 0]);
    expect([c.state, c.chunks.done, c.chunks.leased]).toEqual(['queued', 0, 0]);
    expect(m.waiting).toMatch(/--allow-code/);
    expect(c.waiting).toMatch(/--allow-exec/);
    expect((await run(['status', mod, '--data', dir])).out).toMatch(/no connected worker runs task modules \(start workers with --allow-code\)/);
    // a worker that may run modules takes the module job; the command still waits
    const coder = startWorker(h2, 'coder', ['--slots', '1', '--allow-code']);
    procs.push(coder);
    expect((await waitJob<Status>(h2, mod, 60_000)).state).toBe('done');
    const c2 = (await api<Status>(h2, 'GET', `/api/jobs/${cmd}`)).json;
    expect([c2.state, c2.chunks.done, c2.chunks.leased]).toEqual(['queued', 0, 0]);
    expect((await api(h2, 'POST', `/api/jobs/${cmd}/cancel`)).status).toBe(200);
  }, 120_000);
});

describe('bad input', () => {
  const one = async (args: string[], pattern: RegExp): Promise<void> => {
    const r = await run(['submit', '--data', head.dir, ...args]);
    expect(r.code, r.err).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(pattern);
  };
  it('exits 2 with one line naming what was wrong', async () => {
    writeFileSync(path.join(work, 'nodefault.mjs'), 'export const x = 1;\n');
    await one(['exec', '--start', '1', '--end', '10', 'python3', 'x.py'], /exec needs its command after --/);
    await one(['exec', '--start', '1', '--end', '10', '--file', path.join(work, 'missing.py'), '--', 'python3', 'missing.py'], /--file .*missing\.py: cannot read it: ENOENT/);
    await one(['exec', '--start', '1', '--end', '10', '--', 'echo', '{stop}'], /unknown placeholder \{stop\}/);
    await one([path.join(work, 'nodefault.mjs'), '--start', '1', '--end', '10'], /has no default task: export default defineTask/);
    await one([path.join(EXAMPLES, 'pi.mjs'), '--start', '1', '--end', '10', '--param', 'samples=0'], /--param samples must be/);
    await one([path.join(EXAMPLES, 'pi.mjs'), '--start', '1', '--end', '10', '--param', 'darts=5'], /--param darts: .* has no parameter darts/);
  }, 120_000);
});
