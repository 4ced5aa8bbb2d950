// The Collatz walkers behind collatz.ts. Exactness is the point; speed comes from
//  - jumps of 16 T-steps from a table of the low 16 bits (tables.ts), the largest value reached and the
//    first value below the start only tracked step by step when a jump could matter to them;
//  - values in three representations: doubles while below 2^52 (exact), 16-bit limbs in doubles up to
//    `limbCap` limbs (jumps below 2^128 by default), BigInt beyond (overflow is detected, never wrapped);
//  - steps and path maxima of every n < 2^20 tabulated (steps(n) = steps to get below 2^20 + table).

import { getJumpTable, getSmallTable, getSieve, SMALL, SIEVE_BITS, JUMP_BITS, JT_STRIDE } from './tables.js';
import { getVerifier, G_BEST_HI, G_BEST_LO, G_BEST_N, G_CHECKED, G_HEAD_START, G_LIMIT_HI, HAND_BACK_HI, type Verifier } from './wasm.js';

// Tables, built on first use (importing this module costs nothing).
/** Interleaved jump table: entry lo at lo * 8 = [mul, add, maxA, maxB, minA, minB, cnt, -]. */
let JT: Float64Array = new Float64Array(0);
/** Hot part of the jump table: add | (c << 26). */
let JP: Uint32Array = new Uint32Array(0);
/** x * GROWTH + LIFT bounds every value reached by a jump from x. */
let GROWTH = 0;
let LIFT = 0;
const POW3 = Float64Array.from({ length: 17 }, (_, c) => 3 ** c);

function loadJumpTable(): void {
  if (JP.length > 0) return;
  const j = getJumpTable();
  JT = j.entries;
  JP = j.packed;
  GROWTH = j.growth;
  LIFT = j.lift;
}

const TWO16 = 65536;
const TWO32 = 4294967296;
const TWO48 = 2 ** 48;
/** Doubles hold values below this; above it the walkers switch to limbs. */
const DOUBLE_LIMIT = 2 ** 52;
const DOUBLE_LIMIT_BIG = 1n << 52n;
/** Relative safety margin for comparisons made with rounded doubles (exact checks follow). */
const MARGIN = 2 ** -40;

const POW16 = Array.from({ length: 40 }, (_, i) => 2 ** (16 * i));

/** Limbs of the current value, least significant first, base 2^16, stored as doubles. */
const L = new Float64Array(40);
let nl = 0;
/**
 * Limb capacity: jumps run on limbs while the value has fewer than limbCap limbs (9: below 2^128), and
 * continue in BigInt beyond. Tests lower it to exercise the fallback.
 */
let limbCap = 9;

export function setLimbCapForTests(cap: number): void {
  if (!Number.isInteger(cap) || cap < 5 || cap > 32) throw new RangeError('limb cap must be 5..32');
  limbCap = cap;
}

// ---- the number being walked, and the largest value seen so far ----
let curHi = 0;
let curLo = 0;
let best = 0n;
let bestD = 0;
/** A rounded bound at or above this might exceed `best`: check exactly. */
let bestGate = 0;
let bestN = 0n;

function currentN(): bigint {
  return (BigInt(curHi) << 32n) + BigInt(curLo);
}
function resetBest(): void {
  best = 0n;
  bestD = 0;
  bestGate = 0;
  bestN = 0n;
}
function setBest(v: bigint): void {
  best = v;
  bestD = Number(v);
  bestGate = bestD * (1 - MARGIN);
  bestN = currentN();
}
/** Offer an exact double value (below 2^53). */
function offerD(v: number): void {
  if (v > bestD) setBest(BigInt(v));
}
function offerB(v: bigint): void {
  if (v > best) setBest(v);
}

function limbsToBig(): bigint {
  let v = 0n;
  for (let i = nl - 1; i >= 0; i--) v = (v << 16n) + BigInt(L[i] as number);
  return v;
}
/** Loads v into the limbs; false when it needs more than limbCap limbs. */
function bigToLimbs(v: bigint): boolean {
  nl = 0;
  while (v > 0n) {
    if (nl >= limbCap) return false;
    L[nl++] = Number(v & 0xffffn);
    v >>= 16n;
  }
  if (nl === 0) L[nl++] = 0;
  return true;
}
function doubleToLimbs(x: number): void {
  nl = 0;
  while (x > 0) {
    const q = Math.floor(x / TWO16);
    L[nl++] = x - q * TWO16;
    x = q;
  }
  if (nl === 0) L[nl++] = 0;
}
function limbsToDouble(): number {
  let x = 0;
  for (let i = nl - 1; i >= 0; i--) x = x * TWO16 + (L[i] as number);
  return x;
}
/** An upper bound of the limb value, as a double (exact arithmetic on the top 32 bits, rounded up). */
function limbsUpper(): number {
  if (nl <= 2) return limbsToDouble() + 1;
  return ((L[nl - 1] as number) * TWO16 + (L[nl - 2] as number) + 1) * (POW16[nl - 2] as number);
}
function limbsLower(): number {
  if (nl <= 2) return limbsToDouble();
  return ((L[nl - 1] as number) * TWO16 + (L[nl - 2] as number)) * (POW16[nl - 2] as number);
}

