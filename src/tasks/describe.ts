import type { OutputFormat, ParamType, Task } from './define-task.js';
import { publicTasks } from './registry.js';

/** A task as `GET /api/tasks` shows it (the dashboard's submit form is drawn from this). */
export interface TaskInfo {
  name: string;
  description: string;
  /** `file`: the value is a file's text (life --pattern): the form offers a file picker. */
  params: { name: string; flag: string; type: ParamType; description: string; default: unknown; choices: readonly string[] | null; file?: true }[];
  /** True when the job takes `--start/--end` (a range); false when the task makes its own (life, noop). */
  range: boolean;
  output: OutputFormat | null;
}

export function describeTask(t: Task): TaskInfo {
  return {
    name: t.name,
    description: t.description,
    params: t.paramInfo.map((p) => ({ name: p.name, flag: p.flag, type: p.type, description: p.description, default: p.default ?? null, choices: p.choices, ...(p.file ? { file: true as const } : {}) })),
    range: t.range === undefined,
    output: t.output,
  };
}

/** Every task a user may run, described. */
export function describeTasks(): TaskInfo[] {
  return publicTasks().map(describeTask);
}

/** A CLI flag of some task(s), merged over the tasks that share it. */
export interface TaskFlag {
  flag: string;
  /** The parameter name (the key in a job's params). */
  param: string;
  /** The option's key as commander camel-cases it. */
  attribute: string;
  boolean: boolean;
  placeholder: string;
  file: boolean;
  /** `primes: keep every prime (default ...)`, one part per task. */
  help: string;
  tasks: string[];
}

/** The flags of every task, for `run` and `submit`. */
export function taskFlags(): TaskFlag[] {
  const flags = new Map<string, TaskFlag>();
  for (const t of publicTasks()) {
    for (const p of t.paramInfo) {
      if (p.hidden) continue;
      const dflt = p.type !== 'boolean' && p.default !== undefined ? ` (default ${String(p.default)})` : '';
      const help = `${t.name}: ${p.description}${dflt}`;
      const f = flags.get(p.flag);
      if (f) {
        f.help += `; ${help}`;
        f.tasks.push(t.name);
        continue;
      }
      flags.set(p.flag, {
        flag: p.flag,
        param: p.name,
        attribute: p.flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()),
        boolean: p.type === 'boolean',
        placeholder: p.placeholder ?? (p.type === 'string' ? 'value' : 'n'),
        file: p.file,
        help,
        tasks: [t.name],
      });
    }
  }
  return [...flags.values()];
}
