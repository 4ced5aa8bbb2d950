import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../core/index.js';
import type { ChunkContext, ChunkOutput } from '../define-task.js';
import { badSummary, defineTask, param } from '../define-task.js';
import { check } from '../summary.js';

/**
 * Command tasks (issue 12): any program, once per chunk, on workers started with `--allow-exec`.
 * `bramble submit exec --start 1 --end 1e6 --chunk 1e4 [--file primes.py] -- python3 primes.py {start} {end}`.
 * The chunk's stdout is its output (`result --out` concatenates them in chunk order); a non-zero exit
 * or a timeout fails the attempt.
 */

export const PLACEHOLDERS = ['start', 'end', 'index'] as const;
/** Kept of a chunk's stderr: the last 4 KiB. */
export const STDERR_TAIL_BYTES = 4096;
/** A chunk's stdout must fit a result frame. */
const MAX_STDOUT_BYTES = 15 * 1024 * 1024;
/** After TERM, the process group gets this long before KILL. */
const KILL_GRACE_MS = 2000;

function parseCommand(raw: string, flag: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(raw);
  } catch {
    throw new Error(`${flag} must be a JSON array of strings (the words after --)`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || argv.length > 1024 || !argv.every((a) => typeof a === 'string' && a.length <= 65_536)) {
    throw new Error('exec needs a command after --: bramble submit exec --start 1 --end 1e6 --chunk 1e4 -- python3 primes.py {start} {end}');
  }
  if ((argv[0] as string) === '') throw new Error('the command after -- is empty');
  for (const a of argv as string[]) {
    for (const m of a.matchAll(/\{(\w*)\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) throw new Error(`unknown placeholder {${m[1]}} in the command (known: {start}, {end}, {index})`);
    }
  }
  return argv as string[];
}

function parseFiles(raw: string, flag: string): Record<string, string> {
  let files: unknown;
  try {
    files = JSON.parse(raw);
  } catch {
    throw new Error(`${flag} must be a JSON object of file name to SHA-256`);
  }
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new Error(`${flag} must be a JSON object of file name to SHA-256`);
  const out: Record<string, string> = {};
  for (const [name, hash] of Object.entries(files)) {
    if (!/^[\w][\w.+-]{0,254}$/.test(name)) throw new Error(`${flag}: ${JSON.stringify(name)} is not a plain file name`);
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw new Error(`${flag}: ${name} must map to a SHA-256 (64 hex digits)`);
    out[name] = hash;
  }
  return out;
}

function substitute(arg: string, vars: Record<string, string>): string {
  return arg.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** Copies the job's files into its working directory once (atomically: several slots may race). */
function placeFiles(files: Record<string, string>, ctx: ChunkContext): void {
  for (const [name, hash] of Object.entries(files)) {
    const dest = path.join(ctx.workDir, name);
    if (existsSync(dest)) continue;
    const tmp = `${dest}.tmp-${process.pid}-${ctx.index}`;
    copyFileSync(ctx.codePath(hash), tmp);
    renameSync(tmp, dest);
  }
}

/** Kills a process group: TERM, then KILL after the grace period. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

export interface ExecSummary extends Record<string, unknown> {
  exit: number;
  seconds: number;
  bytes: number;
  lines: number;
  stderr: string;
}

function runCommand(p: { command: string; files: string; shell: boolean; timeout: number }, start: bigint, end: bigint, ctx: ChunkContext): Promise<ChunkOutput<ExecSummary>> {
  const argv0 = parseCommand(p.command, 'command');
  const files = parseFiles(p.files, 'files');
  placeFiles(files, ctx);
  const vars = { start: start.toString(), end: end.toString(), index: String(ctx.index) };
  const argv = argv0.map((a) => substitute(a, vars));
  const [file, ...args] = p.shell ? ['/bin/sh', '-c', argv.join(' ')] : (argv as [string, ...string[]]);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: ctx.workDir,
      env: { ...process.env, BRAMBLE_START: vars.start, BRAMBLE_END: vars.end, BRAMBLE_INDEX: vars.index, BRAMBLE_JOB: ctx.job },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a timeout kills everything it started
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let lines = 0;
    let err = Buffer.alloc(0);
    let why: string | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    const stop = (reason: string): void => {
      if (why !== null || child.pid === undefined) return;
      why = reason;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = p.timeout > 0 ? setTimeout(() => stop(`timed out after ${p.timeout} s (--chunk-timeout): the process group was killed`), p.timeout * 1000) : null;
    const onAbort = (): void => stop('cancelled');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > MAX_STDOUT_BYTES) return stop(`stdout passed ${MAX_STDOUT_BYTES} bytes, more than a chunk's output may hold: use a smaller --chunk`);
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = Buffer.concat([err, b]);
      if (err.length > STDERR_TAIL_BYTES) err = err.subarray(err.length - STDERR_TAIL_BYTES);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start ${JSON.stringify(file)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      // the leader is gone; make sure nothing it started lives on
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      const seconds = (performance.now() - t0) / 1000;
      const tail = err.toString('utf8');
      if (why !== null) return reject(new Error(`${why}${tail ? `\nstderr (last ${STDERR_TAIL_BYTES} bytes):\n${tail}` : ''}`));
      if (code !== 0) return reject(new Error(`${argv0[0]} exited with ${code === null ? `signal ${signal}` : `code ${code}`} after ${seconds.toFixed(2)} s${tail ? `\nstderr (last ${STDERR_TAIL_BYTES} bytes):\n${tail}` : ''}`));
      const bytes = Buffer.concat(out);
      resolve({ summary: { exit: 0, seconds, bytes: bytes.length, lines, stderr: tail }, output: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) });
    });
  });
}

export default defineTask({
  name: 'exec',
  order: 5,
  description: 'runs a command once per chunk on workers started with --allow-exec: -- CMD ARGS ({start} {end} {index}); stdout is the output',
  params: {
    command: param.string({ description: 'the command as a JSON array of words (the CLI takes them after --)', hidden: true, maxLength: 262_144, check: (v, flag) => void parseCommand(v, flag) }),
    files: param.string({ description: 'files shipped into the working directory: JSON object of name to SHA-256 (the CLI uploads --file F)', hidden: true, default: '{}', maxLength: 65_536, check: (v, flag) => void parseFiles(v, flag) }),
    shell: param.boolean({ description: 'run the words after -- as one /bin/sh -c script' }),
    timeout: param.integer({ flag: '--chunk-timeout', description: 'seconds a chunk may run before its process group is killed (TERM, then KILL); 0: none', default: 0, min: 0, max: 7 * 86_400 }),
  },
  prepare(v) {
    if (v.command === undefined) throw new InputError('--', 'exec needs a command after --: bramble submit exec --start 1 --end 1e6 --chunk 1e4 -- python3 primes.py {start} {end}');
    return v;
  },
  needs: 'exec',
  code: (p) => Object.values(parseFiles(p.files, 'files')),
  run: () => {
    throw new Error('exec chunks run in the worker process (execute), not in a slot thread');
  },
  execute: (p, start, end, ctx) => runCommand(p, start, end, ctx),
  checkSummary(raw): ExecSummary {
    const s = check.map(raw);
    const seconds = s['seconds'];
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) badSummary('seconds is not a duration');
    if (typeof s['stderr'] !== 'string' || s['stderr'].length > STDERR_TAIL_BYTES) badSummary('stderr is not a short text');
    return { exit: check.count(s['exit'], 'exit'), seconds, bytes: check.count(s['bytes'], 'bytes'), lines: check.count(s['lines'], 'lines'), stderr: s['stderr'] };
  },
  fold() {
    let chunks = 0;
    let seconds = 0;
    let bytes = 0;
    let lines = 0;
    let stderr = '';
    return {
      add: (_i, _s, _e, x) => {
        chunks++;
        seconds += x.seconds;
        bytes += x.bytes;
        lines += x.lines;
        if (x.stderr) stderr = x.stderr;
      },
      result: () => ({ chunks: String(chunks), commandSeconds: seconds.toFixed(3), bytes: String(bytes), lines: String(lines), ...(stderr ? { stderr } : {}) }),
    };
  },
  live() {
    let chunks = 0;
    let lines = 0;
    return { add: (x) => void ((chunks++, (lines += x.lines))), snapshot: () => ({ chunks: String(chunks), lines: String(lines) }) };
  },
  // stdout as it came, byte for byte (not decoded as UTF-8)
  output: {
    mediaType: 'application/octet-stream',
    extension: 'out',
    text: (_p, _s, bytes) => [bytes],
    // stdout is any bytes (not necessarily UTF-8); it must be as long as the summary says, and so must its lines
    check: (_p, _s, _e, summary, bytes) => {
      const s = summary as { bytes: number; lines: number };
      if (bytes.length !== s.bytes) throw new Error(`output is ${bytes.length} bytes, the summary says ${s.bytes}`);
      let lines = 0;
      for (const b of bytes) if (b === 10) lines++;
      if (lines !== s.lines) throw new Error(`output has ${lines} newlines, the summary says ${s.lines} lines`);
    },
  },
});