/**
 * One jump on the limbs (nl > 1). The result has at most nl + 1 limbs; returns false (limbs unchanged)
 * when that could exceed limbCap, so the caller continues in BigInt.
 */
function limbJump(lo: number): boolean {
  const a = JT[lo * JT_STRIDE] as number;
  let carry = JT[lo * JT_STRIDE + 1] as number;
  const n = nl;
  if (n >= limbCap) return false;
  for (let i = 1; i < n; i++) {
    const t = a * (L[i] as number) + carry;
    const c = Math.floor(t / TWO16);
    L[i - 1] = t - c * TWO16;
    carry = c;
  }
  const c2 = Math.floor(carry / TWO16);
  L[n - 1] = carry - c2 * TWO16;
  if (c2 > 0) {
    L[n] = c2;
    nl = n + 1;
  }
  while (nl > 1 && L[nl - 1] === 0) nl--;
  return true;
}

// ---- single T-steps with exact bookkeeping, used when a jump could matter ----

// results of the slow walkers: the value reached, the C-steps taken, whether it stopped early
let slowX = 0;
let slowXB = 0n;
let slowS = 0;
let slowStopped = false;

/**
 * Up to `count` T-steps on an exact double x (the caller guarantees every value stays below 2^53),
 * offering every value to the maximum; stops early once x < stopBelow.
 */
function slowStepsD(x: number, count: number, stopBelow: number): void {
  let s = 0;
  slowStopped = false;
  for (let j = 0; j < count; j++) {
    if (x % 2 === 1) {
      const v = 3 * x + 1;
      if (v > bestD) offerD(v);
      x = v / 2;
      s += 2;
    } else {
      x /= 2;
      s += 1;
    }
    if (x < stopBelow) {
      slowStopped = true;
      break;
    }
  }
  slowX = x;
  slowS = s;
}

/** The same in BigInt, for values of any size. */
function slowStepsB(x: bigint, count: number, stopBelow: bigint): void {
  let s = 0;
  slowStopped = false;
  for (let j = 0; j < count; j++) {
    if ((x & 1n) === 1n) {
      const v = 3n * x + 1n;
      if (v > best) setBest(v);
      x = v >> 1n;
      s += 2;
    } else {
      x >>= 1n;
      s += 1;
    }
    if (x < stopBelow) {
      slowStopped = true;
      break;
    }
  }
  slowXB = x;
  slowS = s;
}

// =====================================================================================================
// steps mode
// =====================================================================================================

// built on the first steps call
let STEPS: Uint16Array = new Uint16Array(0);
let PMAX: Float64Array = new Float64Array(0);
let MAX_PMAX = 0;
function loadSmallTable(): void {
  if (STEPS.length > 0) return;
  const t = getSmallTable();
  STEPS = t.steps;
  PMAX = t.pathMax;
  MAX_PMAX = t.maxPathMax;
}

/** Steps from a value held in BigInt (beyond the limbs), until it fits a double again. */
function stepsBig(x: bigint, s: number): number {
  while (x >= DOUBLE_LIMIT_BIG) {
    const lo = Number(x & 0xffffn);
    const hi = x >> 16n;
    if ((JT[lo * JT_STRIDE + 2] as number) * Number(hi) + (JT[lo * JT_STRIDE + 3] as number) >= bestGate) {
      slowStepsB(x, JUMP_BITS, 0n);
      x = slowXB;
      s += slowS;
    } else {
      x = BigInt(JT[lo * JT_STRIDE + 0] as number) * hi + BigInt(JT[lo * JT_STRIDE + 1] as number);
      s += JT[lo * JT_STRIDE + 6] as number;
    }
  }
  return stepsDouble(Number(x), s);
}

