// One strip of a distributed Life grid: rows [y0, y0+rows) of a W x H grid plus `kt` ghost rows above
// and `kb` below (ghost zones). Stepping n <= k generations with zeros beyond the ghost rows leaves the
// inner rows exact (an error moves one row per generation and starts k rows out); then the first and
// last k inner rows go to the neighbours and their rows come back as the new ghosts. At the outer edge
// of a bounded grid a strip has no ghost rows on that side: beyond it every cell is dead, always.
// Pure: no I/O. The cells of a random soup or a pattern are made here from the job's parameters, so
// the head never builds the grid.

import { LifeGrid, type LifeRule } from './life.js';

export { randomRow } from './life.js';
import type { RlePattern } from './rle.js';

export interface LifeStripOptions {
  width: number;
  height: number;
  torus: boolean;
  y0: number;
  rows: number;
  kt: number;
  kb: number;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}


/** Row y of a grid holding `pattern` centred as placePattern puts it (all zero outside the pattern). */
export function patternRow(width: number, height: number, pattern: RlePattern, y: number, out: Uint32Array): void {
  out.fill(0);
  const ox = Math.floor((width - pattern.width) / 2);
  const oy = Math.floor((height - pattern.height) / 2);
  const py = y - oy;
  if (py < 0 || py >= pattern.height) return;
  const pw = Math.ceil(pattern.width / 32);
  const rowWords = Math.ceil(width / 32);
  // the pattern's words shifted into place: a word at a time (bits past the pattern's width are zero)
  const w0 = ox >>> 5;
  const sh = ox & 31;
  const base = py * pw;
  if (sh === 0) {
    // word-aligned (an offset that is a multiple of 32, as for a pattern as wide as the grid): the row copied natively
    out.set(pattern.bits.subarray(base, base + Math.min(pw, rowWords - w0)), w0);
    return;
  }
  for (let w = 0; w < pw; w++) {
    const v = pattern.bits[base + w] as number;
    if (v === 0) continue;
    out[w0 + w] = (out[w0 + w] as number) | (v << sh);
    if (w0 + w + 1 < rowWords) out[w0 + w + 1] = (out[w0 + w + 1] as number) | (v >>> (32 - sh));
  }
}

/**
 * The deflate level for a checkpoint piece of packed rows: 0 (stored) when most of its words hold live
 * cells (a random soup's bits do not compress, and level 1 spends 7x the time finding that out), else 1.
 */
export function pieceDeflateLevel(words: Uint32Array): 0 | 1 {
  let live = 0;
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) live++;
  return live * 2 > words.length ? 0 : 1;
}

export class LifeStrip {
  readonly grid: LifeGrid;
  readonly rowWords: number;
  /** Rows held: kt + rows + kb. */
  readonly extent: number;
  private readonly zero: Uint32Array;
  private readonly row: Uint32Array;

  constructor(readonly o: LifeStripOptions) {
    if (o.rows < 1 || o.y0 < 0 || o.y0 + o.rows > o.height) throw new RangeError(`strip rows [${o.y0}, ${o.y0 + o.rows}) outside a grid of height ${o.height}`);
    this.extent = o.kt + o.rows + o.kb;
    this.grid = LifeGrid.empty(o.width, this.extent, o.torus);
    this.rowWords = this.grid.rowWords;
    this.zero = new Uint32Array(this.rowWords);
    this.row = new Uint32Array(this.rowWords);
  }

  /** Grid row of held row j (ghosts included), wrapped on a torus. */
  globalRow(j: number): number {
    const y = this.o.y0 - this.o.kt + j;
    return ((y % this.o.height) + this.o.height) % this.o.height;
  }

  /** Fills every held row from a row maker (random soup, pattern). */
  fill(make: (y: number, out: Uint32Array) => void): void {
    for (let j = 0; j < this.extent; j++) {
      make(this.globalRow(j), this.row);
      this.grid.setRow(j, this.row);
    }
  }

  /** Sets grid rows [y, y+n) from packed words (every held position of each row: ghosts too). */
  setRows(y: number, n: number, words: Uint32Array): void {
    const H = this.o.height;
    const first = this.o.y0 - this.o.kt;
    for (let r = 0; r < n; r++) {
      const gy = y + r;
      // held rows j with first + j = gy (mod H)
      let j = (((gy - first) % H) + H) % H;
      for (; j < this.extent; j += H) this.grid.setRow(j, words.subarray(r * this.rowWords, (r + 1) * this.rowWords));
    }
  }

  /** Inner rows [from, from+n) (0 = the strip's first row) as packed words. */
  innerRows(from: number, n: number): Uint32Array {
    const out = new Uint32Array(n * this.rowWords);
    for (let r = 0; r < n; r++) this.grid.getRow(this.o.kt + from + r, out.subarray(r * this.rowWords, (r + 1) * this.rowWords));
    return out;
  }

  /** Replaces the ghost rows: `above` holds kt rows, `below` kb rows. */
  setGhosts(above: Uint32Array | null, below: Uint32Array | null): void {
    const w = this.rowWords;
    if (above) for (let r = 0; r < this.o.kt; r++) this.grid.setRow(r, above.subarray(r * w, (r + 1) * w));
    if (below) for (let r = 0; r < this.o.kb; r++) this.grid.setRow(this.o.kt + this.o.rows + r, below.subarray(r * w, (r + 1) * w));
  }

  /** One generation of the held rows, zeros beyond them (exact for the inner rows while n <= k). */
  step(rule: LifeRule): void {
    this.grid.stepStrip(rule, this.zero, this.zero);
  }

  /** Live cells of the inner rows. */
  population(): number {
    return this.grid.populationRows(this.o.kt, this.o.kt + this.o.rows);
  }

  /** Density map of the inner rows, cols x rows bytes (0: empty block, 255: full). */
  preview(cols: number, rows: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(cols * rows);
    const counts = new Float64Array(cols * rows);
    const W = this.o.width;
    const R = this.o.rows;
    // at most 4 sampled rows per map row: a picture, not a census (a strip can have thousands of rows)
    const every = Math.max(1, Math.floor(R / (rows * 4)));
    for (let r = 0; r < R; r += every) {
      this.grid.getRow(this.o.kt + r, this.row);
      const py = Math.min(rows - 1, Math.floor((r * rows) / R));
      for (let w = 0; w < this.rowWords; w++) {
        const v = this.row[w] as number;
        if (v === 0) continue;
        // byte by byte (8 cells): a word spans several columns of a narrow grid's map
        for (let b = 0; b < 4; b++) {
          const byte = (v >>> (8 * b)) & 0xff;
          if (byte === 0) continue;
          const x = w * 32 + b * 8;
          const c0 = Math.min(cols - 1, Math.floor((x * cols) / W));
          const c1 = Math.min(cols - 1, Math.floor(((x + 7) * cols) / W));
          const share = popcount32(byte) / (c1 - c0 + 1);
          for (let c = c0; c <= c1; c++) counts[py * cols + c] = (counts[py * cols + c] as number) + share;
        }
      }
    }
    const area = (W / cols) * (R / rows / every);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.round((255 * (counts[i] as number)) / Math.max(1, area)));
    return out;
  }
}
