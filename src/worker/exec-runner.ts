import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MessageOf } from '../protocol/index.js';
import { EXEC_WINDOW_BYTES, MAX_EXEC_DATA_BYTES, MAX_EXEC_FILES_BYTES } from '../protocol/index.js';

/**
 * Where runs live on every machine, the same path everywhere (so `mpirun --wdir` names one directory
 * for all nodes): `/tmp/bramble-exec/RUN`, holding the files shipped with the run.
 */
export const EXEC_BASE_DIR = '/tmp/bramble-exec';

export interface ExecRunnerOptions {
  /** This worker's node id: several workers on one machine share a run directory, each registered in it. */
  node: string;
  send: (msg: MessageOf<'exec-data'> | MessageOf<'exec-exit'>) => void;
  log: Logger;
  baseDir?: string;
}

interface Channel {
  ch: number;
  run: string;
  child: ChildProcess;
  /** Holds the pipe whose end (our exit, a kill, or this process dying) kills the command's whole session. */
  guard: ChildProcess;
  /** Output bytes sent and not yet acknowledged. */
  inFlight: number;
  paused: boolean;
  exit: { code: number | null; signal: string | null } | null;
  open: number;
}

/**
 * Runs commands for the head (`bramble agent`, `bramble mpirun`): `sh -c CMD` in its own session in the
 * run directory, stdin /dev/null, output streamed in bounded frames under a window the reader acks.
 * Each command gets a guard process (`sh`, in its own session) reading a pipe from this worker: when
 * the pipe ends, because the command finished, was killed, its connection dropped, or this worker was
 * SIGKILLed, the guard kills every process left in the command's session (`pkill -KILL -s`): an MPI
 * daemon and the ranks it forked included.
 */
export class ExecRunner {
  private readonly channels = new Map<number, Channel>();
  private readonly runs = new Map<string, number>();
  private readonly base: string;
  private readonly marker: string;

  constructor(private readonly o: ExecRunnerOptions) {
    this.base = o.baseDir ?? EXEC_BASE_DIR;
    this.marker = createHash('sha256').update(o.node).digest('hex').slice(0, 16);
    this.sweep();
  }

  /** Runs this worker was part of in a previous life (it was SIGKILLed mid-run): leave them now. */
  private sweep(): void {
    let runs: string[];
    try {
      runs = readdirSync(this.base);
    } catch {
      return;
    }
    for (const run of runs) if (existsSync(path.join(this.base, run, '.users', this.marker))) this.release(run);
  }

  get size(): number {
    return this.channels.size;
  }

