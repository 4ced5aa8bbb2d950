// Tables for the Collatz kernels, built once per thread on first use (about 10 MB, ~20 ms).
//
// Notation: the standard map C(x) = x/2 (x even), 3x+1 (x odd), one step each; steps(n) counts C-steps to
// reach 1. The tables work with T(x) = x/2 or (3x+1)/2, where an odd T-step is two C-steps (3x+1 and the
// halving) and the intermediate value 3x+1 is one the path reaches.

/** Bits consumed by one jump. */
export const JUMP_BITS = 16;
export const JUMP = 1 << JUMP_BITS;

/** Fields of one jump-table entry (JT_STRIDE doubles per low-bits value, one 64-byte cache line). */
export const JT_MUL = 0;
export const JT_ADD = 1;
export const JT_MAXA = 2;
export const JT_MAXB = 3;
export const JT_MINA = 4;
export const JT_MINB = 5;
export const JT_CNT = 6;
export const JT_STRIDE = 8;

/**
 * Jump table over the low JUMP_BITS bits: for x = hi * 2^16 + lo, sixteen T-steps give
 *   T^16(x) = mul * hi + add      (mul = 3^c, c = odd steps among the sixteen)
 * in cnt = 16 + c C-steps. Every value the path reaches inside the jump (including the 3x+1 values and
 * the end) is A * hi + B for one of the jump's (A, B): maxA * hi + maxB bounds them from above,
 * minA * hi + minB from below; used to skip the bookkeeping of the largest value and of the first value
 * below the start when a jump cannot matter to them. Entries are interleaved (entry lo at lo * JT_STRIDE)
 * so that a jump touches one cache line.
 */
export interface JumpTable {
  entries: Float64Array;
  /** The hot part, one word per entry: add | (c << 26), with mul = 3^c and cnt = 16 + c. 256 KB. */
  packed: Uint32Array;
  /** Over all entries: maxA / 2^16 and maxB, so that x * growth + lift bounds any jump from x. */
  growth: number;
  lift: number;
}

let jumpTable: JumpTable | null = null;

export function getJumpTable(): JumpTable {
  if (jumpTable) return jumpTable;
  const e = new Float64Array(JUMP * JT_STRIDE);
  const packed = new Uint32Array(JUMP);
  const { growth, lift } = buildJumps((lo, mul, add, maxA, maxB, minA, minB, c) => {
    const o = lo * JT_STRIDE;
    e[o + JT_MUL] = mul;
    e[o + JT_ADD] = add;
    e[o + JT_MAXA] = maxA;
    e[o + JT_MAXB] = maxB;
    e[o + JT_MINA] = minA;
    e[o + JT_MINB] = minB;
    e[o + JT_CNT] = JUMP_BITS + c;
    packed[lo] = add + c * 2 ** 26;
  });
  jumpTable = { entries: e, packed, growth, lift };
  return jumpTable;
}

/**
 * The WebAssembly verify walk's part of the jump table: per entry mul, add, minA, minB as u32 (16 bytes),
 * with growth and lift as in JumpTable; built without the JavaScript walkers' table (4 MB).
 */
export function getWasmJumpTable(): { tab: Uint32Array; growth: number; lift: number } {
  if (jumpTable) {
    const tab = new Uint32Array(4 * JUMP);
    const e = jumpTable.entries;
    for (let lo = 0; lo < JUMP; lo++) {
      const o = lo * JT_STRIDE;
      tab[4 * lo] = e[o + JT_MUL] as number;
      tab[4 * lo + 1] = e[o + JT_ADD] as number;
      tab[4 * lo + 2] = e[o + JT_MINA] as number;
      tab[4 * lo + 3] = e[o + JT_MINB] as number;
    }
    return { tab, growth: jumpTable.growth, lift: jumpTable.lift };
  }
  const tab = new Uint32Array(4 * JUMP);
  const { growth, lift } = buildJumps((lo, mul, add, _maxA, _maxB, minA, minB) => {
    tab[4 * lo] = mul;
    tab[4 * lo + 1] = add;
    tab[4 * lo + 2] = minA;
    tab[4 * lo + 3] = minB;
  });
  return { tab, growth, lift };
}

type JumpVisitor = (lo: number, mul: number, add: number, maxA: number, maxB: number, minA: number, minB: number, c: number) => void;

/** Computes every entry of the jump table for `visit`; returns growth and lift (see JumpTable). */
function buildJumps(visit: JumpVisitor): { growth: number; lift: number } {
  let growth = 0;
  let lift = 0;
  for (let lo = 0; lo < JUMP; lo++) {
    // x = A * hi + B with A = 2^16, B = lo; every quantity stays an exact integer below 2^53.
    let a = JUMP;
    let b = lo;
    let c = 0;
    let maxA = 0;
    let maxB = 0;
    let minA = Infinity;
    let minB = Infinity;
    for (let j = 0; j < JUMP_BITS; j++) {
      if ((b & 1) === 1) {
        // b < 2^26 here
        const a3 = 3 * a;
        const b3 = 3 * b + 1;
        if (a3 > maxA) maxA = a3;
        if (b3 > maxB) maxB = b3;
        a = a3 / 2;
        b = b3 / 2;
        c++;
      } else {
        a /= 2;
        b /= 2;
      }
      if (a > maxA) maxA = a;
      if (b > maxB) maxB = b;
      if (a < minA) minA = a;
      if (b < minB) minB = b;
    }
    visit(lo, a, b, maxA, maxB, minA, minB, c);
    if (maxA / JUMP > growth) growth = maxA / JUMP;
    if (maxB > lift) lift = maxB;
  }
  return { growth, lift };
}