/** Steps from the value in the limbs (at least 2^20): jumps there until it is back below 2^48. */
function stepsLimbs(s: number): number {
  for (;;) {
    const lo = L[0] as number;
    if ((JT[lo * JT_STRIDE + 2] as number) * (limbsUpper() / TWO16) + (JT[lo * JT_STRIDE + 3] as number) >= bestGate) {
      slowStepsB(limbsToBig(), JUMP_BITS, 0n);
      s += slowS;
      if (!bigToLimbs(slowXB)) return stepsBig(slowXB, s);
    } else {
      if (!limbJump(lo)) return stepsBig(limbsToBig(), s);
      s += JT[lo * JT_STRIDE + 6] as number;
    }
    // at least one jump is made here, so a value sent over by stepsDouble does not bounce back
    if (nl <= 3) return stepsDouble(limbsToDouble(), s);
  }
}

/** Steps from x (an exact double below 2^52) plus s already taken. */
function stepsDouble(x: number, s: number): number {
  for (;;) {
    if (x < SMALL) {
      // the path max of x only matters if the table's largest could beat the best so far
      if (MAX_PMAX >= bestGate) {
        const p = PMAX[x] as number;
        if (p > bestD) offerD(p);
      }
      return s + (STEPS[x] as number);
    }
    const hi = Math.floor(x / TWO16);
    const lo = x - hi * TWO16;
    if (x * GROWTH + LIFT >= bestGate) {
      const o = lo * JT_STRIDE;
      const bound = (JT[o + 2] as number) * hi + (JT[o + 3] as number);
      if (bound >= bestGate) {
        if (bound < DOUBLE_LIMIT) {
          slowStepsD(x, JUMP_BITS, 0);
          x = slowX;
          s += slowS;
          continue;
        }
        slowStepsB(BigInt(x), JUMP_BITS, 0n);
        s += slowS;
        if (slowXB < DOUBLE_LIMIT_BIG) {
          x = Number(slowXB);
          continue;
        }
        if (!bigToLimbs(slowXB)) return stepsBig(slowXB, s);
        return stepsLimbs(s);
      }
    }
    const e = JP[lo] as number;
    const c = e >>> 26;
    const y = (POW3[c] as number) * hi + (e & 0x3ffffff);
    if (y >= DOUBLE_LIMIT) {
      doubleToLimbs(x);
      return stepsLimbs(s);
    }
    x = y;
    s += 16 + c;
  }
}

export interface StepsResult {
  count: number;
  longestN: bigint;
  longestSteps: number;
  highestN: bigint;
  highestValue: bigint;
  totalSteps: bigint;
}

/**
 * runSteps' running figures, shared by its three loops as curHi / curLo are. The total is a Float64Array
 * element: a variable starting as a small integer made V8 recompile the loops when it passed 2^31.
 */
let stLongest = -1;
let stLongestN = 0n;
const stTotal = new Float64Array(1);
let stTotalBig = 0n;

/** The current n took s steps: the figures, then the next n. */
function noteSteps(s: number): void {
  if (s > stLongest) {
    stLongest = s;
    stLongestN = currentN();
  }
  const t = (stTotal[0] as number) + s;
  if (t > 2 ** 52) {
    stTotalBig += BigInt(t);
    stTotal[0] = 0;
  } else stTotal[0] = t;
  curLo++;
  if (curLo === TWO32) {
    curLo = 0;
    curHi++;
  }
}

/** count numbers from the current n, all below SMALL: from the table. */
function stepsSmallRun(count: number): void {
  for (let i = 0; i < count; i++) {
    if (MAX_PMAX >= bestGate) {
      const p = PMAX[curLo] as number;
      if (p > bestD) offerD(p);
    }
    noteSteps(STEPS[curLo] as number);
  }
}

/** count numbers from the current n, all below 2^48: in doubles. */
function stepsDoubleRun(count: number): void {
  for (let i = 0; i < count; i++) {
    const x = curHi * TWO32 + curLo;
    if (x > bestD) offerD(x);
    noteSteps(stepsDouble(x, 0));
  }
}

/** count numbers from the current n, all at or above 2^48: in 16-bit limbs. */
function stepsLimbRun(count: number): void {
  for (let i = 0; i < count; i++) {
    if (curHi * TWO32 + curLo >= bestGate) offerB(currentN());
    L[0] = curLo & 0xffff;
    L[1] = curLo >>> 16;
    L[2] = curHi & 0xffff;
    L[3] = curHi >>> 16;
    nl = 4;
    noteSteps(stepsLimbs(0));
  }
}

