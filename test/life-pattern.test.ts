// A Life pattern is stored once on the head and referenced by its hash (issue 16): real head and worker
// processes over TLS on loopback, a head SIGKILLed and restarted on its data dir, `bramble run life`
// with its output streamed to a file and compared with bgolly's (Debian package golly).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONWAY, LifeGrid, parseRle, rleToGrid, toRle } from '../src/kernels/index.js';
import { patternRef } from '../src/tasks/index.js';
import { bgolly, hasBgolly } from './helpers/golly.js';
import type { Proc } from './helpers/procs.js';
import { api, cleanup, run, startHead, startWorker, tmpDir, waitFor, waitJob } from './helpers/procs.js';

const inCi = process.env['CI'] === 'true';

const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) cleanup(d);
});

function dir(prefix: string): string {
  const d = tmpDir(`bramble-life2-${prefix}-`);
  dirs.push(d);
  return d;
}

const GOSPER = 'x = 36, y = 9, rule = B3/S23\n24bo$22bobo$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o$2o8bo3bob2o4bobo$10bo5bo7bo$11bo3bo$12b2o!\n';

describe('a Life pattern by hash', () => {
  it('is stored once and referenced by the job; a head SIGKILLed before the job starts finds it again, and the grid is exact', async () => {
    const d = dir('restart');
    const head = await startHead(d);
    procs.push(head);
    // no worker yet: the job waits with its pattern stored and nothing cut
    const params = { size: '96x64', generations: 150, pattern: GOSPER, parts: 2, halo: 4 };
    const r = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'life', params });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const id = r.json.id;
    const ref = patternRef(GOSPER);
    const st = (await api<{ params: Record<string, unknown> }>(head, 'GET', `/api/jobs/${id}`)).json;
    expect(st.params['pattern']).toBe(ref);
    expect(JSON.stringify((await api(head, 'GET', '/api/jobs')).json)).not.toContain('24bo$22bobo');
    expect(readFileSync(path.join(d, 'life', 'patterns', `${ref.slice(7)}.rle`), 'utf8')).toBe(GOSPER);
    // the same pattern again, by its reference: accepted while the head stores it
    const again = await api<{ id: string }>(head, 'POST', '/api/jobs', { task: 'life', params: { ...params, pattern: ref, generations: 10 } });
    expect(again.status, JSON.stringify(again.json)).toBe(201);
    await api(head, 'POST', `/api/jobs/${again.json.id}/cancel`);
    // an unknown reference is refused, naming the flag
    const unknown = await api<{ error: { message: string; field: string } }>(head, 'POST', '/api/jobs', { task: 'life', params: { ...params, pattern: `sha256:${'0'.repeat(64)}` } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.field).toBe('--pattern');
    expect(unknown.json.error.message).toMatch(/^--pattern sha256:0{64} is not a pattern this head stores/);

    await head.kill('SIGKILL');
    const restarted = await startHead(d, [], { port: head.port, httpPort: head.httpPort });
    procs.push(restarted);
    procs.push(startWorker(restarted, 'w1', ['--slots', '2']));
    const done = await waitJob(restarted, id, 120_000);
    expect(done.state).toBe('done');
    const out = await api<string>(restarted, 'GET', `/api/jobs/${id}/output`);
    expect(out.status).toBe(200);
    const want = rleToGrid(GOSPER, { width: 96, height: 64 });
    want.step(CONWAY, 150);
    expect(rleToGrid(String(out.json)).equals(want)).toBe(true);
    // cut into the job's first checkpoint, the pattern is no longer kept
    await waitFor('the stored pattern removed', () => !existsSync(path.join(d, 'life', 'patterns', `${ref.slice(7)}.rle`)), 10_000);
    expect(readdirSync(path.join(d, 'life', 'patterns'))).toEqual([]);
  }, 180_000);

  it('refuses an RLE file over 4 MiB by its size before reading it: exit 2, one line naming --pattern', async () => {
    const d = dir('huge');
    const huge = path.join(d, 'huge.rle');
    writeFileSync(huge, `x = 8, y = 8, rule = B3/S23\n${'b'.repeat(5 * 1024 * 1024)}!\n`);
    const r = await run(['run', 'life', '--size', '64x64', '--pattern', huge, '--workers', '1']);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--pattern: .*huge\.rle is 5\.0 MiB; at most 4 MiB/);
  }, 30_000);
});

describe.skipIf(!hasBgolly && !inCi)('bramble run life --out', () => {
  it('streams the final grid as RLE equal to bgolly -o, cell for cell, on 2 strips', async () => {
    expect(hasBgolly, 'bgolly (Debian package golly) must be installed in CI').toBe(true);
    const d = dir('out');
    const soup = LifeGrid.random(300, 200, 0.5, 5);
    const input = path.join(d, 'soup.rle');
    writeFileSync(input, toRle(soup, CONWAY)); // x = 300, y = 200, rule = B3/S23:T300,200
    const ours = path.join(d, 'ours.rle');
    const theirs = path.join(d, 'theirs.rle');
    const r = await run(['run', 'life', '--size', '300x200', '--generations', '100', '--pattern', input, '--workers', '2', '--out', ours]);
    expect(r.code, r.err).toBe(0);
    bgolly(input, 100, theirs);
    // bgolly writes the live cells' bounding box: after 100 generations a soup still spans the torus
    const golly = parseRle(readFileSync(theirs, 'utf8'));
    expect([golly.width, golly.height]).toEqual([300, 200]);
    const text = readFileSync(ours, 'utf8');
    expect(text.startsWith('x = 300, y = 200, rule = B3/S23:T300,200\n')).toBe(true);
    const got = rleToGrid(text);
    expect(got.equals(rleToGrid(golly, { width: 300, height: 200 }))).toBe(true);
    soup.step(CONWAY, 100);
    expect(got.equals(soup)).toBe(true);
    expect(text).toBe(toRle(soup, CONWAY));
  }, 60_000);
});
