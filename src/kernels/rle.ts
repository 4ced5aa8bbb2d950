// Run Length Encoded Life patterns, read and written as Golly does. Pure: text in, text out.
//
//   #N Glider               comment lines start with '#', before the header
//   x = 3, y = 3, rule = B3/S23
//   bo$2bo$3o!              runs: [count]b dead, [count]o alive, [count]$ end of row(s), ! end
//
// Reading accepts the header's rule with a Golly topology suffix (B3/S23:T2048,2048), whitespace and line
// breaks anywhere between runs, '.' for a dead cell, and refuses anything else naming line and column.
// Patterns larger than `maxCells` (header x * y) are refused before anything is allocated.

import { readRunsFast } from './rle-wasm.js';
import { LifeGrid, parseRuleSpec, type LifeGridOptions, type LifeRule, type LifeTopology, RuleError } from './life.js';

export class RleError extends Error {
  override readonly name = 'RleError';
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number, options?: { cause?: unknown }) {
    super(`line ${line}, column ${column}: ${message}`, options);
    this.line = line;
    this.column = column;
  }
}

/** Bodies at least this long are read by the WebAssembly loop first (rle-wasm.ts). */
const FAST_BYTES = 4096;

/** Default bound on header x * y: 2^28 cells (a 16384 x 16384 grid). */
export const DEFAULT_MAX_RLE_CELLS = 1 << 28;

export interface RleParseOptions {
  /** Refuse patterns whose header x * y exceeds this (default 2^28). */
  maxCells?: number;
  /** false: read the runs in JavaScript only, never in WebAssembly (tests compare the two). */
  wasm?: boolean;
}

export interface RlePattern {
  width: number;
  height: number;
  /** The header's rule text as written, or undefined when the header has none. */
  rule?: string;
  /** The parsed rule (undefined when the header has none). */
  parsedRule?: LifeRule;
  /** Topology suffix of the header's rule (e.g. :T2048,2048), if any. */
  topology?: LifeTopology;
  /** Comment lines, without the leading '#'. */
  comments: string[];
  /** Live cells, row by row: ceil(width / 32) words per row, cell x at bit x & 31 of word x >> 5. */
  bits: Uint32Array;
  /** Number of live cells. */
  population: number;
  /** Live cells as [x, y] pairs, row by row (generated on demand from `bits`). */
  cells: Iterable<[number, number]>;
}

function* liveCells(bits: Uint32Array, width: number, height: number): Generator<[number, number]> {
  const rw = Math.ceil(width / 32);
  for (let y = 0; y < height; y++) {
    for (let w = 0; w < rw; w++) {
      let word = bits[y * rw + w] as number;
      while (word !== 0) {
        const b = 31 - Math.clz32(word & -word);
        yield [w * 32 + b, y];
        word &= word - 1;
      }
    }
  }
}

/** Cells [x0, x1) of the row starting at word `base` set, a word at a time. */
function setRun(bits: Uint32Array, base: number, x0: number, x1: number): void {
  let w = x0 >>> 5;
  const last = (x1 - 1) >>> 5;
  const lo = ~0 << (x0 & 31);
  const hi = ~0 >>> (31 - ((x1 - 1) & 31));
  if (w === last) {
    bits[base + w] = (bits[base + w] as number) | (lo & hi);
    return;
  }
  bits[base + w] = (bits[base + w] as number) | lo;
  for (w++; w < last; w++) bits[base + w] = ~0;
  bits[base + last] = (bits[base + last] as number) | hi;
}

/** The length of the line break at `i` (LF, CR or CRLF: 1, 1, 2), 0 where there is none. */
function breakAt(text: string, i: number): number {
  const ch = text.charCodeAt(i);
  return ch === 10 ? 1 : ch === 13 ? (text.charCodeAt(i + 1) === 10 ? 2 : 1) : 0;
}

/** Lines up to and including the first that is neither blank nor a comment (the header), and one more if any. */
function headLines(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let e = i;
    while (e < text.length && breakAt(text, e) === 0) e++;
    const line = text.slice(i, e);
    out.push(line);
    if (e >= text.length) break;
    i = e + breakAt(text, e);
    if (!/^\s*$/.test(line) && !line.startsWith('#')) break;
  }
  return out;
}

/** Line and column (1-based) of offset `at` in `text`, line breaks as parseRle counts them (LF, CR, CRLF). */
function lineAndColumn(text: string, at: number): [number, number] {
  let line = 1;
  let start = 0;
  for (let i = 0; i < at; i++) {
    const n = breakAt(text, i);
    if (n > 0) {
      i += n - 1;
      line++;
      start = i + 1;
    }
  }
  return [line, at - start + 1];
}

