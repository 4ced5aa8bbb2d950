import type { JobRequestEntries } from '../core/index.js';
import { createHash } from 'node:crypto';
import { InputError, canonicalJson, chunkCount, jobRequest, makeRange, parseInteger } from '../core/index.js';
import { getTask } from './registry.js';
import type { AdmitLimits, Task } from './define-task.js';
import { admitLimits } from './define-task.js';

/** A job as a user asks for it: flags from the CLI or fields of an HTTP body. */
export interface JobInput {
  task: string;
  start?: string | number;
  end?: string | number;
  chunk?: string | number;
  priority?: string | number;
  maxAttempts?: string | number;
  /** Seconds of work per lease when no chunk is given (default 2). */
  chunkTime?: string | number;
  /** Workers each chunk runs on, compared (1-5, default 1). */
  replicas?: string | number;
  /** Percent of chunks re-run on another worker and compared (0-100, default 0). */
  verify?: string | number;
  params?: Record<string, unknown>;
}

export interface JobPlan {
  task: string;
  params: Record<string, unknown>;
  start: bigint;
  end: bigint;
  chunk: bigint;
  chunks: number;
  chunkMs: number | null;
  priority: number;
  maxAttempts: number;
  /** The request, canonical (`jobRequest`), for idempotent submits: stored with the job. */
  request: string;
  replicas?: number;
  verify?: number;
  /** Bytes the job's outputs (or checkpoints) will take at the head, estimated at admission, and the flag that sizes them. */
  storedBytes?: number;
  storedBy?: string;
  /** Why admission cut the chunks (issue 17, item 7), for the submit event and answer. */
  note?: string;
}

/**
 * Validates a job request and fills in defaults (the chunk size, about 1-2 s of work per chunk on a
 * typical slot). Every error is an InputError naming the flag.
 */
export function planJob(input: JobInput, slots = 4, limits: AdmitLimits = admitLimits(), options: { request?: boolean } = {}): JobPlan {
  const task = getTask(input.task);
  const params = task.params(input.params ?? {});
  let start: bigint;
  let end: bigint;
  let chunk: bigint;
  let chunkMs: number | null = null;
  if (input.chunkTime !== undefined) {
    const t = Number(input.chunkTime);
    if (!Number.isFinite(t) || t <= 0 || t > 3600) throw new InputError('--chunk-time', `--chunk-time must be a number of seconds between 0 and 3600 (got ${JSON.stringify(input.chunkTime)})`);
    if (input.chunk !== undefined) throw new InputError('--chunk-time', 'give either --chunk or --chunk-time, not both');
  }
  if (task.range) {
    if (input.start !== undefined || input.end !== undefined) {
      throw new InputError('--start', `task ${task.name} takes no --start/--end`);
    }
    const r = task.range(params);
    start = r.start;
    end = r.end;
    chunk = input.chunk === undefined ? r.chunk : parseInteger('--chunk', input.chunk, { min: 1n });
  } else {
    if (input.start === undefined) throw new InputError('--start', `--start is required for ${task.name}`);
    if (input.end === undefined) throw new InputError('--end', `--end is required for ${task.name}`);
    start = parseInteger('--start', input.start, { min: task.minStart });
    end = parseInteger('--end', input.end, { min: task.minStart });
    if (input.chunk === undefined) {
      chunk = task.defaultChunkSize(start, end, slots);
      // sized by time: small chunks, leased in spans that grow to --chunk-time per worker; not when
      // each chunk carries its full output (every prime), whose size must stay well under a frame
      if (!task.hasOutput(params)) chunkMs = Math.round(Number(input.chunkTime ?? 2) * 1000);
    } else chunk = parseInteger('--chunk', input.chunk, { min: 1n });
  }
  // admission (issue 17, item 7): the task sizes the job against the limits, and cuts chunks to fit
  const asked = chunk;
  const admission = task.admit(params, start, end, chunk, limits);
  if (admission.chunk !== undefined && admission.chunk >= 1n && admission.chunk < chunk) chunk = admission.chunk;
  const range = makeRange(start, end, chunk);
  const priority = Number(parseInteger('--priority', input.priority ?? 0, { max: 1000n }));
  const maxAttempts = Number(parseInteger('--max-attempts', input.maxAttempts ?? 3, { min: 1n, max: 100n }));
  const replicas = Number(parseInteger('--replicas', input.replicas ?? 1, { min: 1n, max: 5n }));
  const verify = input.verify === undefined ? 0 : Number(input.verify);
  if (!Number.isFinite(verify) || verify < 0 || verify > 100 || (typeof input.verify === 'string' && input.verify.trim() === '')) {
    throw new InputError('--verify', `--verify must be a percentage between 0 and 100 (got ${JSON.stringify(input.verify)})`);
  }
  if (replicas > 1 && verify > 0) throw new InputError('--verify', 'give either --replicas or --verify, not both (with --replicas every chunk is compared already)');
  return { task: task.name, params, ...range, chunks: chunkCount(range), chunkMs, priority, maxAttempts, ...(replicas > 1 ? { replicas } : {}), ...(verify > 0 ? { verify } : {}),
    ...(admission.storedBytes !== undefined ? { storedBytes: admission.storedBytes, storedBy: admission.storedBy ?? (task.range ? '--chunk' : '--end') } : {}),
    ...(admission.note !== undefined ? { note: admission.note } : {}),
    // not made for a caller that only validates (`bramble run`): a Life pattern's is the SHA-256 of its JSON
    request: options.request === false ? '' : requestOf(task, params, start, end, input.chunk === undefined ? null : asked, chunkMs, priority, maxAttempts, replicas, verify),
  };
}

/** The request in the user's words, normalised: what a repeated submit with the job's id must match. */
function requestOf(task: Task, params: Record<string, unknown>, start: bigint, end: bigint, chunk: bigint | null, chunkMs: number | null, priority: number, maxAttempts: number, replicas: number, verify: number): string {
  const entries: JobRequestEntries = [['task', task.name]];
  if (!task.range) entries.push(['--start', start.toString()], ['--end', end.toString()]);
  entries.push(['--chunk', chunk === null ? null : chunk.toString()], ['--chunk-time', chunkMs === null ? null : chunkMs / 1000], ['--priority', priority], ['--max-attempts', maxAttempts], ['--replicas', replicas], ['--verify', verify]);
  const named = new Set<string>();
  for (const p of task.paramInfo) {
    named.add(p.name);
    entries.push([p.flag, requestValue(params[p.name])]);
  }
  for (const k of Object.keys(params).sort()) if (!named.has(k)) entries.push([`params.${k}`, requestValue(params[k])]);
  return jobRequest(entries);
}

/**
 * A parameter as the stored request holds it: itself, or when its JSON is long (a Life pattern read
 * from a file) its SHA-256, so the request stays small next to the params the job already keeps.
 */
function requestValue(v: unknown): unknown {
  if (v === undefined) return null;
  const json = canonicalJson(v);
  return json.length <= 200 ? v : `sha256:${createHash('sha256').update(json).digest('hex')}`;
}
