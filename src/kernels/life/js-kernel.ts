// The Life stepping kernel in plain JavaScript, 32 cells per word, on the same memory layout as the
// WebAssembly kernel (see simd-kernel.ts). Used where WebAssembly SIMD is unavailable and as a second,
// independent implementation in the tests.

import type { Circuit } from './rule-circuit.js';

const OP = { var: 0, const: 1, not: 2, and: 3, or: 4, xor: 5, andnot: 6, select: 7 } as const;

/** A circuit flattened to [op, a, b, sel] quadruples for a small interpreter loop. */
export interface CompiledCircuit {
  program: Int32Array;
  regs: Int32Array;
  output: number;
  conway: boolean;
}

export function compileCircuit(c: Circuit, conway: boolean): CompiledCircuit {
  const program = new Int32Array(c.gates.length * 4);
  c.gates.forEach((g, i) => {
    const o = i * 4;
    switch (g.op) {
      case 'var': program[o] = OP.var; program[o + 1] = g.v; break;
      case 'const': program[o] = OP.const; program[o + 1] = g.value ? -1 : 0; break;
      case 'not': program[o] = OP.not; program[o + 1] = g.a; break;
      case 'select': program[o] = OP.select; program[o + 1] = g.a; program[o + 2] = g.b; program[o + 3] = g.sel; break;
      default: program[o] = OP[g.op]; program[o + 1] = g.a; program[o + 2] = g.b;
    }
  });
  return { program, regs: new Int32Array(c.gates.length), output: c.output, conway };
}

function evalProgram(cc: CompiledCircuit, alive: number, s0: number, b1: number, t2: number, k: number): number {
  const p = cc.program;
  const r = cc.regs;
  const n = r.length;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const a = p[o + 1] as number;
    switch (p[o]) {
      case OP.var:
        r[i] = a === 0 ? alive : a === 1 ? s0 : a === 2 ? b1 : a === 3 ? t2 : k;
        break;
      case OP.const: r[i] = a; break;
      case OP.not: r[i] = ~(r[a] as number); break;
      case OP.and: r[i] = (r[a] as number) & (r[p[o + 2] as number] as number); break;
      case OP.or: r[i] = (r[a] as number) | (r[p[o + 2] as number] as number); break;
      case OP.xor: r[i] = (r[a] as number) ^ (r[p[o + 2] as number] as number); break;
      case OP.andnot: r[i] = (r[a] as number) & ~(r[p[o + 2] as number] as number); break;
      default: {
        const s = r[p[o + 3] as number] as number;
        r[i] = ((r[a] as number) & s) | ((r[p[o + 2] as number] as number) & ~s);
      }
    }
  }
  return r[cc.output] as number;
}

/**
 * One generation: rows [0, rows) of the buffer whose row 0 cells start at word `src` are written to the
 * buffer at `dst`. Ghost rows/words of `src` must be prepared. `words` = 32-bit cell words per row.
 */
export function stepJs(m: Int32Array, src: number, dst: number, stride: number, words: number, rows: number, cc: CompiledCircuit): void {
  const conway = cc.conway;
  for (let i = 0; i < words; i++) {
    let p = src + i - stride;
    let q = dst + i;
    // row -1
    let c = m[p] as number;
    let w = (c << 1) | ((m[p - 1] as number) >>> 31);
    let e = (c >>> 1) | ((m[p + 1] as number) << 31);
    let x = w ^ e;
    let sa = x ^ c;
    let ca = (w & e) | (x & c);
    // row 0
    p += stride;
    c = m[p] as number;
    w = (c << 1) | ((m[p - 1] as number) >>> 31);
    e = (c >>> 1) | ((m[p + 1] as number) << 31);
    x = w ^ e;
    let sm = x ^ c;
    let cm = (w & e) | (x & c);
    let am = c;
    for (let y = 0; y < rows; y++) {
      p += stride;
      const ab = m[p] as number;
      w = (ab << 1) | ((m[p - 1] as number) >>> 31);
      e = (ab >>> 1) | ((m[p + 1] as number) << 31);
      x = w ^ e;
      const sb = x ^ ab;
      const cb = (w & e) | (x & ab);
      x = sa ^ sm;
      const s0 = x ^ sb;
      const c1 = (sa & sm) | (x & sb);
      x = ca ^ cm;
      const t1 = x ^ cb;
      const t2 = (ca & cm) | (x & cb);
      const b1 = t1 ^ c1;
      const k = t1 & c1;
      m[q] = conway
        ? (s0 & b1 & ~(t2 | k)) | (am & ~(s0 | b1) & (t2 ^ k))
        : evalProgram(cc, am, s0, b1, t2, k);
      q += stride;
      sa = sm; ca = cm; sm = sb; cm = cb; am = ab;
    }
  }
}
