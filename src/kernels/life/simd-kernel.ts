// The Life stepping kernel as WebAssembly SIMD, generated per rule at run time (see wasm-assembler.ts).
//
// Memory layout shared with the JavaScript kernel (js-kernel.ts), in bytes:
//   a grid buffer is rows -1 .. H (ghost rows above and below), each `stride` = 16 * (nvec + 2) bytes:
//     [0, 8)   padding            [8, 16)  left ghost word (bit 63 = the cell west of x = 0)
//     [16, 16 + 16 * nvec)  cells, 128 per vector, little-endian: cell x is bit x & 63 of 64-bit word x >> 6
//     [16 + 16 * nvec, +8)  right ghost word        then 8 bytes of padding
// Bits at x >= width inside the cell area act as ghosts too (bit `width` holds the cell east of width-1).
//
// The kernel walks each vector column top to bottom. For every row it forms the horizontal 3-sum
// (west + centre + east) with one full adder, as two bit planes (s, c); each row's sum is computed
// once and reused by the three output rows that need it. The 3x3 sum including the centre is then
//   sum9 = s0 + 2*b1 + 4*(t2 + k)   (two more full adders and a half adder)
// and the rule circuit (rule-circuit.ts) maps (alive, s0, b1, t2, k) to the next state.

import { assembleModule, Code, ValType, wasmApi, type FunctionSpec, type WasmMemory, type WasmModule } from './wasm-assembler.js';
import { type Circuit, Var } from './rule-circuit.js';

// parameters
const SRC = 0;
const DST = 1;
const STRIDE = 2;
const NVEC = 3;
const ROWS = 4;
// i32 locals
const I = 5;
const P = 6;
const Q = 7;
const Y = 8;
// v128 locals
const SA = 9;
const CA = 10;
const SM = 11;
const CM = 12;
const AM = 13;
const SB = 14;
const CB = 15;
const AB = 16;
const W = 17;
const E = 18;
const X = 19;
const S0 = 20;
const C1 = 21;
const T1 = 22;
const T2 = 23;
const B1 = 24;
const K = 25;
const FIRST_TEMP = 26;

/** Horizontal 3-sum of the row whose (data - 8) address is in local P: planes into (s, c), centre into a. */
function rowSum(code: Code, s: number, c: number, a: number): void {
  code
    .get(P).v128Load(8).tee(a)
    .i32Const(1).i64x2Shl()
    .get(P).v128Load(0).i32Const(63).i64x2ShrU()
    .or().set(W)
    .get(a).i32Const(1).i64x2ShrU()
    .get(P).v128Load(16).i32Const(63).i64x2Shl()
    .or().set(E)
    .get(W).get(E).xor().tee(X).get(a).xor().set(s)
    .get(W).get(E).and().get(X).get(a).and().or().set(c);
}

function emitRule(code: Code, circuit: Circuit): number {
  const vars: Record<Var, number> = { [Var.alive]: AM, [Var.s0]: S0, [Var.b1]: B1, [Var.t2]: T2, [Var.k]: K };
  const uses = new Array<number>(circuit.gates.length).fill(0);
  for (const g of circuit.gates) {
    if (g.op === 'var' || g.op === 'const') continue;
    const args = g.op === 'not' ? [g.a] : g.op === 'select' ? [g.a, g.b, g.sel] : [g.a, g.b];
    for (const a of args) uses[a] = (uses[a] ?? 0) + 1;
  }
  const local = new Map<number, number>();
  const done = new Set<number>();
  let temps = 0;
  const emit = (i: number): void => {
    const g = circuit.gates[i];
    if (g === undefined) throw new Error('rule circuit: bad gate');
    if (g.op === 'var') {
      code.get(vars[g.v]);
      return;
    }
    if (g.op === 'const') {
      code.v128Const(g.value ? 0xff : 0);
      return;
    }
    const l = local.get(i);
    if (l !== undefined && done.has(i)) {
      code.get(l);
      return;
    }
    switch (g.op) {
      case 'not': emit(g.a); code.not(); break;
      case 'and': emit(g.a); emit(g.b); code.and(); break;
      case 'or': emit(g.a); emit(g.b); code.or(); break;
      case 'xor': emit(g.a); emit(g.b); code.xor(); break;
      case 'andnot': emit(g.a); emit(g.b); code.andNot(); break;
      case 'select': emit(g.a); emit(g.b); emit(g.sel); code.bitselect(); break;
    }
    if ((uses[i] ?? 0) > 1) {
      const t = FIRST_TEMP + temps++;
      local.set(i, t);
      done.add(i);
      code.tee(t);
    }
  };
  emit(circuit.output);
  return temps;
}

