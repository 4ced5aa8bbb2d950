// zod is not imported here: a task's params are validated by their own parse functions, so loading the
// task registry (the CLI's help, every slot thread) does not load zod; the OpenAPI document passes zod in.
import type { z } from 'zod';
import { InputError, defaultChunk, parseInteger } from '../core/index.js';

/** A per-chunk summary: small, MessagePack-able, checked by the task when it comes from the network. */
export type Summary = Record<string, unknown>;

/** A folded or live result: every integer a decimal string, so nothing is rounded in JSON. */
export type ResultJson = Record<string, unknown>;

/** What a chunk's run returns: a small summary and an optional compact output. */
export interface ChunkOutput<S extends Summary = Summary> {
  summary: S;
  output: Uint8Array | null;
}

/** Folds chunk summaries in chunk-index order into the job's result. */
export interface Folder<S extends Summary = Summary> {
  /** Called in chunk-index order, once per chunk. */
  add(index: number, start: bigint, end: bigint, summary: S): void;
  result(): ResultJson;
}

/** Order-free running totals for progress displays (count so far, largest so far). */
export interface Live<S extends Summary = Summary> {
  add(summary: S): void;
  snapshot(): ResultJson;
}

/** How a parameter is typed on the command line, in the HTTP body and in `GET /api/tasks`. */
export type ParamType = 'boolean' | 'integer' | 'number' | 'string';

/**
 * One parameter of a task. Make it with {@link param}; the task's `params` map names it, and the name
 * is its key in the HTTP body's `params` and (kebab-cased, `--name`) its CLI flag.
 */
export interface Param<T> {
  readonly type: ParamType;
  /** Help text for the CLI, the dashboard form and the OpenAPI document. */
  readonly description: string;
  /** The value when the parameter is not given (shown in help); `undefined` when it has none. */
  readonly default?: T | undefined;
  /** The values a string parameter may take. */
  readonly choices?: readonly string[] | undefined;
  /** The CLI flag, `--name` when not given. Validation errors name it. */
  readonly flag?: string | undefined;
  /** The CLI argument's placeholder in help, e.g. `WxH`. */
  readonly placeholder?: string | undefined;
  /** On the CLI the flag names a file whose text is the value (life's `--pattern`). */
  readonly file?: boolean | undefined;
  /** With `file`: the most bytes the file may have; the CLI refuses a bigger one before reading it. */
  readonly fileMaxBytes?: number | undefined;
  /** Not a CLI flag: the CLI fills it another way (exec's command, from the words after `--`). */
  readonly hidden?: boolean | undefined;
  /**
   * Parses a given raw value (a flag's text, or a JSON value from the HTTP body; never `undefined` or
   * `null`, which mean "not given") into the parameter's value, or throws an Error whose message names
   * `flag`.
   */
  parse(raw: unknown, flag: string): T;
  /**
   * The zod schema of the raw value (`undefined` input means "not given"), whose output is the
   * parameter's value, for the OpenAPI document; the caller passes zod in (see {@link Zod}).
   */
  schema(flag: string, zod: Zod): z.ZodType<T, unknown>;
}

interface ParamOptions<T> {
  description: string;
  default?: T;
  flag?: string;
  placeholder?: string;
  file?: boolean;
  fileMaxBytes?: number;
  hidden?: boolean;
}

/** The zod module (`import { z } from 'zod'`), passed in by whoever needs a param's schema. */
export type Zod = typeof z;

