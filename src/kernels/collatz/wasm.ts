/**
 * The verify mode's hot loop in WebAssembly, assembled at load time (no build step, no binary file).
 *
 * `verify(base, i0, i1, b9)` checks the sieve's surviving residues i0 .. i1 - 1 of the block of
 * 2^SIEVE_BITS numbers at `base` (any block below 2^64; b9 = base mod 9), the way engine.ts does in
 * JavaScript, with the same results:
 *  - residues whose number is = 2 (mod 3) or = 4 (mod 9) are skipped (a table: n mod 9 is b9 + r mod 9;
 *    the kept indices are gathered first without a branch each, then walked);
 *  - the walk starts at T^24(n) = 3^c * (n >> 24) + T^24(r) (c and T^24(r) kept per residue by the
 *    sieve: Barina's 2^k-step start; a survivor of the sieve does not drop below n in those steps) when
 *    a bound per block shows none of those 24 steps' values can pass the largest value so far, else at n;
 *  - n is followed by 16-T-step jumps x = hi * 2^16 + lo -> 3^c * hi + d from a table of the low 16 bits
 *    until it drops below n. Values below 2^53 are one 64-bit integer; above, two (hi:lo, 128 bits,
 *    the products split in 32-bit halves), so that a number below 2^64 and its path stay here;
 *  - a jump is taken whole when no value inside it can pass the largest value seen so far (x at most a
 *    threshold recomputed when that value grows) and either it ends below n (then n is done: the
 *    values after the first drop below n are not looked at, and none of them can matter to the
 *    largest value) or no value inside it is below n (a lower bound per table entry; below 2^53, when
 *    the bound cannot tell, the jump's 16 T-values are computed without branches to see whether one is
 *    below n). Otherwise the 16 steps are made singly, offering every 3x + 1 value and stopping at the
 *    first value below n, exactly as the definition says;
 *  - exact, never wrapped: a jump starts only below 2^112 (16 steps, 3x + 1 included, stay below 2^124);
 *    a path that reaches 2^112 (none known from n < 2^64) is handed back to the caller: the return
 *    value is that residue's index, which engine.ts follows with its exact walkers (limbs, BigInt),
 *    calling again from the next residue.
 *
 * Memory (bytes): G globals (largest value lo, hi, its n; checked; hand-back limit), SKIP (18 bytes),
 * TAB (2^16 x 16 bytes: mul, add, minA, minB as u32), RES (residues, u32), RES9 (residue mod 9, u8),
 * C (odd steps among the first SIEVE_BITS, u8), D (T^SIEVE_BITS(r), u64), IDX (scratch: the indices of one
 * call's residues that the mod-3/9 rule keeps, u32).
 */
import { assemble, T, w, type Code } from '../primes/asm.js';
import { uleb, wasmApi, type WasmMemory, type WasmModule } from '../wasm/module.js';
import { getSieve, getWasmJumpTable, JUMP, SIEVE_BITS } from './tables.js';

/** Byte offsets of the globals: u64 words 0..2 and 4, u32 word 6. */
export const G_BEST_LO = 0;
export const G_BEST_HI = 8;
export const G_BEST_N = 16;
export const G_CHECKED = 24;
export const G_LIMIT_HI = 32;
/** u32: 1 to start each walk at T^SIEVE_BITS(n) where it may (the default), 0 to start at n. */
export const G_HEAD_START = 40;
const SKIP = 64;
/** 3^c, c = 0..SIEVE_BITS, u64 */
const POW3 = 128;
const TAB = 1024;
const RES = TAB + JUMP * 16;
/** Values below this are walked in one 64-bit integer. */
const FAST_LIMIT = 2n ** 53n;
/** A path is handed back when its high 64 bits reach this (2^112). */
export const HAND_BACK_HI = 1n << 48n;

export interface VerifyExports {
  verify(base: bigint, i0: number, i1: number, b9: number): number;
}

export interface Verifier {
  x: VerifyExports;
  /** largest value (lo, hi), its n, -, hand-back limit (high 64 bits) */
  g64: BigUint64Array;
  /** word 6: numbers checked since last read; word 10: head start on */
  g32: Uint32Array;
}

