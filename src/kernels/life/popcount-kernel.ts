// Live cells of a grid's rows in WebAssembly (i64.popcnt over the rows in the grid's own memory): the
// population history counts every sampled generation of every strip, and the same count in JavaScript
// (a 12-operation bit trick per 32-bit word) took longer than the SIMD step it follows.
//
// count(base, stride, pairs, odd, rows) -> i32: `rows` rows, the first at byte address `base`, each
// `stride` bytes after the last; per row `pairs` 64-bit words and, when `odd` is 1, one 32-bit word
// more (a row of ceil(width / 32) words). Cells past the width must be zero (the grid keeps them so).

import { assembleModule, Code, ValType, wasmApi, type WasmMemory, type WasmModule } from './wasm-assembler.js';

const BASE = 0;
const STRIDE = 1;
const PAIRS = 2;
const ODD = 3;
const ROWS = 4;
const ACC = 5;
const P = 6;
const Q = 7;

/** Bytes of the module exporting count(base, stride, pairs, odd, rows). */
export function popcountModuleBytes(): Uint8Array {
  const c = new Code();
  c.i32Const(0).set(ACC);
  c.block();
  c.get(ROWS).i32Eqz().brIf(0);
  c.loop(); // rows
  c.get(BASE).tee(P).get(PAIRS).i32Const(8).i32Mul().i32Add().set(Q);
  c.block();
  c.get(P).get(Q).i32Eq().brIf(0);
  c.loop(); // 64-bit words of the row
  c.get(ACC).get(P).i64Load(0).i64Popcnt().i32WrapI64().i32Add().set(ACC);
  c.get(P).i32Const(8).i32Add().tee(P).get(Q).i32Ne().brIf(0);
  c.end();
  c.end();
  c.block(); // the odd 32-bit word
  c.get(ODD).i32Eqz().brIf(0);
  c.get(ACC).get(Q).i32Load(0).i32Popcnt().i32Add().set(ACC);
  c.end();
  c.get(BASE).get(STRIDE).i32Add().set(BASE);
  c.get(ROWS).i32Const(1).i32Sub().tee(ROWS).brIf(0);
  c.end();
  c.end();
  c.get(ACC);
  return assembleModule([
    {
      name: 'count',
      params: [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32],
      results: [ValType.i32],
      locals: [ValType.i32, ValType.i32, ValType.i32],
      code: c,
    },
  ]);
}

export type PopcountRows = (base: number, stride: number, pairs: number, odd: number, rows: number) => number;

let compiled: WasmModule | null | undefined;

/** count() over this memory, or null where the runtime has no WebAssembly. */
export function popcountFunction(memory: WasmMemory): PopcountRows | null {
  const api = wasmApi();
  if (api === null) return null;
  if (compiled === undefined) {
    try {
      const bytes = popcountModuleBytes();
      compiled = api.validate(bytes) ? new api.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  const fn = new api.Instance(compiled, { env: { memory } }).exports['count'];
  return typeof fn === 'function' ? (fn as PopcountRows) : null;
}
