// Turns a Life-like rule into a small bitwise circuit over the adder outputs, so that the stepping kernels
// evaluate any rule with a handful of word operations (Conway's B3/S23 needs 7).
//
// The kernels add up the 3x3 block around each cell *including the cell itself* (sum9, 0..9) as
//   sum9 = s0 + 2*b1 + 4*(t2 + k)
// where s0, b1, t2, k are bit planes produced by the adders. The next state is a function of five bit
// planes: alive, s0, b1, t2, k. We build a decision diagram for every variable order, using the
// combinations that cannot occur as don't-cares, and keep the cheapest circuit.

/** Variable indices (bit positions in a truth-table index). */
export const Var = { alive: 0, s0: 1, b1: 2, t2: 3, k: 4 } as const;
export type Var = (typeof Var)[keyof typeof Var];
const VAR_COUNT = 5;

export type Gate =
  | { op: 'var'; v: Var }
  | { op: 'const'; value: 0 | 1 }
  | { op: 'not'; a: number }
  | { op: 'and' | 'or' | 'xor'; a: number; b: number }
  /** a & ~b */
  | { op: 'andnot'; a: number; b: number }
  /** sel ? a : b, bitwise */
  | { op: 'select'; a: number; b: number; sel: number };

export interface Circuit {
  /** Gates in evaluation order; arguments refer to earlier gates by index. */
  gates: Gate[];
  /** Index of the output gate. */
  output: number;
  /** Number of operation gates (everything except variables and constants). */
  cost: number;
}

const ALL = 0xffffffff;

function varMask(v: number): number {
  let m = 0;
  for (let i = 0; i < 32; i++) if ((i >> v) & 1) m |= 1 << i;
  return m >>> 0;
}
const VAR_MASKS = Array.from({ length: VAR_COUNT }, (_, v) => varMask(v));

/** Truth table of the rule: `on` = indices where the cell lives next, `care` = indices that can occur. */
export function ruleTruthTable(birth: number, survive: number): { on: number; care: number } {
  let on = 0;
  let care = 0;
  for (let i = 0; i < 32; i++) {
    const alive = i & 1;
    const s0 = (i >> 1) & 1;
    const b1 = (i >> 2) & 1;
    const t2 = (i >> 3) & 1;
    const k = (i >> 4) & 1;
    const sum9 = s0 + 2 * b1 + 4 * (t2 + k);
    if (sum9 > 9) continue;
    if (alive === 1 && sum9 === 0) continue;
    if (alive === 0 && sum9 === 9) continue;
    care |= 1 << i;
    const lives = alive === 1 ? (survive >> (sum9 - 1)) & 1 : (birth >> sum9) & 1;
    if (lives) on |= 1 << i;
  }
  return { on: on >>> 0, care: care >>> 0 };
}

class Builder {
  readonly gates: Gate[] = [];
  /** Concrete truth table (32-bit) of each gate. */
  readonly fns: number[] = [];
  private readonly keys = new Map<string, number>();

  constructor() {
    for (let v = 0; v < VAR_COUNT; v++) this.add({ op: 'var', v: v as Var }, VAR_MASKS[v] ?? 0);
    this.add({ op: 'const', value: 0 }, 0);
    this.add({ op: 'const', value: 1 }, ALL);
  }
  get zero(): number { return VAR_COUNT; }
  get one(): number { return VAR_COUNT + 1; }

  add(g: Gate, fn: number): number {
    const key = JSON.stringify(g);
    const found = this.keys.get(key);
    if (found !== undefined) return found;
    this.gates.push(g);
    this.fns.push(fn >>> 0);
    this.keys.set(key, this.gates.length - 1);
    return this.gates.length - 1;
  }
  fn(i: number): number { return this.fns[i] ?? 0; }