// opcodes the primes assembler does not name
const bin = (op: number) => (a: Code, b: Code): Code => [a, b, op];
const x64 = {
  eq: bin(0x51),
  ltU: bin(0x54),
  gtU: bin(0x56),
  geU: bin(0x5a),
  load32U: (addr: Code, off = 0): Code => [addr, 0x35, 2, uleb(off)],
  fMin: bin(0xa4),
  fMax: bin(0xa5),
  fGt: bin(0x64),
};

// structured control flow with named labels: br to a name computes its depth
const labels: string[] = [];
function scoped(name: string, make: () => Code[]): Code[] {
  labels.push(name);
  try {
    return make();
  } finally {
    labels.pop();
  }
}
function depth(name: string): number {
  const k = labels.lastIndexOf(name);
  if (k < 0) throw new Error(`no label ${name}`);
  return labels.length - 1 - k;
}
const block = (name: string, make: () => Code[]): Code => [0x02, 0x40, scoped(name, make), 0x0b];
const loop = (name: string, make: () => Code[]): Code => [0x03, 0x40, scoped(name, make), 0x0b];
const when = (cond: Code, then: () => Code[], els?: () => Code[]): Code =>
  els ? [cond, 0x04, 0x40, scoped('', then), 0x05, scoped('', els), 0x0b] : [cond, 0x04, 0x40, scoped('', then), 0x0b];
const br = (name: string): Code => [0x0c, uleb(depth(name))];
const brIf = (name: string, cond: Code): Code => [cond, 0x0d, uleb(depth(name))];