/**
 * Every n in [start, end] (validated by the caller: 1 <= start <= end < 2^64, width <= 2^32): the part
 * below SMALL from the table, the part below 2^48 in doubles, the rest in limbs, each in a loop of its
 * own (one loop for the three was compiled again by V8 at each kind of n it first met: 5-8 times a run,
 * in every thread).
 */
export function runSteps(start: bigint, end: bigint): StepsResult {
  loadJumpTable();
  loadSmallTable();
  resetBest();
  stLongest = -1;
  stLongestN = 0n;
  stTotal[0] = 0;
  stTotalBig = 0n;
  const count = Number(end - start + 1n);
  curHi = Number(start >> 32n);
  curLo = Number(start & 0xffffffffn);
  const below = (limit: bigint, from: bigint): number => (from < limit ? Number((limit < end + 1n ? limit : end + 1n) - from) : 0);
  const small = below(BigInt(SMALL), start);
  const doubles = below(1n << 48n, start + BigInt(small));
  stepsSmallRun(small);
  stepsDoubleRun(doubles);
  stepsLimbRun(count - small - doubles);
  return {
    count,
    longestN: stLongestN,
    longestSteps: stLongest,
    highestN: bestN,
    highestValue: best,
    totalSteps: stTotalBig + BigInt(stTotal[0] as number),
  };
}

// =====================================================================================================
// verify mode
// =====================================================================================================

/** n while verifying: as a double (exact when below 2^53), and as BigInt for exact comparisons. */
let vnD = 0;
let vnB = 0n;
/** n's limbs, for the exact "x < n" test in the limb representation. */
const NL = new Float64Array(4);
let nnl = 0;

function limbsBelowN(): boolean {
  if (nl !== nnl) return nl < nnl;
  for (let i = nl - 1; i >= 0; i--) {
    const a = L[i] as number;
    const b = NL[i] as number;
    if (a !== b) return a < b;
  }
  return false;
}

/** Follows x (BigInt) until it drops below n. */
function verifyBig(x: bigint): void {
  while (x >= vnB) {
    if (x < DOUBLE_LIMIT_BIG && vnD < TWO48) {
      verifyDouble(Number(x));
      return;
    }
    const lo = Number(x & 0xffffn);
    const hi = x >> 16n;
    const hiD = Number(hi);
    if (
      (JT[lo * JT_STRIDE + 2] as number) * hiD + (JT[lo * JT_STRIDE + 3] as number) >= bestGate ||
      ((JT[lo * JT_STRIDE + 4] as number) * hiD + (JT[lo * JT_STRIDE + 5] as number)) * (1 - MARGIN) < vnD * (1 + MARGIN)
    ) {
      slowStepsB(x, JUMP_BITS, vnB);
      x = slowXB;
      if (slowStopped) return;
    } else {
      x = BigInt(JT[lo * JT_STRIDE + 0] as number) * hi + BigInt(JT[lo * JT_STRIDE + 1] as number);
    }
  }
}

/** Follows the limbs (not below n on entry) until they drop below n. */
function verifyLimbs(): void {
  for (;;) {
    const lo = L[0] as number;
    const up = limbsUpper() / TWO16;
    const low = limbsLower() / TWO16;
    if (
      (JT[lo * JT_STRIDE + 2] as number) * up + (JT[lo * JT_STRIDE + 3] as number) >= bestGate ||
      ((JT[lo * JT_STRIDE + 4] as number) * low + (JT[lo * JT_STRIDE + 5] as number)) * (1 - MARGIN) < vnD * (1 + MARGIN)
    ) {
      slowStepsB(limbsToBig(), JUMP_BITS, vnB);
      if (slowStopped) return;
      if (!bigToLimbs(slowXB)) {
        verifyBig(slowXB);
        return;
      }
    } else if (!limbJump(lo)) {
      verifyBig(limbsToBig());
      return;
    }
    if (limbsBelowN()) return;
    // at least one jump is made here, so a value sent over by verifyDouble does not bounce back
    if (nl <= 3 && vnD < TWO48) {
      verifyDouble(limbsToDouble());
      return;
    }
  }
}

