import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../core/index.js';
import type { Task } from '../tasks/index.js';
import { bundleTaskModule, checkCodeSize, importTaskModule, moduleTask, registerTask } from '../tasks/index.js';

/**
 * The CLI's side of users' code (issue 12): `run`/`submit ./task.mjs` bundles and loads the module here
 * (parameters are checked before anything is sent), `exec` turns the words after `--` and the `--file`s
 * into the task's params. Where the code goes (a local head, or `PUT /api/code`) is the caller's.
 */

/** SHA-256, hex: the code store's key (as trust's sha256Hex; the CLI does not load trust for it). */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Whether `run`/`submit`'s task argument names a task module file rather than a task. */
export function isModuleFile(task: string): boolean {
  return /\.(mjs|js|cjs|ts|mts|cts)$/.test(task) || task.includes('/');
}

export interface PreparedModule {
  file: string;
  bytes: Uint8Array;
  hash: string;
  task: Task;
}

/** Bundles a task module, loads it in this process and registers `module:HASH` (so planJob checks its params). */
export async function prepareModule(file: string): Promise<PreparedModule> {
  const bytes = await bundleTaskModule(file);
  const hash = sha256(bytes);
  const tmp = path.join(os.tmpdir(), `bramble-module-${process.getuid?.() ?? 0}-${hash}.mjs`);
  writeFileSync(tmp, bytes, { mode: 0o600 });
  const user = await importTaskModule(tmp, file);
  const task = moduleTask(hash, user);
  registerTask(task);
  return { file, bytes, hash, task };
}

/** `--param key=value ...` as a task's raw params, checked by its schema; errors name `--param key`. */
export function moduleParams(task: Task, list: readonly string[], file: string): Record<string, unknown> {
  const raw: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InputError('--param', `--param must be key=value (got ${JSON.stringify(item)})`);
    raw[item.slice(0, eq)] = item.slice(eq + 1);
  }
  const names = task.paramInfo.map((p) => p.name);
  for (const k of Object.keys(raw)) {
    if (!names.includes(k)) throw new InputError('--param', `--param ${k}: ${file} has no parameter ${k} (its parameters: ${names.join(', ') || 'none'})`);
  }
  try {
    task.params(raw);
  } catch (err) {
    // the module bundles its own copy of bramble's errors: any error from its schema is a bad --param
    if (!(err instanceof Error)) throw err;
    let msg = err.message;
    for (const p of task.paramInfo) msg = msg.split(p.flag).join(`--param ${p.name}`);
    throw new InputError('--param', msg);
  }
  return raw;
}

/** `--file`s read for an exec job: name (the file's base name) and bytes. */
export function readExecFiles(files: readonly string[]): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (err) {
      throw new InputError('--file', `--file ${f}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    checkCodeSize(bytes.length, `--file ${f}`);
    const name = path.basename(f);
    if (out.some((o) => o.name === name)) throw new InputError('--file', `--file ${f}: two files are named ${name}`);
    out.push({ name, bytes });
  }
  return out;
}

/**
 * exec's params from the words after `--` (`rawArgs`: the whole command line, to tell a missing `--`
 * from words commander took as operands), and the shipped files' hashes.
 */
export function execParams(words: readonly string[], rawArgs: readonly string[], files: Record<string, string>): Record<string, unknown> {
  if (!rawArgs.includes('--') || words.length === 0) {
    throw new InputError('--', 'exec needs its command after --: bramble submit exec --start 1 --end 1e6 --chunk 1e4 -- python3 primes.py {start} {end}');
  }
  return { command: JSON.stringify(words), files: JSON.stringify(files) };
}
