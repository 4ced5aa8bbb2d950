/**
 * The sieve's hot loops in WebAssembly, assembled at load time by asm.ts (no build step, no binary file).
 * Plain JavaScript pays a bounds check and a tagged-value check on every typed-array access; WebAssembly
 * does not, which makes these loops several times faster.
 *
 * Memory layout (bytes), all in one imported WebAssembly.Memory:
 *   TBL     wheel tables (tables.ts): WHEEL (8), the next wheel residue of each t < 30, the mod-210
 *           wheel's STEP210 and NEXT210 (the loops of the small and medium primes have theirs as
 *           constants in the code)
 *   GLOB    free-list head of bucket blocks, bucket-count mask, gapScan's result, the lengths of the
 *           small and medium tables while setupSmall / setupMedium fill them
 *   BUF     the segment (SEG bytes + padding)
 *   PAT[g]  pre-sieve pattern g: byte x is the pattern of global byte x (mod P_g), for x < P_g + BLOCK + 64
 *           (the segment is pre-sieved block by block, just before the small primes cross off that block)
 *   SMALL   small sieving primes, 16 bytes each: p, q, next byte index (in the segment), wheel state, in
 *           8 tables of SMALL_CAP by residue class (mod 30) of the prime, each with a function of its own
 *   MED     medium sieving primes, the same, in 8 tables of MED_CAP by residue class (mod 30) of the
 *           prime (and 8 more for those below MED_SPLIT), each class with a function of its own
 *   HEADS   bucket list heads (block addresses, 0 = empty): NB_MAX for primes that may hit a segment
 *           more than once, then NB_MAX for those with q >= SEG / 2 (at most one hit per segment)
 *   SCRATCH a slice of the sieving-prime bitmap being set up
 *   POOL    bucket blocks of 8 KiB: the next (older, full) block or 0, then BS entries of
 *           (q, byte index | wheel state << SEG_BITS)
 */
import { assemble, T, w, type Code } from './asm.js';
import { wasmApi, type WasmMemory, type WasmModule } from '../wasm/module.js';

export type { WasmMemory, WasmModule } from '../wasm/module.js';
import { DC, DQ, MASK, NEXT210, NEXT_WHEEL_INDEX, NEXT_WHEEL_VALUE, STEP210, UNROLL_ADD, WHEEL } from './tables.js';

/**
 * Benchmark knobs (bench/weak-scaling.mjs), read once at load: the segment's size and how many pre-sieve
 * groups are used. A bundle carries the module assembled with the defaults, so a knob set there makes
 * the module be assembled again (sieveBytes). Not for users: the defaults are the measured best.
 */
