import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadHandle, Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitJob } from './helpers/procs.js';

// Issue 17, items 5, 6 and 10-14: what a holder of the admin token (or of a browser session) can do by
// mistake or by a cross-site page, each bound checked against a real head on loopback.

const dirs: string[] = [];
const procs: Proc[] = [];
let head: HeadHandle;

beforeAll(async () => {
  const dir = tmpDir('bramble-sec2-admin-');
  dirs.push(dir);
  // a data dir as a careless admin left it: 0755, its files 0644 (item 14)
  expect((await run(['init', '--data', dir])).code).toBe(0);
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(path.join(dir, f), 0o644);
  writeFileSync(path.join(dir, 'config.json'), '{}\n', { mode: 0o644 });
  head = await startHead(dir);
  procs.push(head);
});
afterAll(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) cleanup(d);
});

type Err = { error: { code: string; message: string; field?: string } };

/** GET/POST with only the given headers (no admin token unless given). */
function raw(method: string, route: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + route), { method, ca: readFileSync(path.join(head.dir, 'ca.crt')), headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('data dir modes (item 14)', () => {
  it('fixes the data dir to 0700 and its files to 0600 (certificates 0644) at start, with a warning', () => {
    const mode = (f: string): string => (statSync(path.join(head.dir, f)).mode & 0o777).toString(8);
    expect(mode('.')).toBe('700');
    for (const f of ['admin-token', 'cluster-secret', 'ca.key', 'head.key', 'lease-key', 'config.json', 'bramble.db', 'head.json']) expect(mode(f), f).toBe('600');
    expect(mode('ca.crt')).toBe('644');
    expect(mode('head.crt')).toBe('644');
    expect(head.out() + head.err()).toMatch(/data dir: \S+config\.json was 0644, now 0600/);
    expect(head.out() + head.err()).toMatch(/data dir: \S+ was 0755, now 0700/);
  });
});

describe('wrong parameter types and huge numbers (items 5 and 6)', () => {
  it('answers a wrong type with 400 naming the field and what was given', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ task: 'noop', params: { chunks: [1] } }, '--chunks', /--chunks must be an integer .*got an array, \[1\]/],
      [{ task: 'life', params: { generations: { a: 1 } } }, '--generations', /got an object/],
      [{ task: 'life', params: { rule: 7 } }, '--rule', /--rule must be a string/],
      [{ task: 'primes', start: [1], end: 9 }, 'start', /start must be a number/],
      [{ task: 'primes', start: 1, end: 9, params: { list: 'maybe' } }, '--list', /--list must be true or false/],
      [{ task: 'primes', start: 1, end: 9, params: [] }, 'params', /params must be an object/],
    ];
    for (const [body, field, message] of cases) {
      const r = await api<Err>(head, 'POST', '/api/jobs', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.field).toBe(field);
      expect(r.json.error.message).toMatch(message);
    }
  });

  it('refuses numeric text longer than 80 characters before evaluating it, and quotes at most 40 of it', async () => {
    // 100,000 terms of 2^256, and a 20,000-digit base to the 256th: each was evaluated before its bound
    for (const end of [Array(100_000).fill('2^256').join('+'), '9'.repeat(20_000) + '^256']) {
      const r = await api<Err>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end });
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe('--end');
      expect(r.json.error.message).toMatch(/characters long; a number is at most 80/);
      expect(r.json.error.message.length).toBeLessThan(200);
    }
    expect((await api(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2^64-1-18_446_744_073_709_551_000', chunk: '100' })).status).toBe(201);
  });
});

describe('job lists (item 8)', () => {
  it('are paged, and leave large parameters out', async () => {
    // a 40x40 random soup as RLE: far over 256 characters, but a Life job keeps only its reference
    // (issue 16: the head stores the pattern once, by hash); an exec command of 300+ characters is kept whole
    const rows = Array.from({ length: 40 }, (_, y) => Array.from({ length: 40 }, (_, x) => ((x * 7 + y * 13) % 3 === 0 ? 'o' : 'b')).join(''));
    const pattern = `x = 40, y = 40, rule = B3/S23\n${rows.join('$\n')}!\n`;
    const command = JSON.stringify(['echo', 'x'.repeat(300)]);
    const ids: string[] = [];
    const life = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'life', params: { size: '64x64', generations: 1, pattern } });
    expect(life.status).toBe(201);
    ids.push(life.json.id);
    for (let i = 0; i < 2; i++) {
      const r = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'exec', start: '1', end: '10', chunk: '10', params: { command } });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      ids.push(r.json.id);
    }
    type Page = { jobs: { id: string; seq: number; params: Record<string, unknown> }[]; next: number | null; total: number };
    const p1 = (await api<Page>(head, 'GET', '/api/jobs?limit=2')).json;
    expect(p1.jobs.map((j) => j.id)).toEqual(ids.slice(1));
    expect(p1.next).not.toBeNull();
    expect(String(p1.jobs[0]?.params['command'])).toMatch(/^\(\d+ characters; GET \/api\/jobs\/ID has it\)$/);
    const p2 = (await api<Page>(head, 'GET', `/api/jobs?limit=2&before=${p1.next}`)).json;
    expect(p2.jobs.map((j) => j.id).at(-1)).toBe(ids[0]);
    expect(p2.jobs.at(-1)?.params['pattern']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p2.jobs.at(-1)?.params['width']).toBe(64);
    expect(p2.total).toBe(p1.total - 2);
    // the job itself still has it whole
    expect((await api<{ params: { command: string } }>(head, 'GET', `/api/jobs/${ids[1]}`)).json.params.command).toBe(command);
    for (const bad of ['0', '1001', 'x']) {
      const r = await api<Err>(head, 'GET', `/api/jobs?limit=${bad}`);
      expect(r.status).toBe(400);
      expect(r.json.error.field).toBe('limit');
    }
    for (const id of ids) await api(head, 'POST', `/api/jobs/${id}/cancel`);
  });
});

