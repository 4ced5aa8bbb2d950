/**
 * The verify mode's hot loop in WebAssembly, assembled at load time (no build step, no binary file).
 *
 * `verify(base, i0, i1, b9)` checks the sieve's surviving residues i0 .. i1 - 1 of the block of
 * 2^SIEVE_BITS numbers at `base` (b9 = base mod 9), the way engine.ts does in JavaScript:
 *  - residues whose number is = 2 (mod 3) or = 4 (mod 9) are skipped (a 9 x 9 table: n mod 9 is
 *    b9 + r mod 9, mod 9);
 *  - n is followed in 64-bit integers by 16-T-step jumps x = hi * 2^16 + lo -> 3^c * hi + d from a table
 *    of the low 16 bits, until it drops below n. A jump is taken whole only when it cannot go below n
 *    on the way (minA * hi + minB >= n) and cannot pass the largest value seen so far (x <= maxSafe);
 *    otherwise the 16 steps are made one at a time, offering every 3x + 1 value;
 *  - exact, never wrapped: every value handled here is below 2^53 on entry to a jump (so that 16 steps,
 *    3x + 1 included, stay below 2^64); a path that reaches 2^53, or an n at or above it, is handed back
 *    to the caller (the return value is that residue's index), which follows it with the exact
 *    JavaScript walkers (doubles, limbs to 2^128, BigInt) and calls again from the next residue.
 *
 * Memory (bytes): G globals (best, bestN, maxSafe: u64; checked: u32), SKIP (18 bytes), TAB (2^16 x 16
 * bytes: mul, add, minA, minB as u32), RES (residues, u32), RES9 (residue mod 9, u8).
 */
import { assemble, T, w, type Code } from '../primes/asm.js';
import { wasmApi, type WasmMemory, type WasmModule } from '../wasm/module.js';
import { getJumpTable, getSieve, JT_STRIDE, JT_MUL, JT_ADD, JT_MINA, JT_MINB, JUMP } from './tables.js';

const G_BEST = 0;
const G_BESTN = 8;
const G_MS = 16;
const G_CHK = 24;
const SKIP = 64;
const TAB = 1024;
const RES = TAB + JUMP * 16;
/** Values at or above this are handed back to JavaScript. */
export const WASM_LIMIT = 2 ** 53;

export interface VerifyExports {
  verify(base: bigint, i0: number, i1: number, b9: number): number;
  setBest(best: bigint): void;
}

export interface Verifier {
  x: VerifyExports;
  /** best, bestN, maxSafe (u64) */
  g64: BigUint64Array;
  g32: Uint32Array;
}

const { get, set, i32, add, sub, shl, and, load8, store, load, block, loop, br, brIf } = w;

function fVerify(growth: number, lift: number, res9: number) {
  const params = ['base', 'i0', 'i1', 'b9'];
  const locals32 = ['i', 'e', 'j', 'chk'];
  const locals64 = ['n', 'x', 'hi', 'v', 'best', 'ms'];
  const L: Record<string, number> = {};
  [...params, ...locals32, ...locals64].forEach((n, k) => (L[n] = k));
  const g = (n: string) => get(L[n]!);
  const s = (n: string, e: Code) => set(L[n]!, e);
  const { i64, i64Add, i64Mul, i64ShrU, i64And, i64GeU, i64GtU, i64LtU, i64ExtendU, load32U64, load64, store64 } = w;
  // maxSafe: x <= maxSafe implies growth * x / 2^16 + lift <= best, so no value inside a jump from x
  // passes best. Computed in doubles with a margin on each side, clamped to [0, 2^60].
  const k = (65536 / growth) * (1 - 2 ** -30);
  const recompute: Code = s(
    'ms',
    w.i64TruncU(w.fMax(w.fMin(w.fMul(w.fSub(w.fMul(w.fFromI64U(g('best')), w.f64(1 - 2 ** -30)), w.f64(lift)), w.f64(k)), w.f64(2 ** 60)), w.f64(0))),
  );
  const offer = (v: Code): Code =>
    w.if(i64GtU(v, g('best')), [s('best', v), store64(i32(0), g('n'), G_BESTN), recompute]);
  const LIM = i64(WASM_LIMIT);
  return {
    name: 'verify',
    params: [T.i64, T.i32, T.i32, T.i32],
    results: [T.i32],
    locals: [...locals32.map(() => T.i32), ...locals64.map(() => T.i64)],
    body: [
      s('best', load64(i32(0), G_BEST)),
      s('ms', load64(i32(0), G_MS)),
      s('i', g('i0')),
      // A: exit
      block(
        // B: residues
        loop(
          brIf(1, w.geU(g('i'), g('i1'))),
          // C: next residue
          block(
            brIf(0, load8(add(g('b9'), load8(g('i'), res9)), SKIP)),
            s('n', i64Add(g('base'), i64ExtendU(load(shl(g('i'), i32(2)), RES)))),
            brIf(2, i64GeU(g('n'), LIM)),
            s('chk', add(g('chk'), i32(1))),
            offer(g('n')),
            s('x', g('n')),
            // D: walk
            loop(
              w.if(i64GeU(g('x'), LIM), [s('chk', sub(g('chk'), i32(1))), br(4)]),
              s('hi', i64ShrU(g('x'), i64(16))),
              s('e', add(shl(and(w.wrap(g('x')), i32(0xffff)), i32(4)), i32(TAB))),
              w.if(
                w.or(i64GtU(g('x'), g('ms')), i64LtU(i64Add(i64Mul(load32U64(g('e'), 8), g('hi')), load32U64(g('e'), 12)), g('n'))),
                [
                  s('j', i32(16)),
                  // E: single steps
                  loop(
                    w.if(
                      w.i64Ne(i64And(g('x'), i64(1)), i64(0)),
                      [s('v', i64Add(i64Mul(g('x'), i64(3)), i64(1))), offer(g('v')), s('x', i64ShrU(g('v'), i64(1)))],
                      [s('x', i64ShrU(g('x'), i64(1)))],
                    ),
                    brIf(3, i64LtU(g('x'), g('n'))),
                    s('j', sub(g('j'), i32(1))),
                    brIf(0, g('j')),
                  ),
                  br(1),
                ],
              ),
              s('x', i64Add(i64Mul(load32U64(g('e')), g('hi')), load32U64(g('e'), 4))),
              br(0),
            ),
          ),
          s('i', add(g('i'), i32(1))),
          br(0),
        ),
      ),
      store64(i32(0), g('best'), G_BEST),
      store64(i32(0), g('ms'), G_MS),
      store(i32(0), add(load(i32(0), G_CHK), g('chk')), G_CHK),
      g('i'),
    ],
  };
}

