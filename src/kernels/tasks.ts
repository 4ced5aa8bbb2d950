import { InputError, defaultChunk, parseInteger } from '../core/index.js';
import { collatzSteps, collatzVerify } from './collatz.js';
import { LifeGrid, parseRule } from './life.js';
import { countPrimes, listPrimes, primeListText } from './primes.js';
import { isqrt } from './primes/engine.js';
import { implausibleCollatz, implausiblePrimes } from './plausible.js';
import { parseRle, rleToGrid, toRle } from './rle.js';

/** What a chunk's run returns: a small summary (MessagePack-able) and an optional compact output. */
export interface ChunkOutput {
  summary: Record<string, unknown>;
  output: Uint8Array | null;
}

/** A folded job result: every integer a decimal string, so nothing is rounded in JSON. */
export type ResultJson = Record<string, unknown>;

export interface Folder {
  /** Called in chunk-index order. */
  add(index: number, start: bigint, end: bigint, summary: Record<string, unknown>): void;
  result(): ResultJson;
}

/** Order-free running totals for progress displays (count so far, largest so far). */
export interface Live {
  add(summary: Record<string, unknown>): void;
  snapshot(): ResultJson;
}

export interface TaskDef {
  name: string;
  description: string;
  /** Normalises and validates user parameters; every error names the flag. */
  params(raw: Record<string, unknown>): Record<string, unknown>;
  /** The range a job of this task covers, when it is not given by --start/--end. */
  range?(params: Record<string, unknown>): { start: bigint; end: bigint; chunk: bigint };
  minStart: bigint;
  /**
   * Chunk size when the user gives none: small (tens of ms on a fast core), since leases then cover
   * spans of chunks sized to each worker's measured speed (--chunk-time).
   */
  defaultChunkSize(start: bigint, end: bigint, slots: number): bigint;
  run(params: Record<string, unknown>, start: bigint, end: bigint): ChunkOutput;
  /** Checks a summary that came from the network before it is stored. */
  checkSummary(summary: unknown, start: bigint, end: bigint): Record<string, unknown>;
  folder(): Folder;
  live(): Live;
  /** Writes a chunk's full output as text, in pieces. */
  outputText?(params: Record<string, unknown>, start: bigint, output: Uint8Array): Iterable<string>;
  hasOutput(params: Record<string, unknown>): boolean;
}

