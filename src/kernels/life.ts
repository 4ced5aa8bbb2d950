// Conway's Game of Life and the other Life-like rules (Bx/Sy) on a bit-packed W x H grid, torus or
// bounded. Pure: no I/O. One bit per cell; the stepping kernel adds neighbour counts with bitwise full
// adders over whole words: WebAssembly SIMD (128 cells per operation, generated from source at run time
// by life/simd-kernel.ts) where available, plain JavaScript over 32-bit words otherwise.
//
// Distribution by horizontal strips: a LifeGrid may hold just a strip of rows of a larger grid. Call
// `stepStrip(rule, above, below)` with the row just above the strip and the row just below it (packed as
// by `getRow`, taken from the neighbouring strips or all-zero for a bounded grid's outer edge); the strip
// advances one generation. The strip's own `wrap` flag then only controls horizontal wrapping.

import { ruleCircuit } from './life/rule-circuit.js';
import { compileCircuit, stepJs, type CompiledCircuit } from './life/js-kernel.js';
import { simdModule, simdStepFunction, type SimdStep } from './life/simd-kernel.js';
import { popcountFunction, type PopcountRows } from './life/popcount-kernel.js';
import { wasmApi, type WasmMemory, type WasmModule } from './life/wasm-assembler.js';

/** Birth and survival as bitmasks over the neighbour count 0..8 (bit k set: count k qualifies). */
export interface LifeRule {
  birth: number;
  survive: number;
  /** Canonical text, e.g. "B3/S23". */
  text: string;
}

/** Topology suffix of a Golly rule string: `:T w,h` (torus) or `:P w,h` (bounded plane). */
export interface LifeTopology {
  kind: 'torus' | 'plane';
  width: number;
  height: number;
}