/** A zod schema from a function that parses a given (non-null) raw value or throws an error naming the flag. */
function parsed<T>(zod: Zod, input: z.ZodType, dflt: T | undefined, parse: (raw: unknown) => T): z.ZodType<T, unknown> {
  return input
    .nullish()
    .transform((raw, ctx) => {
      try {
        return raw === undefined || raw === null ? (dflt as T) : parse(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return zod.NEVER;
      }
    }) as unknown as z.ZodType<T, unknown>;
}

/** A number, or its text as a flag gives it (`1e6`, `2^32`). */
const textOrNumber = (zod: Zod, error: (input: unknown) => string): z.ZodType => zod.union([zod.string(), zod.number()], { error: (iss) => error(iss.input) });

/** A wrong JSON value as an error shows it: its type and (short) text, so `[1]` is not shown as "1". */
function shown(input: unknown): string {
  if (Array.isArray(input)) return `an array, ${(JSON.stringify(input) ?? '').slice(0, 40)}`;
  if (input !== null && typeof input === 'object') return `an object, ${(JSON.stringify(input) ?? '').slice(0, 40)}`;
  return JSON.stringify(String(input)).slice(0, 42);
}

/** Throws `message` unless raw is text or a number (what {@link textOrNumber} accepts). */
function mustBeTextOrNumber(raw: unknown, message: (input: unknown) => string): asserts raw is string | number {
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(message(raw));
}

/**
 * Builders for task parameters. Every error names the parameter's flag, as `--chunk` errors do. Each
 * has a `parse` (what validates) and a zod `schema` made of the same input types and that `parse`.
 */
export const param = {
  /** A switch: `--list` on the CLI; `true`/`false` (or "true", "1", "false", "0") in the HTTP body. Default false. */
  boolean(o: Omit<ParamOptions<boolean>, 'default' | 'placeholder' | 'file'>): Param<boolean> {
    const parse = (raw: unknown, flag: string): boolean => {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new Error(`${flag} must be true or false (got ${JSON.stringify(raw)})`);
    };
    return {
      type: 'boolean',
      default: false,
      ...o,
      parse,
      schema: (flag, zod) =>
        parsed(zod, zod.union([zod.boolean(), zod.enum(['true', 'false', '1', '0'])], { error: (iss) => `${flag} must be true or false (got ${JSON.stringify(iss.input)})` }), false, (raw) => parse(raw, flag)),
    };
  },
  /** An integer in [min, max] (defaults 0 and 2^64-1), written as 1000000, 1_000_000, 1e6 or 2^32; its value is a number. */
  integer(o: ParamOptions<number> & { min?: number; max?: number }): Param<number> {
    const { min, max, ...rest } = o;
    const message = (flag: string) => (input: unknown) => `${flag} must be an integer like 1000000, 1_000_000, 1e6 or 2^32 (got ${shown(input)})`;
    const parse = (raw: unknown, flag: string): number => {
      mustBeTextOrNumber(raw, message(flag));
      return Number(parseInteger(flag, raw, { min: BigInt(min ?? 0), ...(max === undefined ? {} : { max: BigInt(max) }) }));
    };
    return {
      type: 'integer',
      ...rest,
      parse,
      schema: (flag, zod) => parsed(zod, textOrNumber(zod, message(flag)), o.default, (raw) => parse(raw, flag)),
    };
  },
  /** A finite number in [min, max]. */
  number(o: ParamOptions<number> & { min?: number; max?: number; what?: string }): Param<number> {
    const { min, max, what, ...rest } = o;
    const message = (flag: string) => (input: unknown) => `${flag} must be ${what ?? 'a number'} (got ${shown(input)})`;
    const parse = (raw: unknown, flag: string): number => {
      mustBeTextOrNumber(raw, message(flag));
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v) || (min !== undefined && v < min) || (max !== undefined && v > max)) {
        throw new Error(`${flag} must be ${what ?? `a number between ${min ?? '-inf'} and ${max ?? 'inf'}`} (got ${String(raw)})`);
      }
      return v;
    };
    return {
      type: 'number',
      ...rest,
      parse,
      schema: (flag, zod) => parsed(zod, textOrNumber(zod, message(flag)), o.default, (raw) => parse(raw, flag)),
    };
  },
  /** One of a fixed list of strings. */
  choice<const C extends readonly [string, ...string[]]>(choices: C, o: ParamOptions<C[number]>): Param<C[number]> {
    const parse = (raw: unknown, flag: string): C[number] => {
      if (typeof raw === 'string' && choices.includes(raw)) return raw as C[number];
      throw new Error(`${flag} must be one of ${choices.join(', ')} (got ${JSON.stringify(raw)})`);
    };
    return {
      type: 'string',
      choices,
      placeholder: choices.join('|'),
      ...o,
      parse,
      schema: (flag, zod) =>
        parsed(zod, zod.enum(choices, { error: (iss) => `${flag} must be one of ${choices.join(', ')} (got ${shown(iss.input)})` }), o.default, (raw) => parse(raw, flag)),
    };
  },
  /**
   * A string, checked by `check` (which throws an Error whose message is shown as is, so name the flag
   * in it) and at most `maxLength` characters.
   */
  string(o: ParamOptions<string> & { maxLength?: number; check?: (value: string, flag: string) => void }): Param<string> {
    const { maxLength, check, ...rest } = o;
    const parse = (raw: unknown, flag: string): string => {
      if (typeof raw !== 'string') throw new Error(`${flag} must be a string (got ${shown(raw)})`);
      if (maxLength !== undefined && raw.length > maxLength) throw new Error(`${flag} must be at most ${maxLength} characters`);
      check?.(raw, flag);
      return raw;
    };
    return {
      type: 'string',
      ...rest,
      parse,
      schema: (flag, zod) => {
        const str = zod.string({ error: (iss) => `${flag} must be a string (got ${shown(iss.input)})` });
        return parsed(zod, maxLength === undefined ? str : str.max(maxLength, { error: `${flag} must be at most ${maxLength} characters` }), o.default, (raw) => parse(raw, flag));
      },
    };
  },
};