/** Bytes of a module exporting step(src, dst, stride, nvec, rows) for one rule. */
export function simdModuleBytes(circuit: Circuit): Uint8Array {
  const code = new Code();
  code.i32Const(0).set(I);
  code.loop(); // columns: I = 0 .. nvec-1
  // P = src + 16 I - stride - 8 (row -1), Q = dst + 16 I
  code.get(SRC).get(I).i32Const(16).i32Mul().i32Add().get(STRIDE).i32Sub().i32Const(8).i32Sub().set(P);
  code.get(DST).get(I).i32Const(16).i32Mul().i32Add().set(Q);
  rowSum(code, SA, CA, AB);
  code.get(P).get(STRIDE).i32Add().set(P);
  rowSum(code, SM, CM, AM);
  code.get(ROWS).set(Y);
  code.loop(); // rows: Y = rows .. 1
  code.get(P).get(STRIDE).i32Add().set(P);
  rowSum(code, SB, CB, AB);
  // weight-1 planes: s0 (bit 0 of sum9) and carry c1
  code.get(SA).get(SM).xor().tee(X).get(SB).xor().set(S0);
  code.get(SA).get(SM).and().get(X).get(SB).and().or().set(C1);
  // weight-2 planes: t1 (weight 2) and t2 (weight 4)
  code.get(CA).get(CM).xor().tee(X).get(CB).xor().set(T1);
  code.get(CA).get(CM).and().get(X).get(CB).and().or().set(T2);
  // add c1 to t1: b1 (bit 1 of sum9) and k (weight 4)
  code.get(T1).get(C1).xor().set(B1);
  code.get(T1).get(C1).and().set(K);
  code.get(Q);
  const temps = emitRule(code, circuit);
  code.v128Store(0);
  code.get(Q).get(STRIDE).i32Add().set(Q);
  // slide the window down one row
  code.get(SM).set(SA).get(CM).set(CA).get(SB).set(SM).get(CB).set(CM).get(AB).set(AM);
  code.get(Y).i32Const(1).i32Sub().tee(Y).brIf(0);
  code.end();
  code.get(I).i32Const(1).i32Add().tee(I).get(NVEC).i32Ne().brIf(0);
  code.end();
  const fn: FunctionSpec = {
    name: 'step',
    params: [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32],
    results: [],
    locals: [
      ...new Array<ValType>(Y - I + 1).fill(ValType.i32),
      ...new Array<ValType>(FIRST_TEMP - SA + temps).fill(ValType.v128),
    ],
    code,
  };
  return assembleModule([fn]);
}

export type SimdStep = (src: number, dst: number, stride: number, nvec: number, rows: number) => void;

const moduleCache = new Map<string, WasmModule | null>();

/** The compiled module for a circuit, or null when this runtime lacks WebAssembly SIMD. */
export function simdModule(key: string, circuit: Circuit): WasmModule | null {
  if (moduleCache.has(key)) return moduleCache.get(key) ?? null;
  let mod: WasmModule | null = null;
  const api = wasmApi();
  try {
    const bytes = simdModuleBytes(circuit);
    if (api !== null && api.validate(bytes)) mod = new api.Module(bytes);
  } catch {
    mod = null;
  }
  moduleCache.set(key, mod);
  return mod;
}

export function simdStepFunction(mod: WasmModule, memory: WasmMemory): SimdStep {
  const api = wasmApi();
  if (api === null) throw new Error('life kernel: WebAssembly is not available');
  const instance = new api.Instance(mod, { env: { memory } });
  const step = instance.exports['step'];
  if (typeof step !== 'function') throw new Error('life kernel: module has no step export');
  return step as SimdStep;
}
