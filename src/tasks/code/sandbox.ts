import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChunkOutput, ModuleSandbox } from '../define-task.js';

/**
 * Task modules run here: in child processes of the worker (one per slot in use), each under Node's
 * permission model where the running Node has it: it may read its runner, the bundle and its scratch
 * directory, write only the scratch directory, and start no process and no worker thread. A chunk has
 * a CPU-time limit (the child's user+system time, read from /proc, killed past it) and the child a
 * heap cap (`--max-old-space-size`). A child that dies is replaced for the next chunk; the worker
 * itself is never at risk. docs/security.md says what this does not stop.
 */

export interface SandboxOptions {
  /** Where the runner and the scratch directories live (made if missing). */
  dir: string;
  /** CPU seconds a chunk may use. */
  cpuSeconds: number;
  /** The child's V8 heap cap, MiB. */
  memoryMb: number;
}

/** The Node flag that turns the permission model on, or null where the running Node has none. */
export function permissionFlag(version = process.versions.node): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 13)) return '--permission';
  if (major >= 20) return '--experimental-permission';
  return null;
}

// The child's side: imports each bundle once, runs chunks one at a time, answers over IPC.
const RUNNER = `const tasks = new Map();
process.on('message', async (m) => {
  try {
    let t = tasks.get(m.url);
    if (!t) { t = (await import(m.url)).default; tasks.set(m.url, t); }
    const r = await t.run(m.params, BigInt(m.start), BigInt(m.end));
    process.send({ id: m.id, ok: true, summary: r.summary, output: r.output ?? null });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const why = err.code ? ' [' + [err.code, err.permission, err.resource].filter(Boolean).join(' ') + ']' : '';
    process.send({ id: m.id, ok: false, error: String(err.stack || err.message) + why });
  }
});
`;

interface Child {
  proc: ChildProcess;
  bundle: string;
  busy: boolean;
  stderr: string;
}

type Reply = { id: number; ok: true; summary: Record<string, unknown>; output: Uint8Array | null } | { id: number; ok: false; error: string };

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on Linux everywhere we run). */
const USER_HZ = 100;

function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

export class ProcessSandbox implements ModuleSandbox {
  private readonly runner: string;
  private readonly children: Child[] = [];
  private nextId = 1;
  private nextScratch = 0;
  private closed = false;
  /** Chunks stopped at the CPU limit, at the heap cap, and children started. */
  readonly stats = { cpuKills: 0, memoryKills: 0, started: 0 };

  constructor(private readonly o: SandboxOptions) {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    this.runner = path.join(o.dir, 'runner.mjs');
    writeFileSync(this.runner, RUNNER);
  }

  private spawn(bundle: string): Child {
    const scratch = path.join(this.o.dir, 'scratch', String(this.nextScratch++));
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    const flag = permissionFlag();
    const execArgv = [
      ...(flag ? [flag, `--allow-fs-read=${this.runner}`, `--allow-fs-read=${bundle}`, `--allow-fs-read=${scratch}/*`, `--allow-fs-write=${scratch}/*`] : []),
      `--max-old-space-size=${this.o.memoryMb}`,
      '--no-warnings',
    ];
    const proc = fork(this.runner, [], { execArgv, cwd: scratch, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', BRAMBLE_SCRATCH: scratch } });
    const child: Child = { proc, bundle, busy: false, stderr: '' };
    proc.stderr?.on('data', (b: Buffer) => {
      child.stderr = (child.stderr + b.toString('utf8')).slice(-4096);
    });
    proc.on('exit', () => {
      const k = this.children.indexOf(child);
      if (k >= 0) this.children.splice(k, 1);
    });
    proc.on('error', () => {
      /* reported through exit */
    });
    this.children.push(child);
    this.stats.started++;
    return child;
  }

  run(bundlePath: string, params: Record<string, unknown>, start: bigint, end: bigint, signal: AbortSignal): Promise<ChunkOutput> {
    if (this.closed) return Promise.reject(new Error('the sandbox is closed'));
    const child = this.children.find((c) => !c.busy && c.bundle === bundlePath && c.proc.exitCode === null) ?? this.spawn(bundlePath);
    child.busy = true;
    child.stderr = '';
    const id = this.nextId++;
    const pid = child.proc.pid ?? 0;
    return new Promise<ChunkOutput>((resolve, reject) => {
      let settled = false;
      let killedFor: string | null = null;
      const base = cpuSecondsOf(pid);
      const t0 = Date.now();
      const watch = setInterval(() => {
        const now = cpuSecondsOf(pid);
        // without /proc, wall-clock time stands in for CPU time
        const used = now !== null && base !== null ? now - base : (Date.now() - t0) / 1000;
        if (used > this.o.cpuSeconds) {
          killedFor = `CPU time limit of ${this.o.cpuSeconds} s exceeded: the chunk was stopped`;
          this.stats.cpuKills++;
          child.proc.kill('SIGKILL');
        }
      }, 100);
      const done = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        signal.removeEventListener('abort', onAbort);
        child.proc.off('message', onMessage);
        child.proc.off('exit', onExit);
        child.busy = false;
        fn();
      };
      const onMessage = (m: Reply): void => {
        if (m.id !== id) return;
        done(() => (m.ok ? resolve({ summary: m.summary, output: m.output }) : reject(new Error(m.error))));
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
        const tail = child.stderr.trim();
        const oom = /heap out of memory|Reached heap limit/i.test(tail);
        if (oom) this.stats.memoryKills++;
        const why =
          killedFor ??
          (oom
            ? `memory cap of ${this.o.memoryMb} MiB reached (JavaScript heap out of memory): the chunk was stopped`
            : `the task module's process ended (${code === null ? `signal ${sig}` : `exit code ${code}`})${tail ? `: ${tail.slice(-1000)}` : ''}`);
        done(() => reject(new Error(why)));
      };
      const onAbort = (): void => {
        killedFor = 'cancelled';
        child.proc.kill('SIGKILL');
      };
      child.proc.on('message', onMessage);
      child.proc.on('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      child.proc.send({ id, url: pathToFileURL(bundlePath).href, params, start: start.toString(), end: end.toString() });
    });
  }

  /** Children alive now (each one's pid). */
  pids(): number[] {
    return this.children.map((c) => c.proc.pid ?? 0);
  }

  close(): void {
    this.closed = true;
    for (const c of this.children) c.proc.kill('SIGKILL');
    this.children.length = 0;
  }
}