  open(msg: MessageOf<'exec-open'>): void {
    if (this.channels.has(msg.ch)) {
      this.o.send({ type: 'exec-exit', ch: msg.ch, code: null, signal: null, error: `channel ${msg.ch} is already open on this worker` });
      return;
    }
    let dir: string;
    try {
      dir = this.prepare(msg);
    } catch (err) {
      this.o.send({ type: 'exec-exit', ch: msg.ch, code: null, signal: null, error: `cannot prepare the run directory: ${(err as Error).message}` });
      return;
    }
    const child = spawn('/bin/sh', ['-c', msg.cmd], {
      cwd: dir,
      detached: true, // setsid: the command and everything it starts share one session, killed as one
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...msg.env, BRAMBLE_RUN: msg.run, BRAMBLE_RUN_DIR: dir },
    });
    const sid = child.pid;
    // the guard: `read` returns at our "done" line or at EOF (this worker gone), then the session dies
    const guard = spawn('/bin/sh', ['-c', 'read _x; [ -n "$0" ] && pkill -KILL -s "$0"; exit 0', String(sid ?? '')], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    guard.on('error', () => undefined);
    guard.stdin?.on('error', () => undefined);
    guard.unref();
    const c: Channel = { ch: msg.ch, run: msg.run, child, guard, inFlight: 0, paused: false, exit: null, open: Date.now() };
    this.channels.set(msg.ch, c);
    this.runs.set(msg.run, (this.runs.get(msg.run) ?? 0) + 1);
    const pump = (fd: 1 | 2) => (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += MAX_EXEC_DATA_BYTES) {
        const data = chunk.subarray(at, at + MAX_EXEC_DATA_BYTES);
        c.inFlight += data.length;
        this.o.send({ type: 'exec-data', ch: c.ch, fd, data });
      }
      if (c.inFlight >= EXEC_WINDOW_BYTES && !c.paused) {
        c.paused = true;
        child.stdout?.pause();
        child.stderr?.pause();
      }
    };
    child.stdout?.on('data', pump(1));
    child.stderr?.on('data', pump(2));
    child.on('error', (err) => {
      c.exit ??= { code: null, signal: null };
      this.finish(c, `cannot start /bin/sh: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      c.exit = { code, signal };
      this.endGuard(c); // whatever it left running in its session dies now, so its pipes close
    });
    child.on('close', () => this.finish(c));
  }

  /** The reader wrote `bytes` of this channel's output: room for more. */
  ack(ch: number, bytes: number): void {
    const c = this.channels.get(ch);
    if (!c) return;
    c.inFlight = Math.max(0, c.inFlight - bytes);
    if (c.paused && c.inFlight < EXEC_WINDOW_BYTES / 2) {
      c.paused = false;
      c.child.stdout?.resume();
      c.child.stderr?.resume();
    }
  }

  /** Kills the command's whole session; its exit follows as for any end. */
  kill(ch: number): void {
    const c = this.channels.get(ch);
    if (!c) return;
    this.endGuard(c);
    if (c.child.pid !== undefined) {
      try {
        process.kill(-c.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // a paused pipe would hold the close back: let it drain
    c.child.stdout?.resume();
    c.child.stderr?.resume();
  }

  /** The head went away (or this worker stops): every command dies. */
  killAll(): void {
    for (const ch of [...this.channels.keys()]) this.kill(ch);
  }

  private endGuard(c: Channel): void {
    if (c.guard.stdin && !c.guard.stdin.destroyed) c.guard.stdin.end('done\n');
  }

  private finish(c: Channel, error?: string): void {
    if (this.channels.get(c.ch) !== c) return;
    this.channels.delete(c.ch);
    this.endGuard(c);
    const e = c.exit ?? { code: null, signal: null };
    this.o.send({ type: 'exec-exit', ch: c.ch, code: e.code, signal: e.signal, ...(error ? { error } : {}) });
    const left = (this.runs.get(c.run) ?? 1) - 1;
    if (left > 0) this.runs.set(c.run, left);
    else {
      this.runs.delete(c.run);
      this.release(c.run);
    }
  }

  /** Creates the run directory (shared by the workers of one machine) and writes the shipped files once. */
  private prepare(msg: MessageOf<'exec-open'>): string {
    const total = msg.files.reduce((n, f) => n + f.data.length, 0);
    if (total > MAX_EXEC_FILES_BYTES) throw new Error(`the files shipped are ${total} bytes, over ${MAX_EXEC_FILES_BYTES}`);
    const dir = path.join(this.base, msg.run);
    mkdirSync(path.join(dir, '.users'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(dir, '.users', this.marker), '');
    for (const f of msg.files) {
      const sum = createHash('sha256').update(f.data).digest('hex');
      if (sum !== f.sha256) throw new Error(`file ${f.name}: its content hashes to ${sum.slice(0, 12)}..., not the ${f.sha256.slice(0, 12)}... it was sent as`);
      const target = path.join(dir, f.name);
      if (existsSync(target) && createHash('sha256').update(readFileSync(target)).digest('hex') === sum) continue;
      const tmp = `${target}.${this.marker}.tmp`;
      writeFileSync(tmp, f.data);
      chmodSync(tmp, f.mode ?? 0o644);
      renameSync(tmp, target);
    }
    return dir;
  }

  /** Its last command of a run ended: this worker leaves the run directory; the last worker out removes it. */
  private release(run: string): void {
    const dir = path.join(this.base, run);
    try {
      unlinkSync(path.join(dir, '.users', this.marker));
      rmdirSync(path.join(dir, '.users')); // fails while another worker of this machine still uses the run
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* still in use, or already gone */
    }
  }
}
