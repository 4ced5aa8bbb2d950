/**
 * The primes kernel: exact prime counting and listing in any range inside [0, 2^64 - 1].
 *
 * Segmented sieve of Eratosthenes of primesieve's design (see primes/engine.ts): mod-30 wheel bit array,
 * pre-sieved small primes, cache-sized segments, unrolled loops for small sieving primes and a bucket
 * sieve for big ones, the loops in WebAssembly assembled from source at load time (primes/wasm.ts).
 * Short ranges high up (where setting up every sieving prime to sqrt(end) would dominate) are sieved by
 * the primes below 2^20 and finished with deterministic Miller-Rabin (primes/mr.ts).
 * Pure: no I/O; module-level caches only (a bitmap of the sieving primes up to sqrt(end), buffers).
 */
import {
  countSegment,
  firstInSegment,
  listSegment,
  ST_COUNT,
  ST_FIRST,
  ST_GAP,
  ST_GAP_AFTER,
  ST_GAP_NEW,
  ST_HAS_LAST,
  ST_LAST,
  ST_OUT,
  ST_SIZE,
} from './primes/collect.js';
import { U64_MAX } from '../core/index.js';
import { Engine, isqrt, passBytes, sieveLimit } from './primes/engine.js';
import { sieveModule, useSieveModule, type WasmModule } from './primes/wasm.js';
import { isPrimeMR } from './primes/mr.js';
import { decodeList, listFacts, listText } from './primes/text.js';
export type { ListFacts } from './primes/text.js';
import { BIT_OF_RESIDUE, LITTLE_ENDIAN } from './primes/tables.js';

export interface PrimeStats {
  /** Primes p with start <= p <= end. */
  count: number;
  /** Smallest prime in range. */
  first: bigint | null;
  /** Largest prime in range. */
  last: bigint | null;
  /** Largest difference between consecutive primes inside the range; `after` is the lower prime (smallest on ties). */
  largestGap: { gap: bigint; after: bigint } | null;
}

/** A compact list: LEB128 varint of (first - start), then a varint for each successive gap; empty when count = 0. */
export interface PrimeList extends PrimeStats {
  encoded: Uint8Array;
}

if (!LITTLE_ENDIAN) throw new Error('the primes kernel needs a little-endian platform');

function checkRange(start: bigint, end: bigint): void {
  if (typeof start !== 'bigint') throw new RangeError(`start must be a bigint, got ${typeof start}`);
  if (typeof end !== 'bigint') throw new RangeError(`end must be a bigint, got ${typeof end}`);
  if (start < 0n || start > U64_MAX) throw new RangeError(`start must be in [0, 2^64 - 1], got ${start}`);
  if (end < 0n || end > U64_MAX) throw new RangeError(`end must be in [0, 2^64 - 1], got ${end}`);
  if (start > end) throw new RangeError(`start must be <= end, got start ${start} > end ${end}`);
}

let engine: Engine | null = null;
let listBuf = new Uint8Array(1 << 16);

function ensureList(need: number): void {
  if (need <= listBuf.length) return;
  let n = listBuf.length;
  while (n < need) n = Math.ceil(n * 1.5);
  const b = new Uint8Array(n);
  b.set(listBuf);
  listBuf = b;
}

/** Running statistics of the current call (see primes/collect.ts). */
const st = new Float64Array(ST_SIZE);

