/**
 * The segmented sieve of Eratosthenes (primesieve's design).
 *
 * - A pass sieves the bytes [0, nBytes) above a base L (a multiple of 30), byte k holding the 8 wheel-30
 *   candidates of [L + 30k, L + 30k + 29] (see tables.ts). L is a bigint only here, at set-up; everything
 *   in the loops is a small number relative to L.
 * - Segments of SEG bytes (sized for the L2 cache), block by block (L1-sized): pre-sieved by copying
 *   patterns of the primes up to 163, then crossed off by the small primes (unrolled loop over one turn
 *   of the wheel per residue class); then the medium primes (one multiple at a time: those below MED_SPLIT
 *   in windows of MED_WINDOW bytes, the others over the whole segment) and the big ones (Oliveira e
 *   Silva's bucket sieve: a prime is only touched in the segments where it has a multiple).
 * - The loops run in WebAssembly (wasm.ts); set-up and bookkeeping stay here.
 * - The sieving primes come from a module-level cache: a wheel-30 bitmap of [0, sqrt(end)] that grows on
 *   demand and is reused by later calls.
 */
import {
  BIG_LIMIT,
  BLOCK,
  BLOCK_BYTES,
  BS,
  BUF,
  GLOB,
  G_GAPAT,
  G_NMED,
  G_NSMALL,
  HEADS,
  MED_CAP,
  MED_SPLIT,
  MED_TABLES,
  MED_WINDOW,
  NB_MAX,
  ONE_HIT_Q,
  PERIODS,
  POOL,
  PRESIEVE_MAX,
  PRESIEVE_PRIMES,
  SCRATCH,
  SCRATCH_BYTES,
  SEG,
  SEG_BITS,
  SEG_MASK,
  SMALL_LIMIT,
  SMALL_TABLES,
  instantiate,
  MEDIUM_NAMES,
  SMALL_CAP,
  SMALL_NAMES,
  type SieveExports,
  type WasmMemory,
} from './wasm.js';
import { isPrimeMR } from './mr.js';
import { BIT_OF_RESIDUE, INDEX210, KEEP_FROM, KEEP_UPTO, OFF32, WHEEL } from './tables.js';

export { SEG };

/**
 * Called with each finished segment: bytes [0, segLen) of buf8 (zero after, up to a multiple of 8), the
 * number of primes in it, and the segment's first byte index in the pass.
 */
export type SegmentConsumer = (buf8: Uint8Array, buf32: Int32Array, segLen: number, segStart: number, count: number) => void;

export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  let r = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (r * r > n) r--;
  while ((r + 1n) * (r + 1n) <= n) r++;
  return r;
}

// ---------------------------------------------------------------- the sieving-prime cache

/** Wheel-30 bitmap of the primes in [0, cacheLimit): bit set = prime (7 and up; 1 cleared). */
let cacheBits: Uint8Array = new Uint8Array(0);
let cacheLimit = 0;
const INITIAL_CACHE = 240 * 546; // 131040 > 2 * 65536: enough to sieve anything below 2^34.

