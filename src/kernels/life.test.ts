import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONWAY, LifeGrid, parseRule, parseRuleSpec, RuleError, simdAvailable, type LifeEngine, type LifeRule } from './life.js';
import { parseRle, rleToGrid, toRle } from './rle.js';

const engines: LifeEngine[] = simdAvailable() ? ['wasm', 'js'] : ['js'];

// ---- plain reference: one byte per cell, neighbours counted one by one ----

function toBytes(g: LifeGrid): Uint8Array {
  const cells = new Uint8Array(g.width * g.height);
  for (let y = 0; y < g.height; y++) for (let x = 0; x < g.width; x++) cells[y * g.width + x] = g.get(x, y) ? 1 : 0;
  return cells;
}

function referenceStep(cells: Uint8Array, w: number, h: number, wrap: boolean, rule: LifeRule): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          let xx = x + dx;
          let yy = y + dy;
          if (wrap) {
            xx = (xx + w) % w;
            yy = (yy + h) % h;
          } else if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          n += cells[yy * w + xx] as number;
        }
      }
      const mask = cells[y * w + x] ? rule.survive : rule.birth;
      out[y * w + x] = (mask >> n) & 1;
    }
  }
  return out;
}

function place(g: LifeGrid, cells: [number, number][], ox: number, oy: number): void {
  for (const [x, y] of cells) g.set(x + ox, y + oy, true);
}
function liveCells(g: LifeGrid): string[] {
  const out: string[] = [];
  for (let y = 0; y < g.height; y++) for (let x = 0; x < g.width; x++) if (g.get(x, y)) out.push(`${x},${y}`);
  return out;
}

/** The 256 x 256 soup (density 0.5, seed 7) and the reference's generation 200, computed once. */
const soup256 = (() => {
  let start: Uint8Array | null = null;
  let end: Uint8Array | null = null;
  return {
    start: (): Uint8Array => (start ??= toBytes(LifeGrid.random(256, 256, 0.5, 7, true, { engine: 'js' }))),
    after200: (): Uint8Array => {
      if (!end) {
        let ref = soup256.start();
        for (let i = 0; i < 200; i++) ref = referenceStep(ref, 256, 256, true, CONWAY);
        end = ref;
      }
      return end;
    },
  };
})();

const GLIDER: [number, number][] = [[1, 0], [2, 1], [0, 2], [1, 2], [2, 2]];

describe('parseRule', () => {
  it('reads the usual notations and gives canonical text', () => {
    expect(parseRule('B3/S23')).toEqual(CONWAY);
    expect(parseRule('b3/s23').text).toBe('B3/S23');
    expect(parseRule('B3S23').text).toBe('B3/S23');
    expect(parseRule('S23/B3').text).toBe('B3/S23');
    expect(parseRule('23/3').text).toBe('B3/S23');
    expect(parseRule('B63/S32')).toEqual({ birth: (1 << 3) | (1 << 6), survive: (1 << 2) | (1 << 3), text: 'B36/S23' });
    expect(parseRule('B2/S')).toEqual({ birth: 4, survive: 0, text: 'B2/S' });
    expect(parseRule(' B3/S23:T2048,2048 ')).toEqual(CONWAY);
    expect(parseRuleSpec('B3/S23:T2048,1024').topology).toEqual({ kind: 'torus', width: 2048, height: 1024 });
    expect(parseRuleSpec('B36/S23:P10,20').topology).toEqual({ kind: 'plane', width: 10, height: 20 });
  });

  it('refuses what is not a Life-like rule, saying why', () => {
    const bad: [string, string][] = [
      ['', 'rule is empty'],
      ['B9/S23', 'birth counts must be digits 0-8 (got "9")'],
      ['B33/S23', 'birth count 3 is repeated'],
      ['B3/S2x', 'is not a Life-like rule'],
      ['Life', 'is not a Life-like rule'],
      ['B3/S23:K10,10', 'unsupported topology "K10,10"'],
      ['B3/S23:T0,10', 'at least 1x1'],
    ];
    for (const [text, message] of bad) {
      expect(() => parseRule(text)).toThrow(RuleError);
      expect(() => parseRule(text)).toThrow(message);
    }
  });
});

