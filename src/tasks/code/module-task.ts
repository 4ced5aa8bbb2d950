import { pathToFileURL } from 'node:url';
import { InputError } from '../../core/index.js';
import type { Task } from '../define-task.js';
import { registerTaskResolver } from '../registry.js';

/**
 * Task modules (issue 12): a user's ES module whose default export is made by `defineTask`, bundled at
 * submit and shipped by SHA-256. A job runs the task named `module:HASH`. The head (and the CLI that
 * submits it) load the module to validate parameters and to fold; a worker never loads it into its
 * own process: it runs chunks in a sandboxed child (`code/sandbox.ts`).
 */

export const MODULE_PREFIX = 'module';
/** What a worker announces when it runs task modules (`--allow-code`). */
export const MODULE_CAPABILITY = 'module';

export function moduleTaskName(hash: string): string {
  return `${MODULE_PREFIX}:${hash}`;
}

/** The hash of a `module:HASH` task name, or null. */
export function moduleHash(task: string): string | null {
  const m = /^module:([0-9a-f]{64})$/.exec(task);
  return m ? (m[1] as string) : null;
}

function isTask(v: unknown): v is Task {
  const t = v as Partial<Task> | null;
  return typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.run === 'function' && typeof t.params === 'function' && typeof t.folder === 'function';
}

function notHere(what: string): never {
  throw new Error(`${what}: this task module is not loaded in this process (a worker runs it in its sandbox only)`);
}

/**
 * The task `module:HASH`: the user's task (when loaded: head, CLI) with its chunks executed in the
 * worker's sandbox. Without `user` it is what a worker knows of it: enough to run chunks.
 */
export function moduleTask(hash: string, user: Task | null): Task {
  const name = moduleTaskName(hash);
  const base: Task = user ?? {
    name,
    description: 'a task module',
    paramInfo: [],
    params: (raw) => raw,
    minStart: 0n,
    defaultChunkSize: () => 1n,
    run: () => notHere('run'),
    needs: null,
    checkSummary: () => notHere('checkSummary'),
    admit: () => ({}),
    checkOutput: () => notHere('checkOutput'),
    folder: () => notHere('fold'),
    live: () => notHere('live'),
    output: null,
    outputParam: null,
    hasOutput: () => false,
  };
  return {
    ...base,
    name,
    description: user ? `${user.name} (task module): ${user.description}` : base.description,
    needs: MODULE_CAPABILITY,
    code: () => [hash],
    run: () => {
      throw new Error('task module chunks run in the sandbox (execute), not in a slot thread');
    },
    execute: (params, start, end, ctx) => ctx.sandbox.run(ctx.codePath(hash), params, start, end, ctx.signal),
  };
}

/** Imports a bundled task module from a file and checks its default export. */
export async function importTaskModule(file: string, shownAs = file): Promise<Task> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new InputError('task', `${shownAs}: the module failed to load: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isTask(mod.default)) throw new InputError('task', `${shownAs} has no default task: export default defineTask({...}) (import { defineTask } from 'bramble')`);
  return mod.default;
}

const stubs = new Map<string, Task>();
registerTaskResolver(MODULE_PREFIX, (rest) => {
  if (!/^[0-9a-f]{64}$/.test(rest)) return undefined;
  let t = stubs.get(rest);
  if (!t) {
    t = moduleTask(rest, null);
    stubs.set(rest, t);
  }
  return t;
});