const knob = (name: string, dflt: number, lo: number, hi: number): number => {
  const v = typeof process === 'undefined' ? undefined : process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}] (got ${v})`);
  return n;
};
/** 16-19 tested (src/kernels/primes.test.ts passes with each). */
const SEG_BITS_DEFAULT = 19;
export const SEG_BITS = knob('BRAMBLE_PRIMES_SEG_BITS', SEG_BITS_DEFAULT, 16, SEG_BITS_DEFAULT);
export const SEG = 1 << SEG_BITS;
export const SEG_MASK = SEG - 1;
/**
 * Medium primes below MED_SPLIT (many crossings per visit) cross off a segment in windows of MED_WINDOW
 * bytes (scattered writes over a smaller range: fewer TLB misses); the larger ones in one pass (fewer visits).
 */
export const MED_SPLIT = 1 << 16;
export const MED_WINDOW = Math.min(1 << 18, 1 << SEG_BITS);
/** Block size for the small sieving primes (fits the L1 data cache). */
export const BLOCK = 1 << 15;
/**
 * Primes below this use the unrolled loop block by block; up to BIG_LIMIT the same loop runs over the
 * whole segment (measured: both beat one multiple at a time).
 */
export const SMALL_LIMIT = 4096;
/** Primes from this up use the bucket sieve. */
export const BIG_LIMIT = SEG;

export const BLOCK_BYTES = 8192;
export const BS = (BLOCK_BYTES - 8) / 8;

const ALL_PRESIEVE_GROUPS: readonly (readonly number[])[] = [
  [7, 11, 13, 17],
  [19, 23, 29],
  [31, 37, 41],
  [43, 47, 53],
  // primesieve pre-sieves to 163 too: 22 more primes in pairs (3 MB of patterns), ~20% fewer clears
  [59, 61],
  [67, 71],
  [73, 79],
  [83, 89],
  [97, 101],
  [103, 107],
  [109, 113],
  [127, 131],
  [137, 139],
  [149, 151],
  [157, 163],
];
export const PRESIEVE_GROUPS = ALL_PRESIEVE_GROUPS.slice(0, knob('BRAMBLE_PRIMES_PRESIEVE', ALL_PRESIEVE_GROUPS.length, 1, ALL_PRESIEVE_GROUPS.length));
export const PRESIEVE_PRIMES: readonly number[] = PRESIEVE_GROUPS.flat();
export const PRESIEVE_MAX = Math.max(...PRESIEVE_PRIMES);
/** Whether a knob changed the layout: then the module the bundle carries does not fit it (sieveBytes). */
const KNOBS_SET = SEG_BITS !== SEG_BITS_DEFAULT || PRESIEVE_GROUPS.length !== ALL_PRESIEVE_GROUPS.length;
export const PERIODS: readonly number[] = PRESIEVE_GROUPS.map((g) => g.reduce((a, b) => a * b, 1));

// Largest number of small / medium primes (primes below SMALL_LIMIT / BIG_LIMIT), with room to spare.
const MAX_SMALL = Math.ceil((1.3 * SMALL_LIMIT) / Math.log(SMALL_LIMIT)) + 64;
const MAX_MED = Math.ceil((1.3 * BIG_LIMIT) / Math.log(BIG_LIMIT)) + 64;
/** Room for the small primes of one residue class (mod 30). */
export const SMALL_CAP = Math.ceil((MAX_SMALL / 8) * 1.5) + 64;
/** Room for the medium primes of one residue class (the classes hold within a few % of an eighth each). */
export const MED_CAP = Math.ceil((MAX_MED / 8) * 1.15) + 256;
/** Largest bucket count: hops of primes up to 2^32. */
export const NB_MAX = (() => {
  let nb = 4;
  while (nb < Math.ceil((11 * Math.floor(2 ** 32 / 30) + 16) / SEG) + 2) nb *= 2;
  return nb;
})();
export const SCRATCH_BYTES = 1 << 16;

const align = (x: number, a: number): number => Math.ceil(x / a) * a;

export const TBL = 0;
const T_WHEEL8 = TBL + 576;
/** NEXT_WHEEL_VALUE[t] | NEXT_WHEEL_INDEX[t] << 5 (tables.ts), t < 30. */
const T_NEXTW = TBL + 640;
/** The bucket sieve's mod-210 wheel: STEP210 (384 x i32), NEXT210 (210 x u16), see tables.ts. */
const T_STEP210 = TBL + 1536;
const T_NEXT210 = TBL + 3072;
export const GLOB = 1024;
const G_FREE = GLOB;
const G_NBMASK = GLOB + 4;
/** gapScan's result: the position of the lower prime of the gap it found. */
export const G_GAPAT = GLOB + 8;
/** The lengths of the 16 medium-prime tables while setupMedium fills them (16 x i32). */
export const G_NMED = GLOB + 16;
/** The lengths of the 8 small-prime tables while setupSmall fills them (8 x i32). */
export const G_NSMALL = GLOB + 80;
export const BUF = 4096;
export const PAT: readonly number[] = (() => {
  const out: number[] = [];
  let at = align(BUF + SEG + 64, 64);
  for (const P of PERIODS) {
    out.push(at);
    at = align(at + P + BLOCK + 64, 64);
  }
  out.push(at);
  return out;
})();
export const SMALL = PAT[PAT.length - 1]!;
export const MED = align(SMALL + 16 * 8 * SMALL_CAP, 64);
export const HEADS = align(MED + 16 * 16 * MED_CAP, 64);
/** Where the small primes' table of residue class rc starts (16-byte records: p, q, next byte index, wheel state). */
export const SMALL_TABLES: readonly number[] = Array.from({ length: 8 }, (_, rc) => SMALL + 16 * SMALL_CAP * rc);
/** Where medium table t starts: t = rc, + 8 for the primes below MED_SPLIT. */
export const MED_TABLES: readonly number[] = Array.from({ length: 16 }, (_, t) => MED + 16 * MED_CAP * t);
export const SCRATCH = align(HEADS + 8 * NB_MAX, 64);
/** Big primes with q >= ONE_HIT_Q step at least 2q >= SEG bytes: one hit per segment at most. */
export const ONE_HIT_Q = SEG / 2;
export const POOL = align(SCRATCH + SCRATCH_BYTES + 64, BLOCK_BYTES);

// ---------------------------------------------------------------- functions

/** Names locals: params first, then the others; returns name -> index. */
function names(params: string[], locals: string[]): Record<string, number> {
  const r: Record<string, number> = {};
  [...params, ...locals].forEach((n, i) => (r[n] = i));
  return r;
}

const { get, set, i32, add, sub, mul, and, or, shl, shrU, load8, store8, load, store, block, loop, br, brIf } = w;

/**
 * One step of a big sieving prime on the mod-210 wheel (multiples of 7 skipped too: 48 of every 210
 * multipliers instead of 56): STEP210[ws] = MASK | DM << 8 | DC << 12 | NEXT << 16.
 */
function step210(L: Record<string, number>): Code {
  const t = L.t!;
  return [
    set(t, load(shl(get(L.ws!), i32(2)), T_STEP210)),
    store8(get(L.idx!), w.and(load8(get(L.idx!), BUF), get(t)), BUF),
    set(L.idx!, add(add(get(L.idx!), mul(get(L.q!), and(shrU(get(t), i32(8)), i32(15)))), and(shrU(get(t), i32(12)), i32(15)))),
    set(L.ws!, shrU(get(t), i32(16))),
  ];
}

/**
 * Appends entry (q, v) to the bucket of segment seg. A bucket's head is the address where its next entry
 * goes (0 = empty); when that address reaches the end of its 8 KiB block, a block from the free list
 * becomes the head, linked to the full one. Locals: seg, q, v, nbm, tb, h, nb.
 */
function push(L: Record<string, number>): Code {
  const h = L.h!;
  const nb = L.nb!;
  return [
    set(L.tb!, add(add(shl(and(get(L.seg!), get(L.nbm!)), i32(2)), i32(HEADS)), w.select(i32(4 * NB_MAX), i32(0), w.geU(get(L.q!), i32(ONE_HIT_Q))))),
    set(h, load(get(L.tb!))),
    w.if(w.eqz(and(get(h), i32(BLOCK_BYTES - 1))), [
      set(nb, load(i32(0), G_FREE)),
      w.if(w.eqz(get(nb)), [0x00]), // out of blocks: cannot happen (capacity is planned), trap
      store(i32(0), load(get(nb)), G_FREE),
      store(get(nb), w.select(sub(get(h), i32(BLOCK_BYTES)), i32(0), get(h))),
      set(h, add(get(nb), i32(8))),
    ]),
    store(get(h), get(L.q!)),
    store(get(h), get(L.v!), 4),
    store(get(L.tb!), add(get(h), i32(8))),
  ];
}

/** Fills BUF[dst, dst + n) (n <= BLOCK + 16) with the AND of the patterns, pattern g read from its byte offset o_g. */
function fPresieve() {
  const G = PRESIEVE_GROUPS.length;
  const offs = Array.from({ length: G }, (_, g) => `o${g}`);
  const L = names(['dst', 'n', ...offs], ['i']);
  const i = L.i!;
  const src = (g: number): Code => w.v128Load(add(get(L[`o${g}`]!), get(i)), PAT[g]!);
  let expr = src(0);
  for (let g = 1; g < G; g++) expr = w.v128And(expr, src(g));
  return {
    name: 'presieve',
    params: [T.i32, T.i32, ...offs.map(() => T.i32)],
    results: [],
    locals: [T.i32],
    body: [block(loop(brIf(1, w.geU(get(i), get(L.n!))), w.v128Store(add(get(L.dst!), get(i)), expr, BUF), set(i, add(get(i), i32(16))), br(0)))],
  };
}

/**
 * Small sieving primes (primesieve's EratSmall) of residue class rc (mod 30), run per L1-sized block:
 * entered at the prime's wheel position through a br_table into the class's wheel turn, so that the
 * bit masks and the carries are constants (folded into the instructions and the memory offsets). One
 * function per class (small0 .. small7), each table its own: V8's optimising compiler takes ~1 ms for
 * each, against 10-15 ms for the eight turns in one function, which a fresh thread ran unoptimised
 * meanwhile. At the
 * start of a turn, a loop crosses off 8 multiples per iteration at offsets q * (WHEEL[j] - 1) + const
 * while the whole turn fits the block, then single crossings with their own end test finish the block.
 */
function fSmall(rc: number) {
  const p = ['base', 'end', 'n'];
  const l = ['e', 'eEnd', 'idx', 'ws', 'q', 'pp', 'lim', 'a', 'j', 'q2', 'q4', 'o6', 'o10', 'o12', 'o16', 'o18', 'o22', 'o28'];
  const L = names(p, l);
  const g = (n: string) => get(L[n]!);
  const mults = [0, 6, 10, 12, 16, 18, 22, 28];
  const qOf: Record<number, string> = { 2: 'q2', 4: 'q4', 6: 'o6' };
  const sites: Code[] = [];
  for (let m = 0; m < 8; m++) {
    const ws = rc * 8 + m;
    // from inside the if: the blocks of sites m + 1 .. 7, the loop, the block around it
    const doneDepth = 1 + (7 - m) + 1;
    const site: Code[] = [];
    if (m === 0) {
      // the whole turn while it fits: 8 crossings, constant masks, constant parts in the offsets
      const clears = mults.map((k, jj) => {
        const wsj = rc * 8 + jj;
        const off = BUF + UNROLL_ADD[wsj]!;
        if (k === 0) return store8(g('idx'), and(load8(g('idx'), off), i32(MASK[wsj]!)), off);
        return [set(L.a!, add(g('idx'), g(`o${k}`))), store8(g('a'), and(load8(g('a'), off), i32(MASK[wsj]!)), off)];
      });
      site.push(
        set(L.pp!, add(mul(g('q'), i32(30)), i32(WHEEL[rc]!))),
        set(L.lim!, sub(g('end'), add(g('o28'), i32(UNROLL_ADD[rc * 8 + 7]!)))),
        block(loop(brIf(1, w.geS(g('idx'), g('lim'))), ...clears, set(L.idx!, add(g('idx'), g('pp'))), br(0))),
      );
    }
    site.push(
      w.if(w.geS(g('idx'), g('end')), [set(L.ws!, i32(ws)), br(doneDepth)]),
      store8(g('idx'), and(load8(g('idx'), BUF), i32(MASK[ws]!)), BUF),
      set(L.idx!, add(add(g('idx'), g(qOf[DQ[ws]!]!)), i32(DC[ws]!))),
    );
    sites.push(site);
  }
  let inner: Code = block(w.brTable([0, 1, 2, 3, 4, 5, 6, 7], 0, g('j')));
  for (let m = 0; m < 7; m++) inner = block(inner, sites[m]!);
  const turn = loop(inner, sites[7]!, set(L.j!, i32(0)), br(0));
  return {
    name: SMALL_NAMES[rc]!,
    params: p.map(() => T.i32),
    results: [],
    locals: l.map(() => T.i32),
    body: [
      set(L.e!, g('base')),
      set(L.eEnd!, add(g('base'), shl(g('n'), i32(4)))),
      block(
        loop(
          brIf(1, w.geU(g('e'), g('eEnd'))),
          set(L.idx!, load(g('e'), 8)),
          w.if(w.ltS(g('idx'), g('end')), [
            set(L.ws!, load(g('e'), 12)),
            set(L.q!, load(g('e'), 4)),
            set(L.q2!, add(g('q'), g('q'))),
            set(L.q4!, add(g('q2'), g('q2'))),
            set(L.o6!, add(g('q4'), g('q2'))),
            set(L.o10!, add(g('o6'), g('q4'))),
            set(L.o12!, add(g('o6'), g('o6'))),
            set(L.o16!, add(g('o12'), g('q4'))),
            set(L.o18!, add(g('o12'), g('o6'))),
            set(L.o22!, add(g('o18'), g('q4'))),
            set(L.o28!, add(g('o22'), g('o6'))),
            set(L.j!, and(g('ws'), i32(7))),
            block(turn),
            store(g('e'), g('idx'), 8),
            store(g('e'), g('ws'), 12),
          ]),
          set(L.e!, add(g('e'), i32(16))),
          br(0),
        ),
      ),
    ],
  };
}

/**
 * Medium sieving primes (primesieve's EratMedium) of residue class rc (mod 30): one multiple at a time,
 * each with its own end test, on the mod-210 wheel (multipliers divisible by 7 skipped: 48 in 210),
 * entered at the prime's wheel position through a br_table into the class's wheel turn (masks and
 * carries are constants; only q * 2 .. q * 10 vary). One function per class (medium0 .. medium7, as for
 * the small primes: 1 ms each for V8's optimising compiler, 28-39 ms for the eight turns in one
 * function). No single steps to reach the start of a turn, none
 * after the last full turn: primes with a few multiples per segment pay nothing for alignment.
 * State ws = rc * 48 + j as in the bucket sieve (STEP210 in tables.ts).
 */
function fMedium(rc: number) {
  const p = ['base', 'end', 'n'];
  const l = ['e', 'eEnd', 'idx', 'ws', 'q', 'q2', 'q4', 'q6', 'q8', 'q10', 'j'];
  const L = names(p, l);
  const g = (n: string) => get(L[n]!);
  const sites: Code[] = [];
  for (let m = 0; m < 48; m++) {
    const ws = rc * 48 + m;
    const t = STEP210[ws]!;
    const dm = (t >> 8) & 15;
    const dc = (t >> 12) & 15;
    // from inside the if: the blocks of sites m + 1 .. 47, the loop, the block around it
    const doneDepth = 1 + (47 - m) + 1;
    sites.push([
      w.if(w.geS(g('idx'), g('end')), [set(L.ws!, i32(ws)), br(doneDepth)]),
      store8(g('idx'), and(load8(g('idx'), BUF), i32(t & 255)), BUF),
      set(L.idx!, add(add(g('idx'), g(`q${dm}`)), i32(dc))),
    ]);
  }
  // blocks p0 .. p47: the br_table enters at position j; code m follows the end of block p_m
  let inner: Code = block(w.brTable(Array.from({ length: 48 }, (_, k) => k), 0, g('j')));
  for (let m = 0; m < 47; m++) inner = block(inner, sites[m]!);
  const turn = loop(inner, sites[47]!, set(L.j!, i32(0)), br(0));
  return {
    name: MEDIUM_NAMES[rc]!,
    params: p.map(() => T.i32),
    results: [],
    locals: l.map(() => T.i32),
    body: [
      set(L.e!, g('base')),
      set(L.eEnd!, add(g('base'), shl(g('n'), i32(4)))),
      block(
        loop(
          brIf(1, w.geU(g('e'), g('eEnd'))),
          set(L.idx!, load(g('e'), 8)),
          w.if(w.ltS(g('idx'), g('end')), [
            set(L.ws!, load(g('e'), 12)),
            set(L.q!, load(g('e'), 4)),
            set(L.q2!, add(g('q'), g('q'))),
            set(L.q4!, add(g('q2'), g('q2'))),
            set(L.q6!, add(g('q4'), g('q2'))),
            set(L.q8!, add(g('q4'), g('q4'))),
            set(L.q10!, add(g('q8'), g('q2'))),
            set(L.j!, sub(g('ws'), i32(rc * 48))),
            block(turn),
            store(g('e'), g('idx'), 8),
            store(g('e'), g('ws'), 12),
          ]),
          set(L.e!, add(g('e'), i32(16))),
          br(0),
        ),
      ),
    ],
  };
}

/** Subtracts `by` from the next-index field of n records of 16 bytes at base + 4 * field. */
function fShift() {
  const L = names(['at', 'n', 'by'], ['end']);
  const g = (n: string) => get(L[n]!);
  return {
    name: 'shift',
    params: [T.i32, T.i32, T.i32],
    results: [],
    locals: [T.i32],
    body: [
      set(L.end!, add(g('at'), shl(g('n'), i32(4)))),
      block(loop(brIf(1, w.geU(g('at'), g('end'))), store(g('at'), sub(load(g('at')), g('by'))), set(L.at!, add(g('at'), i32(16))), br(0))),
    ],
  };
}

function fBucket() {
  const p = ['s', 'numSegs'];
  const l = ['t', 'blk', 'e', 'eEnd', 'idx', 'ws', 'q', 'seg', 'v', 'tb', 'h', 'nb', 'hb', 'nxt', 'nbm'];
  const L = names(p, l);
  const g = (n: string) => get(L[n]!);
  /** The bucket of segment s in the head table at `heads`; oneHit: its primes hit a segment at most once. */
  const list = (heads: number, oneHit: boolean): Code =>
    block(
      set(L.hb!, add(shl(and(g('s'), g('nbm')), i32(2)), i32(heads))),
      set(L.eEnd!, load(g('hb'))),
      store(g('hb'), i32(0)),
      brIf(0, w.eqz(g('eEnd'))),
      set(L.blk!, and(sub(g('eEnd'), i32(1)), i32(~(BLOCK_BYTES - 1)))),
      loop(
        set(L.e!, add(g('blk'), i32(8))),
        block(
          loop(
            brIf(1, w.geU(g('e'), g('eEnd'))),
            set(L.q!, load(g('e'))),
            set(L.v!, load(g('e'), 4)),
            set(L.idx!, and(g('v'), i32(SEG_MASK))),
            set(L.ws!, shrU(g('v'), i32(SEG_BITS))),
            oneHit ? step210(L) : loop(step210(L), brIf(0, w.ltS(g('idx'), i32(SEG)))),
            set(L.seg!, add(g('s'), shrU(g('idx'), i32(SEG_BITS)))),
            w.if(w.ltU(g('seg'), g('numSegs')), [set(L.v!, or(and(g('idx'), i32(SEG_MASK)), shl(g('ws'), i32(SEG_BITS)))), push(L)]),
            set(L.e!, add(g('e'), i32(8))),
            br(0),
          ),
        ),
        // Free the block, go on with the older (full) one.
        set(L.nxt!, load(g('blk'))),
        store(g('blk'), load(i32(0), G_FREE)),
        store(i32(0), g('blk'), G_FREE),
        brIf(1, w.eqz(g('nxt'))),
        set(L.blk!, g('nxt')),
        set(L.eEnd!, add(g('blk'), i32(BLOCK_BYTES))),
        br(0),
      ),
    );
  return {
    name: 'bucket',
    params: p.map(() => T.i32),
    results: [],
    locals: l.map(() => T.i32),
    body: [set(L.nbm!, load(i32(0), G_NBMASK)), list(HEADS, false), list(HEADS + 4 * NB_MAX, true)],
  };
}

/**
 * The walk of setupBig and fSetup over the bitmap slice in SCRATCH (nWords 64-bit words, byte k holding
 * the primes 30 (k0 + k) + WHEEL[b]): for each prime, q and rc (its byte and bit), then `each`.
 * Locals named i, bits, j, q, rc; params nWords, k0.
 */
function bitmapWalk(L: Record<string, number>, each: Code): Code {
  const g = (n: string) => get(L[n]!);
  return [
    set(L.i!, i32(0)),
    block(
      loop(
        brIf(1, w.geU(g('i'), g('nWords'))),
        // the two 32-bit halves of the 64-bit word
        ...[0, 4].map(
          (half): Code => [
            set(L.bits!, load(add(shl(g('i'), i32(3)), i32(half)), SCRATCH)),
            block(
              loop(
                brIf(1, w.eqz(g('bits'))),
                set(L.j!, w.ctz(g('bits'))),
                set(L.bits!, and(g('bits'), sub(g('bits'), i32(1)))),
                set(L.q!, add(add(add(g('k0'), shl(g('i'), i32(3))), i32(half)), shrU(g('j'), i32(3)))),
                set(L.rc!, and(g('j'), i32(7))),
                each,
                br(0),
              ),
            ),
          ],
        ),
        set(L.i!, add(g('i'), i32(1))),
        br(0),
      ),
    ),
  ];
}

/**
 * First multiples >= L of the primes in the bitmap words at SCRATCH (nWords 64-bit words; bit j of word i
 * is the number 30 * (k0 + 8i + (j >> 3)) + WHEEL[j & 7]), pushed into the buckets when they fall in
 * the pass (segment < numSegs). L is a u64. Returns the number of entries added.
 */
function fSetupBig() {
  const p = ['nWords', 'k0', 'numSegs'];
  const pl = ['L'];
  const l = ['i', 'bits', 'j', 'q', 'rc', 'd0i', 'st', 'db', 'seg', 'v', 'tb', 'h', 'nb', 'count', 'ws', 'nbm'];
  const ll = ['p', 'm', 'r', 'd0', 'd'];
  const L = names([...p, ...pl], [...l, ...ll]);
  const g = (n: string) => get(L[n]!);
  const { i64Add, i64Sub, i64Mul, i64RemU, i64DivU, i64ExtendU } = w;
  return {
    name: 'setupBig',
    params: [T.i32, T.i32, T.i32, T.i64],
    results: [T.i32],
    locals: [...l.map(() => T.i32), ...ll.map(() => T.i64)],
    body: [
      set(L.nbm!, load(i32(0), G_NBMASK)),
      bitmapWalk(L, [
        set(L.p!, i64Add(i64Mul(i64ExtendU(g('q')), w.i64(30)), i64ExtendU(load8(g('rc'), T_WHEEL8)))),
        // L = m p + r: the first multiple >= L is L + d0 = (m + (r > 0)) p
        set(L.m!, i64DivU(g('L'), g('p'))),
        set(L.r!, i64Sub(g('L'), i64Mul(g('m'), g('p')))),
        set(L.d0!, w.select(w.i64(0), i64Sub(g('p'), g('r')), w.i64Eqz(g('r')))),
        // the multiplier of the first multiple >= L, moved up to the next one prime to 210
        set(L.d0i!, w.wrap(i64RemU(i64Add(g('m'), i64ExtendU(w.i64Ne(g('r'), w.i64(0)))), w.i64(210)))),
        set(L.st!, w.load16(shl(g('d0i'), i32(1)), T_NEXT210)),
        set(L.d!, i64Add(g('d0'), i64Mul(i64ExtendU(and(g('st'), i32(15))), g('p')))),
        set(L.db!, w.wrap(i64DivU(g('d'), w.i64(30)))),
        set(L.seg!, shrU(g('db'), i32(SEG_BITS))),
        w.if(w.ltU(g('seg'), g('numSegs')), [
          set(L.ws!, add(mul(g('rc'), i32(48)), shrU(g('st'), i32(4)))),
          set(L.v!, or(and(g('db'), i32(SEG_MASK)), shl(g('ws'), i32(SEG_BITS)))),
          push(L),
          set(L.count!, add(g('count'), i32(1))),
        ]),
      ]),
      g('count'),
    ],
  };
}

/**
 * The small (kind 'small', below SMALL_LIMIT) or medium (below BIG_LIMIT) sieving primes of a slice of
 * the sieving-prime bitmap (SCRATCH: byte k holds the primes 30 (k0 + k) + WHEEL[b]), each at its first
 * multiple >= L (L a multiple of 30), on the mod-30 wheel (small) or the mod-210 wheel (medium),
 * appended in order to its table (SMALL or MED, by residue class, and for the medium ones MED_SPLIT);
 * the tables' lengths are at G_NSMALL / G_NMED. The engine's JavaScript did the same per prime (~50 ns
 * each: at 1e11 a fifth of a chunk, and cold in a fresh thread).
 */
function fSetup(kind: 'small' | 'medium') {
  const l = ['i', 'bits', 'j', 'q', 'rc', 'p', 'd0', 'mi', 'st', 'tbl', 'n', 'at'];
  const ll = ['m', 'r'];
  const L = names(['nWords', 'k0', 'L'], [...l, ...ll]);
  const g = (n: string) => get(L[n]!);
  const to = (n: string, e: Code) => set(L[n]!, e);
  const I64 = w.i64ExtendU;
  const small = kind === 'small';
  const [modulus, counts, cap, table] = small ? [30, G_NSMALL, SMALL_CAP, SMALL] : [210, G_NMED, MED_CAP, MED];
  // mi = the multiplier of the first multiple >= L (mod 30 or 210); st = where the wheel goes on from it
  const place: Code = small
    ? [
        // NEXTW[mi]: the next wheel residue >= mi (5 bits) and its index (3 bits)
        to('st', load8(g('mi'), T_NEXTW)),
        to('tbl', g('rc')),
        to('d0', add(g('d0'), mul(sub(and(g('st'), i32(31)), g('mi')), g('p')))),
        to('st', add(mul(g('rc'), i32(8)), shrU(g('st'), i32(5)))),
      ]
    : [
        to('st', w.load16(shl(g('mi'), i32(1)), T_NEXT210)),
        to('tbl', add(g('rc'), w.select(i32(8), i32(0), w.ltU(g('p'), i32(MED_SPLIT))))),
        to('d0', add(g('d0'), mul(and(g('st'), i32(15)), g('p')))),
        to('st', add(mul(g('rc'), i32(48)), shrU(g('st'), i32(4)))),
      ];
  return {
    name: small ? 'setupSmall' : 'setupMedium',
    params: [T.i32, T.i32, T.i64],
    results: [],
    locals: [...l.map(() => T.i32), ...ll.map(() => T.i64)],
    body: bitmapWalk(L, [
      to('p', add(mul(g('q'), i32(30)), load8(g('rc'), T_WHEEL8))),
      // L = m p + r: the first multiple >= L is L + d0 = (m + (r > 0)) p
      to('m', w.i64DivU(g('L'), I64(g('p')))),
      to('r', w.i64Sub(g('L'), w.i64Mul(g('m'), I64(g('p'))))),
      to('d0', w.select(i32(0), sub(g('p'), w.wrap(g('r'))), w.i64Eqz(g('r')))),
      to('mi', w.wrap(w.i64RemU(w.i64Add(g('m'), I64(w.i64Ne(g('r'), w.i64(0)))), w.i64(modulus)))),
      place,
      to('n', load(shl(g('tbl'), i32(2)), counts)),
      w.if(w.geU(g('n'), i32(cap)), [0x00]), // a table full: cannot happen (the caps have room), trap
      store(shl(g('tbl'), i32(2)), add(g('n'), i32(1)), counts),
      to('at', add(add(mul(g('tbl'), i32(16 * cap)), shl(g('n'), i32(4))), i32(table))),
      store(g('at'), g('p')),
      store(g('at'), g('q'), 4),
      store(g('at'), w.divU(g('d0'), i32(30)), 8),
      store(g('at'), g('st'), 12),
    ]),
  };
}

/**
 * Count mode's largest gap (collect.ts), once the largest so far, g, is at least 60: the largest gap
 * between consecutive primes of BUF's bytes [i0, i1] (both non-zero) if it is larger than g, else g;
 * the position of its lower prime (numbers from BUF's byte 0) goes to G_GAPAT.
 *
 * A gap between the highest prime of byte i and the lowest of byte j is at most 30 (j - i) + 28, so one
 * larger than g has a run of at least k = floor((g - 58) / 30) + 1 zero bytes between: 64 bytes at a
 * time, the zero bytes become a 64-bit mask (four SIMD compares), runs of k ones are found by shifting
 * the mask against itself, and only those runs are looked at byte by byte. A run may cross into the
 * next 64 bytes: its length so far is carried (tail). Below 1e9, where a fifth of the bytes are zero
 * and g is 150-280, that is a handful of runs per segment; the JavaScript scan it replaces looked at
 * every zero byte (~35 ms of a thread's 0.25 s in `bramble run primes --end 1e9`).
 */
function fGapScan() {
  const L = names(['i0', 'i1', 'g'], ['k', 'blk', 'last', 'tail', 'head', 'x', 'c', 'p', 'gap', 'n', 's', 'z', 'r']);
  const g = (n: string) => get(L[n]!);
  const to = (n: string, e: Code) => set(L[n]!, e);
  const I64 = w.i64ExtendU;
  const ALL = w.i64(-1);
  const minRun = to('k', add(w.divU(sub(g('g'), i32(58)), i32(30)), i32(1)));
  // bit t set when byte blk + t is zero
  const zero = w.i8x16Splat(i32(0));
  const part = (o: number): Code => I64(w.i8x16Bitmask(w.i8x16Eq(w.v128Load(g('blk'), BUF + o), zero)));
  const zeroMask = w.i64Or(w.i64Or(part(0), w.i64Shl(part(16), w.i64(16))), w.i64Or(w.i64Shl(part(32), w.i64(32)), w.i64Shl(part(48), w.i64(48))));
  // the run of zero bytes from byte x (byte x - 1 is not zero): c is the next non-zero byte
  const check: Code = [
    to('c', g('x')),
    block(loop(brIf(1, load8(g('c'), BUF)), to('c', add(g('c'), i32(1))), br(0))),
    to('p', add(mul(sub(g('x'), i32(1)), i32(30)), load8(sub(i32(31), w.clz(load8(g('x'), BUF - 1))), T_WHEEL8))),
    to('gap', sub(add(mul(g('c'), i32(30)), load8(w.ctz(load8(g('c'), BUF)), T_WHEEL8)), g('p'))),
    w.if(w.gtS(g('gap'), g('g')), [to('g', g('gap')), store(i32(0), g('p'), G_GAPAT), minRun]),
  ];
  return {
    name: 'gapScan',
    params: [T.i32, T.i32, T.i32],
    results: [T.i32],
    locals: [...Array<number>(11).fill(T.i32), T.i64, T.i64],
    body: [
      minRun,
      to('blk', and(g('i0'), i32(-64))),
      to('last', and(g('i1'), i32(-64))),
      block(
        loop(
          brIf(1, w.gtU(g('blk'), g('last'))),
          to('z', zeroMask),
          // bytes outside [i0, i1] count as non-zero
          w.if(w.eq(g('blk'), and(g('i0'), i32(-64))), [to('z', w.i64And(g('z'), w.i64Shl(ALL, I64(sub(g('i0'), g('blk'))))))]),
          w.if(w.eq(g('blk'), g('last')), [to('z', w.i64And(g('z'), w.i64ShrU(ALL, I64(sub(i32(63), sub(g('i1'), g('blk')))))))]),
          w.if(w.i64Eq(g('z'), ALL), [to('tail', add(g('tail'), i32(64))), to('blk', add(g('blk'), i32(64))), br(1)]),
          // the run that began before these 64 bytes (tail) and ends in them (head)
          to('head', w.wrap(w.i64Ctz(w.i64Xor(g('z'), ALL)))),
          w.if(w.geU(add(g('tail'), g('head')), g('k')), [to('x', sub(g('blk'), g('tail'))), check]),
          to('z', w.i64And(g('z'), w.i64Shl(ALL, I64(g('head'))))),
          // the run at the end goes on into the next 64 bytes
          to('tail', w.wrap(w.i64Clz(w.i64Xor(g('z'), ALL)))),
          to('z', w.i64And(g('z'), w.i64ShrU(ALL, I64(g('tail'))))),
          // runs inside: r = the starts of runs of at least k ones (r &= r >> s, the run length n doubling)
          w.if(w.i64Ne(g('z'), w.i64(0)), [
            w.if(w.leU(g('k'), i32(62)), [
              to('r', g('z')),
              to('n', i32(1)),
              block(
                loop(
                  brIf(1, w.geU(g('n'), g('k'))),
                  to('s', w.select(g('n'), sub(g('k'), g('n')), w.leU(g('n'), sub(g('k'), g('n'))))),
                  to('r', w.i64And(g('r'), w.i64ShrU(g('r'), I64(g('s'))))),
                  to('n', add(g('n'), g('s'))),
                  br(0),
                ),
              ),
              block(
                loop(
                  brIf(1, w.i64Eqz(g('r'))),
                  to('x', add(g('blk'), w.wrap(w.i64Ctz(g('r'))))),
                  check,
                  // a run inside ends inside: c - blk < 64
                  to('r', w.i64And(g('r'), w.i64Shl(ALL, I64(sub(g('c'), g('blk')))))),
                  br(0),
                ),
              ),
            ]),
          ]),
          to('blk', add(g('blk'), i32(64))),
          br(0),
        ),
      ),
      g('g'),
    ],
  };
}

/** ANDs mask into every step-th byte of [at, end) (the pre-sieve patterns, filled in at instantiation). */
function fAndStride() {
  const L = names(['at', 'end', 'step', 'mask'], []);
  const g = (n: string) => get(L[n]!);
  return {
    name: 'andStride',
    params: [T.i32, T.i32, T.i32, T.i32],
    results: [],
    locals: [],
    body: [block(loop(brIf(1, w.geU(g('at'), g('end'))), store8(g('at'), and(load8(g('at')), g('mask'))), set(L.at!, add(g('at'), g('step'))), br(0)))],
  };
}

/** Set bits in the first n bytes of BUF (n a multiple of 8). */
function fCount() {
  const L = names(['n'], ['i', 'c']);
  const g = (n: string) => get(L[n]!);
  return {
    name: 'count',
    params: [T.i32],
    results: [T.i32],
    locals: [T.i32, T.i32],
    body: [
      block(
        loop(
          brIf(1, w.geU(g('i'), g('n'))),
          set(L.c!, add(g('c'), w.wrap(w.i64Popcnt(w.load64(g('i'), BUF))))),
          set(L.i!, add(g('i'), i32(8))),
          br(0),
        ),
      ),
      g('c'),
    ],
  };
}

/** medium0 .. medium7: the medium primes of one residue class (mod 30), see fMedium. */
export type MediumName = `medium${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}`;
export const MEDIUM_NAMES = Array.from({ length: 8 }, (_, rc) => `medium${rc}` as MediumName);
/** small0 .. small7: the small primes of one residue class (mod 30), see fSmall. */
export type SmallName = `small${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}`;
export const SMALL_NAMES = Array.from({ length: 8 }, (_, rc) => `small${rc}` as SmallName);

export interface SieveExports extends Record<MediumName | SmallName, (base: number, end: number, n: number) => void> {
  presieve(dst: number, n: number, ...offsets: number[]): void;
  shift(at: number, n: number, by: number): void;
  bucket(s: number, numSegs: number): void;
  setupBig(nWords: number, k0: number, numSegs: number, L: bigint): number;
  count(n: number): number;
  gapScan(i0: number, i1: number, g: number): number;
  andStride(at: number, end: number, step: number, mask: number): void;
  setupSmall(nWords: number, k0: number, L: bigint): void;
  setupMedium(nWords: number, k0: number, L: bigint): void;
}

const api = wasmApi();

let compiled: WasmModule | null = null;

/** The module's bytes, assembled from the functions above (~15-30 ms of CPU in a fresh thread). */
export function assembleSieveBytes(): Uint8Array {
  return assemble([fPresieve(), ...SMALL_NAMES.map((_, rc) => fSmall(rc)), ...MEDIUM_NAMES.map((_, rc) => fMedium(rc)), fShift(), fBucket(), fSetupBig(), fCount(), fGapScan(), fAndStride(), fSetup('small'), fSetup('medium')], 1, 65536);
}

/**
 * The bytes assembleSieveBytes() gave when scripts/build-bundles.mjs made the bundle this runs from
 * (base64; test/bundles.test.ts holds them equal); undefined when running the compiled modules.
 */
declare const BRAMBLE_PRIMES_WASM: string | undefined;

/** The module's bytes: as assembled at build time where this runs from a bundle, else assembled now. */
export function sieveBytes(): Uint8Array {
  if (typeof BRAMBLE_PRIMES_WASM === 'string' && !KNOBS_SET) return new Uint8Array(Buffer.from(BRAMBLE_PRIMES_WASM, 'base64'));
  return assembleSieveBytes();
}

/** The compiled sieve module of this thread: assembled and compiled on first use, or the one given to useSieveModule. */
export function sieveModule(): WasmModule {
  if (compiled) return compiled;
  if (!api) throw new Error('the primes kernel needs WebAssembly');
  compiled = new api.Module(sieveBytes());
  return compiled;
}

const EXPORTS: readonly (keyof SieveExports)[] = ['presieve', ...SMALL_NAMES, ...MEDIUM_NAMES, 'shift', 'bucket', 'setupBig', 'count', 'gapScan', 'andStride', 'setupSmall', 'setupMedium'];

/** Instantiates `module` over `mem`, checking that it is the sieve's module (it may come from another thread). */
function instanceOf(module: WasmModule, mem: WasmMemory): SieveExports {
  let exports: Record<string, unknown>;
  try {
    exports = new api!.Instance(module, { env: { mem } }).exports;
  } catch (e) {
    throw new TypeError(`primes: not the sieve's WebAssembly module (${(e as Error).message})`, { cause: e });
  }
  for (const name of EXPORTS) if (typeof exports[name] !== 'function') throw new TypeError(`primes: not the sieve's WebAssembly module (no ${name})`);
  return exports as unknown as SieveExports;
}