describe.each(engines)('LifeGrid (%s kernel)', (engine) => {
  it('oscillates a blinker with period 2, on a torus and bounded, across word edges', () => {
    for (const wrap of [true, false]) {
      for (const ox of [10, 30, 62, 126]) {
        const g = LifeGrid.empty(200, 20, wrap, { engine });
        place(g, [[0, 1], [1, 1], [2, 1]], ox, 5);
        const start = liveCells(g);
        g.step(CONWAY);
        expect(liveCells(g)).toEqual([`${ox + 1},5`, `${ox + 1},6`, `${ox + 1},7`]);
        g.step(CONWAY);
        expect(liveCells(g)).toEqual(start);
      }
    }
  });

  it('sends a glider across the torus edges and back to its shape and place after 4W generations', () => {
    for (const w of [8, 40, 64, 100, 128, 130]) {
      const g = LifeGrid.empty(w, w, true, { engine });
      place(g, GLIDER, w - 3, 1);
      const start = liveCells(g);
      g.step(CONWAY, 2 * w);
      expect(liveCells(g)).not.toEqual(start);
      expect(g.population()).toBe(5);
      g.step(CONWAY, 2 * w);
      expect(liveCells(g)).toEqual(start);
    }
  });

  it('lets a glider die against the edge of a bounded grid (it becomes a block)', () => {
    const g = LifeGrid.empty(20, 20, false, { engine });
    place(g, GLIDER, 10, 10);
    g.step(CONWAY, 80);
    expect(g.population()).toBe(4);
  });

  it('settles the R-pentomino at population 116 after 1103 generations on a bounded 1024 x 1024 grid', () => {
    // 1024 x 1024 keeps the six gliders off the edges: on a bounded 512 x 512 grid they hit it before
    // generation 1103 and the population there is 113.
    const g = LifeGrid.empty(1024, 1024, false, { engine });
    place(g, [[1, 0], [2, 0], [0, 1], [1, 1], [1, 2]], 512, 512);
    g.step(CONWAY, 1102);
    expect(g.population()).not.toBe(116);
    g.step(CONWAY, 1);
    expect(g.population()).toBe(116);
    g.step(CONWAY, 10);
    expect(g.population()).toBe(116);
  });

  it('gives birth on six neighbours under B36/S23 and not under B3/S23', () => {
    const six: [number, number][] = [[0, 0], [1, 0], [2, 0], [0, 2], [1, 2], [2, 2]];
    const conway = LifeGrid.empty(16, 16, true, { engine });
    const high = LifeGrid.empty(16, 16, true, { engine });
    place(conway, six, 5, 5);
    place(high, six, 5, 5);
    conway.step(CONWAY);
    high.step(parseRule('B36/S23'));
    expect(conway.get(6, 6)).toBe(false);
    expect(high.get(6, 6)).toBe(true);
    // HighLife's replicator copies itself; under Conway's rule the same cells die out
    const replicator: [number, number][] = [[2, 0], [3, 0], [4, 0], [1, 1], [4, 1], [0, 2], [4, 2], [0, 3], [3, 3], [0, 4], [1, 4], [2, 4]];
    const a = LifeGrid.empty(128, 128, false, { engine });
    const b = LifeGrid.empty(128, 128, false, { engine });
    place(a, replicator, 60, 60);
    place(b, replicator, 60, 60);
    a.step(parseRule('B36/S23'), 12);
    b.step(CONWAY, 12);
    expect(a.population()).toBe(24);
    expect(b.equals(a)).toBe(false);
  });

  it('equals a plain byte-per-cell reference cell for cell on a 256 x 256 random torus after 200 generations', () => {
    const g = LifeGrid.random(256, 256, 0.5, 7, true, { engine });
    expect(Buffer.from(toBytes(g)).equals(Buffer.from(soup256.start()))).toBe(true);
    g.step(CONWAY, 200);
    expect(Buffer.from(toBytes(g)).equals(Buffer.from(soup256.after200()))).toBe(true);
  });

  it('equals the reference for random sizes, rules, densities, torus or bounded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 511 }),
        fc.integer({ min: 0, max: 511 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (w, h, wrap, birth, survive, density, seed) => {
          const rule = { birth, survive, text: '' };
          const g = LifeGrid.random(w, h, density, seed, wrap, { engine });
          let ref = toBytes(g);
          for (let i = 0; i < 3; i++) {
            ref = referenceStep(ref, w, h, wrap, rule);
            g.step(rule);
            expect(toBytes(g)).toEqual(ref);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('steps strips with halo rows given from outside exactly like the whole grid', () => {
    for (const wrap of [true, false]) {
      const W = 300;
      const H = 90;
      const whole = LifeGrid.random(W, H, 0.45, 3, wrap, { engine });
      const cuts = [0, 1, 31, 60, H];
      const strips = cuts.slice(0, -1).map((y0, i) => {
        const s = LifeGrid.empty(W, (cuts[i + 1] as number) - y0, wrap, { engine });
        for (let y = 0; y < s.height; y++) s.setRow(y, whole.getRow(y0 + y));
        return s;
      });
      const zero = new Uint32Array(whole.rowWords);
      for (let gen = 0; gen < 5; gen++) {
        // halos: last row of the strip above, first row of the strip below (wrapping on a torus)
        const halos = strips.map((_, i) => {
          const up = strips[(i + strips.length - 1) % strips.length] as LifeGrid;
          const down = strips[(i + 1) % strips.length] as LifeGrid;
          return {
            above: !wrap && i === 0 ? zero : up.getRow(up.height - 1),
            below: !wrap && i === strips.length - 1 ? zero : down.getRow(0),
          };
        });
        strips.forEach((s, i) => s.stepStrip(CONWAY, halos[i]?.above ?? zero, halos[i]?.below ?? zero));
        whole.step(CONWAY);
        strips.forEach((s, i) => {
          for (let y = 0; y < s.height; y++) expect(s.getRow(y)).toEqual(whole.getRow((cuts[i] as number) + y));
        });
      }
    }
  });
});

describe('LifeGrid', () => {
  it('gives the same random grid for the same size, density and seed (mulberry32), on every engine', () => {
    const grids = engines.map((engine) => LifeGrid.random(100, 50, 0.3, 42, true, { engine }));
    for (const g of grids) expect(g.equals(grids[0] as LifeGrid)).toBe(true);
    expect(LifeGrid.random(100, 50, 0.3, 43).equals(grids[0] as LifeGrid)).toBe(false);
    const pop = (grids[0] as LifeGrid).population();
    expect(pop).toBeGreaterThan(1200);
    expect(pop).toBeLessThan(1800);
    expect(LifeGrid.random(10, 10, 1, 1).population()).toBe(100);
    expect(LifeGrid.random(10, 10, 0, 1).population()).toBe(0);
  });

  it('counts live cells of any rows alike on every engine (WebAssembly popcount: even and odd words per row), after steps too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -2, max: 45 }), fc.integer({ min: -2, max: 45 }), (w, h, d, steps, y0, y1) => {
        const grids = engines.map((engine) => LifeGrid.random(w, h, d, 7, true, { engine }));
        for (const g of grids) g.step(CONWAY, steps);
        const g0 = grids[0] as LifeGrid;
        // the reference: one cell at a time
        let want = 0;
        for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) for (let x = 0; x < w; x++) want += g0.get(x, y) ? 1 : 0;
        for (const g of grids) expect(g.populationRows(y0, y1)).toBe(want);
      }),
      { numRuns: 60 },
    );
    const full = LifeGrid.random(2048, 64, 1, 1);
    expect(full.population()).toBe(2048 * 64);
    expect(full.populationRows(10, 11)).toBe(2048);
  });

  it('refuses bad sizes, cells, densities and rows', () => {
    expect(() => LifeGrid.empty(0, 5)).toThrow('width must be a positive integer (got 0)');
    expect(() => LifeGrid.empty(5, 2.5)).toThrow('height must be a positive integer (got 2.5)');
    expect(() => LifeGrid.empty(1 << 20, 1 << 20)).toThrow('too large');
    expect(() => LifeGrid.random(5, 5, 1.5, 1)).toThrow('density must be between 0 and 1');
    const g = LifeGrid.empty(10, 10);
    expect(() => g.get(10, 0)).toThrow('cell (10, 0) is outside the 10x10 grid');
    expect(() => g.set(-1, 0, true)).toThrow(RangeError);
    expect(() => g.setRow(0, [])).toThrow('needs 1 words');
    expect(() => g.step(CONWAY, -1)).toThrow('generations must be a non-negative integer');
  });
});

