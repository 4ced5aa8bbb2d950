import { isPrime } from './primes.js';

/**
 * Plausibility bounds on the summaries workers report (issue 17, item 15): each is a theorem or a
 * computation the head can afford per chunk, so a worker lying about a count is caught without
 * re-running the chunk. Replication catches the rest (a plausible lie).
 */

/**
 * An upper bound on every gap between consecutive primes below `x`, from the table of maximal prime
 * gaps (Nicely; Oliveira e Silva, Herzog and Pardi): each bound is the next record after the band's
 * limit, a margin of one record. null beyond 2^64, where no table is used.
 */
const GAP_BANDS: [bigint, bigint][] = [
  [1_000_000n, 118n], // 114 at 492,113
  [1_000_000_000n, 288n], // 282 at 436,273,009
  [1_000_000_000_000n, 582n], // 540 at 738,832,927,927
  [1_000_000_000_000_000n, 916n], // 906 at 218,209,405,436,543
  [1_000_000_000_000_000_000n, 1476n], // 1442 at 804,212,830,686,677,669
  [1n << 64n, 1550n], // 1550 at 18,361,375,334,787,046,697
];

export function maxPrimeGapBelow(x: bigint): bigint | null {
  for (const [limit, gap] of GAP_BANDS) if (x < limit) return gap;
  return null;
}

/**
 * Most primes an interval of `w` consecutive integers can hold: at most every odd number and one 2,
 * and the Brun-Titchmarsh inequality as Montgomery and Vaughan proved it, pi(x + w) - pi(x) <= 2w / ln w
 * for w > 1 (for any x).
 */
export function maxPrimesIn(w: bigint): bigint {
  if (w <= 0n) return 0n;
  let best = w / 2n + 1n;
  if (w > 1n) {
    const bt = BigInt(Math.floor((2 * Number(w)) / Math.log(Number(w))));
    if (bt < best) best = bt;
  }
  return best < w ? best : w;
}

/** Why a primes summary cannot be true for [start, end], or null. `gap` is [size, where] or null. */
export function implausiblePrimes(start: bigint, end: bigint, c: number, f: bigint | null, l: bigint | null, gap: [bigint, bigint] | null): string | null {
  const w = end - start + 1n;
  const count = BigInt(c);
  if (count > maxPrimesIn(w)) return `count ${c} is more than ${maxPrimesIn(w)}, the most primes ${w} consecutive numbers can hold`;
  if (count === 0n) {
    if (f !== null || l !== null) return 'a count of 0 with a first or last prime';
  } else {
    if (f === null || l === null) return `a count of ${c} without its first and last prime`;
    if (f > l) return `first prime ${f} after last prime ${l}`;
    if ((count === 1n) !== (f === l)) return `a count of ${c} with first ${f} and last ${l}`;
    if (!isPrime(f)) return `first ${f} is not prime`;
    if (l !== f && !isPrime(l)) return `last ${l} is not prime`;
    if (count > 1n) {
      if (count - 1n > (l - f) / 2n + 1n) return `${c} primes cannot fit between ${f} and ${l}`;
      if (gap === null) return 'no largest gap with two primes or more';
      const [size, at] = gap;
      if (at < f || at + size > l || !isPrime(at) || !isPrime(at + size)) return `largest gap ${size} at ${at} is not between two primes of the chunk`;
      // the largest gap is at least the average gap
      if (size * (count - 1n) < l - f) return `${c} primes from ${f} to ${l} need a gap of at least ${(l - f) / (count - 1n)}, not ${size}`;
    }
  }
  // no stretch without primes may be longer than the largest prime gap at that height
  const G = maxPrimeGapBelow(end + 2000n);
  if (G !== null) {
    if (count === 0n && w > G) return `no prime in ${w} consecutive numbers below ${end}, where gaps are at most ${G}`;
    if (f !== null && l !== null) {
      if (f - start >= G || end - l >= G) return `a stretch without primes longer than ${G} at the chunk's ends`;
      if (gap !== null && gap[0] > G) return `a gap of ${gap[0]} below ${end}, where gaps are at most ${G}`;
      if (count - 1n < (l - f + G - 1n) / G) return `${c} primes cannot span ${f} to ${l} with gaps of at most ${G}`;
    }
  }
  return null;
}

/** Steps of n to 1 and the highest value on its way (n itself included), as the collatz kernel counts them. */
export function collatzOne(n: bigint): { steps: number; peak: bigint } {
  let x = n;
  let steps = 0;
  let peak = n;
  while (x !== 1n && steps < 1_000_000) {
    x = (x & 1n) === 1n ? 3n * x + 1n : x >> 1n;
    if (x > peak) peak = x;
    steps++;
  }
  return { steps, peak };
}

/**
 * The highest value of n's walk in verify mode: n's path from n until its first value below n (n and
 * the 3x + 1 values included), as collatzVerify follows each number it checks.
 */
export function collatzVerifyPeak(n: bigint): bigint {
  let x = n;
  let peak = n;
  for (let steps = 0; x >= n && x !== 1n && steps < 1_000_000; steps++) {
    x = (x & 1n) === 1n ? 3n * x + 1n : x >> 1n;
    if (x > peak) peak = x;
  }
  return peak;
}

/**
 * Why a collatz summary cannot be true, or null: the longest and highest claims are recomputed. In
 * verify mode (k: numbers checked) the highest value is the peak of hn's walk until it drops below hn,
 * or hn itself when no number of the chunk needed a walk (k = 0), not the peak of hn's whole path.
 */
export function implausibleCollatz(s: { c: number; k?: number; ln?: string; ls?: number; hn: string; hv: string; t?: string }): string | null {
  if (s.k !== undefined) {
    const hn = BigInt(s.hn);
    const hv = s.k === 0 ? hn : collatzVerifyPeak(hn);
    return hv === BigInt(s.hv) ? null : `${s.hn}'s walk peaks at ${hv}, not ${s.hv}`;
  }
  const hv = collatzOne(BigInt(s.hn)).peak;
  if (hv !== BigInt(s.hv)) return `${s.hn} peaks at ${hv}, not ${s.hv}`;
  if (s.ln !== undefined && s.ls !== undefined) {
    const ls = collatzOne(BigInt(s.ln)).steps;
    if (ls !== s.ls) return `${s.ln} takes ${ls} steps, not ${s.ls}`;
    if (s.t !== undefined && (BigInt(s.t) > BigInt(s.c) * BigInt(ls) || BigInt(s.t) < BigInt(ls))) return `total steps ${s.t} impossible for ${s.c} numbers of at most ${ls} steps`;
  }
  return null;
}