describe('result --out (item 10)', () => {
  it('leaves an existing file as it was when the head refuses the output, and writes it whole on success', async () => {
    const w = startWorker(head, 'w1', ['--slots', '1']);
    procs.push(w);
    const plain = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1000' });
    const listed = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '1000', params: { list: true } });
    expect((await waitJob(head, plain.json.id, 60_000)).state).toBe('done');
    expect((await waitJob(head, listed.json.id, 60_000)).state).toBe('done');
    const file = path.join(head.dir, 'keep.txt');
    writeFileSync(file, 'precious\n');
    const refused = await run(['result', plain.json.id, '--out', file, '--data', head.dir]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/no output|--list|409/i);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    expect(readdirSync(head.dir).filter((f) => f.includes('.part-'))).toEqual([]);
    const ok = await run(['result', listed.json.id, '--out', file, '--data', head.dir]);
    expect(ok.code).toBe(0);
    const primes = readFileSync(file, 'utf8').trim().split('\n');
    expect(primes).toHaveLength(168);
    expect(primes.at(-1)).toBe('997');
    await w.kill();
  });
});

describe('login codes, sessions and cross-site writes (items 11, 12, 13)', () => {
  const token = (): string => readFileSync(path.join(head.dir, 'admin-token'), 'utf8').trim();

  async function login(): Promise<string> {
    const minted = await run(['login-url', '--data', head.dir]);
    expect(minted.code).toBe(0);
    const u = new URL(minted.out.trim());
    const r = await raw('GET', u.pathname + u.search, {});
    expect(r.status).toBe(303);
    const set = String(r.headers['set-cookie']);
    const m = /^__Host-bramble_session=([^;]+);/.exec(set);
    expect(m, set).not.toBeNull();
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; Path=\//);
    expect(set).not.toMatch(/Domain=/);
    expect(set).toMatch(/Max-Age=43200/);
    return m?.[1] as string;
  }

  it('the admin token never goes into a URL or a cookie: /login?token= is refused; the cookie is a random session id', async () => {
    const r = await raw('GET', `/login?token=${encodeURIComponent(token())}`, {});
    expect(r.status).toBe(401);
    expect(r.headers['set-cookie']).toBeUndefined();
    const a = await login();
    const b = await login();
    expect(a).not.toBe(b);
    expect(a).not.toContain(token());
    expect(a).toHaveLength(43);
    expect((await raw('GET', '/api/jobs', { cookie: `__Host-bramble_session=${a}` })).status).toBe(200);
    // the old cookie, holding the admin token itself, is no login any more
    expect((await raw('GET', '/api/jobs', { cookie: `bramble_session=${token()}` })).status).toBe(401);
    expect((await raw('GET', '/api/jobs', { cookie: `__Host-bramble_session=${token()}` })).status).toBe(401);
  });

  it('a cookie-authenticated write from another site is refused; the same origin and the bearer token pass', async () => {
    const id = await login();
    const sub = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'noop', params: { chunks: 1000 } });
    const cancel = `/api/jobs/${sub.json.id}/cancel`;
    const cookie = `__Host-bramble_session=${id}`;
    const origin = new URL(head.url).origin;
    const crossSite: Record<string, string>[] = [{ origin: 'https://evil.example', 'content-type': 'text/plain' }, { 'sec-fetch-site': 'cross-site', origin }, { 'sec-fetch-site': 'same-site' }, {}];
    for (const h of crossSite) {
      const r = await raw('POST', cancel, { cookie, ...h }, 'x');
      expect(r.status, JSON.stringify(h)).toBe(403);
      expect(r.text).toMatch(/CROSS_SITE/);
    }
    expect((await api<{ state: string }>(head, 'GET', `/api/jobs/${sub.json.id}`)).json.state).not.toBe('cancelled');
    const same = await raw('POST', cancel, { cookie, 'sec-fetch-site': 'same-origin', origin });
    expect(same.status).toBe(200);
    expect(JSON.parse(same.text).state).toBe('cancelled');
    // past the origin check (the job is already cancelled: 409, not 403)
    expect((await raw('POST', cancel, { cookie, origin })).status).toBe(409);
    // scripts: the bearer token, no Origin
    expect((await raw('POST', cancel, { authorization: `Bearer ${token()}` })).status).toBe(409);
  });

  it('bramble logout-all ends every session', async () => {
    const a = await login();
    const b = await login();
    const out = await run(['logout-all', '--data', head.dir]);
    expect(out.code).toBe(0);
    expect(out.out).toMatch(/ended \d+ dashboard sessions/);
    for (const id of [a, b]) expect((await raw('GET', '/api/jobs', { cookie: `__Host-bramble_session=${id}` })).status).toBe(401);
  });
});

describe('admission control (item 7)', () => {
  it('refuses primes --list over [1, 2^64-1] at submit with the estimate and the limit', async () => {
    const r = await api<Err>(head, 'POST', '/api/jobs', { task: 'primes', start: '1', end: '2^64-1', params: { list: true } });
    expect(r.status).toBe(400);
    expect(r.json.error.field).toBe('--chunk');
    expect(r.json.error.message).toMatch(/would send about \d+ MiB of primes per chunk \(the limit is 8\.0 MiB\)/);
  });
});
