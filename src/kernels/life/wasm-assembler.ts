// The Life stepping kernel's instruction stream: named helpers for the opcodes it uses, emitted as bytes
// at run time and assembled into a module by ../wasm/module.ts (no .wasm file, no compiler dependency).
import type { ValType } from '../wasm/module.js';
import { assembleModule as assemble, sleb, uleb } from '../wasm/module.js';

export { ValType, wasmApi } from '../wasm/module.js';
export type { WasmApi, WasmInstance, WasmMemory, WasmModule } from '../wasm/module.js';

/** Instruction stream of one function body, with named helpers for the opcodes the kernels use. */
export class Code {
  readonly bytes: number[] = [];
  private op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  private simd(sub: number): this {
    return this.op(0xfd, ...uleb(sub));
  }
  // control
  loop(): this { return this.op(0x03, 0x40); }
  block(): this { return this.op(0x02, 0x40); }
  end(): this { return this.op(0x0b); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  // locals
  get(index: number): this { return this.op(0x20, ...uleb(index)); }
  set(index: number): this { return this.op(0x21, ...uleb(index)); }
  tee(index: number): this { return this.op(0x22, ...uleb(index)); }
  // i32
  i32Const(value: number): this { return this.op(0x41, ...sleb(value | 0)); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Eqz(): this { return this.op(0x45); }
  i32Ne(): this { return this.op(0x47); }
  i32LtU(): this { return this.op(0x49); }
  i32Eq(): this { return this.op(0x46); }
  i32Load(offset = 0, alignLog2 = 2): this { return this.op(0x28, ...uleb(alignLog2), ...uleb(offset)); }
  i32Popcnt(): this { return this.op(0x69); }
  // i64
  i64Load(offset = 0, alignLog2 = 3): this { return this.op(0x29, ...uleb(alignLog2), ...uleb(offset)); }
  i64Popcnt(): this { return this.op(0x7b); }
  i32WrapI64(): this { return this.op(0xa7); }
  // v128
  v128Load(offset = 0, alignLog2 = 0): this {
    return this.simd(0x00).op(...uleb(alignLog2), ...uleb(offset));
  }
  v128Store(offset = 0, alignLog2 = 0): this {
    return this.simd(0x0b).op(...uleb(alignLog2), ...uleb(offset));
  }
  v128Const(fill: 0 | 0xff): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.bytes.push(fill);
    return this;
  }
  not(): this { return this.simd(0x4d); }
  and(): this { return this.simd(0x4e); }
  /** a & ~b */
  andNot(): this { return this.simd(0x4f); }
  or(): this { return this.simd(0x50); }
  xor(): this { return this.simd(0x51); }
  /** (a & c) | (b & ~c) with stack a, b, c */
  bitselect(): this { return this.simd(0x52); }
  i64x2Shl(): this { return this.simd(0xcb); }
  i64x2ShrU(): this { return this.simd(0xcd); }
}

export interface FunctionSpec {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Extra locals, after the parameters. */
  locals: ValType[];
  code: Code;
}

/** A module that imports its memory as env.memory (at least 1 page) and exports the given functions. */
export function assembleModule(functions: FunctionSpec[]): Uint8Array {
  return assemble(
    functions.map((f) => ({ name: f.name, params: f.params, results: f.results, locals: f.locals, body: f.code.bytes })),
    { name: 'memory', minPages: 1 },
  );
}