/** Values below this have their steps and path maximum tabulated. */
export const SMALL_BITS = 20;
export const SMALL = 1 << SMALL_BITS;

/** steps[n] and pathMax[n] (largest value on n's path, n included) for 1 <= n < SMALL. */
export interface SmallTable {
  steps: Uint16Array;
  pathMax: Float64Array;
  /** The largest pathMax entry. */
  maxPathMax: number;
}

let smallTable: SmallTable | null = null;

export function getSmallTable(): SmallTable {
  if (smallTable) return smallTable;
  const steps = new Uint16Array(SMALL);
  const pathMax = new Float64Array(SMALL);
  pathMax[1] = 1;
  for (let n = 2; n < SMALL; n++) {
    let x: number;
    let s: number;
    let mx: number;
    if ((n & 1) === 0) {
      // n -> n/2
      x = n / 2;
      s = 1;
      mx = n;
    } else if ((n & 3) === 1) {
      // n = 4k+1 -> 12k+4 -> 6k+2 -> 3k+1 < n
      x = (3 * n + 1) / 4;
      s = 3;
      mx = 3 * n + 1;
    } else {
      // follow n until it drops below n, then reuse the smaller number's entry
      x = n;
      s = 0;
      mx = n;
      while (x >= n) {
        if ((x < 0x40000000 ? x & 1 : x % 2) === 1) {
          x = 3 * x + 1;
          if (x > mx) mx = x;
          x /= 2;
          s += 2;
        } else {
          x /= 2;
          s += 1;
        }
      }
    }
    steps[n] = s + (steps[x] as number);
    const rest = pathMax[x] as number;
    pathMax[n] = rest > mx ? rest : mx;
  }
  let maxPathMax = 0;
  for (let n = 1; n < SMALL; n++) if ((pathMax[n] as number) > maxPathMax) maxPathMax = pathMax[n] as number;
  smallTable = { steps, pathMax, maxPathMax };
  return smallTable;
}

/** Bits of the convergence-verification sieve. */
export const SIEVE_BITS = 24;
/**
 * Its surviving residues (OEIS A076227 at 24), for reporting without building it (the head reports the
 * sieve in a job's result); a test checks it against getSieve().
 */
export const SIEVE_SURVIVORS = 286581;

/**
 * Residues r mod 2^SIEVE_BITS whose numbers may need checking: for every other residue there is a
 * j <= SIEVE_BITS with 3^c(j) < 2^j (c(j) odd steps among the first j T-steps, fixed by the residue), so
 * T^j(n) = (3^c n + d) / 2^j < n for every n >= minN (d is fixed by the residue too), i.e. n's path drops
 * below n and n's convergence follows from that of smaller numbers. Sorted ascending. (The survivors are
 * counted by OEIS A076227: 286581 of 2^24, 1.7 %.)
 */
export interface Sieve {
  residues: Uint32Array;
  /**
   * Per residue r: c, the odd steps among its first SIEVE_BITS T-steps, and T^SIEVE_BITS(r), so that
   * T^SIEVE_BITS(m * 2^SIEVE_BITS + r) = 3^c * m + T^SIEVE_BITS(r) (the first SIEVE_BITS parities are r's).
   */
  odd: Uint8Array;
  value: Float64Array;
  /** The sieve may only be applied to n >= minN. */
  minN: number;
}

let sieve: Sieve | null = null;

export function getSieve(): Sieve {
  if (sieve) return sieve;
  // Level by level: the survivors mod 2^(j-1) are extended to residues mod 2^j, r and r + 2^(j-1), with
  // T^(j-1)(r + 2^(j-1)) = T^(j-1)(r) + 3^c, and one more T-step decides each of them. Writing all the
  // r children first, then all the r + 2^(j-1) ones, keeps the survivors sorted.
  let res = new Float64Array([0]); // r
  let odd = new Uint8Array([0]); // c
  let val = new Float64Array([0]); // T^(j-1)(r)
  let count = 1;
  let minN = 1;
  const pow3 = Float64Array.from({ length: SIEVE_BITS + 2 }, (_, c) => 3 ** c);
  for (let j = 1; j <= SIEVE_BITS; j++) {
    const pow2 = 2 ** j;
    const half = 2 ** (j - 1);
    const nres = new Float64Array(2 * count);
    const nodd = new Uint8Array(2 * count);
    const nval = new Float64Array(2 * count);
    let m = 0;
    for (let t = 0; t < 2; t++) {
      for (let i = 0; i < count; i++) {
        const c = odd[i] as number;
        const r = (res[i] as number) + t * half;
        let b = (val[i] as number) + t * (pow3[c] as number);
        let c2 = c;
        const h = Math.floor(b / 2);
        if (b !== 2 * h) {
          b = 3 * h + 2; // (3b + 1) / 2 for odd b = 2h + 1
          c2++;
        } else {
          b = h;
        }
        const p = pow3[c2] as number;
        if (p < pow2) {
          // T^j(n) = (p n + d) / 2^j with d = 2^j T^j(r) - p r: below n once n > d / (2^j - p).
          // Rounded generously upwards (the products can pass 2^53); only an upper bound is needed.
          const need = Math.floor(((pow2 * b - p * r) * (1 + 2 ** -40)) / (pow2 - p)) + 2;
          if (need > minN) minN = need;
        } else {
          nres[m] = r;
          nodd[m] = c2;
          nval[m] = b;
          m++;
        }
      }
    }
    res = nres;
    odd = nodd;
    val = nval;
    count = m;
  }
  sieve = { residues: Uint32Array.from(res.subarray(0, count)), odd: odd.slice(0, count), value: val.slice(0, count), minN };
  return sieve;
}