/** The parameters of a task by name. */
export type Params = Record<string, Param<unknown>>;

/** The values of a task's parameters after validation (absent optional ones are `undefined`). */
export type ParamValues<P extends Params> = { [K in keyof P]: P[K] extends Param<infer T> ? T : never };

/**
 * Runs a task module's chunk in a sandboxed child process of the worker (tasks/code/sandbox.ts); the
 * worker owns one per slot.
 */
export interface ModuleSandbox {
  run(bundlePath: string, params: Record<string, unknown>, start: bigint, end: bigint, signal: AbortSignal): Promise<ChunkOutput>;
}

/** What a worker gives a task that runs outside the slot threads (`execute`): users' code. */
export interface ChunkContext {
  job: string;
  /** The chunk's index (the first of its span). */
  index: number;
  /** The local path of a shipped file, by content hash: fetched, hash and signature checked, before the chunk starts. */
  codePath(hash: string): string;
  /** This job's working directory on this worker (exists; shared by the job's chunks here). */
  workDir: string;
  /** Aborted when the chunk is cancelled. */
  signal: AbortSignal;
  sandbox: ModuleSandbox;
}

/** The format of a task's full output, when it keeps one. */
export interface OutputFormat {
  /** e.g. `text/plain` (every prime, one per line), `application/x-life-rle`. */
  mediaType: string;
  /** File extension of the download, without the dot: `txt`, `rle`. */
  extension: string;
}

/**
 * A task as its author writes it: pass it to {@link defineTask}. `V` is the params object the job
 * stores and every chunk's `run` gets: the validated parameter values, or what `prepare` makes of them.
 */
export interface TaskDefinition<P extends Params, V extends Record<string, unknown>, S extends Summary> {
  /** The task's name on the CLI (`bramble run NAME`) and in the HTTP API. */
  name: string;
  /** One line for help and the dashboard. */
  description: string;
  /** Where the task stands in lists (help, `GET /api/tasks`, the dashboard's tabs): lower first, then by name. Default 100. */
  order?: number;
  /** The parameters: flags on the CLI, `params` in the HTTP body. */
  params: P;
  /**
   * Cross-checks and normalises the validated values into the job's stored params (life turns
   * `--size 64x64` into width and height). Throw an `InputError` naming the flag. Default: the values.
   */
  prepare?(values: ParamValues<P>): V;
  /**
   * The range a job covers when it is not given by `--start/--end` (life: one chunk; noop: `--chunks`).
   * A task with `range` takes no `--start/--end`.
   */
  range?(params: V): { start: bigint; end: bigint; chunk: bigint };
  /** The smallest `--start`/`--end` (collatz: 1). Default 0. */
  minStart?: bigint;
  /**
   * Chunk size when the user gives none: small (tens of ms on a fast core), since leases then cover
   * spans of chunks sized to each worker's measured speed (`--chunk-time`). Default: up to 1e6 numbers,
   * at least 4 chunks per slot.
   */
  defaultChunkSize?(start: bigint, end: bigint, slots: number): bigint;
  /**
   * Admission control (issue 17, item 7): throw an `InputError` naming the flag when a chunk of this
   * job would need more than a chunk may have (its output must fit a result frame), with the estimate
   * and the limit. Called at submit, before the job exists.
   */
  admit?(params: V, start: bigint, end: bigint, chunk: bigint): void;
  /** Computes one chunk `[start, end]` (in a worker's slot thread). */
  run(params: V, start: bigint, end: bigint): ChunkOutput<S>;
  /**
   * What a worker must announce to be given this task's chunks, when its owner must opt in (`exec`:
   * `--allow-exec`; task modules: `--allow-code`). Default: none (every worker runs it).
   */
  needs?: string;
  /** Content hashes (the head's code store) a worker fetches before running a chunk of a job with these params. */
  code?(params: V): string[];
  /** Runs a chunk outside the slot threads, in the worker's own process (users' code: commands, sandboxed modules). */
  execute?(params: V, start: bigint, end: bigint, ctx: ChunkContext): Promise<ChunkOutput<S>>;
  /**
   * A head-side coordinator that runs the job instead of handing its chunk to a slot (life:
   * `'life-strips'`, head/life-coordinator.ts: the grid in strips over many workers).
   */
  coordinator?: 'life-strips';
  /**
   * Checks a summary that came from the network before it is stored: throw on anything wrong, return
   * the summary as it will be stored and folded.
   */
  checkSummary(summary: unknown, start: bigint, end: bigint): S;
  /** A fresh fold of the job's summaries, in chunk order, into its result. */
  fold(): Folder<S>;
  /** A fresh order-free running view for progress displays; default: a chunk count. */
  live?(): Live<S>;
  /** The task's full output, when it keeps one. */
  output?: OutputFormat & {
    /** Whether a job with these params keeps output (primes: only with `--list`). Default: always. */
    kept?(params: V): boolean;
    /** The boolean parameter that `bramble run --out FILE` turns on (primes: `list`). */
    enabledBy?: keyof P & string;
    /** A chunk's output as text (or raw bytes), in pieces, in order; default: the bytes as UTF-8. */
    text?(params: V, start: bigint, output: Uint8Array): Iterable<string | Uint8Array>;
    /**
     * Checks an output that came from the network against its (already checked) summary before it is
     * stored: decode it and throw (see `badSummary`) on anything malformed or inconsistent. Default: the
     * output must be valid UTF-8.
     */
    check?(params: V, start: bigint, end: bigint, summary: S, output: Uint8Array): void;
  };
}

