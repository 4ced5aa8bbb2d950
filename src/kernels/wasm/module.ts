/**
 * The one WebAssembly module assembler of the kernels: LEB128 encoding, value types, and a module that
 * imports its memory and exports its functions. The kernels build their function bodies on top (the
 * primes sieve from nested expression arrays, the Life stepper from an instruction stream) and the
 * module is assembled from this source at load time: no build step, no binary files. Opcodes follow the
 * WebAssembly core spec and the fixed-width SIMD proposal (prefix 0xfd, LEB128 sub-opcode).
 */

export const ValType = { i32: 0x7f, i64: 0x7e, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Unsigned LEB128 of a non-negative integer (up to 2^53). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 (i32 and i64 constants: give an i32 as a signed 32-bit value). */
export function sleb(n: number | bigint): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 127n);
    v >>= 7n;
    if ((v === 0n && (b & 64) === 0) || (v === -1n && (b & 64) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 128);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

export interface FunctionDef {
  name: string;
  params: readonly number[];
  results: readonly number[];
  /** Extra locals (after the params), by type. */
  locals: readonly number[];
  /** The body's instructions, without the final `end`. */
  body: readonly number[];
}

export interface MemoryImport {
  /** Imported as env.<name>. */
  name: string;
  minPages: number;
  maxPages?: number;
}

/** A module importing its memory and exporting the functions by name (one type per function). */
export function assembleModule(funcs: readonly FunctionDef[], memory: MemoryImport): Uint8Array {
  const types = funcs.map((f) => [0x60, ...uleb(f.params.length), ...f.params, ...uleb(f.results.length), ...f.results]);
  const limits = memory.maxPages === undefined ? [0x00, ...uleb(memory.minPages)] : [0x01, ...uleb(memory.minPages), ...uleb(memory.maxPages)];
  const imports = [[...str('env'), ...str(memory.name), 0x02, ...limits]];
  const fsec = funcs.map((_, i) => uleb(i));
  const exps = funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]);
  const bodies = funcs.map((f) => {
    // consecutive locals of one type are declared as one group
    const groups: [number, number][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const content = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...f.body, 0x0b];
    return [...uleb(content.length), ...content];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(fsec)),
    ...section(7, vec(exps)),
    ...section(10, vec(bodies)),
  ]);
}

// The WebAssembly JavaScript API, typed here because the project compiles without the DOM library
// (where TypeScript declares it). Only what the kernels use.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
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
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;
}