  /** v ? hi : lo, simplified. */
  mux(v: number, hi: number, lo: number): number {
    const fv = VAR_MASKS[v] ?? 0;
    const fh = this.fn(hi);
    const fl = this.fn(lo);
    if (fh === fl) return hi;
    const fnOut = ((fv & fh) | (~fv & fl)) >>> 0;
    if (hi === this.one && lo === this.zero) return v;
    if (hi === this.zero && lo === this.one) return this.add({ op: 'not', a: v }, fnOut);
    if (hi === this.one) return this.add({ op: 'or', a: v, b: lo }, fnOut);
    if (lo === this.zero) return this.add({ op: 'and', a: v, b: hi }, fnOut);
    if (hi === this.zero) return this.add({ op: 'andnot', a: lo, b: v }, fnOut);
    if (((fh ^ fl) >>> 0) === ALL) return this.add({ op: 'xor', a: v, b: lo }, fnOut);
    return this.add({ op: 'select', a: hi, b: lo, sel: v }, fnOut);
  }
}

function cofactor(on: number, care: number, v: number, value: 0 | 1): { on: number; care: number } {
  // Restrict to var v = value and spread the result over both halves so it no longer depends on v.
  let o = 0;
  let c = 0;
  for (let i = 0; i < 32; i++) {
    const src = value ? i | (1 << v) : i & ~(1 << v);
    if ((care >>> src) & 1) {
      c |= 1 << i;
      if ((on >>> src) & 1) o |= 1 << i;
    }
  }
  return { on: o >>> 0, care: c >>> 0 };
}

function buildWithOrder(on: number, care: number, order: readonly number[]): Builder & { out: number } {
  const b = new Builder();
  const memo = new Map<string, number>();
  const rec = (depth: number, o: number, c: number): number => {
    if ((o & c) >>> 0 === 0) return b.zero;
    if ((o & c) >>> 0 === c) return b.one;
    const key = `${depth}:${o}:${c}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const v = order[depth];
    if (v === undefined) throw new Error('rule circuit: ran out of variables');
    const f1 = cofactor(o, c, v, 1);
    const f0 = cofactor(o, c, v, 0);
    let result: number;
    const conflict = ((f1.on ^ f0.on) & f1.care & f0.care) >>> 0;
    if (conflict === 0) {
      // v does not matter on the care set: merge the cofactors.
      result = rec(depth + 1, (f1.on | f0.on) >>> 0, (f1.care | f0.care) >>> 0);
    } else {
      const hi = rec(depth + 1, f1.on, f1.care);
      const lo = rec(depth + 1, f0.on, f0.care);
      result = b.mux(v, hi, lo);
    }
    memo.set(key, result);
    return result;
  };
  const out = rec(0, on, care);
  return Object.assign(b, { out });
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  const out: number[][] = [];
  items.forEach((x, i) => {
    const rest = items.filter((_, j) => j !== i);
    for (const p of permutations(rest)) out.push([x, ...p]);
  });
  return out;
}

/** Keep only gates reachable from the output, renumbered in evaluation order. */
function compact(b: Builder, out: number): Circuit {
  const map = new Map<number, number>();
  const gates: Gate[] = [];
  let cost = 0;
  const visit = (i: number): number => {
    const done = map.get(i);
    if (done !== undefined) return done;
    const g = b.gates[i];
    if (g === undefined) throw new Error('rule circuit: bad gate reference');
    let copy: Gate;
    switch (g.op) {
      case 'var':
      case 'const':
        copy = g;
        break;
      case 'not':
        copy = { op: 'not', a: visit(g.a) };
        break;
      case 'select':
        copy = { op: 'select', a: visit(g.a), b: visit(g.b), sel: visit(g.sel) };
        break;
      default:
        copy = { op: g.op, a: visit(g.a), b: visit(g.b) };
    }
    if (copy.op !== 'var' && copy.op !== 'const') cost++;
    gates.push(copy);
    map.set(i, gates.length - 1);
    return gates.length - 1;
  };
  const output = visit(out);
  return { gates, output, cost };
}

const cache = new Map<string, Circuit>();

/** The cheapest circuit found for a rule (birth/survive bitmasks over neighbour counts 0..8). */
export function ruleCircuit(birth: number, survive: number): Circuit {
  const key = `${birth}/${survive}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { on, care } = ruleTruthTable(birth, survive);
  let best: Circuit | undefined;
  for (const order of permutations([0, 1, 2, 3, 4])) {
    const b = buildWithOrder(on, care, order);
    const c = compact(b, b.out);
    if (!best || c.cost < best.cost) best = c;
  }
  if (!best) throw new Error('rule circuit: no order');
  cache.set(key, best);
  return best;
}
