import { InputError } from '../../core/index.js';
import { LifeGrid, parseRle, parseRule, rleToGrid, toRle } from '../../kernels/index.js';
import { badOutput, badSummary, defineTask, param } from '../define-task.js';
import { isPatternRef, MAX_PATTERN_BYTES, parsePattern } from '../life-pattern.js';
import { check } from '../summary.js';

/** 32768 x 32768: a gigacell, 128 MiB of bits, spread over the workers in strips. */
const MAX_LIFE_CELLS = 1 << 30;

function size(text: string, flag: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) throw new InputError(flag, `${flag} must look like 2048x2048 (got ${JSON.stringify(text)})`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 3 || height < 3 || width * height > MAX_LIFE_CELLS) {
    throw new InputError(flag, `${flag} must be at least 3x3 and at most ${MAX_LIFE_CELLS} cells (got ${text})`);
  }
  return { width, height };
}

/**
 * Game of Life on a torus or bounded grid, any Life-like rule. The head's Life coordinator
 * (head/life-coordinator.ts) runs it in strips over the workers; `run` is the same computation on one
 * slot (the reference the distributed run is checked against).
 */
export default defineTask({
  name: 'life',
  order: 3,
  description: 'Game of Life on a W x H torus (or --bounded), any Life-like --rule, --random D --seed S or --pattern RLE, in strips over the workers',
  coordinator: 'life-strips',
  params: {
    size: param.string({ description: 'grid size', default: '256x256', placeholder: 'WxH', check: (s, flag) => void size(s, flag) }),
    generations: param.integer({ description: 'generations', default: 100, max: 10_000_000 }),
    rule: param.string({
      description: 'Life-like rule',
      default: 'B3/S23',
      check: (s, flag) => {
        try {
          parseRule(s);
        } catch (err) {
          throw new InputError(flag, `${flag} ${(err as Error).message}`);
        }
      },
    }),
    bounded: param.boolean({ description: 'cells beyond the edge are dead (default: torus)' }),
    random: param.number({ description: 'random soup of this density (default 0.5)', min: 0, max: 1, what: 'a density between 0 and 1', placeholder: 'density' }),
    seed: param.integer({ description: 'random seed', default: 1, max: 0xffffffff }),
    parts: param.integer({ description: 'strips: the grid is cut over this many worker slots (default: every slot connected)', min: 1, max: 4096, placeholder: 'n' }),
    halo: param.integer({ description: 'halo depth k: strips swap k edge rows every k generations (default: chosen from measured compute and transfer time)', min: 1, max: 4096, placeholder: 'k' }),
    checkpointEvery: param.integer({ description: 'generations between checkpoints of the grid at the head (default: about every 5 s of work)', min: 1, max: 10_000_000, placeholder: 'C' }),
    pattern: param.string({
      description: 'start from an RLE pattern file',
      placeholder: 'file.rle',
      file: true,
      fileMaxBytes: MAX_PATTERN_BYTES,
      check: (s, flag) => {
        // a reference to a pattern the head stores: the head checks that it has it and that it fits
        if (isPatternRef(s)) return;
        if (s.length > MAX_PATTERN_BYTES) throw new InputError(flag, `${flag} must be RLE text of at most ${MAX_PATTERN_BYTES / 2 ** 20} MiB (got ${(s.length / 2 ** 20).toFixed(1)} MiB)`);
        try {
          parsePattern(s);
        } catch (err) {
          throw new InputError(flag, `${flag}: ${(err as Error).message}`);
        }
      },
    }),
  },
  prepare(v) {
    const { width, height } = size(v.size, '--size');
    let density: number | null = null;
    if (v.pattern !== undefined) {
      // the same parse as the check's (kept); a reference was checked against its text by the head
      const p = isPatternRef(v.pattern) ? { width: 0, height: 0 } : parsePattern(v.pattern);
      if (p.width > width || p.height > height) throw new InputError('--pattern', `--pattern is ${p.width}x${p.height}, larger than the --size ${width}x${height} grid`);
      if (v.random !== undefined) throw new InputError('--random', 'give either --random or --pattern, not both');
    } else density = v.random ?? 0.5;
    if (v.parts !== undefined && v.parts > height) throw new InputError('--workers', `--workers ${v.parts} is more strips than the grid has rows (${height})`);
    return {
      width,
      height,
      generations: v.generations,
      rule: v.rule,
      bounded: v.bounded,
      density,
      seed: v.seed,
      pattern: v.pattern ?? null,
      parts: v.parts ?? null,
      halo: v.halo ?? null,
      checkpointEvery: v.checkpointEvery ?? null,
    };
  },
  range: () => ({ start: 0n, end: 0n, chunk: 1n }),
  defaultChunkSize: () => 1n,
  run(params) {
    const { width, height } = params;
    const wrap = !params.bounded;
    const rule = parseRule(params.rule);
    if (params.pattern !== null && isPatternRef(params.pattern)) throw new Error('a Life pattern by reference runs on the head (its Life coordinator), not in one slot');
    const grid =
      params.pattern !== null
        ? rleToGrid(parsePattern(params.pattern), { width, height, wrap }) // centred; prepare() checked it fits
        : LifeGrid.random(width, height, params.density ?? 0.5, params.seed, wrap);
    const generations = params.generations;
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
    const s = check.map(raw);
    const h = s['h'];
    if (!Array.isArray(h) || h.length > 20_000) badSummary('history');
    return { p: check.count(s['p'], 'population'), h: h.map((v) => check.count(v, 'history')), e: check.count(s['e'], 'sample interval') };
  },
  fold() {
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
  output: {
    mediaType: 'application/x-life-rle',
    extension: 'rle',
    // the final grid must parse, have the job's size and the summary's population
    check(params, _start, _end, s, output) {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(output);
      const p = parseRle(text, { maxCells: params.width * params.height });
      if (p.width !== params.width || p.height !== params.height) badOutput(`a ${p.width}x${p.height} grid, the job's is ${params.width}x${params.height}`);
      if (p.population !== s['p']) badOutput(`the grid holds ${p.population} live cells, the summary says ${String(s['p'])}`);
    },
  },
});