function fVerify(growth: number, lift: number, res9: number, resC: number, resD: number, idxAt: number) {
  const params = ['base', 'i0', 'i1', 'b9'];
  const l32 = ['i', 'e', 'j', 'chk', 'hs', 'hsOn', 'p', 'k', 'dip'];
  const l64 = ['n', 'x', 'xh', 'hi', 'y', 'yh', 'v', 'vh', 'best', 'bestH', 'bestCap', 'ms', 't', 'p0', 'p1', 'ql', 'qh', 'limH'];
  const lf = ['msF', 'bf', 'hsB'];
  const idx: Record<string, number> = {};
  [...params, ...l32, ...l64, ...lf].forEach((name, k) => (idx[name] = k));
  const g = (name: string): Code => w.get(idx[name]!);
  const s = (name: string, e: Code): Code => w.set(idx[name]!, e);
  const { i32, i64, i64Add, i64Mul, i64ShrU, i64Shl, i64And, i64Or, i64ExtendU, i64Eqz, load64, store64 } = w;
  const M32 = i64(0xffffffff);
  const TWO64 = w.f64(2 ** 64);
  const u64f = (e: Code): Code => w.fFromI64U(e);

  // x <= ms (x * 2^-16 * growth + lift <= best, with margins) means no value inside a jump from x
  // passes the largest value so far. ms clamped to [0, 2^60] for the 64-bit comparison; msF unclamped.
  const k = (65536 / growth) * (1 - 2 ** -30);
  // hs: whether every value of the first SIEVE_BITS steps of any n of the block stays below the
  // largest value so far (their bound hsB is set per call), so that the walk may start at T^SIEVE_BITS(n)
  const recompute: Code[] = [
    s('bestCap', w.select(i64(-1), g('best'), w.i64Ne(g('bestH'), i64(0)))),
    s('bf', w.fMul(w.fAdd(w.fMul(u64f(g('bestH')), TWO64), u64f(g('best'))), w.f64(1 - 2 ** -30))),
    s('msF', w.fMul(w.fSub(g('bf'), w.f64(lift)), w.f64(k))),
    s('ms', w.i64TruncU(x64.fMax(x64.fMin(g('msF'), w.f64(2 ** 60)), w.f64(0)))),
    s('hs', w.and(g('hsOn'), w.fLt(g('hsB'), g('bf')))),
  ];
  /** Offers v (< 2^64). */
  const offer64 = (v: Code): Code =>
    when(x64.gtU(v, g('bestCap')), () => [s('best', v), s('bestH', i64(0)), store64(i32(0), g('n'), G_BEST_N), ...recompute]);
  /** Offers (vh, v). */
  const offer128 = (): Code =>
    when(w.or(x64.gtU(g('vh'), g('bestH')), w.and(x64.eq(g('vh'), g('bestH')), x64.gtU(g('v'), g('best')))), () => [
      s('best', g('v')),
      s('bestH', g('vh')),
      store64(i32(0), g('n'), G_BEST_N),
      ...recompute,
    ]);
  const entry = (lo: Code): Code => s('e', w.add(w.shl(w.and(w.wrap(lo), i32(0xffff)), i32(4)), i32(TAB)));
  const mul = (): Code => x64.load32U(g('e'));
  const add = (): Code => x64.load32U(g('e'), 4);
  const minA = (): Code => x64.load32U(g('e'), 8);
  const minB = (): Code => x64.load32U(g('e'), 12);

  /** Up to 16 single T-steps on x < 2^53 (values stay below 2^64); done with n once x < n. */
  const singlesFast = (): Code[] => [
    s('j', i32(16)),
    loop('S', () => [
      when(
        w.i64Ne(i64And(g('x'), i64(1)), i64(0)),
        () => [s('v', i64Add(i64Mul(g('x'), i64(3)), i64(1))), offer64(g('v')), s('x', i64ShrU(g('v'), i64(1)))],
        () => [s('x', i64ShrU(g('x'), i64(1)))],
      ),
      brIf('NEXT', x64.ltU(g('x'), g('n'))),
      s('j', w.sub(g('j'), i32(1))),
      brIf('S', g('j')),
    ]),
  ];

  /** Up to 16 single T-steps on (xh, x) below 2^112: 3x + 1 in 32-bit halves. */
  const singlesBig = (): Code[] => [
    s('j', i32(16)),
    loop('S', () => [
      when(
        w.i64Ne(i64And(g('x'), i64(1)), i64(0)),
        () => [
          s('t', i64Add(i64Mul(i64And(g('x'), M32), i64(3)), i64(1))),
          s('p1', i64Add(i64Mul(i64ShrU(g('x'), i64(32)), i64(3)), i64ShrU(g('t'), i64(32)))),
          s('v', i64Or(i64And(g('t'), M32), i64Shl(g('p1'), i64(32)))),
          s('vh', i64Add(i64Mul(g('xh'), i64(3)), i64ShrU(g('p1'), i64(32)))),
          offer128(),
          s('x', i64Or(i64ShrU(g('v'), i64(1)), i64Shl(g('vh'), i64(63)))),
          s('xh', i64ShrU(g('vh'), i64(1))),
        ],
        () => [s('x', i64Or(i64ShrU(g('x'), i64(1)), i64Shl(g('xh'), i64(63)))), s('xh', i64ShrU(g('xh'), i64(1)))],
      ),
      brIf('NEXT', w.and(i64Eqz(g('xh')), x64.ltU(g('x'), g('n')))),
      s('j', w.sub(g('j'), i32(1))),
      brIf('S', g('j')),
    ]),
  ];

  const fast = (): Code =>
    loop('FAST', () => [
      brIf('WALK', x64.geU(g('x'), i64(FAST_LIMIT))),
      s('hi', i64ShrU(g('x'), i64(16))),
      entry(g('x')),
      when(x64.gtU(g('x'), g('ms')), () => [...singlesFast(), br('FAST')]),
      s('y', i64Add(i64Mul(mul(), g('hi')), add())),
      brIf('NEXT', x64.ltU(g('y'), g('n'))),
      // the bound allows a value below n inside the jump: its 16 T-values, without a branch each (no
      // value can pass the largest here, x <= ms; only whether one is below n matters, then n is done)
      when(x64.ltU(i64Add(i64Mul(minA(), g('hi')), minB()), g('n')), () => [
        s('v', g('x')),
        s('dip', i32(0)),
        ...Array.from({ length: 16 }, () => [
          // (3v + 1) / 2 = v + (v + 1) / 2 for odd v, v / 2 for even v
          s('v', w.select(i64Add(g('v'), i64ShrU(i64Add(g('v'), i64(1)), i64(1))), i64ShrU(g('v'), i64(1)), w.wrap(i64And(g('v'), i64(1))))),
          s('dip', w.or(g('dip'), x64.ltU(g('v'), g('n')))),
        ]),
        brIf('NEXT', g('dip')),
      ]),
      s('x', g('y')),
      br('FAST'),
    ]);

  const big = (): Code[] => [
    // hand back: the caller follows this n in its exact walkers
    when(x64.geU(g('xh'), g('limH')), () => [s('chk', w.sub(g('chk'), i32(1))), br('EXIT')]),
    entry(g('x')),
    when(x64.fGt(w.fAdd(w.fMul(u64f(g('xh')), TWO64), u64f(g('x'))), g('msF')), () => [...singlesBig(), br('WALK')]),
    s('ql', i64Or(i64ShrU(g('x'), i64(16)), i64Shl(g('xh'), i64(48)))),
    s('qh', i64ShrU(g('xh'), i64(16))),
    // (yh, y) = mul * (qh, ql) + add, mul < 2^26, qh < 2^32
    s('p0', i64Mul(mul(), i64And(g('ql'), M32))),
    s('p1', i64Mul(mul(), i64ShrU(g('ql'), i64(32)))),
    s('t', i64Add(i64ShrU(g('p0'), i64(32)), i64And(g('p1'), M32))),
    s('y', i64Or(i64And(g('p0'), M32), i64Shl(g('t'), i64(32)))),
    s('yh', i64Add(i64Add(i64Mul(mul(), g('qh')), i64ShrU(g('p1'), i64(32))), i64ShrU(g('t'), i64(32)))),
    s('y', i64Add(g('y'), add())),
    s('yh', i64Add(g('yh'), i64ExtendU(x64.ltU(g('y'), add())))),
    brIf('NEXT', w.and(i64Eqz(g('yh')), x64.ltU(g('y'), g('n')))),
    // q >= 2^64 > n bounds every value inside from below (minA >= 1); else a rounded check with margins
    when(
      w.and(
        i64Eqz(g('qh')),
        w.fLt(
          w.fMul(w.fAdd(w.fMul(u64f(minA()), u64f(g('ql'))), u64f(minB())), w.f64(1 - 2 ** -40)),
          w.fMul(u64f(g('n')), w.f64(1 + 2 ** -40)),
        ),
      ),
      () => [...singlesBig(), br('WALK')],
    ),
    s('x', g('y')),
    s('xh', g('yh')),
    br('WALK'),
  ];

  // Any value of the first SIEVE_BITS T-steps of n = m * 2^bits + r, 3x + 1 included, is at most
  // 3 * (3/2)^(bits - 1) * (n + 1) < 3 * 1.5^bits * (base + 2^bits) (T(x) <= 1.5 x + 0.5), with a margin
  const B = 2 ** SIEVE_BITS;
  const body: Code = [
    s('hsOn', w.load(i32(0), G_HEAD_START)),
    s('hsB', w.fMul(w.fAdd(w.fMul(w.fAdd(u64f(g('base')), w.f64(B)), w.f64(3 * 1.5 ** SIEVE_BITS)), w.f64(1)), w.f64(1 + 2 ** -30))),
    s('best', load64(i32(0), G_BEST_LO)),
    s('bestH', load64(i32(0), G_BEST_HI)),
    s('limH', load64(i32(0), G_LIMIT_HI)),
    ...recompute,
    // the indices of the residues not skipped by the mod-3/9 rule, without a branch on each
    s('i', g('i0')),
    s('k', i32(0)),
    block('CB', () => [
      loop('CL', () => [
        brIf('CB', w.geU(g('i'), g('i1'))),
        w.store(w.shl(g('k'), i32(2)), g('i'), idxAt),
        s('k', w.add(g('k'), w.sub(i32(1), w.load8(w.add(g('b9'), w.load8(g('i'), res9)), SKIP)))),
        s('i', w.add(g('i'), i32(1))),
        br('CL'),
      ]),
    ]),
    s('p', i32(0)),
    block('EXIT', () => [
      loop('RES', () => [
        when(w.geU(g('p'), g('k')), () => [s('i', g('i1')), br('EXIT')]),
        s('i', w.load(w.shl(g('p'), i32(2)), idxAt)),
        block('NEXT', () => [
          s('n', i64Add(g('base'), i64ExtendU(w.load(w.shl(g('i'), i32(2)), RES)))),
          s('chk', w.add(g('chk'), i32(1))),
          offer64(g('n')),
          when(
            g('hs'),
            () => [
              // (xh, x) = T^bits(n) = 3^c * m + T^bits(r), m = base / 2^bits < 2^40 split at 20 bits
              s('t', load64(w.shl(w.load8(g('i'), resC), i32(3)), POW3)),
              s('p0', i64Mul(g('t'), i64And(i64ShrU(g('base'), i64(SIEVE_BITS)), i64(0xfffff)))),
              s('p1', i64Mul(g('t'), i64ShrU(g('base'), i64(SIEVE_BITS + 20)))),
              s('x', i64Add(i64Shl(g('p1'), i64(20)), g('p0'))),
              s('xh', i64Add(i64ShrU(g('p1'), i64(44)), i64ExtendU(x64.ltU(g('x'), g('p0'))))),
              s('t', load64(w.shl(g('i'), i32(3)), resD)),
              s('x', i64Add(g('x'), g('t'))),
              s('xh', i64Add(g('xh'), i64ExtendU(x64.ltU(g('x'), g('t'))))),
            ],
            () => [s('x', g('n')), s('xh', i64(0))],
          ),
          loop('WALK', () => [
            when(w.and(i64Eqz(g('xh')), x64.ltU(g('x'), i64(FAST_LIMIT))), () => [fast()], big),
          ]),
        ]),
        s('p', w.add(g('p'), i32(1))),
        br('RES'),
      ]),
    ]),
    store64(i32(0), g('best'), G_BEST_LO),
    store64(i32(0), g('bestH'), G_BEST_HI),
    w.store(i32(0), w.add(w.load(i32(0), G_CHECKED), g('chk')), G_CHECKED),
    g('i'),
  ];
  return {
    name: 'verify',
    params: [T.i64, T.i32, T.i32, T.i32],
    results: [T.i32],
    locals: [...l32.map(() => T.i32), ...l64.map(() => T.i64), ...lf.map(() => T.f64)],
    body,
  };
}