/** A parameter as the CLI, HTTP API and `GET /api/tasks` see it. */
export interface ParamInfo {
  name: string;
  flag: string;
  type: ParamType;
  description: string;
  default: unknown;
  choices: readonly string[] | null;
  placeholder: string | null;
  file: boolean;
  /** See {@link Param.fileMaxBytes}; null: no limit. */
  fileMaxBytes: number | null;
  /** Not a CLI flag (see {@link Param.hidden}). */
  hidden: boolean;
  /** Validates and parses a raw value (`undefined` or `null`: not given, the default); throws an Error naming the flag. */
  parse(raw: unknown): unknown;
  /** The zod schema of the raw value, for the OpenAPI document (zod passed in: see {@link Zod}). */
  schema(zod: Zod): z.ZodType<unknown, unknown>;
}

/**
 * A task as bramble runs it: made by {@link defineTask}. Params are stored with the job and sent over
 * the network, so here they are plain records.
 */
export interface Task {
  name: string;
  description: string;
  /** Place in lists: lower first (default 100). */
  order?: number;
  paramInfo: readonly ParamInfo[];
  /** Normalises and validates user parameters; every error is an InputError naming the flag. */
  params(raw: Record<string, unknown>): Record<string, unknown>;
  range?(params: Record<string, unknown>): { start: bigint; end: bigint; chunk: bigint };
  minStart: bigint;
  defaultChunkSize(start: bigint, end: bigint, slots: number): bigint;
  run(params: Record<string, unknown>, start: bigint, end: bigint): ChunkOutput;
  /** See {@link TaskDefinition.needs}: null when any worker runs it. */
  needs: string | null;
  code?(params: Record<string, unknown>): string[];
  execute?(params: Record<string, unknown>, start: bigint, end: bigint, ctx: ChunkContext): Promise<ChunkOutput>;
  /** Run by a head-side coordinator instead of the chunk ledger's leases (see TaskDefinition). */
  coordinator?: 'life-strips' | null;
  checkSummary(summary: unknown, start: bigint, end: bigint): Record<string, unknown>;
  folder(): Folder;
  live(): Live;
  /** The output format, or null for a task that keeps none. */
  output: OutputFormat | null;
  /** The boolean parameter that `run --out` turns on, if any. */
  outputParam: string | null;
  hasOutput(params: Record<string, unknown>): boolean;
  /** Admission control at submit; throws an InputError with the estimate and the limit. */
  admit(params: Record<string, unknown>, start: bigint, end: bigint, chunk: bigint): void;
  /** Writes a chunk's full output as text, in pieces. */
  outputText?(params: Record<string, unknown>, start: bigint, output: Uint8Array): Iterable<string | Uint8Array>;
  /** Checks a chunk's output from the network against its checked summary; throws when it does not fit. */
  checkOutput(params: Record<string, unknown>, start: bigint, end: bigint, summary: Record<string, unknown>, output: Uint8Array): void;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Defines a task: the one way to write one, for the built-in tasks and users' task modules alike. An
 * identity function for the editor (as Vite's `defineConfig`), plus the plumbing that turns the
 * parameter list into validation with errors naming each flag.
 *
 * @example
 * export default defineTask({
 *   name: 'sum-squares',
 *   description: 'sum of n^2 over [start, end]',
 *   params: { power: param.integer({ description: 'exponent', default: 2, min: 1, max: 8 }) },
 *   run: (p, start, end) => ({ summary: { s: sumPowers(start, end, p.power).toString() }, output: null }),
 *   checkSummary: (s) => ({ s: String((s as { s: string }).s) }),
 *   fold() { let t = 0n; return { add: (_i, _s, _e, x) => void (t += BigInt(x.s)), result: () => ({ sum: t.toString() }) }; },
 * });
 */
export function defineTask<const P extends Params, V extends Record<string, unknown> = ParamValues<P>, S extends Summary = Summary>(def: TaskDefinition<P, V, S>): Task {
  const info: ParamInfo[] = Object.entries(def.params).map(([name, p]) => {
    const flag = p.flag ?? `--${kebab(name)}`;
    return {
      name,
      flag,
      type: p.type,
      description: p.description,
      default: p.default,
      choices: p.choices ?? null,
      placeholder: p.placeholder ?? null,
      file: p.file === true,
      fileMaxBytes: p.fileMaxBytes ?? null,
      hidden: p.hidden === true,
      parse: (raw: unknown) => (raw === undefined || raw === null ? p.default : p.parse(raw, flag)),
      schema: (zod: Zod) => p.schema(flag, zod),
    };
  });
  const out = def.output;
  // the generic (V) is the author's; bramble stores and ships params as plain records
  const v = (params: Record<string, unknown>): V => params as V;
  const task: Task = {
    name: def.name,
    description: def.description,
    order: def.order ?? 100,
    paramInfo: info,
    params(raw) {
      const allowed = info.map((p) => p.name);
      for (const k of Object.keys(raw)) {
        if (!allowed.includes(k)) {
          throw new InputError(`--${k}`, `unknown parameter --${k} for task ${def.name} (allowed: ${info.map((a) => a.flag).join(', ') || 'none'})`);
        }
      }
      const values: Record<string, unknown> = {};
      for (const p of info) {
        try {
          values[p.name] = p.parse(raw[p.name]);
        } catch (err) {
          throw new InputError(p.flag, (err as Error).message || `${p.flag} is invalid`);
        }
      }
      return def.prepare ? def.prepare(values as ParamValues<P>) : values;
    },
    ...(def.range ? { range: (params: Record<string, unknown>) => def.range!(v(params)) } : {}),
    minStart: def.minStart ?? 0n,
    defaultChunkSize: def.defaultChunkSize ?? ((start, end, slots) => defaultChunk(start, end, 1_000_000n, slots * 4)),
    run: (params, start, end) => def.run(v(params), start, end),
    needs: def.needs ?? null,
    ...(def.code ? { code: (params: Record<string, unknown>) => def.code!(v(params)) } : {}),
    ...(def.execute ? { execute: (params: Record<string, unknown>, start: bigint, end: bigint, ctx: ChunkContext) => def.execute!(v(params), start, end, ctx) } : {}),
    coordinator: def.coordinator ?? null,
    checkSummary: (s, start, end) => def.checkSummary(s, start, end),
    folder: () => def.fold() as unknown as Folder,
    live: def.live
      ? () => def.live!() as unknown as Live
      : () => {
          let n = 0;
          return { add: () => void n++, snapshot: () => ({ chunks: String(n) }) };
        },
    output: out ? { mediaType: out.mediaType, extension: out.extension } : null,
    outputParam: out?.enabledBy ?? null,
    hasOutput: (params) => (out ? (out.kept ? out.kept(v(params)) : true) : false),
    admit: (params, start, end, chunk) => def.admit?.(v(params), start, end, chunk),
    checkOutput(params, start, end, summary, output) {
      try {
        if (out?.check) out.check(v(params), start, end, summary as S, output);
        else new TextDecoder('utf-8', { fatal: true }).decode(output);
      } catch (err) {
        if (err instanceof InputError) throw err;
        badOutput((err as Error).message);
      }
    },
  };
  if (out) {
    const decoder = new TextDecoder();
    task.outputText = out.text ? (params, start, output) => out.text!(v(params), start, output) : (_p, _s, output) => [decoder.decode(output)];
  }
  return task;
}

/** Throws the error a chunk output gets when it does not fit its summary (for `output.check`). */
export function badOutput(what: string): never {
  throw new InputError('output', `invalid chunk output: ${what}`);
}

/** Throws the error a bad chunk summary gets (for `checkSummary`). */
export function badSummary(what: string): never {
  throw new InputError('summary', `invalid chunk summary: ${what}`);
}