/** The first cache: the wheel-30 bitmap of the primes below INITIAL_CACHE, by a plain sieve. */
export function initialCacheBits(): Uint8Array {
  const n = INITIAL_CACHE;
  const composite = new Uint8Array(n);
  composite[0] = 1;
  composite[1] = 1;
  for (let i = 2; i * i < n; i++) {
    if (composite[i] === 0) for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  const bits = new Uint8Array(n / 30);
  for (let k = 0; k < n / 30; k++) {
    let v = 0;
    for (let b = 0; b < 8; b++) if (composite[30 * k + WHEEL[b]!] === 0) v |= 1 << b;
    bits[k] = v;
  }
  return bits;
}

/**
 * initialCacheBits() as scripts/build-bundles.mjs computed it for the bundle this runs from (base64;
 * test/bundles.test.ts holds it equal): a thread's start skips the sieve (3-7 ms of cold JavaScript).
 */
declare const BRAMBLE_PRIMES_CACHE: string | undefined;

function initCache(): void {
  cacheBits = typeof BRAMBLE_PRIMES_CACHE === 'string' ? new Uint8Array(Buffer.from(BRAMBLE_PRIMES_CACHE, 'base64')) : initialCacheBits();
  cacheLimit = INITIAL_CACHE;
}

let cacheEngine: Engine | null = null;

/** Makes sure the cache holds every prime <= n (n <= 2^32 + a little). */
export function ensureCache(n: number): void {
  if (cacheLimit === 0) initCache();
  if (n < cacheLimit) return;
  // Whole 8-byte words, and a little ahead so that nearby calls do not regrow it.
  const newLimit = Math.ceil((n + 1) / 240) * 240;
  const bits = new Uint8Array(newLimit / 30);
  bits.set(cacheBits);
  const fromByte = cacheLimit / 30;
  cacheEngine ??= new Engine();
  cacheEngine.run(BigInt(cacheLimit), newLimit / 30 - fromByte, 0, newLimit - cacheLimit - 1, (buf8, _b32, segLen, segStart) => {
    bits.set(buf8.subarray(0, segLen), fromByte + segStart);
  });
  cacheBits = bits;
  cacheLimit = newLimit;
}

/**
 * Collects the primes p with from <= p <= to (from > 5) from the cache into out, continuing from state.
 * Returns how many were written (call again while it returns a full batch).
 */
function primeBatch(state: { byte: number; bits: number }, to: number, out: Float64Array): number {
  const bits = cacheBits;
  const lastByte = Math.min(bits.length - 1, Math.floor(to / 30));
  let n = 0;
  const cap = out.length;
  let k = state.byte;
  let w = state.bits;
  while (n < cap) {
    if (w === 0) {
      k++;
      if (k > lastByte) break;
      w = bits[k]!;
      continue;
    }
    const t = w & -w;
    w ^= t;
    const p = 30 * k + WHEEL[31 - Math.clz32(t)]!;
    if (p > to) {
      k = lastByte + 1;
      w = 0;
      break;
    }
    out[n++] = p;
  }
  state.byte = k;
  state.bits = w;
  return n;
}

/** Sets a batch state to start at number from (> 5). */
function batchFrom(state: { byte: number; bits: number }, from: number): void {
  const k = Math.floor(from / 30);
  state.byte = k;
  state.bits = (cacheBits[k] ?? 0) & KEEP_FROM[from - 30 * k]!;
}

// ---------------------------------------------------------------- pass sizes

/** Limits on one pass (one set-up of the sieving primes); adjustable for tests. */
export const tuning = {
  /** Bytes (30 numbers each) in a pass at most; keeps every offset far below 2^53. */
  maxPassBytes: 2 ** 40,
  /** Bucket entries (8 bytes each) a pass may hold at once, roughly. */
  maxBucketEntries: 2 ** 25,
  /** Whether short ranges high up may be finished with Miller-Rabin (see sieveLimit). */
  narrow: true,
};

/** Sieving primes up to this, then Miller-Rabin, for short ranges high up. */
const NARROW_LIMIT = 1 << 20;

/**
 * The largest sieving prime for a pass of `nums` numbers ending at end: sqrt(end), unless setting up all
 * the primes up to sqrt(end) (~7 ns each) would cost much more than sieving by the primes below 2^20 and
 * testing the survivors (about 4% of the numbers, ~50 us each, 7 times more for the primes).
 */
export function sieveLimit(nums: number, end: bigint): number {
  const sqrtEnd = Number(isqrt(end));
  if (!tuning.narrow || sqrtEnd <= NARROW_LIMIT) return sqrtEnd;
  const lnEnd = Math.log(Number(end));
  const mrCost = nums * (0.5615 / Math.log(NARROW_LIMIT) + 6 / lnEnd) * 50e-6;
  const setupCost = (sqrtEnd / Math.log(sqrtEnd)) * 7e-9;
  return mrCost < setupCost / 2 ? NARROW_LIMIT : sqrtEnd;
}

/**
 * Bytes for a pass ending near `end` (sqrtEnd = sqrt(end)): as wide as allowed, but narrow enough that the
 * big sieving primes with a multiple in it (all those up to ~W/4, and a fraction of the rest) fit the
 * bucket budget.
 */
export function passBytes(sqrtEnd: number): number {
  const S = Math.max(sqrtEnd, 3);
  const estimate = (nums: number): number => {
    const X = Math.min(S, 0.27 * nums);
    if (X < BIG_LIMIT) return 0;
    return X / Math.log(X) + X * (Math.log(Math.log(S)) - Math.log(Math.log(X)));
  };
  let bytes = 2 ** 22;
  while (bytes < tuning.maxPassBytes && estimate(60 * bytes) <= tuning.maxBucketEntries) bytes *= 2;
  return Math.min(bytes, tuning.maxPassBytes);
}

// ---------------------------------------------------------------- the engine

const PAGE = 65536;

export class Engine {
  private readonly mem: WasmMemory;
  private readonly x: SieveExports;
  private u8!: Uint8Array;
  private i32!: Int32Array;
  buf8!: Uint8Array;
  buf32!: Int32Array;
  private viewsOf: ArrayBuffer | null = null;

  /** Small primes per residue class (mod 30). */
  private readonly nSmall = new Int32Array(8);
  /** Medium primes per residue class (mod 30). */
  private readonly nMed = new Int32Array(16);
  private pend = new Float64Array(0);
  private nPend = 0;
  /** Bucket blocks in the pool, and an upper bound of the live bucket entries. */
  private nBlocks = 0;
  private entries = 0;
  private nb = 4;
  private batch = new Float64Array(4096);
  /** run()'s pre-sieve pattern offsets (see there). */
  private readonly gm = new Int32Array(PERIODS.length);
  private readonly offs: number[] = PERIODS.map(() => 0);

  /** Count mode's largest-gap scan (collect.ts GapScanner): see wasm.ts fGapScan. */
  readonly gapScan: (i0: number, i1: number, g: number) => number;
  /** The medium primes' loops by residue class (wasm.ts fMedium). */
  private readonly medium: ((base: number, end: number, n: number) => void)[];
  /** The small primes' loops by residue class (wasm.ts fSmall). */
  private readonly small: ((base: number, end: number, n: number) => void)[];

  constructor() {
    const { mem, x } = instantiate(POOL + 64 * BLOCK_BYTES);
    this.mem = mem;
    this.x = x;
    this.gapScan = x.gapScan;
    this.medium = MEDIUM_NAMES.map((name) => x[name]);
    this.small = SMALL_NAMES.map((name) => x[name]);
    this.views();
    this.nBlocks = Math.floor((this.mem.buffer.byteLength - POOL) / BLOCK_BYTES);
  }

  private views(): void {
    if (this.viewsOf === this.mem.buffer) return;
    const b = this.mem.buffer;
    this.u8 = new Uint8Array(b);
    this.i32 = new Int32Array(b);
    this.buf8 = new Uint8Array(b, BUF, SEG + 64);
    this.buf32 = new Int32Array(b, BUF, (SEG + 64) / 4);
    this.viewsOf = b;
  }

  /** Where the last larger gap gapScan found begins (numbers from the segment's first byte). */
  gapAt(): number {
    this.views();
    return this.i32[G_GAPAT >>> 2]!;
  }

  /** Makes sure the pool can hold `more` further entries; new blocks go on the free list. */
  private reserve(more: number): void {
    this.entries += more;
    const need = Math.ceil(this.entries / BS) + this.nb + 2;
    if (need <= this.nBlocks) return;
    const want = Math.max(need, Math.ceil(this.nBlocks * 1.5));
    const bytes = POOL + want * BLOCK_BYTES;
    const pages = Math.ceil(bytes / PAGE) - this.mem.buffer.byteLength / PAGE;
    if (pages > 0) this.mem.grow(pages);
    this.views();
    const total = Math.floor((this.mem.buffer.byteLength - POOL) / BLOCK_BYTES);
    this.linkFree(this.nBlocks, total);
    this.nBlocks = total;
  }

  /** Puts blocks [from, to) on the free list. */
  private linkFree(from: number, to: number): void {
    const i32 = this.i32;
    let head = i32[GLOB >> 2]!;
    for (let b = to - 1; b >= from; b--) {
      const at = POOL + b * BLOCK_BYTES;
      i32[at >> 2] = head;
      head = at;
    }
    i32[GLOB >> 2] = head;
  }

  private resetBuckets(nb: number): void {
    this.nb = nb;
    this.entries = 0;
    this.i32.fill(0, HEADS >> 2, (HEADS >> 2) + 2 * NB_MAX);
    this.i32[(GLOB >> 2) + 1] = nb - 1;
    this.i32[GLOB >> 2] = 0;
    this.linkFree(0, this.nBlocks);
  }

  /** The same as push() in wasm.ts. */
  private pushBig(seg: number, q: number, db: number, ws: number): void {
    this.reserve(1);
    const i32 = this.i32;
    const hAt = (HEADS >> 2) + (seg & (this.nb - 1)) + (q >= ONE_HIT_Q ? NB_MAX : 0);
    let h = i32[hAt]!;
    if ((h & (BLOCK_BYTES - 1)) === 0) {
      const nb = i32[GLOB >> 2]!;
      i32[GLOB >> 2] = i32[nb >> 2]!;
      i32[nb >> 2] = h === 0 ? 0 : h - BLOCK_BYTES;
      h = nb + 8;
    }
    i32[h >> 2] = q;
    i32[(h >> 2) + 1] = db | (ws << SEG_BITS);
    i32[hAt] = h + 8;
  }

  private addSmall(p: number, q: number, idx: number, ws: number): void {
    const rc = BIT_OF_RESIDUE[p - 30 * q]!;
    if (this.nSmall[rc]! >= SMALL_CAP) throw new Error('primes: small-prime table overflow');
    const at = (SMALL_TABLES[rc]! >> 2) + 4 * this.nSmall[rc]!++;
    const i32 = this.i32;
    i32[at] = p;
    i32[at + 1] = q;
    i32[at + 2] = idx;
    i32[at + 3] = ws;
  }

  private addMedium(p: number, q: number, idx: number, ws: number): void {
    const rc = BIT_OF_RESIDUE[p - 30 * q]!;
    const t = rc + (p < MED_SPLIT ? 8 : 0);
    if (this.nMed[t]! >= MED_CAP) throw new Error('primes: medium-prime table overflow');
    const at = (MED_TABLES[t]! >> 2) + 4 * this.nMed[t]!++;
    const i32 = this.i32;
    i32[at] = p;
    i32[at + 1] = q;
    i32[at + 2] = idx;
    i32[at + 3] = ws;
  }

  /** Registers sieving prime p = 30q + r whose next multiple is at byte db of segment seg, in state ws. */
  private place(p: number, q: number, db: number, ws: number, numSegs: number, seg: number): void {
    if (p < SMALL_LIMIT) this.addSmall(p, q, db, ws);
    else if (p < BIG_LIMIT) this.addMedium(p, q, db, ws);
    else {
      const s = seg + Math.floor(db / SEG);
      if (s >= numSegs) return;
      this.pushBig(s, q, db & SEG_MASK, ws);
    }
  }

  private addPending(p: number): void {
    if (this.nPend === this.pend.length) {
      const b = new Float64Array(Math.max(64, this.pend.length * 2));
      b.set(this.pend);
      this.pend = b;
    }
    this.pend[this.nPend++] = p;
  }

  /** Clears the composites left in bytes [0, n) of the segment at byte S of the pass above L. */
  private verify(L: bigint, S: number, n: number): void {
    const b32 = this.buf32;
    for (let k = 0; k < n >> 2; k++) {
      let v = b32[k]!;
      while (v !== 0) {
        const t = v & -v;
        v ^= t;
        const bit = 31 - Math.clz32(t);
        const num = L + BigInt(30 * (S + 4 * k) + OFF32[bit]!);
        if (!isPrimeMR(num)) b32[k] = b32[k]! & ~t;
      }
    }
  }

  /**
   * Hands the sieving primes in [from, to] to a WebAssembly set-up (setupBig, setupMedium) in slices of
   * the bitmap copied to SCRATCH: fill(k0, nWords) for each slice of 64-bit words from byte k0.
   */
  private slices(from: number, to: number, fill: (k0: number, nWords: number, bytes: number) => void): void {
    const bits = cacheBits;
    const kFrom = Math.floor(from / 30);
    const kTo = Math.floor(to / 30);
    for (let ps = kFrom & ~7; ps <= kTo; ps += SCRATCH_BYTES) {
      const pe = Math.min(ps + SCRATCH_BYTES, kTo + 1);
      const u8 = this.u8;
      u8.set(bits.subarray(ps, pe), SCRATCH);
      const padded = (pe - ps + 7) & ~7;
      u8.fill(0, SCRATCH + pe - ps, SCRATCH + padded);
      if (ps <= kFrom) {
        u8.fill(0, SCRATCH, SCRATCH + kFrom - ps);
        u8[SCRATCH + kFrom - ps] = u8[SCRATCH + kFrom - ps]! & KEEP_FROM[from - 30 * kFrom]!;
      }
      if (pe === kTo + 1) u8[SCRATCH + kTo - ps] = u8[SCRATCH + kTo - ps]! & KEEP_UPTO[to - 30 * kTo]!;
      fill(ps, padded >> 3, pe - ps);
    }
  }

  /** First multiples >= L of the primes in [from, to] (all >= BIG_LIMIT, p^2 <= L), into the buckets. */
  private setupBig(from: number, to: number, L: bigint, numSegs: number): void {
    this.slices(from, to, (k0, nWords, bytes) => {
      this.reserve(8 * bytes);
      const added = this.x.setupBig(nWords, k0, numSegs, BigInt.asIntN(64, L));
      // Only `added` entries went in; give back the rest of the reservation.
      this.entries -= 8 * bytes - added;
    });
  }

  /** The small or medium primes in [from, to], started at their first multiple >= L, in WebAssembly (wasm.ts fSetup). */
  private setupTables(kind: 'small' | 'medium', from: number, to: number, L: bigint): void {
    const [counts, n] = kind === 'small' ? [this.nSmall, G_NSMALL] : [this.nMed, G_NMED];
    const fill = kind === 'small' ? this.x.setupSmall : this.x.setupMedium;
    this.i32.set(counts, n >> 2);
    this.slices(from, to, (k0, nWords) => fill(nWords, k0, BigInt.asIntN(64, L)));
    counts.set(this.i32.subarray(n >> 2, (n >> 2) + counts.length));
  }

  /**
   * A pass's sieving primes (PRESIEVE_MAX, sqrtEnd] in their tables: those up to sqrt(L) at their first
   * multiple >= L, the others pending until the sieve reaches their square. (A method of its own, as
   * crossOff: V8 compiles run() in each thread, and its time grows faster than the function.)
   */
  private preparePass(L: bigint, sqrtL: number, sqrtEnd: number, numSegs: number): void {
    this.nSmall.fill(0);
    this.nMed.fill(0);
    this.nPend = 0;
    // Buckets are sized by the largest hop of the largest prime (10q + 10 on the mod-210 wheel).
    const qMax = Math.floor(sqrtEnd / 30);
    let nb = 4;
    while (nb < Math.ceil((11 * qMax + 16) / SEG) + 2) nb *= 2;
    this.resetBuckets(nb);

    const lastDirect = Math.min(sqrtL, sqrtEnd);
    // Those up to lastDirect (below BIG_LIMIT) are set up in WebAssembly, a slice of the bitmap at a time
    const sEnd = Math.min(lastDirect, SMALL_LIMIT - 1);
    if (sEnd > PRESIEVE_MAX) this.setupTables('small', PRESIEVE_MAX + 1, sEnd, L);
    const mEnd = Math.min(lastDirect, BIG_LIMIT - 1);
    if (mEnd >= SMALL_LIMIT) this.setupTables('medium', Math.max(SMALL_LIMIT, PRESIEVE_MAX + 1), mEnd, L);
    if (lastDirect >= BIG_LIMIT) this.setupBig(Math.max(BIG_LIMIT, PRESIEVE_MAX + 1), lastDirect, L, numSegs);
    if (sqrtEnd > lastDirect) {
      // the others pending at their square, activated when the sieve gets there
      const batch = this.batch;
      const state = { byte: 0, bits: 0 };
      batchFrom(state, Math.max(lastDirect + 1, PRESIEVE_MAX + 1));
      for (;;) {
        const m = primeBatch(state, sqrtEnd, batch);
        for (let j = 0; j < m; j++) this.addPending(batch[j]!);
        if (m < batch.length) break;
      }
    }
  }

  /**
   * Segment s (bytes [S, S + segLen) of the pass) crossed off: block by block the pre-sieve (copies of
   * the patterns of the primes to 163) and the small primes, then the medium ones (below MED_SPLIT in
   * windows of MED_WINDOW bytes), then the big ones' bucket. Its own method, not part of run(): V8's
   * optimising compiler took 20-60 ms for run() as one function, again after each deoptimisation, in
   * every thread.
   */
  private crossOff(S: number, segLen: number, s: number, numSegs: number): void {
    const x = this.x;
    const gm = this.gm;
    const offs = this.offs;
    const padLen = (segLen + 15) & ~15;
    for (let b0 = 0; b0 < segLen; b0 += BLOCK) {
      for (let g = 0; g < PERIODS.length; g++) offs[g] = ((gm[g]! + S + b0) % PERIODS[g]!) | 0;
      x.presieve(b0, Math.min(BLOCK, padLen - b0), ...offs);
      const end = Math.min(segLen, b0 + BLOCK);
      for (let rc = 0; rc < 8; rc++) if (this.nSmall[rc]! > 0) this.small[rc]!(SMALL_TABLES[rc]!, end, this.nSmall[rc]!);
    }
    for (let rc = 0; rc < 8; rc++) x.shift(SMALL_TABLES[rc]! + 8, this.nSmall[rc]!, segLen);
    for (let t = 0; t < 16; t++) {
      const n = this.nMed[t]!;
      if (n === 0) continue;
      // one loop for both kinds of table: tables 0-7 (primes from MED_SPLIT) are empty below ~4e9, and
      // code first reached in optimised code sends the function back to the interpreter
      const medium = this.medium[t & 7]!;
      const base = MED_TABLES[t]!;
      const window = t < 8 ? segLen : MED_WINDOW;
      for (let w0 = window; ; w0 += window) {
        medium(base, Math.min(segLen, w0), n);
        if (w0 >= segLen) break;
      }
      x.shift(base + 8, n, segLen);
    }
    x.bucket(s, numSegs);
  }

  /** Segment s crossed off: the pass's ends masked, the pre-sieved primes put back, handed to the consumer. */
  private finishSegment(L: bigint, S: number, segLen: number, s: number, numSegs: number, startOff: number, endOff: number, verify: boolean, consumer: SegmentConsumer): void {
    this.views();
    const buf8 = this.buf8;
    if (S === 0 && L <= BigInt(PRESIEVE_MAX)) {
      // The patterns crossed off the pre-sieved primes themselves, and kept 1.
      const l = Number(L);
      if (l === 0) buf8[0] = buf8[0]! & 0xfe;
      for (const p of PRESIEVE_PRIMES) {
        const k = Math.floor((p - l) / 30);
        if (p > l && k < segLen) buf8[k] = buf8[k]! | (1 << BIT_OF_RESIDUE[p % 30]!);
      }
    }
    if (s === 0) buf8[0] = buf8[0]! & KEEP_FROM[startOff]!;
    const padded = (segLen + 7) & ~7;
    if (s === numSegs - 1) {
      const lastByte = Math.floor(endOff / 30) - S;
      buf8[lastByte] = buf8[lastByte]! & KEEP_UPTO[endOff % 30]!;
      buf8.fill(0, lastByte + 1, padded);
    }
    if (verify) this.verify(L, S, padded);
    consumer(buf8, this.buf32, segLen, S, this.x.count(padded));
  }

  /**
   * Sieves the bytes [0, nBytes) above L (L a multiple of 30), keeping only the numbers in
   * [L + startOff, L + endOff] (startOff < 30, endOff < 30 * nBytes), and hands each segment to the
   * consumer in order. 30 * nBytes must stay below 2^50. limit: the largest sieving prime, -1 for
   * sqrt(end) (a small integer: Infinity there was a double where the callers pass integers, and sent the
   * optimised run() back to the interpreter at the cache's first growth, in every thread).
   */
  run(L: bigint, nBytes: number, startOff: number, endOff: number, consumer: SegmentConsumer, limit = -1): void {
    const endBig = L + BigInt(endOff);
    const rootEnd = Number(isqrt(endBig));
    // With a limit below sqrt(end), survivors are checked by Miller-Rabin (only for L > 2^40).
    const verify = limit >= 0 && limit < rootEnd;
    const sqrtEnd = verify ? limit : rootEnd;
    ensureCache(sqrtEnd);
    const sqrtL = Number(isqrt(L));
    const numSegs = Math.ceil(nBytes / SEG);

    this.preparePass(L, sqrtL, sqrtEnd, numSegs);

    // Pending primes: first hit at p^2.
    let pendPos = 0;
    const Lnum = Number(L);
    const pendByte = (p: number): number => {
      if (p < 67108864 && L < 4503599627370496n) return Math.floor((p * p - Lnum) / 30);
      return Number((BigInt(p) * BigInt(p) - L) / 30n);
    };
    let nextPend = this.nPend > 0 ? pendByte(this.pend[0]!) : Infinity;

    // L / 30 (mod each pattern's period), as int32s in arrays of the engine's: new arrays per call, whose
    // elements were doubles or small integers by the BigInt conversion, changed shape between calls and
    // sent run() back to V8's interpreter (a 20-60 ms recompilation in each thread, several times a job)
    const gm = this.gm;
    for (let g = 0; g < PERIODS.length; g++) gm[g] = Number((L / 30n) % BigInt(PERIODS[g]!)) | 0;

    for (let s = 0; s < numSegs; s++) {
      const S = s * SEG;
      const segLen = Math.min(SEG, nBytes - S);
      while (nextPend < S + segLen) {
        const p = this.pend[pendPos++]!;
        const q = Math.floor(p / 30);
        const rc = BIT_OF_RESIDUE[p - 30 * q]!;
        // the first multiple is p^2: multiplier p (the bucket sieve's states are on the mod-210 wheel)
        this.place(p, q, nextPend - S, p < SMALL_LIMIT ? rc * 8 + rc : rc * 48 + INDEX210[p % 210]!, numSegs, s);
        nextPend = pendPos < this.nPend ? pendByte(this.pend[pendPos]!) : Infinity;
      }
      this.crossOff(S, segLen, s, numSegs);
      this.finishSegment(L, S, segLen, s, numSegs, startOff, endOff, verify, consumer);
    }
  }
}
