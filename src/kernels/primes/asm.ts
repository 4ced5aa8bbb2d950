/**
 * Expression builders for the kernels' WebAssembly (the primes sieve, collatz/wasm.ts, rle-wasm.ts):
 * expressions are nested arrays of bytes, flattened into function bodies. i32 / i64 / f64 arithmetic,
 * loads and stores, the v128 and i8x16 operations the loops use, structured control flow; the module
 * itself is assembled by ../wasm/module.ts.
 */
import { ValType, assembleModule, sleb, uleb } from '../wasm/module.js';

export type Code = number | Code[];

export function flat(c: Code, out: number[] = []): number[] {
  if (typeof c === 'number') out.push(c);
  else for (const x of c) flat(x, out);
  return out;
}

export const T = ValType;

const bin = (op: number) => (a: Code, b: Code): Code => [a, b, op];
const un = (op: number) => (a: Code): Code => [a, op];

/** Expression and statement builders. Locals are referred to by index. */
export const w = {
  get: (i: number): Code => [0x20, uleb(i)],
  set: (i: number, e: Code): Code => [e, 0x21, uleb(i)],
  tee: (i: number, e: Code): Code => [e, 0x22, uleb(i)],
  i32: (v: number): Code => [0x41, sleb(v)],
  i64: (v: bigint | number): Code => [0x42, sleb(v)],
  f64: (v: number): Code => {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return [0x44, [...b]];
  },
  add: bin(0x6a),
  sub: bin(0x6b),
  mul: bin(0x6c),
  divU: bin(0x6e),
  remU: bin(0x70),
  and: bin(0x71),
  or: bin(0x72),
  xor: bin(0x73),
  shl: bin(0x74),
  shrS: bin(0x75),
  shrU: bin(0x76),
  eqz: un(0x45),
  eq: bin(0x46),
  ne: bin(0x47),
  ltS: bin(0x48),
  ltU: bin(0x49),
  gtS: bin(0x4a),
  gtU: bin(0x4b),
  leS: bin(0x4c),
  leU: bin(0x4d),
  geS: bin(0x4e),
  geU: bin(0x4f),
  clz: un(0x67),
  ctz: un(0x68),
  popcnt: un(0x69),
  // i64
  i64Add: bin(0x7c),
  i64Sub: bin(0x7d),
  i64Mul: bin(0x7e),
  i64DivU: bin(0x80),
  i64RemU: bin(0x82),
  i64And: bin(0x83),
  i64Or: bin(0x84),
  i64Shl: bin(0x86),
  i64ShrU: bin(0x88),
  i64Popcnt: un(0x7b),
  i64Ctz: un(0x7a),
  i64Eqz: un(0x50),
  i64Eq: bin(0x51),
  i64Ne: bin(0x52),
  i64Xor: bin(0x85),
  i64Clz: un(0x79),
  i64ExtendU: un(0xad),
  wrap: un(0xa7),
  // f64
  fAdd: bin(0xa0),
  fSub: bin(0xa1),
  fMul: bin(0xa2),
  fDiv: bin(0xa3),
  fFloor: un(0x9c),
  fCeil: un(0x9b),
  fLt: bin(0x63),
  fGe: bin(0x66),
  fFromU: un(0xb8),
  fFromI64U: un(0xba),
  truncU: un(0xab),
  i64TruncU: un(0xb1),
  select: (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b],
  // memory (offset: a constant added to the address)
  load8: (addr: Code, off = 0): Code => [addr, 0x2d, 0, uleb(off)],
  load: (addr: Code, off = 0): Code => [addr, 0x28, 2, uleb(off)],
  /** i32.load16_u */
  load16: (addr: Code, off = 0): Code => [addr, 0x2f, 1, uleb(off)],
  load64: (addr: Code, off = 0): Code => [addr, 0x29, 3, uleb(off)],
  loadF64: (addr: Code, off = 0): Code => [addr, 0x2b, 3, uleb(off)],
  store8: (addr: Code, v: Code, off = 0): Code => [addr, v, 0x3a, 0, uleb(off)],
  store: (addr: Code, v: Code, off = 0): Code => [addr, v, 0x36, 2, uleb(off)],
  store64: (addr: Code, v: Code, off = 0): Code => [addr, v, 0x37, 3, uleb(off)],
  v128Load: (addr: Code, off = 0): Code => [addr, 0xfd, uleb(0x00), 0, uleb(off)],
  v128Store: (addr: Code, v: Code, off = 0): Code => [addr, v, 0xfd, uleb(0x0b), 0, uleb(off)],
  v128And: (a: Code, b: Code): Code => [a, b, 0xfd, uleb(0x4e)],
  i8x16Splat: (a: Code): Code => [a, 0xfd, uleb(0x0f)],
  i8x16Eq: (a: Code, b: Code): Code => [a, b, 0xfd, uleb(0x23)],
  /** i8x16.bitmask: bit t of the i32 = the top bit of lane t */
  i8x16Bitmask: (a: Code): Code => [a, 0xfd, uleb(0x64)],
  // control
  block: (...body: Code[]): Code => [0x02, 0x40, body, 0x0b],
  loop: (...body: Code[]): Code => [0x03, 0x40, body, 0x0b],
  br: (d: number): Code => [0x0c, uleb(d)],
  brIf: (d: number, cond: Code): Code => [cond, 0x0d, uleb(d)],
  brTable: (targets: number[], dflt: number, index: Code): Code => [index, 0x0e, uleb(targets.length), targets.map(uleb), uleb(dflt)],
  if: (cond: Code, then: Code[], els?: Code[]): Code =>
    els ? [cond, 0x04, 0x40, then, 0x05, els, 0x0b] : [cond, 0x04, 0x40, then, 0x0b],
  ret: (v?: Code): Code => (v === undefined ? [0x0f] : [v, 0x0f]),
  drop: (v: Code): Code => [v, 0x1a],
};

export interface FuncDef {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals (after the params), by type. */
  locals: number[];
  body: Code;
}

/** A module importing its memory as env.mem and exporting the functions by name. */
export function assemble(funcs: FuncDef[], memMinPages: number, memMaxPages: number): Uint8Array {
  return assembleModule(
    funcs.map((f) => ({ ...f, body: flat(f.body) })),
    { name: 'mem', minPages: memMinPages, maxPages: memMaxPages },
  );
}