// ---- bgolly (Golly's command line) as an independent yardstick ----

function hasBgolly(): boolean {
  const r = spawnSync('bgolly', ['--help'], { encoding: 'utf8' });
  return r.error === undefined;
}
const bgolly = hasBgolly();
const inCi = process.env['CI'] === 'true';

describe('against bgolly (QuickLife)', () => {
  it.skipIf(!bgolly && !inCi)('gives the same 256 x 256 torus soup as bgolly -a QuickLife -m 200, and writes RLE as Golly does', () => {
    expect(bgolly, 'bgolly (Debian package golly) must be installed in CI').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'bramble-life-'));
    try {
      const g = LifeGrid.random(256, 256, 0.5, 11);
      const input = join(dir, 'soup.rle');
      const output = join(dir, 'out.rle');
      writeFileSync(input, toRle(g, CONWAY));
      const r = spawnSync('bgolly', ['-a', 'QuickLife', '-m', '200', '-q', '-q', '-o', output, input], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const golly = readFileSync(output, 'utf8');
      g.step(CONWAY, 200);
      const p = parseRle(golly);
      // bgolly writes the live cells' bounding box; on a torus it places the grid's corner at (0, 0)
      expect([p.width, p.height]).toEqual([256, 256]);
      expect(rleToGrid(p).equals(g)).toBe(true);
      expect(toRle(g, CONWAY)).toBe(golly);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
