import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TERMINAL_STATES } from '../../src/core/index.js';
import type { JobState } from '../../src/core/index.js';

export const BIN = fileURLToPath(new URL('../../bin/bramble.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts `bramble ARGS` as a real process. */
/** `bramble run`'s credentials cache for the processes of this test file, not the user's ~/.cache. */
const RUN_CACHE = mkdtempSync(path.join(os.tmpdir(), 'bramble-cache-'));

export function bramble(args: string[], env: Record<string, string> = {}): Proc {
  // each process gets its own default data dir: nothing of the user's ~/.bramble (or ~/.cache) is read or written
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BRAMBLE_DATA: mkdtempSync(path.join(os.tmpdir(), 'bramble-home-')), XDG_CACHE_HOME: RUN_CACHE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** Runs `bramble ARGS` to completion. */
export async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = bramble(args, env);
  const code = await p.exited;
  return { code, out: p.out(), err: p.err() };
}

export function tmpDir(prefix = 'bramble-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface HeadHandle extends Proc {
  dir: string;
  port: number;
  httpPort: number;
  url: string;
}

/** Starts a head on fixed free ports (so a restart keeps them) and waits until its API answers. */
export async function startHead(dir: string, extra: string[] = [], ports?: { port: number; httpPort: number }, env: Record<string, string> = {}): Promise<HeadHandle> {
  const port = ports?.port ?? (await freePort());
  const httpPort = ports?.httpPort ?? (await freePort());
  const state = path.join(dir, 'head.json');
  rmSync(state, { force: true });
  const p = bramble(['head', '--data', dir, '--bind', '127.0.0.1', '--port', String(port), '--http-port', String(httpPort), '--log-level', 'warn', ...extra], env);
  await waitFor(`head in ${dir} to start (stderr: ${p.err().slice(-400)})`, () => {
    if (p.child.exitCode !== null) throw new Error(`head exited: ${p.err()}`);
    return existsSync(state);
  }, 30_000);
  const url = (JSON.parse(readFileSync(state, 'utf8')) as { url: string }).url;
  return Object.assign(p, { dir, port, httpPort, url });
}

let nextInstance = 1;

/** A worker on this machine: each gets its own --instance (one machine, one lock per instance). */
export function startWorker(head: { dir: string; port: number }, name: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  const instance = extra.includes('--instance') ? [] : ['--instance', String(nextInstance++ % 1000)];
  return bramble(['worker', '--head', `127.0.0.1:${head.port}`, '--data', head.dir, '--name', name, '--log-level', 'warn', ...instance, ...extra], env);
}

/** A tiny API client for tests, trusting the cluster CA of the data dir. */
export async function api<T = unknown>(head: { dir: string; url: string }, method: string, route: string, body?: unknown, token?: string | null): Promise<{ status: number; json: T }> {
  const https = await import('node:https');
  const ca = readFileSync(path.join(head.dir, 'ca.crt'), 'utf8');
  const tok = token === undefined ? readFileSync(path.join(head.dir, 'admin-token'), 'utf8').trim() : token;
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(head.url + route), {
      method,
      ca,
      headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          /* keep text */
        }
        resolve({ status: res.statusCode ?? 0, json: json as T });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Polls a job until it is done, failed or cancelled; returns its last status. */
export async function waitJob<T extends { state: string } = { state: string }>(head: { dir: string; url: string }, id: string, timeoutMs = 240_000, everyMs = 100): Promise<T> {
  return waitFor(`job ${id} to finish`, async () => {
    const r = await api<T>(head, 'GET', `/api/jobs/${id}`);
    return r.status === 200 && TERMINAL_STATES.has(r.json.state as JobState) ? r.json : null;
  }, timeoutMs, everyMs);
}