/** Follows x (exact double below 2^52) until it drops below n (n < 2^48). */
function verifyDouble(x: number): void {
  const n = vnD;
  for (;;) {
    if (x < n) return;
    const hi = Math.floor(x / TWO16);
    const lo = x - hi * TWO16;
    const bound = (JT[lo * JT_STRIDE + 2] as number) * hi + (JT[lo * JT_STRIDE + 3] as number);
    if (bound >= bestGate || (JT[lo * JT_STRIDE + 4] as number) * hi + (JT[lo * JT_STRIDE + 5] as number) < n) {
      if (bound < DOUBLE_LIMIT) {
        slowStepsD(x, JUMP_BITS, n);
        if (slowStopped) return;
        x = slowX;
        continue;
      }
      slowStepsB(BigInt(x), JUMP_BITS, vnB);
      if (slowStopped) return;
      if (slowXB < DOUBLE_LIMIT_BIG) {
        x = Number(slowXB);
        continue;
      }
      if (!bigToLimbs(slowXB)) return verifyBig(slowXB);
      return verifyLimbs();
    }
    const y = (JT[lo * JT_STRIDE + 0] as number) * hi + (JT[lo * JT_STRIDE + 1] as number);
    if (y >= DOUBLE_LIMIT) {
      doubleToLimbs(x);
      return verifyLimbs();
    }
    x = y;
  }
}

/** Below this, paths stay below 2^53 (the largest from n < 2^20 is about 2^46): plain steps are exact. */
const SMALL_CHECK = 1n << 20n;

/** Checks a small n (the current one, below SMALL_CHECK) one step at a time in doubles. */
function checkSmall(n: number): void {
  if (n > bestD) offerD(n);
  let x = n;
  while (x >= n) {
    if (x % 2 === 1) {
      const v = 3 * x + 1;
      if (v > bestD) offerD(v);
      x = v / 2;
    } else {
      x /= 2;
    }
  }
}

/** Checks the current n (curHi, curLo): follows it until it drops below n. */
function checkCurrent(): void {
  // the JavaScript walkers' table, built on their first use (a WebAssembly walk has its own)
  loadJumpTable();
  // n's limbs, for limbsBelowN: needed for every n, since a path from n < 2^48 can pass 2^52 and be
  // followed in limbs (with a stale n there, a walk stopped early and missed its largest value)
  NL[0] = curLo & 0xffff;
  NL[1] = curLo >>> 16;
  NL[2] = curHi & 0xffff;
  NL[3] = curHi >>> 16;
  nnl = 4;
  while (nnl > 1 && NL[nnl - 1] === 0) nnl--;
  if (curHi < TWO16) {
    const n = curHi * TWO32 + curLo;
    vnD = n;
    vnB = BigInt(n);
    if (n > bestD) offerD(n);
    verifyDouble(n);
    return;
  }
  vnD = curHi * TWO32 + curLo;
  vnB = currentN();
  if (vnD >= bestGate) offerB(vnB);
  L.set(NL);
  nl = 4;
  verifyLimbs();
}

const SIEVE_SIZE = 2 ** SIEVE_BITS;

/** n mod 9 for n = hi * 2^32 + lo (2^32 = 4 mod 9). */
function mod9(hi: number, lo: number): number {
  return ((hi % 9) * 4 + (lo % 9)) % 9;
}

/** Whether n (current) can be skipped without the 2^k sieve: n = 2 mod 3 or n = 4 mod 9, n >= 4. */
function skipByThree(): boolean {
  const r = mod9(curHi, curLo);
  return (r % 3 === 2 || r === 4) && (curHi > 0 || curLo >= 4);
}

/** First index of a sorted array whose value is >= v. */
function lowerBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const U64_MAX = (1n << 64n) - 1n;
const U128_MAX = (1n << 128n) - 1n;
/** Whether verify may use WebAssembly (tests turn it off to compare with the JavaScript walkers). */
let useWasm = true;
export function setVerifyWasmForTests(on: boolean): void {
  useWasm = on;
}
/**
 * Tests lower the WebAssembly walk's hand-back limit (the path values' high 64 bits; 2^48 by default,
 * i.e. 2^112) to exercise the hand-over to the JavaScript walkers; null restores it.
 */
let handBackHi = HAND_BACK_HI;
export function setHandBackForTests(hi: bigint | null): void {
  handBackHi = hi ?? HAND_BACK_HI;
}
/** Tests and the benchmark turn off the walk's start at T^SIEVE_BITS(n) (Barina's 2^k-step start). */
let headStart = true;
export function setHeadStartForTests(on: boolean): void {
  headStart = on;
}

/** Hands the largest value so far to the WebAssembly loop (capped at 2^128 - 1: its values stay below). */
function bestToWasm(vf: Verifier): void {
  const b = best > U128_MAX ? U128_MAX : best;
  vf.g64[G_BEST_LO / 8] = b & U64_MAX;
  vf.g64[G_BEST_HI / 8] = b >> 64n;
}

