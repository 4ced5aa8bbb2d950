// A very small WebAssembly assembler: just enough to emit the Life stepping kernel as bytes at run time.
// Generating the module from this source (instead of shipping a .wasm file or a compiler dependency) keeps
// the kernel pure, reviewable and built from source. Opcodes follow the WebAssembly core spec and the
// fixed-width SIMD proposal (prefix 0xfd, LEB128 sub-opcode).

export const ValType = { i32: 0x7f, i64: 0x7e, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v !== 0 ? byte | 0x80 : byte);
  } while (v !== 0);
}

function sleb(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function name(out: number[], text: string): void {
  const bytes = new TextEncoder().encode(text);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** Instruction stream of one function body, with named helpers for the opcodes the kernels use. */
export class Code {
  readonly bytes: number[] = [];
  private op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  private simd(sub: number): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, sub);
    return this;
  }
  // control
  loop(): this { return this.op(0x03, 0x40); }
  block(): this { return this.op(0x02, 0x40); }
  end(): this { return this.op(0x0b); }
  brIf(depth: number): this { this.op(0x0d); uleb(this.bytes, depth); return this; }
  br(depth: number): this { this.op(0x0c); uleb(this.bytes, depth); return this; }
  // locals
  get(index: number): this { this.op(0x20); uleb(this.bytes, index); return this; }
  set(index: number): this { this.op(0x21); uleb(this.bytes, index); return this; }
  tee(index: number): this { this.op(0x22); uleb(this.bytes, index); return this; }
  // i32
  i32Const(value: number): this { this.op(0x41); sleb(this.bytes, value); return this; }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32Eqz(): this { return this.op(0x45); }
  i32Ne(): this { return this.op(0x47); }
  i32LtU(): this { return this.op(0x49); }
  // v128
  v128Load(offset = 0, alignLog2 = 0): this {
    this.simd(0x00);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }
  v128Store(offset = 0, alignLog2 = 0): this {
    this.simd(0x0b);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
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

/** A module that imports its memory as env.memory and exports the given functions. */
export function assembleModule(functions: FunctionSpec[]): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]): void => {
    out.push(id);
    uleb(out, body.length);
    for (const b of body) out.push(b);
  };
  // type section: one type per function (small modules, no deduplication needed)
  const types: number[] = [];
  uleb(types, functions.length);
  for (const f of functions) {
    types.push(0x60);
    uleb(types, f.params.length);
    types.push(...f.params);
    uleb(types, f.results.length);
    types.push(...f.results);
  }
  section(1, types);
  // import section: env.memory, min 1 page, no maximum
  const imports: number[] = [];
  uleb(imports, 1);
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(0x02, 0x00);
  uleb(imports, 1);
  section(2, imports);
  // function section
  const funcs: number[] = [];
  uleb(funcs, functions.length);
  functions.forEach((_, i) => uleb(funcs, i));
  section(3, funcs);
  // export section
  const exps: number[] = [];
  uleb(exps, functions.length);
  functions.forEach((f, i) => {
    name(exps, f.name);
    exps.push(0x00);
    uleb(exps, i);
  });
  section(7, exps);
  // code section
  const code: number[] = [];
  uleb(code, functions.length);
  for (const f of functions) {
    const body: number[] = [];
    uleb(body, f.locals.length);
    for (const t of f.locals) {
      uleb(body, 1);
      body.push(t);
    }
    body.push(...f.code.bytes, 0x0b);
    uleb(code, body.length);
    code.push(...body);
  }
  section(10, code);
  return Uint8Array.from(out);
}

// The WebAssembly JavaScript API, typed here because the project compiles without the DOM library
// (where TypeScript declares it). Only what the kernels use.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

/** The runtime's WebAssembly API, or null where there is none. */
export function wasmApi(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return api ?? null;
}
