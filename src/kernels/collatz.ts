// Collatz kernels. Pure: no I/O. Exact for every start value below 2^64: path values beyond 2^64 are
// carried in 16-bit limbs (up to 2^128) and in BigInt beyond that, never wrapped. See collatz/engine.ts
// for the method (16-step jumps from a table of the low bits, tabulated steps below 2^20, Barina's sieve).

import { runSteps, runVerify } from './collatz/engine.js';
import { SIEVE_BITS, SIEVE_SURVIVORS } from './collatz/tables.js';

/**
 * The residue sieve of verify mode: numbers are followed only when their residue mod 2^bits survives.
 * Costs nothing (the sieve itself is built by the first verify call of a thread).
 */
export function verifySieve(): { bits: number; survivors: number } {
  return { bits: SIEVE_BITS, survivors: SIEVE_SURVIVORS };
}

export interface CollatzSteps {
  /** Numbers in the range. */
  count: number;
  /** Most steps to reach 1 (smallest n on ties). */
  longest: { n: bigint; steps: number };
  /** Largest value reached on any path, n included (smallest n on ties). */
  highest: { n: bigint; value: bigint };
  /** Sum of the steps of every n in the range. */
  totalSteps: bigint;
}

export interface CollatzVerify {
  /** Numbers in the range (all verified to converge, given that every smaller number does). */
  count: number;
  /** Numbers actually followed (the rest are skipped by the sieve and the mod-3/mod-9 rules). */
  checked: number;
  /**
   * Largest value reached while checking, n included, and its n (smallest n on ties); when no number in
   * the range needed a check, the range's start and itself.
   */
  highest: { n: bigint; value: bigint };
  /**
   * The residue sieve used: numbers are followed only when their residue mod 2^bits is one of
   * `survivors` (and they are not = 2 mod 3 or = 4 mod 9).
   */
  sieve: { bits: number; survivors: number };
}

export class CollatzRangeError extends RangeError {
  override readonly name = 'CollatzRangeError';
}

/** Widest range one call accepts. */
export const MAX_COLLATZ_WIDTH = 1n << 32n;
const MAX_U64 = (1n << 64n) - 1n;

function checkRange(start: bigint, end: bigint): void {
  if (typeof start !== 'bigint' || typeof end !== 'bigint') throw new CollatzRangeError('start and end must be bigints');
  if (start < 1n) throw new CollatzRangeError(`start must be at least 1 (got ${start})`);
  if (end > MAX_U64) throw new CollatzRangeError(`end must be below 2^64 (got ${end})`);
  if (end < start) throw new CollatzRangeError(`end must not be below start (got [${start}, ${end}])`);
  if (end - start + 1n > MAX_COLLATZ_WIDTH) throw new CollatzRangeError(`range [${start}, ${end}] is wider than 2^32 numbers; split it`);
}

/**
 * Steps of the standard map (n even: n/2, n odd: 3n+1, one step each) for every n in [start, end] to
 * reach 1 (steps(1) = 0), with the record holder, the highest value reached and the total.
 */
export function collatzSteps(start: bigint, end: bigint): CollatzSteps {
  checkRange(start, end);
  const r = runSteps(start, end);
  return {
    count: r.count,
    longest: { n: r.longestN, steps: r.longestSteps },
    highest: { n: r.highestN, value: r.highestValue },
    totalSteps: r.totalSteps,
  };
}

/**
 * Convergence verification of [start, end] as David Barina does it ("Convergence verification of the
 * Collatz problem", The Journal of Supercomputing, 2021): assuming every number below n converges, n is
 * followed only until its path drops below n; numbers that a 2^24 residue sieve proves drop below
 * themselves, numbers = 2 (mod 3) and = 4 (mod 9) (images of smaller numbers) are not followed at all.
 * The walk runs in WebAssembly (collatz/wasm.ts): 16-step table jumps on one 64-bit integer below 2^53
 * and on two (128 bits) above; a path that reaches 2^112 is handed to the exact JavaScript walkers.
 */
export function collatzVerify(start: bigint, end: bigint): CollatzVerify {
  checkRange(start, end);
  const r = runVerify(start, end);
  return { count: r.count, checked: r.checked, highest: { n: r.highestN, value: r.highestValue }, sieve: verifySieve() };
}