let compiled: WasmModule | null = null;
let resOffset = 0;
let verifier: Verifier | null = null;

/** The thread's verifier (null without WebAssembly): tables and residues loaded on first use. */
export function getVerifier(): Verifier | null {
  if (verifier) return verifier;
  // the start at T^bits(n) multiplies 3^c (< 2^38.1 at 24 bits) by 20-bit halves of n >> bits in 64 bits
  if (SIEVE_BITS > 24) throw new Error(`the WebAssembly verify walk assumes a sieve of at most 2^24 (got 2^${SIEVE_BITS})`);
  const api = wasmApi();
  if (!api) return null;
  const jt = getWasmJumpTable();
  const sieve = getSieve();
  const nRes = sieve.residues.length;
  const res9 = RES + 4 * nRes;
  const resC = res9 + nRes;
  const resD = Math.ceil((resC + nRes) / 8) * 8;
  const idx = resD + 8 * nRes;
  const bytes = idx + 4 * nRes;
  if (!compiled || resOffset !== res9) {
    compiled = new api.Module(assemble([fVerify(jt.growth * 65536, jt.lift, res9, resC, resD, idx)], 1, 65536));
    resOffset = res9;
  }
  // it never grows: no larger maximum to reserve (a 32-bit Pi has little address space)
  const pages = Math.ceil(bytes / 65536);
  const mem: WasmMemory = new api.Memory({ initial: pages, maximum: pages });
  const inst = new api.Instance(compiled, { env: { mem } });
  const u8 = new Uint8Array(mem.buffer);
  for (let r = 0; r < 18; r++) {
    const m = r % 9;
    u8[SKIP + r] = m % 3 === 2 || m === 4 ? 1 : 0;
  }
  new Uint32Array(mem.buffer, TAB, JUMP * 4).set(jt.tab);
  new Uint32Array(mem.buffer, RES, nRes).set(sieve.residues);
  for (let i = 0; i < nRes; i++) u8[res9 + i] = sieve.residues[i]! % 9;
  u8.set(sieve.odd, resC);
  // T^24(r) < 2^39 as two little-endian u32 words (BigInt conversions cost ~10 ms here)
  const d = new Uint32Array(mem.buffer, resD, 2 * nRes);
  for (let i = 0; i < nRes; i++) {
    const v = sieve.value[i]!;
    const hi = Math.floor(v / 4294967296);
    d[2 * i] = v - hi * 4294967296;
    d[2 * i + 1] = hi;
  }
  const p3 = new BigUint64Array(mem.buffer, POW3, SIEVE_BITS + 1);
  for (let c = 0; c <= SIEVE_BITS; c++) p3[c] = 3n ** BigInt(c);
  const g64 = new BigUint64Array(mem.buffer, 0, 5);
  g64[G_LIMIT_HI / 8] = HAND_BACK_HI;
  new Uint32Array(mem.buffer, 0, 16)[G_HEAD_START / 4] = 1;
  verifier = { x: inst.exports as unknown as VerifyExports, g64, g32: new Uint32Array(mem.buffer, 0, 16) };
  return verifier;
}
