import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CONWAY, LifeGrid, parseRule } from './life.js';
import { parseRle, placePattern, rleToGrid, RleError, toRle } from './rle.js';
import { readRunsFast } from './rle-wasm.js';

const GLIDER_RLE = `#N Glider
#C The smallest spaceship.
x = 3, y = 3, rule = B3/S23
bo$2bo$3o!
`;

describe('parseRle', () => {
  it('reads a glider with its comments, size and rule', () => {
    const p = parseRle(GLIDER_RLE);
    expect(p.width).toBe(3);
    expect(p.height).toBe(3);
    expect(p.rule).toBe('B3/S23');
    expect(p.parsedRule).toEqual(CONWAY);
    expect(p.topology).toBeUndefined();
    expect(p.comments).toEqual(['N Glider', 'C The smallest spaceship.']);
    expect(p.population).toBe(5);
    expect([...p.cells]).toEqual([[1, 0], [2, 1], [0, 2], [1, 2], [2, 2]]);
  });

  it("accepts Golly's topology suffix, runs across lines, blank-row counts, '.' and no rule", () => {
    const p = parseRle('x = 40, y = 30, rule = B36/S23:T40,30\n3o\n2.o3$\n2\no!trailing text is ignored');
    expect(p.topology).toEqual({ kind: 'torus', width: 40, height: 30 });
    expect(p.parsedRule?.text).toBe('B36/S23');
    expect([...p.cells]).toEqual([[0, 0], [1, 0], [2, 0], [5, 0], [0, 3], [1, 3]]);
    const g = rleToGrid(p);
    expect([g.width, g.height, g.wrap]).toEqual([40, 30, true]);
    expect(parseRle('x=2,y=1\n2o!').rule).toBeUndefined();
    expect(rleToGrid('x = 2, y = 1, rule = B3/S23:P8,6\n2o!').wrap).toBe(false);
  });

  it('names the line and column of what it cannot read', () => {
    const cases: [string, string][] = [
      ['', "line 1, column 1: no header line (expected 'x = <width>, y = <height>, rule = <rule>')"],
      ['#C only a comment\nbo$o!', 'line 2, column 1: bad header "bo$o!"'],
      ['x = 3, y = 3\nbo$2bz$3o!', 'line 2, column 6: unexpected "z" (expected a run count, b, o, $ or !)'],
      ['x = 3, y = 2\nbo$\n4o!', "line 3, column 1: live cells at x = 0..3, y = 1 fall outside the header's 3 x 2"],
      ['x = 3, y = 1\n3o$o!', "line 2, column 4: live cells at x = 0..0, y = 1 fall outside the header's 3 x 1"],
      ['x = 3, y = 3\no2', 'line 2, column 2: run count without a cell state'],
      ['x = 3, y = 3\n0o!', 'line 2, column 1: run count 0'],
      ['x = 3, y = 3, rule = B3/S23:K3,3\no!', 'line 1, column 22: rule "B3/S23:K3,3": unsupported topology'],
      ['x = 3, y = 3, rule = Q3\no!', 'line 1, column 22: rule "Q3" is not a Life-like rule'],
    ];
    for (const [text, message] of cases) {
      let caught: unknown;
      try {
        parseRle(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RleError);
      expect((caught as Error).message).toContain(message);
    }
  });

  it('refuses patterns larger than maxCells before allocating them', () => {
    expect(() => parseRle('x = 100000, y = 100000\no!')).toThrow('pattern 100000 x 100000 is larger than the limit of 268435456 cells');
    expect(() => parseRle('x = 10, y = 10\no!', { maxCells: 99 })).toThrow(RleError);
    expect(parseRle('x = 10, y = 10\no!', { maxCells: 100 }).population).toBe(1);
  });
});

describe('placePattern and rleToGrid', () => {
  it('centres a pattern by default and refuses one that does not fit', () => {
    const p = parseRle(GLIDER_RLE);
    const g = LifeGrid.empty(11, 11);
    placePattern(g, p);
    expect(g.get(5, 4) && g.get(6, 5) && g.get(4, 6) && g.get(5, 6) && g.get(6, 6)).toBe(true);
    expect(g.population()).toBe(5);
    expect(() => placePattern(LifeGrid.empty(2, 2), p)).toThrow('pattern 3 x 3 does not fit the 2 x 2 grid');
    expect(() => placePattern(g, p, 9, 0)).toThrow('at (9, 0)');
    const big = rleToGrid(GLIDER_RLE, { width: 64, height: 32, wrap: false });
    expect([big.width, big.height, big.wrap, big.population()]).toEqual([64, 32, false, 5]);
  });
});

describe('toRle', () => {
  it('writes as Golly does: header with the topology suffix, runs, trailing dead cells dropped', () => {
    const g = rleToGrid(GLIDER_RLE);
    expect(toRle(g, CONWAY)).toBe('x = 3, y = 3, rule = B3/S23:T3,3\nbo$2bo$3o!\n');
    expect(toRle(g, 'b3/s23', { topology: false, comments: ['N Glider'] })).toBe('#C N Glider\nx = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n');
    const sparse = LifeGrid.empty(10, 8, false);
    sparse.set(9, 2, true);
    sparse.set(0, 5, true);
    expect(toRle(sparse, parseRule('B36/S23'))).toBe('x = 10, y = 8, rule = B36/S23:P10,8\n2$9bo3$o!\n');
    expect(toRle(LifeGrid.empty(4, 4), CONWAY)).toBe('x = 4, y = 4, rule = B3/S23:T4,4\n!\n');
  });

  it('round-trips any grid, with lines of at most 70 characters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        fc.boolean(),
        (w, h, density, seed, wrap) => {
          const g = LifeGrid.random(w, h, density, seed, wrap);
          const text = toRle(g, CONWAY);
          for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(70);
          const back = rleToGrid(text);
          expect([back.width, back.height, back.wrap]).toEqual([w, h, wrap]);
          expect(back.equals(g)).toBe(true);
          expect(parseRle(text).population).toBe(g.population());
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('parseRle in WebAssembly (rle-wasm.ts: bodies of 4 KiB and more)', () => {
  /** What the two readers make of a text: the pattern's cells and population, or the error's message. */
  const read = (text: string, wasm: boolean): unknown => {
    try {
      const p = parseRle(text, { wasm });
      return { bits: Array.from(p.bits), population: p.population, comments: p.comments };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  // a valid body as writers make them (runs that fit the rows, blank-row counts, line breaks, blanks),
  // then, in some, one of the mistakes and oddities the JavaScript reader names or skips
  const run = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 4, max: 40 }), fc.integer({ min: 41, max: 120 })), fc.constantFrom('b', 'o', 'o', '.'), fc.constantFrom('', '', '', '', '', '', '\n', ' ', '\r\n', '\t'));
  const odd = fc.constantFrom('0o', '0b', '0$', '5', '999999999999o', 'x', '#C mid\n', '\n#C comment\n', 'é', '!', '3!', '0!', '300o', '4000b', '70$', '$$$$', '12');
  const body = (width: number, height: number, runs: [number, string, string][], rowEnds: number[]): string => {
    let out = '';
    let x = 0;
    let y = 0;
    runs.forEach(([n, c, gap], k) => {
      if (x + n > width) {
        const skip = Math.min(rowEnds[k % rowEnds.length] as number, height - 1 - y);
        if (skip < 1) return;
        out += `${skip > 1 ? skip : ''}$`;
        y += skip;
        x = 0;
        if (n > width) return;
      }
      out += `${n > 1 ? n : ''}${c}${gap}`;
      x += n;
    });
    return out;
  };
  it('reads every body as the JavaScript reader does: the same cells, population and errors', () => {
    let fast = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2500 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(run, { minLength: 1500, maxLength: 4000 }),
        fc.array(fc.constantFrom(1, 1, 1, 2, 3), { minLength: 1, maxLength: 5 }),
        fc.option(fc.tuple(odd, fc.double({ min: 0, max: 1, noNaN: true })), { freq: 3 }),
        fc.boolean(),
        (width, height, runs, rowEnds, oddity, end) => {
          let b = body(width, height, runs, rowEnds);
          if (oddity) {
            const at = Math.floor(oddity[1] * b.length);
            b = b.slice(0, at) + oddity[0] + b.slice(at);
          }
          const text = `x = ${width}, y = ${height}, rule = B3/S23\n${b}${end ? '!' : ''}`;
          if (b.length >= 4096 && readRunsFast(text.slice(text.indexOf('\n') + 1), width, height)) fast++;
          expect(read(text, true)).toEqual(read(text, false));
        },
      ),
      { numRuns: 200 },
    );
    // about a quarter are valid and long enough (~50 of 200): the WebAssembly reader must have read those
    expect(fast).toBeGreaterThan(25);
  });

  it('reads a 2048 x 2048 soup as the JavaScript reader does', () => {
    let s = 1;
    const rows: string[] = [];
    for (let y = 0; y < 2048; y++) {
      let row = '';
      let x = 0;
      while (x < 2048) {
        s = (s * 1103515245 + 12345) >>> 0;
        const n = Math.min(2048 - x, 1 + ((s >>> 16) % (y % 7 === 0 ? 70 : 4)));
        row += `${n > 1 ? n : ''}${(s >>> 27) & 1 ? 'o' : 'b'}`;
        x += n;
      }
      rows.push(row);
    }
    const text = `x = 2048, y = 2048, rule = B3/S23\n${rows.join('$\n')}!`;
    expect(readRunsFast(text.slice(text.indexOf('\n') + 1), 2048, 2048)).not.toBeNull();
    const a = read(text, true) as { population: number };
    expect(a).toEqual(read(text, false));
    expect(a.population).toBeGreaterThan(1_000_000);
  });
});
