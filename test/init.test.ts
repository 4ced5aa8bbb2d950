import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Proc } from './helpers/procs.js';
import { cleanup, run, startHead, startWorker, tmpDir, waitFor } from './helpers/procs.js';

const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill();
  dirs.forEach(cleanup);
});

describe('bramble init and token', () => {
  it('creates the cluster with secret files at mode 0600, prints the worker command, and refuses to overwrite without --force', async () => {
    const dir = path.join(tmpDir(), 'data');
    dirs.push(path.dirname(dir));
    const r = await run(['init', '--data', dir, '--san', 'pi-head.local,10.0.0.1']);
    expect(r.code).toBe(0);
    const token = r.out.trim().split('\n').pop() as string;
    expect(token).toMatch(/^bramble1\.[0-9a-f]{64}\.[A-Za-z0-9_-]+$/);
    expect(r.out).toContain(`bramble worker --head`);
    expect(r.out).toContain(`--join ${token}`);
    for (const f of ['ca.key', 'head.key', 'cluster-secret', 'admin-token', 'lease-key']) {
      expect((statSync(path.join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
    }
    const again = await run(['init', '--data', dir]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a cluster; use --force/);
    const t = await run(['token', '--data', dir]);
    expect(t.out.trim().split('\n').pop()).toBe(token);
    const forced = await run(['init', '--data', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out.trim().split('\n').pop()).not.toBe(token);
  });
});

describe('settings', () => {
  it('takes flags over environment over config file over defaults, and names a bad key and its file', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const cfg = path.join(dir, 'head.json5');
    writeFileSync(cfg, JSON.stringify({ leaseMs: 'soon' }));
    const bad = await run(['head', '--data', dir, '--config', cfg]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(new RegExp(`${cfg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: key "leaseMs"`));
    writeFileSync(cfg, JSON.stringify({ leasMs: 100 }));
    const unknown = await run(['head', '--data', dir, '--config', cfg]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown key "leasMs"/);
    const env = await run(['head', '--data', dir, '--port', '70000'], { BRAMBLE_HTTP_PORT: 'x' });
    expect(env.code).toBe(2);
    expect(env.err).toMatch(/--port/);
    const envBad = await run(['head', '--data', dir], { BRAMBLE_HTTP_PORT: 'eighty' });
    expect(envBad.code).toBe(2);
    expect(envBad.err).toMatch(/environment variable BRAMBLE_HTTP_PORT/);
    // a valid file sets the lease time; the environment overrides it; the flag overrides both
    writeFileSync(cfg, JSON.stringify({ leaseMs: 1111, logLevel: 'info' }));
    const ready = (h: { out: () => string }): Record<string, unknown> =>
      JSON.parse(h.out().split('\n').find((l) => l.includes('head ready')) as string) as Record<string, unknown>;
    // head.json appears a moment before the "head ready" line: wait for the line itself
    const settle = (h: { out: () => string }) => waitFor('the head ready line', () => h.out().includes('head ready'), 15_000);
    const fromFile = await startHead(dir, ['--config', cfg, '--log-level', 'info']);
    await settle(fromFile);
    await fromFile.kill('SIGTERM');
    expect(ready(fromFile)).toMatchObject({ leaseMs: 1111 });
    const fromEnv = await startHead(dir, ['--config', cfg, '--log-level', 'info'], undefined, { BRAMBLE_LEASE_MS: '2222' });
    await settle(fromEnv);
    await fromEnv.kill('SIGTERM');
    expect(ready(fromEnv)).toMatchObject({ leaseMs: 2222 });
    const fromFlag = await startHead(dir, ['--config', cfg, '--lease-ms', '3333', '--log-level', 'info'], undefined, { BRAMBLE_LEASE_MS: '2222' });
    await settle(fromFlag);
    await fromFlag.kill('SIGTERM');
    expect(ready(fromFlag)).toMatchObject({ leaseMs: 3333 });
  });

  it('runs plaintext only with --insecure, and says so in every head log line', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const head = await startHead(dir, ['--insecure', '--log-level', 'info']);
    procs.push(head);
    const w = startWorker(head, 'plain', ['--insecure']);
    procs.push(w);
    const sub = await run(['submit', 'primes', '--start', '1', '--end', '1e6', '--wait', '--json', '--head-url', head.url.replace('https', 'http'), '--data', dir]);
    expect(JSON.parse(sub.out)).toMatchObject({ count: '78498' });
    const lines = head.out().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ insecure: true });
    expect(head.out()).toMatch(/INSECURE MODE/);
  });
});
