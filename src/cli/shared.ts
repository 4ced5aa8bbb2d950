import { isAscii } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError, TERMINAL_STATES } from '../core/index.js';
import type { JobStatus } from '../head/index.js';
import type { JobInput } from '../tasks/index.js';
import { findTask, taskFlags } from '../tasks/index.js';
import { defaultDataDir } from '../trust/index.js';
import type { ProgressBar } from './progress.js';
import { writeFileAtomically } from './atomic-file.js';
import type { PreparedModule } from './code-jobs.js';

/** Task-specific flags shared by `run` and `submit`. */
export function taskOptions(cmd: Command): Command {
  cmd
    .option('--start <n>', 'first number of the range (1000000, 1_000_000, 1e6, 2^32 all work)')
    .option('--end <n>', 'last number of the range (inclusive, at most 2^64-1)')
    .option('--chunk <n>', 'numbers per chunk (default: small chunks, leased in spans sized by --chunk-time)')
    .option('--chunk-time <seconds>', 'with no --chunk: work per lease for each worker, measured (default 2)')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--max-attempts <n>', 'tries before a chunk is quarantined (default 3)')
    .option('--replicas <n>', 'run every chunk on N different workers; two must agree (default 1)')
    .option('--verify <percent>', 're-run this percent of chunks, drawn at random, on another worker (default 0)');
  for (const f of taskFlags()) cmd.option(f.boolean ? f.flag : `${f.flag} <${f.placeholder}>`, f.help);
  // users' code (issue 12)
  const collect = (v: string, all: string[]): string[] => [...all, v];
  cmd
    .argument('[command...]', 'exec: the command after --, with {start} {end} {index}')
    .option('--param <key=value>', "a task module's parameter (repeat for more)", collect, [])
    .option('--file <file>', 'exec: ship this file into the working directory (repeat for more)', collect, []);
  return cmd;
}

/** The task argument's help: the tasks, or a task module file. */
export function taskArgumentHelp(names: string[]): string {
  return names.join(' | ') + ' | ./task.mjs or .ts (a task module)';
}

/** The whole command line as commander saw it (to tell `exec ... -- cmd` from words without `--`). */
export function rawArgs(program: Command): readonly string[] {
  return (program as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv;
}

/** A job of any kind from `run`/`submit`'s arguments: a task, a task module file, or exec and its command. */
export async function anyJobInput(task: string, words: string[], o: Record<string, unknown>, argv: readonly string[]): Promise<{ input: JobInput; module: PreparedModule | null; files: { name: string; bytes: Uint8Array }[] }> {
  const { execParams, isModuleFile, moduleParams, prepareModule, readExecFiles, sha256 } = await import('./code-jobs.js');
  const params = o['param'] as string[];
  const fileFlags = o['file'] as string[];
  if (isModuleFile(task)) {
    if (words.length > 0) throw new InputError('--', `a task module takes no command after -- (got ${words.join(' ')})`);
    if (fileFlags.length > 0) throw new InputError('--file', '--file is for exec: a task module bundles its own imports');
    const module = await prepareModule(task);
    const input = jobInput(module.task.name, o);
    input.params = moduleParams(module.task, params, task);
    return { input, module, files: [] };
  }
  if (params.length > 0) throw new InputError('--param', `--param is for task modules (./task.mjs --param key=value); task ${task} has flags of its own`);
  if (task !== 'exec') {
    if (words.length > 0) throw new InputError('task', `unexpected arguments: ${words.join(' ')} (only exec takes a command after --)`);
    if (fileFlags.length > 0) throw new InputError('--file', '--file is for exec');
    return { input: jobInput(task, o), module: null, files: [] };
  }
  const files = readExecFiles(fileFlags);
  const input = jobInput(task, o);
  input.params = { ...input.params, ...execParams(words, argv, Object.fromEntries(files.map((f) => [f.name, sha256(f.bytes)]))) };
  return { input, module: null, files };
}

/**
 * A text file as a string: ASCII (an RLE pattern, a list) copied as it is, which is several times
 * faster than decoding UTF-8 (3 MB: 1 ms against 5-11 ms); anything else decoded as UTF-8.
 */
function readText(file: string): string {
  const bytes = readFileSync(file);
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

/** A job from `run`/`submit` flags: each task flag goes to the params of the task that owns it. */
export function jobInput(task: string, o: Record<string, unknown>): JobInput {
  const params: Record<string, unknown> = {};
  const s = (k: string): string | undefined => (o[k] === undefined ? undefined : String(o[k]));
  for (const f of taskFlags()) {
    const v = o[f.attribute];
    if (v === undefined) continue;
    // flags that belong to another task are mistakes worth naming
    if (!f.tasks.includes(task)) throw new InputError(f.flag, `${f.flag} does not apply to task ${task}`);
    const info = findTask(task)?.paramInfo.find((p) => p.flag === f.flag);
    const name = info?.name ?? f.param;
    if (f.file) {
      try {
        // a file too big for the parameter is refused by its size, before it is read into memory
        const max = info?.fileMaxBytes ?? null;
        const size = max === null ? 0 : statSync(String(v)).size;
        if (max !== null && size > max) throw new InputError(f.flag, `${f.flag}: ${String(v)} is ${(size / 2 ** 20).toFixed(1)} MiB; at most ${(max / 2 ** 20).toFixed(0)} MiB`);
        params[name] = readText(String(v));
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(f.flag, `${f.flag}: cannot read ${String(v)}: ${(err as Error).message}`);
      }
    } else params[name] = v;
  }
  return { task, start: s('start'), end: s('end'), chunk: s('chunk'), chunkTime: s('chunkTime'), priority: s('priority'), maxAttempts: s('maxAttempts'), replicas: s('replicas'), verify: s('verify'), params };
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}

export function dataDirOf(o: { data?: string }): string {
  return path.resolve(o.data ?? defaultDataDir());
}

/**
 * Polls a job until it ends, drawing the progress bar. `wake` (an in-process head's change notices)
 * ends a wait early, so the end of a job is seen when it happens, not up to `intervalMs` later.
 */
export async function follow(getStatus: () => Promise<JobStatus> | JobStatus, bar: ProgressBar, intervalMs = 200, wake?: (now: () => void) => () => void): Promise<JobStatus> {
  for (;;) {
    const st = await getStatus();
    bar.update(st.chunks.done + st.chunks.failed, st.chunks.total, st.rate, st.etaSeconds);
    if (TERMINAL_STATES.has(st.state)) {
      bar.done();
      return st;
    }
    await new Promise<void>((r) => {
      const t = setTimeout(done, intervalMs);
      const off = wake?.(done);
      function done(): void {
        clearTimeout(t);
        off?.();
        r();
      }
    });
  }
}

/** `--out FILE`: written to a temporary file, renamed on success only (an existing FILE survives a failure). */
export const writeFileFrom = writeFileAtomically;