export class RuleError extends Error {
  override readonly name = 'RuleError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const CONWAY: LifeRule = Object.freeze({ birth: 1 << 3, survive: (1 << 2) | (1 << 3), text: 'B3/S23' });

function digitsMask(digits: string, what: string, text: string): number {
  let mask = 0;
  for (const ch of digits) {
    const d = ch.charCodeAt(0) - 48;
    if (d < 0 || d > 8) throw new RuleError(`rule ${JSON.stringify(text)}: ${what} counts must be digits 0-8 (got ${JSON.stringify(ch)})`);
    if (mask & (1 << d)) throw new RuleError(`rule ${JSON.stringify(text)}: ${what} count ${d} is repeated`);
    mask |= 1 << d;
  }
  return mask;
}

function maskDigits(mask: number): string {
  let s = '';
  for (let d = 0; d <= 8; d++) if (mask & (1 << d)) s += String(d);
  return s;
}

export function ruleText(birth: number, survive: number): string {
  return `B${maskDigits(birth)}/S${maskDigits(survive)}`;
}

/**
 * Parses a rule together with an optional Golly topology suffix, e.g. "B3/S23:T2048,2048".
 * Accepted forms (case-insensitive): "B3/S23", "B3S23", "S23/B3", and the old survival/birth notation
 * "23/3". Only the Moore neighbourhood; Golly's other suffixes (hexagonal, von Neumann, Klein bottle...)
 * are refused with an explanation.
 */
export function parseRuleSpec(text: string): { rule: LifeRule; topology: LifeTopology | null } {
  if (typeof text !== 'string') throw new RuleError('rule must be a string');
  const raw = text.trim();
  if (raw.length === 0) throw new RuleError('rule is empty (expected something like B3/S23)');
  if (raw.length > 100) throw new RuleError('rule is too long (expected something like B3/S23)');
  const colon = raw.indexOf(':');
  const body = (colon >= 0 ? raw.slice(0, colon) : raw).trim();
  let topology: LifeTopology | null = null;
  if (colon >= 0) {
    const suffix = raw.slice(colon + 1).trim();
    const m = /^([TP])\s*(\d+)\s*,\s*(\d+)$/i.exec(suffix);
    if (!m) {
      throw new RuleError(
        `rule ${JSON.stringify(text)}: unsupported topology ${JSON.stringify(suffix)} (expected :Tw,h for a torus or :Pw,h for a bounded plane)`,
      );
    }
    const width = Number(m[2]);
    const height = Number(m[3]);
    if (width < 1 || height < 1) throw new RuleError(`rule ${JSON.stringify(text)}: topology size must be at least 1x1 (an infinite dimension is not supported)`);
    topology = { kind: (m[1] ?? 'T').toUpperCase() === 'T' ? 'torus' : 'plane', width, height };
  }
  let birth: number;
  let survive: number;
  let m: RegExpExecArray | null;
  if ((m = /^B(\d*)\/?S(\d*)$/i.exec(body))) {
    birth = digitsMask(m[1] ?? '', 'birth', text);
    survive = digitsMask(m[2] ?? '', 'survival', text);
  } else if ((m = /^S(\d*)\/?B(\d*)$/i.exec(body))) {
    survive = digitsMask(m[1] ?? '', 'survival', text);
    birth = digitsMask(m[2] ?? '', 'birth', text);
  } else if ((m = /^(\d*)\/(\d*)$/.exec(body))) {
    survive = digitsMask(m[1] ?? '', 'survival', text);
    birth = digitsMask(m[2] ?? '', 'birth', text);
  } else {
    throw new RuleError(`rule ${JSON.stringify(text)} is not a Life-like rule (expected B<digits>/S<digits>, e.g. B3/S23 or B36/S23)`);
  }
  return { rule: { birth, survive, text: ruleText(birth, survive) }, topology };
}

/** Parses a Life-like rule such as "B3/S23" or "B36/S23" (a Golly ":T w,h" suffix is accepted and ignored). */
export function parseRule(text: string): LifeRule {
  return parseRuleSpec(text).rule;
}

function checkRule(rule: LifeRule): void {
  const ok = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 512;
  if (!rule || !ok(rule.birth) || !ok(rule.survive)) throw new RuleError('rule must have birth and survive bitmasks over counts 0..8 (use parseRule)');
}

interface RuleKernel {
  key: string;
  compiled: CompiledCircuit;
  module: WasmModule | null;
}
const ruleKernels = new Map<string, RuleKernel>();

function ruleKernel(rule: LifeRule): RuleKernel {
  checkRule(rule);
  const key = `${rule.birth}/${rule.survive}`;
  let rk = ruleKernels.get(key);
  if (!rk) {
    const circuit = ruleCircuit(rule.birth, rule.survive);
    const conway = rule.birth === CONWAY.birth && rule.survive === CONWAY.survive;
    rk = { key, compiled: compileCircuit(circuit, conway), module: simdModule(key, circuit) };
    ruleKernels.set(key, rk);
  }
  return rk;
}

/** Whether this runtime can run the WebAssembly SIMD kernel. */
export function simdAvailable(): boolean {
  return ruleKernel(CONWAY).module !== null;
}

export type LifeEngine = 'wasm' | 'js';

export interface LifeGridOptions {
  /** 'auto' (default): WebAssembly SIMD when available, else JavaScript. */
  engine?: LifeEngine | 'auto';
}

/** Bytes of memory above which a grid is refused (two buffers of this size are allocated). */
const MAX_BUFFER_BYTES = 1 << 30;

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

function checkDimension(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${String(value)})`);
}

/**
 * Row y of LifeGrid.random(width, height, density, seed): mulberry32 is a counter plus a hash, so cell
 * i (row-major) is hash(seed + (i + 1) * 0x6d2b79f5) and any row can be made on its own.
 */
export function randomRow(width: number, y: number, density: number, seed: number, out: Uint32Array | Int32Array): void {
  const threshold = density * 4294967296;
  // y * width < 2^31 (grids are at most 2^30 cells); imul keeps the low 32 bits of the product
  let a = ((seed >>> 0) + Math.imul(y * width, 0x6d2b79f5)) | 0;
  const words = Math.ceil(width / 32);
  for (let w = 0; w < words; w++) {
    const n = Math.min(32, width - w * 32);
    let word = 0;
    for (let b = 0; b < n; b++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      const r = (t ^ (t >>> 14)) >>> 0;
      if (r < threshold) word |= 1 << b;
    }
    out[w] = word;
  }
}

/**
 * A W x H grid of Life cells, one bit each, double-buffered. Cell (x, y) has 0 <= x < width (west to
 * east) and 0 <= y < height (north to south). With wrap = true (the default) the grid is a torus;
 * otherwise cells outside it are dead.
 */
export class LifeGrid {
  readonly width: number;
  readonly height: number;
  readonly wrap: boolean;
  readonly engine: LifeEngine;
  /** 32-bit words in a packed row as used by getRow/setRow/stepStrip: ceil(width / 32). */
  readonly rowWords: number;

  private readonly nvec: number;
  /** Row stride in 32-bit words (4 per 128-bit vector, plus ghost and padding vectors). */
  private readonly stride: number;
  /** Words in one buffer (rows -1 .. height). */
  private readonly bufferWords: number;
  private readonly memory: WasmMemory | null;
  private readonly m: Int32Array;
  /** Word offset of the current buffer. */
  private cur: number;
  private alt: number;
  private readonly simdSteps = new Map<string, SimdStep>();
  /** The WebAssembly row count over this grid's memory (undefined: not made yet; null: none, count in JavaScript). */
  private wasmCount: PopcountRows | null | undefined;

  private constructor(width: number, height: number, wrap: boolean, options: LifeGridOptions = {}) {
    checkDimension(width, 'width');
    checkDimension(height, 'height');
    if (typeof wrap !== 'boolean') throw new TypeError('wrap must be a boolean');
    this.width = width;
    this.height = height;
    this.wrap = wrap;
    this.rowWords = Math.ceil(width / 32);
    this.nvec = Math.ceil(width / 128);
    this.stride = 4 * (this.nvec + 2);
    this.bufferWords = (height + 2) * this.stride;
    if (this.bufferWords * 4 > MAX_BUFFER_BYTES) {
      throw new RangeError(`grid ${width}x${height} is too large (at most ${MAX_BUFFER_BYTES * 8} cells, counting row padding)`);
    }
    const wanted = options.engine ?? 'auto';
    if (wanted !== 'auto' && wanted !== 'wasm' && wanted !== 'js') throw new TypeError(`engine must be 'auto', 'wasm' or 'js' (got ${String(wanted)})`);
    const simd = wanted !== 'js' && simdAvailable();
    if (wanted === 'wasm' && !simd) throw new Error('engine wasm requested but this runtime has no WebAssembly SIMD');
    this.engine = simd ? 'wasm' : 'js';
    const bytes = 2 * this.bufferWords * 4;
    const api = wasmApi();
    if (simd && api !== null) {
      this.memory = new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
      this.m = new Int32Array(this.memory.buffer, 0, 2 * this.bufferWords);
    } else {
      this.memory = null;
      this.m = new Int32Array(2 * this.bufferWords);
    }
    this.cur = 0;
    this.alt = this.bufferWords;
  }

  static empty(width: number, height: number, wrap = true, options?: LifeGridOptions): LifeGrid {
    return new LifeGrid(width, height, wrap, options);
  }

  /**
   * Each cell independently alive with probability `density`, from the mulberry32 generator seeded with
   * `seed >>> 0`: cells are drawn row by row, west to east, and cell i (in that order) is alive when the
   * i-th 32-bit output is below density * 2^32. Same (size, density, seed) gives the same grid everywhere.
   */
  static random(width: number, height: number, density: number, seed: number, wrap = true, options?: LifeGridOptions): LifeGrid {
    if (typeof density !== 'number' || !(density >= 0 && density <= 1)) throw new RangeError(`density must be between 0 and 1 (got ${String(density)})`);
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer (got ${String(seed)})`);
    const g = new LifeGrid(width, height, wrap, options);
    const m = g.m;
    // row by row from randomRow, whose counter starts where the previous row's ended: the same cells
    for (let y = 0; y < height; y++) {
      const base = g.rowStart(g.cur, y);
      randomRow(width, y, density, seed, m.subarray(base, base + g.rowWords));
    }
    return g;
  }

  /** Word index of row y's first cell word in the buffer at `buf` (y may be -1 or height: ghost rows). */
  private rowStart(buf: number, y: number): number {
    return buf + (y + 1) * this.stride + 4;
  }

  private checkCell(x: number, y: number): void {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.width || y >= this.height) {
      throw new RangeError(`cell (${String(x)}, ${String(y)}) is outside the ${this.width}x${this.height} grid`);
    }
  }

  get(x: number, y: number): boolean {
    this.checkCell(x, y);
    return (((this.m[this.rowStart(this.cur, y) + (x >>> 5)] as number) >>> (x & 31)) & 1) === 1;
  }

  set(x: number, y: number, alive: boolean): void {
    this.checkCell(x, y);
    const i = this.rowStart(this.cur, y) + (x >>> 5);
    const bit = 1 << (x & 31);
    this.m[i] = alive ? (this.m[i] as number) | bit : (this.m[i] as number) & ~bit;
  }

  population(): number {
    return this.populationRows(0, this.height);
  }

  /** Live cells in rows [y0, y1). */
  populationRows(y0: number, y1: number): number {
    const from = Math.max(0, y0);
    const to = Math.min(this.height, y1);
    if (to <= from) return 0;
    if (this.wasmCount === undefined) this.wasmCount = this.memory === null ? null : popcountFunction(this.memory);
    if (this.wasmCount !== null) {
      return this.wasmCount(this.rowStart(this.cur, from) * 4, this.stride * 4, this.rowWords >>> 1, this.rowWords & 1, to - from);
    }
    let n = 0;
    const m = this.m;
    for (let y = from; y < to; y++) {
      const base = this.rowStart(this.cur, y);
      for (let w = 0; w < this.rowWords; w++) n += popcount32(m[base + w] as number);
    }
    return n;
  }

  /** Row y packed 32 cells per word (cell x is bit x & 31 of word x >> 5), bits past width zero. */
  getRow(y: number, out?: Uint32Array): Uint32Array {
    if (!Number.isInteger(y) || y < 0 || y >= this.height) throw new RangeError(`row ${String(y)} is outside the grid (height ${this.height})`);
    const row = out ?? new Uint32Array(this.rowWords);
    if (row.length < this.rowWords) throw new RangeError(`row buffer needs ${this.rowWords} words (got ${row.length})`);
    const base = this.rowStart(this.cur, y);
    for (let w = 0; w < this.rowWords; w++) row[w] = this.m[base + w] as number;
    return row;
  }

  /** Replaces row y from packed words (as getRow gives); bits past width are ignored. */
  setRow(y: number, words: ArrayLike<number>): void {
    if (!Number.isInteger(y) || y < 0 || y >= this.height) throw new RangeError(`row ${String(y)} is outside the grid (height ${this.height})`);
    this.writeRow(this.rowStart(this.cur, y), words);
  }

  private writeRow(base: number, words: ArrayLike<number>): void {
    if (words.length < this.rowWords) throw new RangeError(`a packed row of width ${this.width} needs ${this.rowWords} words (got ${words.length})`);
    // typed arrays (the usual case: rows from a checkpoint or a halo) copied natively, a row at a time
    if (words instanceof Uint32Array || words instanceof Int32Array) this.m.set(words.length === this.rowWords ? words : words.subarray(0, this.rowWords), base);
    else for (let w = 0; w < this.rowWords; w++) this.m[base + w] = (words[w] as number) | 0;
    const tail = this.width & 31;
    if (tail !== 0) this.m[base + this.rowWords - 1] = (this.m[base + this.rowWords - 1] as number) & ((1 << tail) - 1);
  }

  clone(): LifeGrid {
    const g = new LifeGrid(this.width, this.height, this.wrap, { engine: this.engine });
    g.m.set(this.m.subarray(this.cur, this.cur + this.bufferWords), g.cur);
    return g;
  }

  /** Same size and the same live cells (wrap and engine are not compared). */
  equals(other: LifeGrid): boolean {
    if (other.width !== this.width || other.height !== this.height) return false;
    for (let y = 0; y < this.height; y++) {
      const a = this.rowStart(this.cur, y);
      const b = other.rowStart(other.cur, y);
      for (let w = 0; w < this.rowWords; w++) if (this.m[a + w] !== other.m[b + w]) return false;
    }
    return true;
  }

  /** Advances the whole grid `generations` times (torus or bounded). */
  step(rule: LifeRule, generations = 1): void {
    if (!Number.isSafeInteger(generations) || generations < 0) throw new RangeError(`generations must be a non-negative integer (got ${String(generations)})`);
    const rk = ruleKernel(rule);
    for (let g = 0; g < generations; g++) {
      this.prepareRows(this.cur, 0, this.height - 1);
      const top = this.rowStart(this.cur, -1) - 4;
      const bottom = this.rowStart(this.cur, this.height) - 4;
      if (this.wrap) {
        this.m.copyWithin(top, this.rowStart(this.cur, this.height - 1) - 4, this.rowStart(this.cur, this.height - 1) - 4 + this.stride);
        this.m.copyWithin(bottom, this.rowStart(this.cur, 0) - 4, this.rowStart(this.cur, 0) - 4 + this.stride);
      } else {
        this.m.fill(0, top, top + this.stride);
        this.m.fill(0, bottom, bottom + this.stride);
      }
      this.kernel(rk);
    }
  }

  /**
   * Advances this strip one generation given the row just above it (`above`, the neighbour of row 0) and
   * the row just below it (`below`, the neighbour of row height-1), both packed as getRow gives them.
   */
  stepStrip(rule: LifeRule, above: ArrayLike<number>, below: ArrayLike<number>): void {
    const rk = ruleKernel(rule);
    const top = this.rowStart(this.cur, -1);
    const bottom = this.rowStart(this.cur, this.height);
    this.m.fill(0, top - 4, top - 4 + this.stride);
    this.m.fill(0, bottom - 4, bottom - 4 + this.stride);
    this.writeRow(top, above);
    this.writeRow(bottom, below);
    this.prepareRows(this.cur, -1, this.height);
    this.kernel(rk);
  }

  /** Ghost cells of rows y0..y1 (inclusive) of buffer `buf`: the west ghost bit and the east ghost bit. */
  private prepareRows(buf: number, y0: number, y1: number): void {
    const m = this.m;
    const W = this.width;
    const lastWord = (W - 1) >>> 5;
    const lastBit = (W - 1) & 31;
    const eastWord = W >>> 5;
    const eastBit = W & 31;
    const keep = eastBit === 0 ? 0 : (1 << eastBit) - 1;
    for (let y = y0; y <= y1; y++) {
      const base = this.rowStart(buf, y);
      m[base - 2] = 0;
      if (this.wrap) {
        m[base - 1] = (((m[base + lastWord] as number) >>> lastBit) & 1) << 31;
        m[base + eastWord] = ((m[base + eastWord] as number) & keep) | ((m[base] as number) & 1) << eastBit;
      } else {
        m[base - 1] = 0;
        m[base + eastWord] = (m[base + eastWord] as number) & keep;
      }
    }
  }

  /** One generation from the current buffer into the other one, then swap. Ghosts must be prepared. */
  private kernel(rk: RuleKernel): void {
    const src = this.rowStart(this.cur, 0);
    const dst = this.rowStart(this.alt, 0);
    if (this.memory !== null && rk.module !== null) {
      let fn = this.simdSteps.get(rk.key);
      if (!fn) {
        fn = simdStepFunction(rk.module, this.memory);
        this.simdSteps.set(rk.key, fn);
      }
      fn(src * 4, dst * 4, this.stride * 4, this.nvec, this.height);
    } else {
      stepJs(this.m, src, dst, this.stride, 4 * this.nvec, this.height, rk.compiled);
    }
    // clear the cells past the east edge that the kernel computed from ghosts
    const tail = this.width & 31;
    const used = this.rowWords;
    const total = 4 * this.nvec;
    if (tail !== 0 || used < total) {
      const mask = tail === 0 ? -1 : (1 << tail) - 1;
      for (let y = 0; y < this.height; y++) {
        const base = this.rowStart(this.alt, y);
        this.m[base + used - 1] = (this.m[base + used - 1] as number) & mask;
        for (let w = used; w < total; w++) this.m[base + w] = 0;
      }
    }
    const t = this.cur;
    this.cur = this.alt;
    this.alt = t;
  }
}
