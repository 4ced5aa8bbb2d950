import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { countPrimes, decodePrimeList, listPrimes, primeListText, primesModule, usePrimesModule, type PrimeStats } from './primes.js';
import { SEG, tuning } from './primes/engine.js';
import { BLOCK, BUF, G_GAPAT, MED_WINDOW, POOL, instantiate } from './primes/wasm.js';
import { WHEEL } from './primes/tables.js';
import { wasmApi } from './wasm/module.js';

const MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------- references

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const MR_BASES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];

/** Deterministic Miller-Rabin for n < 2^64 (the first 12 primes as bases suffice below 3.3e24). */
function isPrimeMR(n: bigint): boolean {
  if (n < 2n) return false;
  for (const p of MR_BASES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  outer: for (const a of MR_BASES) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

/** A plain sieve of Eratosthenes: isComposite[n] for n <= limit. */
function plainSieve(limit: number): Uint8Array {
  const c = new Uint8Array(limit + 1);
  c[0] = 1;
  if (limit >= 1) c[1] = 1;
  for (let i = 2; i * i <= limit; i++) if (c[i] === 0) for (let j = i * i; j <= limit; j += i) c[j] = 1;
  return c;
}

function statsOf(primes: bigint[]): PrimeStats {
  let gap: { gap: bigint; after: bigint } | null = null;
  for (let i = 1; i < primes.length; i++) {
    const g = primes[i]! - primes[i - 1]!;
    if (gap === null || g > gap.gap) gap = { gap: g, after: primes[i - 1]! };
  }
  return { count: primes.length, first: primes[0] ?? null, last: primes[primes.length - 1] ?? null, largestGap: gap };
}

function statsOnly(s: PrimeStats): PrimeStats {
  return { count: s.count, first: s.first, last: s.last, largestGap: s.largestGap };
}

// ---------------------------------------------------------------- tests

describe('countPrimes', () => {
  it('pi(10^k) for k = 1..9', () => {
    const pi = [4, 25, 168, 1229, 9592, 78498, 664579, 5761455, 50847534];
    pi.forEach((want, i) => expect(countPrimes(0n, 10n ** BigInt(i + 1)).count).toBe(want));
  });

  it('counts [10^12, 10^12 + 10^6] and [2^64 - 10^6, 2^64 - 1]', () => {
    expect(countPrimes(10n ** 12n, 10n ** 12n + 10n ** 6n).count).toBe(36249);
    const top = countPrimes((1n << 64n) - 10n ** 6n, MAX);
    expect(top.count).toBe(22475);
    expect(top.last).toBe(MAX - 58n); // 2^64 - 59, the largest 64-bit prime
  });

  it('counts ranges where big sieving primes hop over many segments (the bucket sieve on the mod-210 wheel)', () => {
    // sqrt(end) ~ 3.2e7 and 1e8: hops of up to 10q + 10 bytes span several buckets (primesieve's counts)
    expect(countPrimes(10n ** 15n, 10n ** 15n + 3n * 10n ** 8n).count).toBe(8683939);
    expect(countPrimes(10n ** 16n, 10n ** 16n + 10n ** 8n).count).toBe(2714904);
  });

  it('handles the smallest ranges', () => {
    const none = { count: 0, first: null, last: null, largestGap: null };
    expect(countPrimes(0n, 0n)).toEqual(none);
    expect(countPrimes(0n, 1n)).toEqual(none);
    expect(countPrimes(2n, 2n)).toEqual({ count: 1, first: 2n, last: 2n, largestGap: null });
    expect(countPrimes(0n, 30n)).toEqual({ count: 10, first: 2n, last: 29n, largestGap: { gap: 6n, after: 23n } });
    expect(countPrimes(29n, 31n)).toEqual({ count: 2, first: 29n, last: 31n, largestGap: { gap: 2n, after: 29n } });
    expect(countPrimes(24n, 28n)).toEqual(none);
    expect(countPrimes(MAX - 58n, MAX)).toEqual({ count: 1, first: MAX - 58n, last: MAX - 58n, largestGap: null });
  });

  it('reports the largest gap and, on ties, the first', () => {
    // 7 11 13 17 19 23 29 31 37: gaps of 6 after 23 and after 31.
    expect(countPrimes(7n, 37n).largestGap).toEqual({ gap: 6n, after: 23n });
    expect(countPrimes(0n, 10n ** 6n).largestGap).toEqual({ gap: 114n, after: 492113n });
    const r = countPrimes(0n, 10n ** 9n);
    expect(r.largestGap).toEqual({ gap: 282n, after: 436273009n });
    expect(r.first).toBe(2n);
    expect(r.last).toBe(999999937n);
    // The maximal gap of 1132 after 1693182318746371 (a known record), seen from a range around it.
    const g = countPrimes(1693182318746371n - 5000n, 1693182318746371n + 5000n);
    expect(g.largestGap).toEqual({ gap: 1132n, after: 1693182318746371n });
  });

  it('matches a plain sieve on ranges across byte, word and segment boundaries', () => {
    const limit = 3 * SEG * 30 + 1000;
    const comp = plainSieve(limit);
    const ref = (s: number, e: number): PrimeStats => {
      const ps: bigint[] = [];
      for (let n = s; n <= e; n++) if (comp[n] === 0) ps.push(BigInt(n));
      return statsOf(ps);
    };
    // byte, word, 256 bytes, a pre-sieve block (BLOCK bytes), a medium primes' window, segments
    const cuts = [30, 240, 7680, BLOCK * 30, 5 * BLOCK * 30, MED_WINDOW * 30, SEG * 30, SEG * 30 + MED_WINDOW * 30, 2 * SEG * 30];
    const ranges: [number, number][] = [[0, limit]];
    for (const c of cuts) {
      for (const ds of [-31, -30, -29, -1, 0, 1, 7, 29]) {
        for (const de of [-1, 0, 1, 30, 1000]) {
          const s = c + ds;
          const e = c + de + 13;
          if (s >= 0 && s <= e) ranges.push([s, e]);
        }
      }
    }
    ranges.push([SEG * 30 - 5000, 2 * SEG * 30 + 5000], [1, SEG * 30 * 2]);
    for (const [s, e] of ranges) {
      expect(countPrimes(BigInt(s), BigInt(e)), `[${s}, ${e}]`).toEqual(ref(s, e));
    }
  });

  it('agrees with listPrimes over several segments at several magnitudes', () => {
    for (const [s, w] of [
      [10n ** 15n, 3n * BigInt(SEG) * 30n],
      [1n << 40n, 2n * BigInt(SEG) * 30n + 12345n],
      [(1n << 62n) + 7n, BigInt(SEG) * 30n + 999n],
    ] as [bigint, bigint][]) {
      const c = countPrimes(s, s + w);
      const l = listPrimes(s, s + w);
      expect(statsOnly(l)).toEqual(c);
      expect(statsOf(decodePrimeList(s, l.encoded))).toEqual(c);
    }
  });

  it('lists [2^64 - 2000, 2^64 - 1] and ranges starting at 0, 1 and 2 exactly', () => {
    const top = MAX - 2000n;
    const want: bigint[] = [];
    for (let n = top; n <= MAX; n++) if (isPrimeMR(n)) want.push(n);
    expect(decodePrimeList(top, listPrimes(top, MAX).encoded)).toEqual(want);
    expect(countPrimes(top, MAX)).toEqual(statsOf(want));
    const comp = plainSieve(2 * BLOCK * 30 + 77);
    for (const s of [0, 1, 2, 3]) {
      for (const e of [2, 3, 7, 31, BLOCK * 30 - 1, BLOCK * 30, 2 * BLOCK * 30 + 77]) {
        if (e < s) continue;
        const ps: bigint[] = [];
        for (let n = s; n <= e; n++) if (comp[n] === 0) ps.push(BigInt(n));
        const l = listPrimes(BigInt(s), BigInt(e));
        expect(decodePrimeList(BigInt(s), l.encoded), `[${s}, ${e}]`).toEqual(ps);
        expect(statsOnly(l), `[${s}, ${e}]`).toEqual(statsOf(ps));
      }
    }
  });

  it('splits wide ranges into passes without changing the result', () => {
    const saved = tuning.maxPassBytes;
    try {
      const whole = countPrimes(999_999n, 30_000_000n);
      const wholeList = listPrimes(999_999n, 3_000_000n);
      tuning.maxPassBytes = 2 ** 16 + 3; // passes of ~2 M numbers, not a multiple of the segment
      expect(countPrimes(999_999n, 30_000_000n)).toEqual(whole);
      expect(listPrimes(999_999n, 3_000_000n)).toEqual(wholeList);
    } finally {
      tuning.maxPassBytes = saved;
    }
  });

  it('rejects invalid ranges with a RangeError naming the argument', () => {
    expect(() => countPrimes(-1n, 5n)).toThrow(/start/);
    expect(() => countPrimes(0n, MAX + 1n)).toThrow(/end/);
    expect(() => countPrimes(10n, 5n)).toThrow(RangeError);
    expect(() => listPrimes(10n, 5n)).toThrow(/start/);
    expect(() => countPrimes(1 as unknown as bigint, 5n)).toThrow(RangeError);
    expect(() => countPrimes(1n, '5' as unknown as bigint)).toThrow(/end/);
  });
});

describe('primesModule', () => {
  it('hands the compiled module to a worker thread, which sieves with it without compiling its own', async () => {
    // the built kernel (dist/) in a real worker thread, given this thread's module through postMessage
    const dist = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/kernels/primes.js')).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      parentPort.once('message', async (module) => {
        try {
          const k = await import(${JSON.stringify(dist)});
          k.usePrimesModule(module);
          const t = performance.now();
          const a = k.countPrimes(1n, 625000n);
          const ms = performance.now() - t;
          const b = k.countPrimes(10n ** 12n, 10n ** 12n + 10n ** 6n);
          parentPort.postMessage({ a: a.count, b: b.count, last: String(b.last), same: k.primesModule() === module, ms });
        } catch (e) {
          parentPort.postMessage({ error: String(e) });
        }
      });`;
    const worker = new Worker(code, { eval: true });
    try {
      const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      worker.postMessage(primesModule());
      const r = await reply;
      expect(r.error).toBeUndefined();
      expect(r).toMatchObject({ a: 50986, b: 36249, same: true });
      console.log(`first countPrimes(1, 625000) in a worker given the module: ${(r.ms as number).toFixed(1)} ms`);
    } finally {
      await worker.terminate();
    }
  });

  it('refuses a module that is not the sieve', () => {
    expect(() => usePrimesModule(null as never)).toThrow(TypeError);
    const empty = new (wasmApi()!.Module)(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(() => usePrimesModule(empty)).toThrow(/not the sieve's WebAssembly module/);
    // and the kernel still works with its own
    expect(countPrimes(0n, 1000n).count).toBe(168);
  });
});

describe('listPrimes', () => {
  it('encodes the first offset and the gaps as LEB128', () => {
    const l = listPrimes(0n, 30n);
    expect([...l.encoded]).toEqual([2, 1, 2, 2, 4, 2, 4, 2, 4, 6]);
    expect(listPrimes(24n, 28n).encoded.length).toBe(0);
    expect(decodePrimeList(0n, listPrimes(0n, 100n).encoded).map(Number)).toEqual([
      2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    ]);
    // A gap of 1132 takes two bytes.
    const big = listPrimes(1693182318746371n, 1693182318746371n + 1132n);
    expect([...big.encoded]).toEqual([0, 1132 % 128 | 128, 1132 >> 7]);
  });

  const smallRange = (maxBits: number) =>
    fc
      .tuple(fc.integer({ min: 1, max: maxBits }), fc.bigInt({ min: 0n, max: MAX }), fc.integer({ min: 0, max: 2000 }))
      .map(([bits, x, width]) => {
        const start = x & ((1n << BigInt(bits)) - 1n);
        const end = start + BigInt(width) > MAX ? MAX : start + BigInt(width);
        return [start, end] as const;
      });
  const agreesWithMR = ([start, end]: readonly [bigint, bigint]): void => {
    const want: bigint[] = [];
    for (let n = start; n <= end; n++) if (isPrimeMR(n)) want.push(n);
    const got = listPrimes(start, end);
    expect(decodePrimeList(start, got.encoded)).toEqual(want);
    expect(statsOnly(got)).toEqual(statsOf(want));
  };

  it("count mode's largest gap equals list mode's on ranges of many words and segments (the gap scan over runs of zero bytes)", () => {
    // count mode looks at every gap only until the largest is 60, then only at runs of zero bytes long
    // enough to hold a larger one (collect.ts, wasm.ts gapScan); list mode writes every gap: the two
    // must agree, ties to the first
    const wide = fc
      .tuple(fc.integer({ min: 1, max: 44 }), fc.bigInt({ min: 0n, max: MAX }), fc.integer({ min: 0, max: 40_000_000 }))
      .map(([bits, x, width]) => {
        const start = x & ((1n << BigInt(bits)) - 1n);
        return [start, start + BigInt(width)] as const;
      });
    const agrees = ([start, end]: readonly [bigint, bigint]): void => {
      const list = listPrimes(start, end);
      expect(statsOnly(countPrimes(start, end)), `[${start}, ${end}]`).toEqual(statsOnly(list));
    };
    fc.assert(fc.property(wide, agrees), { numRuns: 25, examples: [[[1n, 20_000_000n]], [[436_000_000n, 437_000_000n]], [[999_000_000n, 1_020_000_000n]]] });
  });

  it('equals a Miller-Rabin reference on small random ranges anywhere below 2^64', () => {
    // High up, ranges this short are sieved by the primes below 2^20 and finished with Miller-Rabin.
    fc.assert(fc.property(smallRange(64), agreesWithMR), {
      numRuns: 40,
      examples: [[[MAX - 2000n, MAX]], [[0n, 2000n]], [[(1n << 53n) - 1000n, (1n << 53n) + 1000n]]],
    });
  });

  it('equals the reference with every sieving prime up to sqrt(end) (no Miller-Rabin)', () => {
    tuning.narrow = false;
    try {
      // Set-up costs ~1 s per call near 2^64, so: random ranges below 2^52, and one at the top.
      fc.assert(fc.property(smallRange(52), agreesWithMR), { numRuns: 30 });
      agreesWithMR([MAX - 2000n, MAX]);
    } finally {
      tuning.narrow = true;
    }
  });
});

describe("count mode's gap scan (WebAssembly)", () => {
  // Byte k of a segment holds the candidates 30k + WHEEL[b]: the scan must find the first largest gap of
  // any bitmap, whatever its runs of zero bytes and wherever they fall against its 64-byte steps.
  const { mem, x } = instantiate(POOL);
  const reference = (bytes: Uint8Array, i0: number, i1: number, g: number): [number, number] => {
    let best = g;
    let at = -1;
    let prev = -1;
    for (let k = i0; k <= i1; k++) {
      for (let b = 0; b < 8; b++) {
        if ((bytes[k]! & (1 << b)) === 0) continue;
        const pos = 30 * k + WHEEL[b]!;
        if (prev >= 0 && pos - prev > best) [best, at] = [pos - prev, prev];
        prev = pos;
      }
    }
    return [best, at];
  };
  const bitmap = fc
    .tuple(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 255 }), fc.constant(0), fc.integer({ min: 1, max: 300 }).map((n) => -n)), { minLength: 2, maxLength: 400 }),
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 60, max: 3000 }),
    )
    .map(([items, lead, g]) => {
      // a negative item is a run of that many zero bytes
      const bytes: number[] = Array(lead).fill(0);
      for (const v of items) bytes.push(...(v < 0 ? Array(-v).fill(0) : [v]));
      bytes.push(1 + (lead % 255));
      return { bytes: Uint8Array.from(bytes), g };
    });

  it('finds the largest gap above g exactly as a scan of every prime does, ties to the first', () => {
    fc.assert(
      fc.property(bitmap, ({ bytes, g }) => {
        const u8 = new Uint8Array(mem.buffer);
        u8.fill(0, BUF, BUF + bytes.length + 256); // zero bytes after i1 are not a gap (the segment's tail is zero)
        u8.set(bytes, BUF);
        let i0 = 0;
        while (bytes[i0] === 0) i0++;
        const i1 = bytes.length - 1;
        const [best, at] = reference(bytes, i0, i1, g);
        const got = x.gapScan(i0, i1, g);
        expect(got).toBe(best);
        if (at >= 0) expect(new Int32Array(mem.buffer)[G_GAPAT >>> 2]).toBe(at);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('primeListText', () => {
  it('matches decodePrimeList, in pieces, across digit-count changes and above 2^53', () => {
    for (const [s, e] of [
      [0n, 1000n],
      [999_990_000n, 1_000_010_000n],
      [(1n << 53n) - 5000n, (1n << 53n) + 5000n],
      [10n ** 19n - 3000n, 10n ** 19n + 3000n],
      [MAX - 3000n, MAX],
    ] as [bigint, bigint][]) {
      const l = listPrimes(s, e);
      const want = decodePrimeList(s, l.encoded)
        .map((p) => `${p}\n`)
        .join('');
      expect([...primeListText(s, l.encoded)].join('')).toBe(want);
      const pieces = [...primeListText(s, l.encoded, 100)];
      expect(pieces.join('')).toBe(want);
      for (const p of pieces) expect(p.length).toBeLessThanOrEqual(100 + 21);
    }
    expect([...primeListText(5n, new Uint8Array(0))]).toEqual([]);
  });

  it('yields pieces of about maxChars for a large list', () => {
    const l = listPrimes(0n, 10n ** 7n);
    let total = 0;
    let n = 0;
    for (const piece of primeListText(0n, l.encoded, 1 << 16)) {
      total += piece.length;
      n++;
      expect(piece.length).toBeLessThanOrEqual((1 << 16) + 21);
    }
    expect(n).toBeGreaterThan(50);
    expect(total).toBe(decodePrimeList(0n, l.encoded).reduce((a, p) => a + p.toString().length + 1, 0));
  });

  it('rejects a malformed list', () => {
    expect(() => [...primeListText(0n, new Uint8Array([2, 128]))]).toThrow(RangeError);
    expect(() => decodePrimeList(0n, new Uint8Array([2, 0]))).toThrow(RangeError);
  });
});
