import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONWAY, LifeGrid } from './life.js';
import { LifeStrip, patternRow, pieceDeflateLevel, randomRow } from './life-strip.js';
import { parseRle, rleToGrid, RleRowWriter, toRle } from './rle.js';

describe('LifeStrip', () => {
  it('makes any row of a random soup on its own, the same cells as LifeGrid.random', () => {
    const g = LifeGrid.random(77, 50, 0.37, 123);
    const row = new Uint32Array(g.rowWords);
    for (const y of [0, 1, 31, 49]) {
      randomRow(77, y, 0.37, 123, row);
      expect([...row]).toEqual([...g.getRow(y)]);
    }
  });

  it('places a pattern row by row as placePattern does', () => {
    const rle = 'x = 3, y = 3\nb2o$2o$bo!';
    const g = rleToGrid(rle, { width: 40, height: 21 });
    const row = new Uint32Array(g.rowWords);
    for (let y = 0; y < 21; y++) {
      patternRow(40, 21, parseRle(rle), y, row);
      expect([...row]).toEqual([...g.getRow(y)]);
    }
  });

  it('places any pattern at any offset word by word as placePattern does cell by cell', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 90 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 1000 }), (pw, ph, extraW, extraH, seed) => {
        const pattern = parseRle(toRle(LifeGrid.random(pw, ph, 0.6, seed, false), CONWAY, { topology: false }));
        const width = pw + extraW;
        const height = ph + extraH;
        const g = rleToGrid(pattern, { width, height });
        const row = new Uint32Array(g.rowWords);
        for (let y = 0; y < height; y++) {
          patternRow(width, height, pattern, y, row);
          expect([...row]).toEqual([...g.getRow(y)]);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('stores dense checkpoint pieces (random bits) and deflates sparse ones', () => {
    const dense = LifeGrid.random(256, 8, 0.5, 1);
    const words = new Uint32Array(8 * dense.rowWords);
    for (let y = 0; y < 8; y++) dense.getRow(y, words.subarray(y * dense.rowWords, (y + 1) * dense.rowWords));
    expect(pieceDeflateLevel(words)).toBe(0);
    words.fill(0, 8);
    expect(pieceDeflateLevel(words)).toBe(1);
  });

  it('strips with k-deep ghost rows, swapped every k generations, give the whole grid exactly (torus)', () => {
    const [W, H, k, G] = [70, 60, 5, 40];
    const whole = LifeGrid.random(W, H, 0.4, 8);
    const cuts = [0, 13, 30, 60];
    const strips = cuts.slice(0, -1).map((y0, i) => {
      const s = new LifeStrip({ width: W, height: H, torus: true, y0, rows: (cuts[i + 1] as number) - y0, kt: k, kb: k });
      s.fill((y, out) => randomRow(W, y, 0.4, 8, out));
      return s;
    });
    for (let g = 0; g < G; g += k) {
      for (const s of strips) for (let i = 0; i < k; i++) s.step(CONWAY);
      const tops = strips.map((s) => s.innerRows(0, k));
      const bottoms = strips.map((s) => s.innerRows(s.o.rows - k, k));
      strips.forEach((s, i) => s.setGhosts(bottoms[(i + strips.length - 1) % strips.length] as Uint32Array, tops[(i + 1) % strips.length] as Uint32Array));
    }
    whole.step(CONWAY, G);
    const got = LifeGrid.empty(W, H);
    strips.forEach((s) => {
      const rows = s.innerRows(0, s.o.rows);
      for (let r = 0; r < s.o.rows; r++) got.setRow(s.o.y0 + r, rows.subarray(r * s.rowWords, (r + 1) * s.rowWords));
    });
    expect(got.equals(whole)).toBe(true);
    expect(strips.reduce((a, s) => a + s.population(), 0)).toBe(whole.population());
  });
});

describe('RleRowWriter', () => {
  it('writes row by row the same RLE as toRle (torus and bounded)', () => {
    for (const wrap of [true, false]) {
      const g = LifeGrid.random(150, 40, 0.3, 5, wrap);
      for (let y = 10; y < 20; y++) g.setRow(y, new Uint32Array(g.rowWords)); // blank rows in the middle
      const w = new RleRowWriter(150, 40, 'B3/S23', wrap);
      let text = w.header();
      for (let y = 0; y < 40; y++) text += w.row(g.getRow(y));
      text += w.end();
      expect(text).toBe(toRle(g, CONWAY));
    }
  });
});

describe('LifeStrip.preview', () => {
  it('maps density by block: a full left half reads nearly 255 there and 0 on the right, for narrow and wide maps', () => {
    for (const cols of [8, 64, 200]) {
      const s = new LifeStrip({ width: 200, height: 10, torus: true, y0: 0, rows: 10, kt: 0, kb: 0 });
      s.fill((_y, out) => {
        out.fill(0);
        for (let x = 0; x < 100; x++) out[x >>> 5] = (out[x >>> 5] as number) | (1 << (x & 31));
      });
      const map = s.preview(cols, 2);
      // a byte of 8 cells is shared evenly by the columns it touches: close to, not exactly, the density
      expect(map[0]).toBeGreaterThan(200);
      expect(map[cols - 1]).toBe(0);
      expect(map[cols + 1]).toBeGreaterThan(200);
    }
  });
});