/** Offset of the text just after line `li` (0-based) and its line break. */
function headerEnd(text: string, li: number): number {
  let i = 0;
  for (let l = 0; l <= li; l++) {
    while (i < text.length && breakAt(text, i) === 0) i++;
    if (i >= text.length) return text.length;
    i += breakAt(text, i);
  }
  return i;
}

const HEADER = /^x\s*=\s*(\d+)\s*,\s*y\s*=\s*(\d+)\s*(?:,\s*rule\s*=\s*(.*?))?\s*$/i;

export function parseRle(text: string, options: RleParseOptions = {}): RlePattern {
  if (typeof text !== 'string') throw new TypeError('RLE text must be a string');
  const maxCells = options.maxCells ?? DEFAULT_MAX_RLE_CELLS;
  // the comment and header lines only: the runs after them are read in one pass without splitting
  const lines = headLines(text);
  const comments: string[] = [];
  let li = 0;
  while (li < lines.length && (/^\s*$/.test(lines[li] ?? '') || (lines[li] ?? '').startsWith('#'))) {
    const l = lines[li] ?? '';
    if (l.startsWith('#')) comments.push(l.slice(1));
    li++;
  }
  if (li >= lines.length) throw new RleError("no header line (expected 'x = <width>, y = <height>, rule = <rule>')", li, 1);
  const headerLine = lines[li] ?? '';
  const h = HEADER.exec(headerLine.trim());
  if (!h) throw new RleError(`bad header ${JSON.stringify(headerLine.slice(0, 80))} (expected 'x = <width>, y = <height>, rule = <rule>')`, li + 1, 1);
  const width = Number(h[1]);
  const height = Number(h[2]);
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width * height > maxCells) {
    throw new RleError(`pattern ${h[1]} x ${h[2]} is larger than the limit of ${maxCells} cells`, li + 1, 1);
  }
  const pattern: RlePattern = { width, height, comments, bits: new Uint32Array(0), population: 0, cells: [] };
  const ruleText = h[3];
  if (ruleText !== undefined && ruleText.length > 0) {
    try {
      const spec = parseRuleSpec(ruleText);
      pattern.rule = ruleText;
      pattern.parsedRule = spec.rule;
      if (spec.topology) pattern.topology = spec.topology;
    } catch (err) {
      if (err instanceof RuleError) throw new RleError(err.message, li + 1, headerLine.indexOf(ruleText) + 1, { cause: err });
      throw err;
    }
  }
  const from = headerEnd(text, li);
  // a big body in WebAssembly when it is valid; else (or without WebAssembly) in JavaScript
  const runs = (options.wasm !== false && text.length - from >= FAST_BYTES ? readRunsFast(text.slice(from), width, height) : null) ?? readRuns(text, from, width, height, comments);
  pattern.bits = runs.bits;
  pattern.population = runs.population;
  pattern.cells = { [Symbol.iterator]: () => liveCells(runs.bits, width, height) };
  return pattern;
}

/**
 * The runs after the header (from offset `i`) in one pass, the common case first; an error's line and
 * column are found from its offset (`at`), so the loop keeps offsets only. Comment lines among the
 * runs go to `comments`.
 */
function readRuns(text: string, i: number, width: number, height: number, comments: string[]): { bits: Uint32Array; population: number } {
  const rw = Math.ceil(width / 32);
  const bits = new Uint32Array(rw * height);
  let lineStart = i;
  let x = 0;
  let y = 0;
  let base = 0;
  let count = -1;
  let countAt = 0;
  let population = 0;
  const n = text.length;
  const at = (offset: number): [number, number] => lineAndColumn(text, offset);
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch >= 48 && ch <= 57) {
      if (count < 0) {
        count = 0;
        countAt = i;
      }
      count = count * 10 + (ch - 48);
      if (count > 1e12) throw new RleError('run count is too large', ...at(countAt));
      i++;
      continue;
    }
    if (ch === 98 /* b */ || ch === 111 /* o */ || ch === 36 /* $ */ || ch === 46 /* . */) {
      // errors point at the start of the run (its count, if it has one)
      let run = 1;
      let runAt = i;
      if (count >= 0) {
        if (count === 0) throw new RleError('run count 0', ...at(countAt));
        run = count;
        runAt = countAt;
        count = -1;
      }
      if (ch === 111) {
        if (y >= height || x + run > width) {
          throw new RleError(`live cells at x = ${x}..${x + run - 1}, y = ${y} fall outside the header's ${width} x ${height}`, ...at(runAt));
        }
        if (run === 1) {
          const k = base + (x >>> 5);
          bits[k] = (bits[k] as number) | (1 << (x & 31));
        } else setRun(bits, base, x, x + run);
        population += run;
        x += run;
      } else if (ch === 36) {
        y += run;
        base = y * rw;
        x = 0;
      } else x += run;
      i++;
      continue;
    }
    if (ch === 10 || ch === 13) {
      i += breakAt(text, i);
      lineStart = i;
      continue;
    }
    if (ch === 32 || ch === 9) {
      i++;
      continue;
    }
    if (ch === 35 /* # */ && i === lineStart && count < 0 && x === 0) {
      let e = i;
      while (e < n && text.charCodeAt(e) !== 10 && text.charCodeAt(e) !== 13) e++;
      comments.push(text.slice(i + 1, e));
      i = e;
      continue;
    }
    if (ch === 33 /* ! */) {
      if (count === 0) throw new RleError('run count 0', ...at(countAt));
      count = -1;
      break;
    }
    throw new RleError(`unexpected ${JSON.stringify(text[i])} (expected a run count, b, o, $ or !)`, ...at(i));
  }
  if (count >= 0) throw new RleError('run count without a cell state', ...at(countAt));
  return { bits, population };
}

