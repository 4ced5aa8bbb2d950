import { readdirSync } from 'node:fs';
import { InputError } from '../core/index.js';
import type { Task } from './define-task.js';

/**
 * The built-in tasks are the files of `builtin/`, each default-exporting a `defineTask(...)`: adding a
 * task is adding a file there, and nothing else in bramble names a task. They are found by reading the
 * folder once, at load (this module awaits them), in name order.
 */
const registry = new Map<string, Task>();

const builtinDir = new URL('./builtin/', import.meta.url);
for (const file of readdirSync(builtinDir).sort()) {
  if (!/^[\w-]+\.(js|ts)$/.test(file) || file.endsWith('.d.ts')) continue;
  const mod = (await import(new URL(file, builtinDir).href)) as { default?: unknown };
  const task = mod.default;
  if (!isTask(task)) throw new Error(`src/tasks/builtin/${file} has no default export made by defineTask`);
  if (registry.has(task.name)) throw new Error(`two built-in tasks are named ${task.name}`);
  registry.set(task.name, task);
}

function isTask(v: unknown): v is Task {
  const t = v as Partial<Task> | null;
  return typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.run === 'function' && typeof t.params === 'function';
}

/** Adds a task (test fixtures; users' task modules once loaded). */
export function registerTask(t: Task): void {
  registry.set(t.name, t);
}

/**
 * Tasks named `PREFIX:REST` that are made on demand (task modules: `module:SHA256` on a worker, which
 * runs a module it never loads into its own process). A registered task of that name wins.
 */
const resolvers = new Map<string, (rest: string) => Task | undefined>();

export function registerTaskResolver(prefix: string, resolve: (rest: string) => Task | undefined): void {
  resolvers.set(prefix, resolve);
}

function resolve(name: string): Task | undefined {
  const t = registry.get(name);
  if (t) return t;
  const colon = name.indexOf(':');
  if (colon <= 0) return undefined;
  return resolvers.get(name.slice(0, colon))?.(name.slice(colon + 1));
}

/** The task by name; an InputError naming the known ones when there is none. */
export function getTask(name: string): Task {
  const t = resolve(name);
  if (!t) throw new InputError('task', `unknown task ${JSON.stringify(name)} (known: ${publicTasks().map((k) => k.name).join(', ')})`);
  return t;
}

/** The task by name, or undefined. */
export function findTask(name: string): Task | undefined {
  return resolve(name);
}

/** Every task's name, fixtures included (a worker announces what it can run). */
export function taskNames(): string[] {
  return [...registry.keys()];
}

/** The tasks a user sees (help, `GET /api/tasks`): fixtures are left out. */
export function publicTasks(): Task[] {
  return [...registry.values()].filter((t) => !t.name.startsWith('fixture-') && !t.name.includes(':')).sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}