function fSetBest(growth: number, lift: number) {
  // best (param 0), ms (local 1): the same recompute as in verify
  const k = (65536 / growth) * (1 - 2 ** -30);
  const ms = w.i64TruncU(
    w.fMax(w.fMin(w.fMul(w.fSub(w.fMul(w.fFromI64U(get(0)), w.f64(1 - 2 ** -30)), w.f64(lift)), w.f64(k)), w.f64(2 ** 60)), w.f64(0)),
  );
  return {
    name: 'setBest',
    params: [T.i64],
    results: [],
    locals: [],
    body: [w.store64(i32(0), get(0), G_BEST), w.store64(i32(0), ms, G_MS)],
  };
}

let compiled: WasmModule | null = null;
let resOffset = 0;
let verifier: Verifier | null = null;

/** The thread's verifier (null without WebAssembly): tables and residues loaded on first use. */
export function getVerifier(): Verifier | null {
  if (verifier) return verifier;
  const api = wasmApi();
  if (!api) return null;
  const jt = getJumpTable();
  const sieve = getSieve();
  const nRes = sieve.residues.length;
  const res9 = RES + 4 * nRes;
  const bytes = res9 + nRes + 64;
  if (!compiled || resOffset !== res9) {
    const growth = jt.growth * 65536;
    const f = fVerify(growth, jt.lift, res9);
    compiled = new api.Module(assemble([f, fSetBest(growth, jt.lift)], 1, 65536));
    resOffset = res9;
  }
  const mem: WasmMemory = new api.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536 });
  const inst = new api.Instance(compiled, { env: { mem } });
  const u8 = new Uint8Array(mem.buffer);
  for (let s = 0; s < 18; s++) {
    const m = s % 9;
    u8[SKIP + s] = m % 3 === 2 || m === 4 ? 1 : 0;
  }
  const tab = new Uint32Array(mem.buffer, TAB, JUMP * 4);
  const e = jt.entries;
  for (let lo = 0; lo < JUMP; lo++) {
    const o = lo * JT_STRIDE;
    tab[4 * lo] = e[o + JT_MUL]!;
    tab[4 * lo + 1] = e[o + JT_ADD]!;
    tab[4 * lo + 2] = e[o + JT_MINA]!;
    tab[4 * lo + 3] = e[o + JT_MINB]!;
  }
  new Uint32Array(mem.buffer, RES, nRes).set(sieve.residues);
  for (let i = 0; i < nRes; i++) u8[res9 + i] = sieve.residues[i]! % 9;
  verifier = { x: inst.exports as unknown as VerifyExports, g64: new BigUint64Array(mem.buffer, 0, 3), g32: new Uint32Array(mem.buffer, 0, 8) };
  return verifier;
}