function writeVarint(v: number): void {
  ensureList(st[ST_OUT]! + 12);
  let n = st[ST_OUT]!;
  while (v >= 128) {
    listBuf[n++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  listBuf[n++] = v;
  st[ST_OUT] = n;
}

function sieve(start: bigint, end: bigint, list: boolean): PrimeList {
  checkRange(start, end);
  st.fill(0);
  st[ST_FIRST] = -1;
  let first: bigint | null = null;
  let gapAfter: bigint | null = null;
  const L0 = (start / 30n) * 30n;

  // 2, 3 and 5 are not on the wheel.
  for (const p of [2, 3, 5]) {
    const pb = BigInt(p);
    if (pb < start || pb > end) continue;
    // Here L0 = 0, so positions are the numbers themselves.
    if (first === null) {
      first = pb;
      if (list) writeVarint(p - Number(start));
    } else {
      const g = p - st[ST_LAST]!;
      if (g > st[ST_GAP]!) {
        st[ST_GAP] = g;
        gapAfter = BigInt(st[ST_LAST]!);
      }
      if (list) writeVarint(g);
    }
    st[ST_HAS_LAST] = 1;
    st[ST_LAST] = p;
    st[ST_COUNT] = st[ST_COUNT]! + 1;
  }

  if (end >= 7n) {
    engine ??= new Engine();
    const scanner = engine;
    let L = L0;
    let startOff = Number(start - L0);
    for (;;) {
      // A pass is sieved with one set-up of the sieving primes; wide ranges take several.
      const rest = (end - L) / 30n + 1n;
      const maxBytes = passBytes(Number(isqrt(end)));
      const nBytes = rest > BigInt(maxBytes) ? maxBytes : Number(rest);
      const passEnd = L + BigInt(nBytes) * 30n - 1n;
      const endOff = Number((passEnd < end ? passEnd : end) - L);
      const passBase = L;
      st[ST_GAP_NEW] = 0;
      st[ST_FIRST] = -1;
      const consumer = list
        ? (b8: Uint8Array, b32: Int32Array, segLen: number, segStart: number, c: number): void => {
            if (c === 0) return;
            const segBase = segStart * 30;
            if (st[ST_HAS_LAST] === 0) {
              const f = firstInSegment(b32, segLen, segBase);
              if (f < 0) return;
              first = passBase + BigInt(f);
              writeVarint(Number(first - start));
              st[ST_HAS_LAST] = 1;
              st[ST_LAST] = f;
              st[ST_COUNT] = st[ST_COUNT]! + 1;
              // Drop it from the segment so that listSegment starts after it.
              const rel = f - segBase;
              const byte = Math.floor(rel / 30);
              b8[byte] = b8[byte]! & ~(1 << BIT_OF_RESIDUE[rel % 30]!);
            }
            // c primes in the segment, gaps below 2^64 take at most 2 bytes each (room for c, not for the
            // 8 * segLen candidates: the buffer stays about the size of the list)
            ensureList(st[ST_OUT]! + 2 * c + 16);
            listSegment(b32, segLen, segBase, st, listBuf);
          }
        : (b8: Uint8Array, b32: Int32Array, segLen: number, segStart: number, c: number): void => {
            countSegment(b8, b32, segLen, segStart * 30, st, c, scanner);
          };
      engine.run(L, nBytes, startOff, endOff, consumer, sieveLimit(endOff - startOff + 1, L + BigInt(endOff)));
      if (st[ST_FIRST]! >= 0 && first === null) first = passBase + BigInt(st[ST_FIRST]!);
      if (st[ST_GAP_NEW] === 1) gapAfter = passBase + BigInt(st[ST_GAP_AFTER]!);
      const width = BigInt(nBytes) * 30n;
      if (L + width > end) break;
      L += width;
      startOff = 0;
      if (st[ST_HAS_LAST] === 1) st[ST_LAST] = st[ST_LAST]! - nBytes * 30;
    }
    // Last prime, relative to the last pass.
    if (st[ST_HAS_LAST] === 1) {
      const last = L + BigInt(st[ST_LAST]!);
      return finish(first, last, gapAfter, list);
    }
  }
  const last = st[ST_HAS_LAST] === 1 ? BigInt(st[ST_LAST]!) : null;
  return finish(first, last, gapAfter, list);
}

function finish(first: bigint | null, last: bigint | null, gapAfter: bigint | null, list: boolean): PrimeList {
  const count = st[ST_COUNT]!;
  const gap = st[ST_GAP]!;
  const encoded = list ? listBuf.slice(0, st[ST_OUT]!) : new Uint8Array(0);
  // keep a buffer for the next call only while it is small (the result is a copy)
  if (listBuf.length > 1 << 22) listBuf = new Uint8Array(1 << 16);
  return {
    count,
    first,
    last,
    largestGap: gapAfter === null || gap === 0 ? null : { gap: BigInt(gap), after: gapAfter },
    encoded,
  };
}

/**
 * The sieve's compiled WebAssembly module (a WebAssembly.Module), assembled and compiled in this thread on
 * first use. It can be posted to worker threads (postMessage clones a WebAssembly.Module without
 * recompiling it); there, usePrimesModule(module) before the first call spares each thread assembling and
 * compiling its own (50-100 ms of a new thread's first countPrimes on this machine).
 */
export function primesModule(): WasmModule {
  return sieveModule();
}

/** Makes this thread's kernel use a module from primesModule() (of any thread); throws a TypeError for anything else. */
export function usePrimesModule(module: WasmModule): void {
  if (typeof module !== 'object' || module === null) throw new TypeError('usePrimesModule takes the WebAssembly.Module from primesModule()');
  useSieveModule(module);
}

/** Counts the primes in [start, end] (0 <= start <= end <= 2^64 - 1) with first, last and largest gap. */
export function countPrimes(start: bigint, end: bigint): PrimeStats {
  const { count, first, last, largestGap } = sieve(start, end, false);
  return { count, first, last, largestGap };
}

/** The primes in [start, end] as a compact gap list, with the same statistics as countPrimes. */
export function listPrimes(start: bigint, end: bigint): PrimeList {
  return sieve(start, end, true);
}

/**
 * The decimal text of an encoded list (each prime followed by "\n"), in pieces of about maxChars
 * characters (default 1 MiB), so that millions of primes never become one huge string.
 */
export function* primeListText(start: bigint, encoded: Uint8Array, maxChars = 1 << 20): Generator<string> {
  if (typeof start !== 'bigint' || start < 0n) throw new RangeError('start must be a non-negative bigint');
  if (!(encoded instanceof Uint8Array)) throw new RangeError('encoded must be a Uint8Array');
  if (!(maxChars >= 1)) throw new RangeError('maxChars must be >= 1');
  yield* listText(start, encoded, maxChars);
}

/** Count, first, last and largest gap of an encoded list, checked to lie in [start, end]; throws if malformed. */
export function primeListFacts(start: bigint, end: bigint, encoded: Uint8Array): import('./primes/text.js').ListFacts {
  if (!(encoded instanceof Uint8Array)) throw new RangeError('encoded must be a Uint8Array');
  return listFacts(start, end, encoded);
}

/** Decodes an encoded list into bigints (for tests and small lists). */
export function decodePrimeList(start: bigint, encoded: Uint8Array): bigint[] {
  if (typeof start !== 'bigint' || start < 0n) throw new RangeError('start must be a non-negative bigint');
  if (!(encoded instanceof Uint8Array)) throw new RangeError('encoded must be a Uint8Array');
  return decodeList(start, encoded);
}

const SMALL_PRIMES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n];

/**
 * Exact primality of one number 0 <= n <= 2^64 - 1 (trial division by the primes to 37, then the
 * deterministic 7-base Miller-Rabin the sieve uses for short ranges far up). For single values from the
 * network (the seed 004 prime stream); ranges are the sieve's job.
 */
export function isPrime(n: bigint): boolean {
  if (typeof n !== 'bigint' || n < 0n || n > U64_MAX) throw new RangeError(`isPrime takes 0 <= n <= 2^64 - 1 (got ${String(n)})`);
  if (n < 2n) return false;
  for (const p of SMALL_PRIMES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  return isPrimeMR(n);
}
