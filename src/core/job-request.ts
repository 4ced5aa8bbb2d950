import { ConflictError } from './errors.js';

/**
 * A job's request as the user gave it, normalised, for idempotent submits (issue 18): the same job id
 * submitted again with an equal request answers the job already there; with another request it is
 * refused, naming the first setting that differs.
 *
 * The request is canonical JSON of an object whose keys are the user's own words (`task`, `--start`,
 * `--end`, `--chunk`, each task parameter's flag...) in a fixed order, and whose values are normalised
 * (`1e6` and `1000000` are both "1000000"; a parameter left out holds its default). It is stored with
 * the job (`JobRecord.request`) for as long as the job is kept. A request, not the plan: the chunk
 * size the head picks when none is given depends on the workers connected, and a retry after a
 * failover must still match.
 */
export type JobRequestEntries = [key: string, value: unknown][];

/** JSON with every object's keys sorted (bigints as decimal strings): equal values, equal strings. */
export function canonicalJson(v: unknown): string {
  return canonical(v);
}

function canonical(v: unknown): string {
  if (v === undefined) return 'null';
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** The canonical request string of these entries (keys in the order given). */
export function jobRequest(entries: JobRequestEntries): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : v === null || v === undefined ? '(none)' : canonical(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * The first setting in which two requests differ, as "`--end` differs: 1000 vs 2000" (the first
 * request's value first), or null when they are equal.
 */
export function requestDifference(first: string, second: string): { key: string; message: string } | null {
  if (first === second) return null;
  const a = JSON.parse(first) as Record<string, unknown>;
  const b = JSON.parse(second) as Record<string, unknown>;
  const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
  for (const k of keys) {
    const [x, y] = [canonical(a[k]), canonical(b[k])];
    if (x !== y) return { key: k, message: `${k} differs: ${shown(a[k])} vs ${shown(b[k])}` };
  }
  return null; // the same settings written differently (cannot happen for canonical strings)
}

/** A job id that is already taken by a job with another request. */
export class IdConflictError extends ConflictError {
  override name = 'IdConflictError';
  constructor(
    message: string,
    /** The setting that differs first (`--end`, `task`...), for a form to point at. */
    readonly field: string,
  ) {
    super(message, 'ID_CONFLICT');
  }
}