/**
 * Puts a pattern's live cells into a grid with its top-left corner at (x0, y0) — by default centred:
 * x0 = floor((grid.width - pattern.width) / 2), likewise y0. Refuses a pattern that does not fit.
 */
export function placePattern(grid: LifeGrid, pattern: RlePattern, x0?: number, y0?: number): void {
  const ox = x0 ?? Math.floor((grid.width - pattern.width) / 2);
  const oy = y0 ?? Math.floor((grid.height - pattern.height) / 2);
  if (!Number.isInteger(ox) || !Number.isInteger(oy) || ox < 0 || oy < 0 || ox + pattern.width > grid.width || oy + pattern.height > grid.height) {
    throw new RangeError(`pattern ${pattern.width} x ${pattern.height} does not fit the ${grid.width} x ${grid.height} grid at (${ox}, ${oy})`);
  }
  for (const [x, y] of pattern.cells) grid.set(x + ox, y + oy, true);
}

export interface RleGridOptions extends RleParseOptions, LifeGridOptions {
  /** Grid size; default: the header's topology suffix, else the pattern's own size. */
  width?: number;
  height?: number;
  /** Torus or bounded; default: from the topology suffix (T torus, P bounded), else torus. */
  wrap?: boolean;
}

/** A grid holding the pattern, centred (see placePattern). */
export function rleToGrid(source: string | RlePattern, options: RleGridOptions = {}): LifeGrid {
  const p = typeof source === 'string' ? parseRle(source, options) : source;
  const width = options.width ?? p.topology?.width ?? p.width;
  const height = options.height ?? p.topology?.height ?? p.height;
  const wrap = options.wrap ?? (p.topology ? p.topology.kind === 'torus' : true);
  const grid = LifeGrid.empty(Math.max(1, width), Math.max(1, height), wrap, options);
  placePattern(grid, p);
  return grid;
}

export interface RleWriteOptions {
  /** Written as '#C' lines before the header. */
  comments?: string[];
  /** Append Golly's topology suffix (:Tw,h for a torus, :Pw,h for a bounded grid); default true. */
  topology?: boolean;
}

const LINE = 70;

/** ASCII output buffer for the writer (string concatenation is several times slower on big grids). */
class AsciiWriter {
  private buf = new Uint8Array(1 << 16);
  private pos = 0;
  /** Characters on the current line. */
  lineLength = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  /** A run item ("12o", "b", "3$"), starting a new line first if it would pass LINE characters. */
  item(n: number, tag: number): void {
    const digits = n > 1 ? (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length) : 0;
    const len = digits + 1;
    this.ensure(len + 1);
    if (this.lineLength + len > LINE) {
      this.buf[this.pos++] = 10;
      this.lineLength = 0;
    }
    if (digits > 0) {
      let p = this.pos + digits;
      let v = n;
      while (v > 0) {
        const q = Math.floor(v / 10);
        this.buf[--p] = 48 + (v - q * 10);
        v = q;
      }
    }
    this.pos += digits;
    this.buf[this.pos++] = tag;
    this.lineLength += len;
  }
  text(): string {
    return new TextDecoder().decode(this.buf.subarray(0, this.pos));
  }
  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }
  /** The text written so far, emptying the buffer (the line position is kept). */
  take(): string {
    const t = this.text();
    this.pos = 0;
    return t;
  }
}

const TAG_DEAD = 98; // b
const TAG_ALIVE = 111; // o
const TAG_ROW = 36; // $
const TAG_END = 33; // !