/**
 * Makes this thread use a module compiled elsewhere (sieveModule() of another thread, posted here:
 * WebAssembly.Module objects can be sent to worker threads), instead of assembling and compiling its own.
 * Checked by instantiating it once. Engines made before keep theirs.
 */
export function useSieveModule(module: WasmModule): void {
  if (!api) throw new Error('the primes kernel needs WebAssembly');
  if (module === compiled) return;
  instanceOf(module, new api.Memory({ initial: 1, maximum: 65536 }));
  compiled = module;
}

/** A fresh instance with its own memory of at least `bytes`, tables and patterns filled in. */
export function instantiate(bytes: number): { mem: WasmMemory; x: SieveExports } {
  const module = sieveModule();
  const mem = new api!.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536 });
  const x = instanceOf(module, mem);
  initMemory(mem, x);
  return { mem, x };
}

/**
 * Fills the constant part of a fresh memory: tables and pre-sieve patterns. A pattern is crossed off in
 * WebAssembly (andStride): in JavaScript, at a thread's start, that took ~4 ms of its first chunk.
 */
function initMemory(mem: WasmMemory, x: SieveExports): void {
  const u8 = new Uint8Array(mem.buffer);
  u8.set(WHEEL, T_WHEEL8);
  new Int32Array(mem.buffer, T_STEP210, 384).set(STEP210);
  new Uint16Array(mem.buffer, T_NEXT210, 210).set(NEXT210);
  for (let t = 0; t < 30; t++) u8[T_NEXTW + t] = NEXT_WHEEL_VALUE[t]! | (NEXT_WHEEL_INDEX[t]! << 5);
  PRESIEVE_GROUPS.forEach((primes, gi) => {
    const at = PAT[gi]!;
    const end = at + PERIODS[gi]! + BLOCK + 64;
    u8.fill(255, at, end);
    for (const p of primes) {
      let inv30 = 1; // 30^-1 (mod p)
      while ((30 * inv30) % p !== 1) inv30++;
      // byte k holds 30k + WHEEL[b]: the multiples of p among them are at k = -WHEEL[b] / 30 (mod p)
      for (let b = 0; b < 8; b++) x.andStride(at + (((p - (WHEEL[b]! % p)) * inv30) % p), end, p, ~(1 << b) & 255);
    }
  });
  new Int32Array(mem.buffer, GLOB, 3).fill(0);
}