/** Takes back a larger value found by the WebAssembly loop; returns (and clears) its checked count. */
function bestFromWasm(vf: Verifier): number {
  const b = ((vf.g64[G_BEST_HI / 8] as bigint) << 64n) | (vf.g64[G_BEST_LO / 8] as bigint);
  if (b > best) {
    best = b;
    bestD = Number(b);
    bestGate = bestD * (1 - MARGIN);
    bestN = vf.g64[G_BEST_N / 8] as bigint;
  }
  const c = vf.g32[G_CHECKED / 4] as number;
  vf.g32[G_CHECKED / 4] = 0;
  return c;
}

export interface VerifyResult {
  count: number;
  checked: number;
  highestN: bigint;
  highestValue: bigint;
}

/**
 * Convergence verification of every n in [start, end] as David Barina does it, assuming (as his method
 * does) that every number below n converges by the time n is checked: n is followed only until it
 * drops below n; n is skipped when a residue sieve mod 2^24 shows it drops below itself, when
 * n = 2 (mod 3) (n = T(m) for m = (2n - 1)/3 < n) or n = 4 (mod 9) (n = T^3(m), m = (8n - 5)/9 < n).
 * n = 1 needs no check. The sieve's blocks are walked in WebAssembly (wasm.ts) where the runtime has it;
 * the JavaScript walkers here take the numbers below the sieve's bound, the paths it hands back (past
 * 2^112), and everything when tests turn it off.
 */
export function runVerify(start: bigint, end: bigint): VerifyResult {
  resetBest();
  const count = Number(end - start + 1n);
  let checked = 0;
  const sieve = getSieve();
  const residues = sieve.residues;
  // below minN the sieve's argument does not hold: those few numbers are taken one by one
  const sieveFrom = BigInt(sieve.minN);
  // numbers below the sieve's validity bound: each one checked unless a mod-3/9 rule skips it
  let n = start;
  const plainEnd = end < sieveFrom ? end : sieveFrom - 1n;
  for (; n <= plainEnd; n++) {
    curHi = Number(n >> 32n);
    curLo = Number(n & 0xffffffffn);
    if (n === 1n || skipByThree()) continue;
    if (n % 2n === 0n) continue; // even n: T(n) = n/2 < n
    checked++;
    if (n < SMALL_CHECK) checkSmall(Number(n));
    else checkCurrent();
  }
  if (n <= end) {
    // blocks of 2^SIEVE_BITS, only the surviving residues
    const size = BigInt(SIEVE_SIZE);
    const firstBase = n - (n % size);
    const firstLo = Number(n - firstBase);
    let base = firstBase;
    const lastBase = end - (end % size);
    const lastLo = Number(end - lastBase);
    const vf = useWasm ? getVerifier() : null;
    if (vf) {
      vf.g64[G_LIMIT_HI / 8] = handBackHi;
      vf.g32[G_HEAD_START / 4] = headStart ? 1 : 0;
    }
    for (;;) {
      const hi = Number(base >> 32n);
      const baseLo = Number(base & 0xffffffffn);
      const from = base === firstBase ? firstLo : 0;
      const to = base === lastBase ? lastLo : SIEVE_SIZE - 1;
      let i = lowerBound(residues, from);
      const iEnd = lowerBound(residues, to + 1);
      if (vf !== null) {
        // the WebAssembly loop; residues it hands back are followed here, exactly
        const b9 = Number(base % 9n);
        const baseI64 = BigInt.asIntN(64, base);
        bestToWasm(vf);
        for (;;) {
          const k = vf.x.verify(baseI64, i, iEnd, b9);
          checked += bestFromWasm(vf);
          if (k >= iEnd) break;
          curHi = hi;
          curLo = baseLo + (residues[k] as number);
          checked++;
          checkCurrent();
          bestToWasm(vf);
          i = k + 1;
        }
      } else {
        for (; i < iEnd; i++) {
          curHi = hi;
          curLo = baseLo + (residues[i] as number);
          if (skipByThree()) continue;
          checked++;
          checkCurrent();
        }
      }
      if (base === lastBase) break;
      base += size;
    }
  }
  if (checked === 0) {
    curHi = Number(start >> 32n);
    curLo = Number(start & 0xffffffffn);
    setBest(start);
  }
  return { count, checked, highestN: bestN, highestValue: best };
}