/**
 * The whole grid as RLE, header x and y being the grid's size (so a round trip keeps the size and
 * position), the rule with the grid's topology suffix, lines of at most 70 characters, runs never split
 * across lines: byte for byte what Golly writes for a pattern filling its bounded grid.
 */
export function toRle(grid: LifeGrid, rule: LifeRule | string, options: RleWriteOptions = {}): string {
  const ruleBase = typeof rule === 'string' ? parseRuleSpec(rule).rule.text : rule.text;
  const topo = options.topology === false ? '' : `:${grid.wrap ? 'T' : 'P'}${grid.width},${grid.height}`;
  const head: string[] = [];
  for (const c of options.comments ?? []) {
    for (const l of c.split(/\r\n|\n|\r/)) head.push(`#C ${l}`);
  }
  head.push(`x = ${grid.width}, y = ${grid.height}, rule = ${ruleBase}${topo}`);
  const out = new AsciiWriter();
  const row = new Uint32Array(grid.rowWords);
  let pendingRows = 0;
  for (let y = 0; y < grid.height; y++) {
    grid.getRow(y, row);
    let x = 0;
    let first = true;
    while (x < grid.width) {
      // next live cell at or after x
      let w = x >>> 5;
      let word = (row[w] as number) & (~0 << (x & 31));
      while (word === 0 && ++w < grid.rowWords) word = row[w] as number;
      if (word === 0) break;
      const start = w * 32 + (31 - Math.clz32(word & -word));
      // end of the live run: next dead cell
      let ew = start >>> 5;
      let inv = ~(row[ew] as number) & (~0 << (start & 31));
      while (inv === 0 && ++ew < grid.rowWords) inv = ~(row[ew] as number);
      const end = inv === 0 ? grid.width : Math.min(grid.width, ew * 32 + (31 - Math.clz32(inv & -inv)));
      if (first) {
        if (pendingRows > 0) out.item(pendingRows, TAG_ROW);
        pendingRows = 0;
        first = false;
      }
      if (start > x) out.item(start - x, TAG_DEAD);
      out.item(end - start, TAG_ALIVE);
      x = end;
    }
    pendingRows++;
  }
  out.item(1, TAG_END);
  return head.join('\n') + '\n' + out.text() + '\n';
}

/** Run items of one packed row (as LifeGrid.getRow gives it) into `out`; returns whether it had a live cell. */
function rowItems(out: AsciiWriter, row: ArrayLike<number>, width: number, rowWords: number, pendingRows: number): boolean {
  let x = 0;
  let first = true;
  while (x < width) {
    let w = x >>> 5;
    let word = (row[w] as number) & (~0 << (x & 31));
    while (word === 0 && ++w < rowWords) word = row[w] as number;
    if (word === 0) break;
    const start = w * 32 + (31 - Math.clz32(word & -word));
    let ew = start >>> 5;
    let inv = ~(row[ew] as number) & (~0 << (start & 31));
    while (inv === 0 && ++ew < rowWords) inv = ~(row[ew] as number);
    const end = inv === 0 ? width : Math.min(width, ew * 32 + (31 - Math.clz32(inv & -inv)));
    if (first) {
      if (pendingRows > 0) out.item(pendingRows, TAG_ROW);
      first = false;
    }
    if (start > x) out.item(start - x, TAG_DEAD);
    out.item(end - start, TAG_ALIVE);
    x = end;
  }
  return !first;
}

/**
 * The same RLE as toRle, written row by row as the rows come (a grid that is never whole in one
 * place: the distributed Life job's final grid, streamed from its checkpoint): `header()`, then
 * `row(words)` for each row top to bottom, then `end()`; each returns the text ready so far.
 */
export class RleRowWriter {
  private readonly out = new AsciiWriter();
  private pendingRows = 0;
  private readonly rowWords: number;
  constructor(
    readonly width: number,
    readonly height: number,
    private readonly rule: string,
    private readonly wrap: boolean,
  ) {
    this.rowWords = Math.ceil(width / 32);
  }
  header(): string {
    const ruleBase = parseRuleSpec(this.rule).rule.text;
    return `x = ${this.width}, y = ${this.height}, rule = ${ruleBase}:${this.wrap ? 'T' : 'P'}${this.width},${this.height}\n`;
  }
  row(words: ArrayLike<number>): string {
    if (rowItems(this.out, words, this.width, this.rowWords, this.pendingRows)) this.pendingRows = 0;
    this.pendingRows++;
    return this.out.length >= 1 << 15 ? this.out.take() : '';
  }
  end(): string {
    this.out.item(1, TAG_END);
    return this.out.take() + '\n';
  }
}