function bad(what: string): never {
  throw new InputError('summary', `invalid chunk summary: ${what}`);
}
function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('not a map');
  return v as Record<string, unknown>;
}
function int(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${name} is not a count`);
  return v;
}
function dec(v: unknown, name: string, lo?: bigint, hi?: bigint): string {
  if (typeof v !== 'string' || !/^\d{1,45}$/.test(v)) bad(`${name} is not a decimal integer`);
  const b = BigInt(v);
  if ((lo !== undefined && b < lo) || (hi !== undefined && b > hi)) bad(`${name} ${v} is outside the chunk [${lo}, ${hi}]`);
  return v;
}
function decOrNull(v: unknown, name: string, lo?: bigint, hi?: bigint): string | null {
  return v === null || v === undefined ? null : dec(v, name, lo, hi);
}
function bool(raw: unknown, flag: string): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InputError(flag, `${flag} must be true or false (got ${JSON.stringify(raw)})`);
}
function choice<T extends string>(raw: unknown, flag: string, options: readonly T[], dflt: T): T {
  if (raw === undefined || raw === null) return dflt;
  if (typeof raw === 'string' && (options as readonly string[]).includes(raw)) return raw as T;
  throw new InputError(flag, `${flag} must be one of ${options.join(', ')} (got ${JSON.stringify(raw)})`);
}
function unknownKeys(raw: Record<string, unknown>, allowed: string[], task: string): void {
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k)) throw new InputError(`--${k}`, `unknown parameter --${k} for task ${task} (allowed: ${allowed.map((a) => '--' + a).join(', ') || 'none'})`);
  }
}

// ---------------- primes ----------------

const primes: TaskDef = {
  name: 'primes',
  description: 'primes in [start, end]: count, first, last, largest gap; with --list every prime',
  minStart: 0n,
  params(raw) {
    unknownKeys(raw, ['list'], 'primes');
    return { list: bool(raw['list'], '--list') };
  },
  defaultChunkSize(start, end, slots) {
    // every chunk pays for walking the sieving primes up to sqrt(end): keep chunks at least that wide
    const chunk = defaultChunk(start, end, 20_000_000n, slots * 4);
    const floor = isqrt(end);
    const width = end - start + 1n;
    return chunk >= floor ? chunk : floor < width ? floor : width;
  },
  run(params, start, end) {
    if (params['list'] === true) {
      const r = listPrimes(start, end);
      return { summary: primeSummary(r), output: r.encoded };
    }
    return { summary: primeSummary(countPrimes(start, end)), output: null };
  },
  checkSummary(raw, start, end) {
    const s = obj(raw);
    const g = s['g'];
    let gap: [string, string] | null = null;
    if (g !== null && g !== undefined) {
      if (!Array.isArray(g) || g.length !== 2) bad('g is not a pair');
      gap = [dec(g[0], 'gap', 1n, end - start + 1n), dec(g[1], 'gap start', start, end)];
    }
    const out = { c: int(s['c'], 'count'), f: decOrNull(s['f'], 'first', start, end), l: decOrNull(s['l'], 'last', start, end), g: gap };
    const why = implausiblePrimes(start, end, out.c, out.f === null ? null : BigInt(out.f), out.l === null ? null : BigInt(out.l), gap && [BigInt(gap[0]), BigInt(gap[1])]);
    if (why) bad(why);
    return out;
  },
  folder() {
    let count = 0n;
    let first: bigint | null = null;
    let last: bigint | null = null;
    let gap = 0n;
    let after: bigint | null = null;
    return {
      add(_i, _s, _e, sum) {
        const c = BigInt(sum['c'] as number);
        if (c === 0n) return;
        const f = BigInt(sum['f'] as string);
        if (last !== null && f - last > gap) {
          gap = f - last;
          after = last;
        }
        const g = sum['g'] as [string, string] | null;
        if (g && BigInt(g[0]) > gap) {
          gap = BigInt(g[0]);
          after = BigInt(g[1]);
        }
        first ??= f;
        last = BigInt(sum['l'] as string);
        count += c;
      },
      result() {
        return {
          count: count.toString(),
          first: first?.toString() ?? null,
          last: last?.toString() ?? null,
          largestGap: after === null ? null : { gap: gap.toString(), after: after.toString() },
        };
      },
    };
  },
  live() {
    let count = 0n;
    let largest: bigint | null = null;
    return {
      add(sum) {
        count += BigInt(sum['c'] as number);
        if (sum['l'] !== null && sum['l'] !== undefined) {
          const l = BigInt(sum['l'] as string);
          if (largest === null || l > largest) largest = l;
        }
      },
      snapshot: () => ({ count: count.toString(), largest: largest?.toString() ?? null }),
    };
  },
  outputText(_params, start, output) {
    // pieces of 64 KiB: small strings die young, so writing 50 million primes keeps the head small
    return primeListText(start, output, 64 * 1024);
  },
  hasOutput: (params) => params['list'] === true,
};

function primeSummary(r: { count: number; first: bigint | null; last: bigint | null; largestGap: { gap: bigint; after: bigint } | null }): Record<string, unknown> {
  return {
    c: r.count,
    f: r.first?.toString() ?? null,
    l: r.last?.toString() ?? null,
    g: r.largestGap ? [r.largestGap.gap.toString(), r.largestGap.after.toString()] : null,
  };
}

// ---------------- collatz ----------------

const collatz: TaskDef = {
  name: 'collatz',
  description: 'Collatz: steps of every n in [start, end] (record and highest value), or --mode verify',
  minStart: 1n,
  params(raw) {
    unknownKeys(raw, ['mode'], 'collatz');
    return { mode: choice(raw['mode'], '--mode', ['steps', 'verify'] as const, 'steps') };
  },
  defaultChunkSize(start, end, slots) {
    return defaultChunk(start, end, 200_000n, slots * 4);
  },
  run(params, start, end) {
    if (params['mode'] === 'verify') {
      const r = collatzVerify(start, end);
      return { summary: { m: 'verify', c: r.count, k: r.checked, hn: r.highest.n.toString(), hv: r.highest.value.toString() }, output: null };
    }
    const r = collatzSteps(start, end);
    return {
      summary: { m: 'steps', c: r.count, ln: r.longest.n.toString(), ls: r.longest.steps, hn: r.highest.n.toString(), hv: r.highest.value.toString(), t: r.totalSteps.toString() },
      output: null,
    };
  },
  checkSummary(raw, start, end) {
    const s = obj(raw);
    const c = int(s['c'], 'count');
    if (BigInt(c) !== end - start + 1n) bad(`count ${c} does not match the chunk`);
    const hn = dec(s['hn'], 'highest n', start, end);
    const hv = dec(s['hv'], 'highest value', BigInt(hn));
    if (s['m'] === 'verify') {
      const v = { m: 'verify', c, k: int(s['k'], 'checked'), hn, hv };
      const why = implausibleCollatz(v);
      if (why) bad(why);
      return v;
    }
    if (s['m'] !== 'steps') bad('unknown mode');
    const r = { m: 'steps', c, ln: dec(s['ln'], 'longest n', start, end), ls: int(s['ls'], 'steps'), hn, hv, t: dec(s['t'], 'total steps') };
    const why = implausibleCollatz(r);
    if (why) bad(why);
    return r;
  },
  folder() {
    let count = 0n;
    let checked = 0n;
    let total = 0n;
    let mode = 'steps';
    let ln: string | null = null;
    let ls = -1;
    let hn: string | null = null;
    let hv = -1n;
    return {
      add(_i, _s, _e, sum) {
        mode = sum['m'] as string;
        count += BigInt(sum['c'] as number);
        if (mode === 'verify') checked += BigInt(sum['k'] as number);
        else {
          total += BigInt(sum['t'] as string);
          if ((sum['ls'] as number) > ls) {
            ls = sum['ls'] as number;
            ln = sum['ln'] as string;
          }
        }
        const v = BigInt(sum['hv'] as string);
        if (v > hv) {
          hv = v;
          hn = sum['hn'] as string;
        }
      },
      result() {
        const highest = hn === null ? null : { n: hn, value: hv.toString() };
        if (mode === 'verify') return { mode, count: count.toString(), verified: count.toString(), checked: checked.toString(), highest };
        return { mode, count: count.toString(), longest: ln === null ? null : { n: ln, steps: String(ls) }, highest, totalSteps: total.toString() };
      },
    };
  },
  live() {
    const f = collatz.folder();
    return { add: (s) => f.add(0, 0n, 0n, s), snapshot: () => f.result() };
  },
  hasOutput: () => false,
};

// ---------------- life ----------------

const MAX_LIFE_CELLS = 1 << 28;

const life: TaskDef = {
  name: 'life',
  description: 'Game of Life on a W x H torus (or --bounded), any Life-like --rule, --random D --seed S or --pattern RLE',
  minStart: 0n,
  params(raw) {
    unknownKeys(raw, ['size', 'generations', 'rule', 'bounded', 'random', 'seed', 'pattern'], 'life');
    const size = String(raw['size'] ?? '256x256');
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (!m) throw new InputError('--size', `--size must look like 2048x2048 (got ${JSON.stringify(size)})`);
    const width = Number(m[1]);
    const height = Number(m[2]);
    if (width < 3 || height < 3 || width * height > MAX_LIFE_CELLS) {
      throw new InputError('--size', `--size must be at least 3x3 and at most ${MAX_LIFE_CELLS} cells (got ${size})`);
    }
    const generations = Number(parseInteger('--generations', (raw['generations'] as string | number | undefined) ?? '100', { max: 10_000_000n }));
    const ruleText = String(raw['rule'] ?? 'B3/S23');
    try {
      parseRule(ruleText);
    } catch (err) {
      throw new InputError('--rule', `--rule ${(err as Error).message}`);
    }
    const pattern = raw['pattern'];
    let density: number | null = null;
    if (pattern !== undefined && pattern !== null) {
      if (typeof pattern !== 'string' || pattern.length > 4 * 1024 * 1024) throw new InputError('--pattern', '--pattern must be RLE text of at most 4 MiB');
      let p: ReturnType<typeof parseRle>;
      try {
        p = parseRle(pattern);
      } catch (err) {
        throw new InputError('--pattern', `--pattern: ${(err as Error).message}`);
      }
      if (p.width > width || p.height > height) throw new InputError('--pattern', `--pattern is ${p.width}x${p.height}, larger than the --size ${width}x${height} grid`);
      if (raw['random'] !== undefined) throw new InputError('--random', 'give either --random or --pattern, not both');
    } else {
      density = raw['random'] === undefined ? 0.5 : Number(raw['random']);
      if (!Number.isFinite(density) || density < 0 || density > 1) throw new InputError('--random', `--random must be a density between 0 and 1 (got ${String(raw['random'])})`);
    }
    const seed = Number(parseInteger('--seed', (raw['seed'] as string | number | undefined) ?? '1', { max: 0xffffffffn }));
    return { width, height, generations, rule: ruleText, bounded: bool(raw['bounded'], '--bounded'), density, seed, pattern: pattern ?? null };
  },
  range: () => ({ start: 0n, end: 0n, chunk: 1n }),
  defaultChunkSize: () => 1n,
  run(params) {
    const width = params['width'] as number;
    const height = params['height'] as number;
    const wrap = params['bounded'] !== true;
    const rule = parseRule(params['rule'] as string);
    let grid: LifeGrid;
    if (typeof params['pattern'] === 'string') {
      grid = rleToGrid(params['pattern'], { width, height, wrap }); // centred; params() checked it fits
    } else {
      grid = LifeGrid.random(width, height, params['density'] as number, params['seed'] as number, wrap);
    }
    const generations = params['generations'] as number;
    const every = Math.max(1, Math.ceil(generations / 500));
    const history: number[] = [grid.population()];
    for (let g = 0; g < generations; g += every) {
      const n = Math.min(every, generations - g);
      grid.step(rule, n);
      history.push(grid.population());
    }
    const rle = toRle(grid, rule.text);
    return { summary: { p: grid.population(), h: history, e: every }, output: new TextEncoder().encode(rle) };
  },
  checkSummary(raw) {
    const s = obj(raw);
    const h = s['h'];
    if (!Array.isArray(h) || h.length > 20_000) bad('history');
    return { p: int(s['p'], 'population'), h: h.map((v) => int(v, 'history')), e: int(s['e'], 'sample interval') };
  },
  folder() {
    let sum: Record<string, unknown> = {};
    return {
      add(_i, _s, _e, s) {
        sum = s;
      },
      result: () => ({ population: String(sum['p'] ?? 0), history: (sum['h'] as number[] | undefined) ?? [], historyEvery: sum['e'] ?? 1 }),
    };
  },
  live() {
    let p: number | null = null;
    return { add: (s) => void (p = s['p'] as number), snapshot: () => ({ population: p === null ? null : String(p) }) };
  },
  outputText: (_p, _s, output) => [new TextDecoder().decode(output)],
  hasOutput: () => true,
};

// ---------------- noop ----------------

const noop: TaskDef = {
  name: 'noop',
  description: 'does nothing per chunk: measures the coordinator alone (--chunks N)',
  minStart: 0n,
  params(raw) {
    unknownKeys(raw, ['chunks'], 'noop');
    return { chunks: Number(parseInteger('--chunks', (raw['chunks'] as string | number | undefined) ?? '1000', { min: 1n, max: 100_000_000n })) };
  },
  range: (p) => ({ start: 0n, end: BigInt(p['chunks'] as number) - 1n, chunk: 1n }),
  defaultChunkSize: () => 1n,
  run: () => ({ summary: {}, output: null }),
  checkSummary: (raw) => {
    obj(raw);
    return {};
  },
  folder() {
    let n = 0;
    return { add: () => void n++, result: () => ({ chunks: String(n) }) };
  },
  live() {
    let n = 0;
    return { add: () => void n++, snapshot: () => ({ chunks: String(n) }) };
  },
  hasOutput: () => false,
};

const registry = new Map<string, TaskDef>([primes, collatz, life, noop].map((t) => [t.name, t]));

/** Fixture tasks for tests (crash, hang, garbage) are registered only when asked for. */
export function registerTask(t: TaskDef): void {
  registry.set(t.name, t);
}

export function getTask(name: string): TaskDef {
  const t = registry.get(name);
  if (!t) throw new InputError('task', `unknown task ${JSON.stringify(name)} (known: ${[...registry.keys()].filter((k) => !k.startsWith('fixture-')).join(', ')})`);
  return t;
}

export function taskNames(): string[] {
  return [...registry.keys()];
}
